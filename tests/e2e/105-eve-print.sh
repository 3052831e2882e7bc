#!/bin/sh
# print --eve: Suricata alerts joined to flows by Community ID.
# Debian 12 has no suricata package (only suricata-update), so the EVE file is written
# from Suricata's documented alert format by eve_from_tshark.py, with each alert's
# community_id taken from tshark's own communityid dissector on the packet that a rule
# would match (a port rule on 80, one on 53 firing on every query, two rules of
# different severity on 22): the ids do not come from flowsleuth.
#  (a) exactly the alerted connections show alerts, each with its count and its most
#      severe alert; every other flow shows 0 and empty cells;
#  (b) the time window: an alert an hour later on the same connection joins only with
#      --eve-slack of an hour;
#  (c) hostile lines (too long, bad UTF-8, not JSON, no event, mistyped) are skipped and
#      counted on stderr, the rest still joins; csv quotes and json escapes signatures;
#  (d) usage: --eve with -w or --anon, --eve-slack alone (2); a missing file (1).
. "$(dirname "$0")/lib.sh"

need tshark python3
tshark -G protocols 2>/dev/null | grep -q '	communityid$' ||
    skip "this tshark has no communityid field"

"$FS_GEN" mix "$T/mix.pcap" --flows 300 --seed 105 --snap 128 >/dev/null || fail "fsgen"
fs meter -r "$T/mix.pcap" -w "$T/mix.fs" || fail "meter"
tshark --enable-protocol communityid -r "$T/mix.pcap" -T fields -E separator=, \
    -e frame.time_epoch -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e ip.proto \
    -e ipv6.nxt -e tcp.srcport -e udp.srcport -e tcp.dstport -e udp.dstport -e tcp.len \
    -e communityid >"$T/pkts.csv" 2>/dev/null || fail "tshark"
python3 "$(dirname "$0")/eve_from_tshark.py" "$T/pkts.csv" "$T/alerts.eve" "$T/want.txt" ||
    fail "eve_from_tshark.py"
[ "$(wc -l <"$T/want.txt")" -gt 50 ] || fail "too few alerted connections: $(wc -l <"$T/want.txt")"

# (a) the join: tuple, count, severity, sid of every flow with an alert.
fs print -r "$T/mix.fs" --eve "$T/alerts.eve" -N \
    -o csv:src,sport,dst,dport,proto >"$T/all.csv" 2>"$T/a.err" || fail "print --eve"
[ -s "$T/a.err" ] && fail "stderr on a clean EVE file: $(cat "$T/a.err")"
head -1 "$T/all.csv" | grep -qx 'src,sport,dst,dport,proto,alerts,severity,sid,category,signature' ||
    fail "header: $(head -1 "$T/all.csv")"
awk -F, 'NR > 1 && $6 > 0 { print $1 "," $2 "," $3 "," $4 "," $5 "," $6 "," $7 "," $8 }' \
    "$T/all.csv" | sort >"$T/got.txt"
sort "$T/want.txt" >"$T/want.sorted"
expect_same "$T/want.sorted" "$T/got.txt"
awk -F, 'NR > 1 && $6 == 0 && $7 $8 $9 $10 != "" { bad = 1 } END { exit bad }' "$T/all.csv" ||
    fail "a flow without alerts has alert cells"
total=$(($(wc -l <"$T/all.csv") - 1))
echo "ok   (a) $(wc -l <"$T/want.txt") alerted connections of $total flows, counts and most severe as written"

# (b) the window: one alert on the first port-80 connection, an hour after its end.
first80=$(awk -F, '$4 == 80 { print; exit }' "$T/want.sorted")
python3 - "$T/pkts.csv" "$first80" >"$T/late.eve" <<'EOF'
import sys, datetime
src, sport, dst, dport, proto = sys.argv[2].split(",")[:5]
last, cid = 0, None
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split(",")
    a, b = f[1] or f[2], f[3] or f[4]
    ps, pd = f[7] or f[8], f[9] or f[10]
    if {(a, ps), (b, pd)} == {(src, sport), (dst, dport)}:
        last, cid = max(last, float(f[0])), f[12]
t = datetime.datetime.fromtimestamp(last + 3600, datetime.timezone.utc)
print('{"timestamp":"%s+0000","event_type":"alert","src_ip":"%s","src_port":%s,'
      '"dest_ip":"%s","dest_port":%s,"proto":"TCP","community_id":"%s","alert":'
      '{"signature_id":9,"signature":"late","category":"c","severity":1}}'
      % (t.strftime("%Y-%m-%dT%H:%M:%S.%f"), src, sport, dst, dport, cid))
