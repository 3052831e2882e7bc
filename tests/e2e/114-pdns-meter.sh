#!/bin/sh
# meter --pdns-out: the passive DNS table of the DNS responses in a capture against
# tshark's decoding of the same packets (pdns_tshark.py: the answer-section A, AAAA and
# CNAME records of each response from port 53, UDP and reassembled TCP, IP fragments
# not reassembled), record for record with times and counts:
#  (a) Zeek's dns-edns-ecs capture (IPv4 and IPv6, UDP and TCP, CNAME chains): the
#      same 43 records, and --stats counts the three fragmented responses as truncated;
#  (b) the other shared and bundled captures: the same table (most have no DNS);
#  (c) the file is replaced whole, and a folder that cannot hold it is an error (1).
. "$(dirname "$0")/lib.sh"

need tshark python3
cap="$FS_DATA/pcap/dns_ipv4_ipv6_udp_tcp.pcap"
[ -f "$cap" ] || skip "no $cap"

fs meter -r "$cap" -w "$T/flows.fs" --pdns-out "$T/pdns.json" --stats 2>"$T/stats" ||
    fail "meter --pdns-out"
python3 "$(dirname "$0")/pdns_tshark.py" "$cap" >"$T/tshark.json" || fail "pdns_tshark.py"
[ "$(wc -l <"$T/tshark.json")" = 43 ] || fail "tshark gave $(wc -l <"$T/tshark.json") records, not 43"
if ! cmp -s "$T/pdns.json" "$T/tshark.json"; then
    diff "$T/pdns.json" "$T/tshark.json" | head -10 >&2
    fail "the table differs from tshark's"
fi
grep -q '"rrname":"www.netflix.com","rrtype":"CNAME","rdata":"www.geo.netflix.com"' "$T/pdns.json" ||
    fail "no CNAME www.netflix.com"
grep -q 'dns messages 65, responses taken 62, answers 61, records 43' "$T/stats" ||
    fail "stats: $(grep dns "$T/stats")"
grep -q 'dns skipped 3: truncated' "$T/stats" || fail "fragments: $(grep dns "$T/stats")"
echo "ok   (a) dns-edns-ecs: 43 records, as tshark decodes them"

n=0
for p in "$FS_DATA"/pcap/*.pcap "$FS_SRC"/tests/data/*.pcap; do
    [ -f "$p" ] || continue
    fs meter -r "$p" -w /dev/null --pdns-out "$T/p.json" 2>/dev/null || fail "$(basename "$p"): meter"
    python3 "$(dirname "$0")/pdns_tshark.py" "$p" >"$T/t.json" || fail "$(basename "$p"): tshark"
    cmp -s "$T/p.json" "$T/t.json" || fail "$(basename "$p"): differs from tshark"
    n=$((n + 1))
done
echo "ok   (b) $n captures: the same table as tshark's"

echo old >"$T/keep.json"
fs meter -r "$cap" -w /dev/null --pdns-out "$T/keep.json" || fail "rewrite"
cmp -s "$T/keep.json" "$T/pdns.json" || fail "not replaced"
ls "$T" | grep -q 'keep.json.tmp' && fail "temp file left"
if fs meter -r "$cap" -w /dev/null --pdns-out "$T/none/x.json" 2>"$T/err"; then
    fail "a missing folder was accepted"
fi
grep -q 'pdns-out' "$T/err" || fail "no word: $(cat "$T/err")"
echo "ok   (c) replaced whole; a missing folder is an error"
