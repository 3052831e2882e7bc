#!/bin/sh
# meter --split on real apt pipelining: where the exchanges of a connection begin.
# tests/data/apt_download_30.pcap holds 30 responses on one connection; where each
# begins (the server's relative sequence number, less one) was read from the packets
# with tshark (a segment whose payload starts with "HTTP/1.1"). Before the split
# followed the server's writes it made 21 exchanges, 2 of whose 20 cuts fell inside
# a response (requests sent while a response was arriving), and the last ten
# responses were one exchange. Now every cut must be a response start, and all but
# one start (the last response, too short for a realignment segment, drains right
# after the one before it) must be cut.
. "$(dirname "$0")/lib.sh"

D="$FS_SRC/tests/data"
starts="184753 392278 904531 1081444 1136464 1449892 1577161 1829090 1932891 2143331
2271652 2522465 2641422 2728506 2837291 2901499 3133460 3260077 3373182 3756046 3853934
4178927 4712064 4921817 5261746 5361995 5619724 6185701 6430430"
echo "$starts" | tr ' ' '\n' >"$T/starts"

# cuts FLOWS: the server offset at which each exchange after the first begins (the
# rgoodput of the exchanges before it: the capture lost nothing)
cuts() {
    fs print -r "$1" -o csv | awk -F, 'NR > 1 { print $32, $15 }' | sort -n |
        awk 'NR > 1 { print s } { s += $2 }'
}

fs meter --split -r "$D/apt_download_30.pcap" -w "$T/f30.fsf" || fail "meter 30"
cuts "$T/f30.fsf" >"$T/cuts30"
bad=$(grep -cvxFf "$T/starts" "$T/cuts30" || true)
[ "$bad" -eq 0 ] || fail "cuts inside a response: $(grep -vxFf "$T/starts" "$T/cuts30" | tr '\n' ' ')"
n=$(wc -l <"$T/cuts30")
[ "$n" -eq 28 ] || fail "expected 28 cuts at the 29 response starts, got $n"
# the one start not cut: the 30th response (6430430) drains right after the 29th
grep -qx 6430430 "$T/cuts30" && fail "the last response has no realignment to cut at"

# apt_download.pcap: one request, then four in one segment (a burst). The burst's
# exchange stays whole although the server's writes show two of its response starts:
# its requests are all in it, and the matcher names the four as a set with both sums.
fs meter --split -r "$D/apt_download.pcap" -w "$T/f5.fsf" || fail "meter 5"
cuts "$T/f5.fsf" >"$T/cuts5"
[ "$(cat "$T/cuts5")" = 184753 ] || fail "apt_download cuts: $(tr '\n' ' ' <"$T/cuts5")"

# without --split nothing is cut
fs meter -r "$D/apt_download_30.pcap" -w "$T/whole.fsf" || fail "meter whole"
[ "$(fs print -r "$T/whole.fsf" -o csv | awk -F, 'NR > 1' | wc -l)" -eq 1 ] ||
    fail "one record without --split"
echo "ok: 28 of 28 cuts at response starts"