EOF
filt="src ip ${first80%%,*} and dport 80 and sport $(echo "$first80" | cut -d, -f2)"
n=$(fs print -r "$T/mix.fs" --eve "$T/late.eve" -N -o csv:sport $filt | awk -F, 'NR > 1 && $2 > 0' | wc -l)
[ "$n" = 0 ] || fail "an alert an hour after the flow joined with the default slack"
n=$(fs print -r "$T/mix.fs" --eve "$T/late.eve" --eve-slack 3599 -N -o csv:sport $filt | awk -F, 'NR > 1 && $2 > 0' | wc -l)
[ "$n" = 0 ] || fail "an alert 3600 s after the flow joined with 3599 s of slack"
fs print -r "$T/mix.fs" --eve "$T/late.eve" --eve-slack 3601 -N -o csv:sport $filt >"$T/b.csv"
awk -F, 'NR == 2' "$T/b.csv" | grep -q ",1,1,9,c,late$" ||
    fail "the late alert did not join with 3601 s of slack: $(cat "$T/b.csv")"
echo "ok   (b) an alert 3600 s after the flow joins with --eve-slack 3601, not 3599 or 60"

# (c) hostile lines around good ones; csv and json of a signature with , " and \.
{
    head -c 1100000 /dev/zero | tr '\0' 'x'
    echo
    printf '{"event_type":"alert","bad":"\377\376"}\n'
    echo '{"event_type": '
    echo '[1,2,3]'
    echo '{"timestamp":"2023-11-14T22:13:20+0000"}'
    echo '{"event_type":"alert","timestamp":"2023-11-14T22:13:20+0000","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","proto":"TCP","src_port":"80","alert":{}}'
    echo '{"event_type":"stats","stats":{}}'
    sed 's/"signature":"[^"]*"/"signature":"a, \\"quoted\\" \\\\ sig"/' "$T/late.eve"
    cat "$T/alerts.eve"
} >"$T/hostile.eve"
fs print -r "$T/mix.fs" --eve "$T/hostile.eve" -N -o csv:src,sport,dst,dport,proto \
    >"$T/c.csv" 2>"$T/c.err" || fail "print --eve on hostile lines"
grep -qx 'flowsleuth print: eve: 6 lines skipped: 1 too long, 1 not UTF-8, 1 not JSON, 2 not an event, 1 bad or missing field' "$T/c.err" ||
    fail "skip summary: $(cat "$T/c.err")"
awk -F, 'NR > 1 && $6 > 0 { print $1 "," $2 "," $3 "," $4 "," $5 "," $6 "," $7 "," $8 }' \
    "$T/c.csv" | sort >"$T/c.txt"
expect_same "$T/want.sorted" "$T/c.txt"
fs print -r "$T/mix.fs" --eve "$T/hostile.eve" --eve-slack 4000 -N -o csv:sport $filt 2>/dev/null |
    grep -q ',"a, ""quoted"" \\ sig"$' || fail "csv quoting of a signature"
fs print -r "$T/mix.fs" --eve "$T/hostile.eve" --eve-slack 4000 -o json:src $filt 2>/dev/null |
    python3 -c 'import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 1 and rows[0]["signature"] == "a, \"quoted\" \\ sig", rows
assert rows[0]["severity"] == 1 and isinstance(rows[0]["alerts"], int), rows' ||
    fail "json of a signature"
fs print -r "$T/mix.fs" --eve "$T/alerts.eve" -o json:src 'dport 443 and proto tcp' 2>/dev/null |
    head -1 | grep -q '"alerts":0,"severity":null,"sid":null,"category":null,"signature":null}$' ||
    fail "json of a flow without alerts"
echo "ok   (c) 6 hostile lines skipped and counted, the rest joined; csv and json escape"

# (d) usage
st=0
fs print -r "$T/mix.fs" --eve "$T/alerts.eve" -w "$T/out.fs" 2>/dev/null || st=$?
[ "$st" = 2 ] || fail "--eve with -w: exit $st, want 2"
st=0
fs print -r "$T/mix.fs" --eve "$T/alerts.eve" --anon 0123456789abcdef0123456789abcdef >/dev/null 2>&1 || st=$?
[ "$st" = 2 ] || fail "--eve with --anon: exit $st, want 2"
st=0
fs print -r "$T/mix.fs" --eve-slack 5 >/dev/null 2>&1 || st=$?
[ "$st" = 2 ] || fail "--eve-slack without --eve: exit $st, want 2"
st=0
fs print -r "$T/mix.fs" --eve "$T/missing.eve" >"$T/d.out" 2>"$T/d.err" || st=$?
[ "$st" = 1 ] && [ ! -s "$T/d.out" ] && grep -q 'missing.eve' "$T/d.err" ||
    fail "a missing EVE file: exit $st, want 1 and no output ($(cat "$T/d.err"))"
st=0
fs print --eve - <"$T/alerts.eve" >/dev/null 2>"$T/d.err" || st=$?
[ "$st" = 2 ] && grep -q 'stdin' "$T/d.err" || fail "--eve - with flows from stdin: exit $st, want 2"
n=$(fs print -r "$T/mix.fs" --eve - -N -o csv:sport <"$T/alerts.eve" | awk -F, 'NR > 1 && $2 > 0' | wc -l)
[ "$n" = "$(wc -l <"$T/want.txt")" ] || fail "--eve - (stdin) joined $n flows"
echo "ok   (d) --eve with -w or --anon, --eve-slack alone, --eve - with flows from stdin are usage errors; a missing file is 1; --eve - reads stdin"
