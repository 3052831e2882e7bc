#!/bin/sh
# meter --split on real apt pipelining: where the exchanges of a connection begin.
# tests/data/apt_download_30.pcap holds 30 responses on one connection; where each
# begins (the server's relative sequence number, less one) was read from the packets
# with tshark (a segment whose payload starts with "HTTP/1.1"). Before the split
# followed the server's writes it made 21 exchanges, 2 of whose 20 cuts fell inside
# a response (requests sent while a response was arriving), and the last ten
# responses were one exchange; following the writes, it missed the last start (no
# realignment segment). The capture keeps 62 bytes of each payload, so the split
# sees the "HTTP/" of every response start: all 29 must be cut, and nothing else.
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
[ "$n" -eq 29 ] || fail "expected 29 cuts at the 29 response starts, got $n"

# apt_download.pcap: one request, then four in one segment (a burst whose requests the
# snapped capture cannot count). The burst's exchange stays whole although the server
# shows its response starts: its requests are all in it, and the matcher names the
# four as a set with both sums.
fs meter --split -r "$D/apt_download.pcap" -w "$T/f5.fsf" || fail "meter 5"
cuts "$T/f5.fsf" >"$T/cuts5"
[ "$(cat "$T/cuts5")" = 184753 ] || fail "apt_download cuts: $(tr '\n' ' ' <"$T/cuts5")"

# without --split nothing is cut
fs meter -r "$D/apt_download_30.pcap" -w "$T/whole.fsf" || fail "meter whole"
[ "$(fs print -r "$T/whole.fsf" -o csv | awk -F, 'NR > 1' | wc -l)" -eq 1 ] ||
    fail "one record without --split"
# Each exchange's forward payload is the request unit its response answered, in
# order: 135 (the first request), the burst of 10 (1,420: a snapped segment, its
# requests not countable), then one request each; the exchanges after the burst's
# get none until their own arrive; nothing is lost (4,460 client bytes in all).
fs print -r "$T/f30.fsf" -o csv | awk -F, 'NR > 1 { print $32, $12 }' | sort -n >"$T/req30"
[ "$(awk 'NR <= 3 { printf "%s ", $2 }' "$T/req30")" = "135 1420 162 " ] ||
    fail "request units: $(tr '\n' ' ' <"$T/req30")"
[ "$(awk '{ s += $2 } END { print s }' "$T/req30")" -eq 4460 ] || fail "client bytes lost"

# apt_download_36.pcap: the client's segments captured whole (the server's snapped),
# so every request is counted, the burst of 10 too: each of the 36 exchanges carries
# its own request (apt's: 88 bytes + the URL path; '+' and '~' sent as %2b, %7e).
fs meter --split -r "$D/apt_download_36.pcap" -w "$T/f36.fsf" || fail "meter 36"
[ "$(fs print -r "$T/f36.fsf" -o csv | awk -F, 'NR > 1' | wc -l)" -eq 36 ] || fail "36 exchanges"
fs print -r "$T/f36.fsf" -o csv | awk -F, 'NR > 1 && ($12 < 131 || $12 > 196) { bad = 1 }
    END { exit bad }' || fail "an exchange without its own request: $(fs print -r "$T/f36.fsf")"
echo "ok: 29 of 29 cuts at response starts, requests in order"
