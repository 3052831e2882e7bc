#!/bin/sh
# The computed field cid (Community ID v1) against Wireshark's own implementation
# (tshark's communityid post-dissector), which Suricata and Zeek agree with:
#  (a) every flow the meter makes from generated TCP/UDP (IPv4 and IPv6), ICMP and
#      ICMPv6 echo, the bundled captures and the shared ones has a cid that tshark
#      gives its packets, and every cid tshark gives is a flow's (IP fragments aside);
#  (b) the filter `cid X` (quoted, or unquoted with its trailing '=') selects exactly
#      the flows printed with that cid, `cid != X` the others;
#  (c) json quotes it; a malformed value is a usage error (exit 2) with a caret;
#  (d) --cid-seed 7 gives tshark's ids with its communityid.seed 7, in print and filter.
. "$(dirname "$0")/lib.sh"

need tshark python3
tshark -G protocols 2>/dev/null | grep -q '	communityid$' ||
    skip "this tshark has no communityid field"

"$FS_GEN" mix "$T/mix.pcap" --flows 300 --seed 31 --snap 128 >/dev/null || fail "fsgen"
python3 "$(dirname "$0")/icmp_pcap.py" "$T/icmp.pcap" || fail "icmp_pcap.py"
set -- "$T/mix.pcap" "$T/icmp.pcap" "$FS_SRC"/tests/data/*.pcap
for p in "$FS_DATA"/pcap/*.pcap; do
    [ -f "$p" ] && set -- "$@" "$p"
done
n=0
for p in "$@"; do
    # IP fragments: the meter keys a first fragment by its ports and later ones without,
    # tshark hashes the reassembled datagram (or, incomplete, the portless fragments):
    # captures with fragments are left out, by name.
    if tshark -r "$p" -Y 'ip.flags.mf == 1 || ip.frag_offset > 0 || ipv6.fraghdr' \
        2>/dev/null | grep -q .; then
        echo "     $(basename "$p"): has IP fragments, left out"
        continue
    fi
    fs meter -r "$p" -w - 2>/dev/null | fs print -o csv:cid -N | tail -n +2 | sort -u >"$T/fs.txt"
    tshark --enable-protocol communityid -r "$p" -T fields -e communityid 2>/dev/null |
        grep . | sort -u >"$T/ts.txt"
    [ -s "$T/fs.txt" ] || continue
    if ! cmp -s "$T/fs.txt" "$T/ts.txt"; then
        comm -3 "$T/fs.txt" "$T/ts.txt" | head -5 >&2
        fail "$(basename "$p"): cid differs from tshark's ($(wc -l <"$T/fs.txt") flows, $(wc -l <"$T/ts.txt") tshark ids)"
    fi
    n=$((n + $(wc -l <"$T/fs.txt")))
done
[ "$n" -gt 300 ] || fail "too few ids compared: $n"
echo "ok   (a) $n Community IDs over $# captures equal tshark's"

# (b) the filter
fs meter -r "$T/mix.pcap" -w "$T/mix.fs" || fail "meter"
fs print -r "$T/mix.fs" -o csv:src,sport,dst,dport,proto,cid -N >"$T/all.csv"
id=$(awk -F, 'NR == 10 { print $6 }' "$T/all.csv")
want=$(awk -F, -v id="$id" 'NR > 1 && $6 == id' "$T/all.csv" | wc -l)
total=$(($(wc -l <"$T/all.csv") - 1))
got=$(fs print -r "$T/mix.fs" -o csv:cid -N "cid \"$id\"" | tail -n +2 | wc -l)
[ "$got" = "$want" ] || fail "cid \"$id\": $got flows, want $want"
fs print -r "$T/mix.fs" -o csv:cid -N "cid \"$id\"" | tail -n +2 | grep -qv "^$id\$" &&
    fail "cid \"$id\" let another id through"
got=$(fs print -r "$T/mix.fs" -o csv:cid -N "cid $id" | tail -n +2 | wc -l)
[ "$got" = "$want" ] || fail "unquoted cid $id: $got flows, want $want"
got=$(fs print -r "$T/mix.fs" -o csv:cid -N "proto tcp or cid != \"$id\"" | tail -n +2 | wc -l)
want_ne=$(awk -F, -v id="$id" 'NR > 1 && ($5 == 6 || $6 != id)' "$T/all.csv" | wc -l)
[ "$got" = "$want_ne" ] || fail "cid != : $got flows, want $want_ne"
echo "ok   (b) cid \"$id\" selects its $want of $total flows, != the rest"

# (c) json and a bad value
fs print -r "$T/mix.fs" -o json:cid,proto -N "cid \"$id\"" | head -1 |
    grep -q "^{\"cid\":\"$id\",\"proto\":" || fail "json cid not a quoted string"
if fs print -r "$T/mix.fs" 'cid "1:abc"' >/dev/null 2>"$T/bad.err"; then
    fail "a malformed cid was accepted"
fi
grep -q 'not a Community ID' "$T/bad.err" && grep -q '\^' "$T/bad.err" ||
    fail "no caret message for a malformed cid: $(cat "$T/bad.err")"
echo "ok   (c) json quotes cid; a malformed value is refused with a caret"

# (d) a seeded deployment
fs print -r "$T/mix.fs" --cid-seed 7 -o csv:cid -N | tail -n +2 | sort -u >"$T/fs7.txt"
tshark --enable-protocol communityid -o communityid.seed:7 -r "$T/mix.pcap" -T fields \
    -e communityid 2>/dev/null | grep . | sort -u >"$T/ts7.txt"
cmp -s "$T/fs7.txt" "$T/ts7.txt" || fail "--cid-seed 7 differs from tshark's seed 7"
fs print -r "$T/mix.fs" -o csv:cid -N | tail -n +2 | sort -u >"$T/fs0.txt"
cmp -s "$T/fs7.txt" "$T/fs0.txt" && fail "--cid-seed 7 changed nothing"
id7=$(sed -n 5p "$T/fs7.txt")
got=$(fs print -r "$T/mix.fs" --cid-seed 7 -o csv:cid -N "cid \"$id7\"" | tail -n +2 | sort -u)
[ "$got" = "$id7" ] || fail "cid filter with --cid-seed 7: '$got', want $id7"
if fs print -r "$T/mix.fs" --cid-seed 65536 >/dev/null 2>&1; then
    fail "--cid-seed 65536 accepted"
fi
echo "ok   (d) --cid-seed 7 equals tshark's seed 7, in print and in the filter"
