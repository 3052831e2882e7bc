#!/bin/sh
# --pdns FILE: flows named by the passive DNS table meter --pdns-out wrote from the same
# capture (pdns_pcap.py: answers, then the connections to the addresses they gave):
#  (a) the table is tshark's reading of the DNS (a CNAME chain over UDP, an A record over
#      TCP in two segments, an AAAA);
#  (b) print's dst_name: the name the client asked for (www.example.com, through the
#      CNAME to cdn.example.net), nothing two hours after the answer, the newer name
#      after a newer answer; csv, json (null when none), table;
#  (c) the filter: dst name GLOB, src name, name (either side), !=, quoted; in stats and
#      pivot too, and pivot's name rows (the host's records, at time_first); a name
#      term or column without --pdns is a usage error (2);
#  (d) hostile table lines are skipped and counted on stderr, a missing file is an error;
#  (e) a Suricata EVE file's dns answers (DNS log versions 2 and 3, as Suricata documents
#      them; Debian has no suricata) name the flows as the meter's table does.
. "$(dirname "$0")/lib.sh"

need python3
python3 "$(dirname "$0")/pdns_pcap.py" "$T/n.pcap" || fail "pdns_pcap.py"
fs meter -r "$T/n.pcap" -w "$T/n.fs" --pdns-out "$T/n.pdns" || fail "meter"
if command -v tshark >/dev/null 2>&1; then
    python3 "$(dirname "$0")/pdns_tshark.py" "$T/n.pcap" >"$T/t.pdns" || fail "pdns_tshark.py"
    cmp -s "$T/t.pdns" "$T/n.pdns" || fail "table differs from tshark's: $(diff "$T/t.pdns" "$T/n.pdns")"
    echo "ok   (a) the table is tshark's (4 records)"
fi

fs print -r "$T/n.fs" --pdns "$T/n.pdns" -o csv:first,dst,dport,dst_name 'dport 443' >"$T/csv"
cat >"$T/want" <<'X'
first,dst,dport,dst_name
2023-11-14T22:13:21.000Z,198.51.100.7,443,www.example.com
2023-11-14T22:13:22.000Z,2001:db8::7,443,v6.example.com
2023-11-15T00:13:20.000Z,198.51.100.7,443,
2023-11-15T01:00:01.000Z,198.51.100.7,443,other.example.org
X
expect_same "$T/want" "$T/csv"
fs print -r "$T/n.fs" --pdns "$T/n.pdns" -o json:dport,src_name,dst_name 'dport 443' >"$T/json"
grep -qx '{"dport":443,"src_name":null,"dst_name":"www.example.com"}' "$T/json" || fail "json: $(cat "$T/json")"
[ "$(grep -c '"dst_name":null' "$T/json")" = 1 ] || fail "json nulls: $(cat "$T/json")"
fs print -r "$T/n.fs" --pdns "$T/n.pdns" -o fmt:dst,dst_name 'dport 443' | grep -q '^198.51.100.7    other.example.org$' ||
    fail "table"
echo "ok   (b) dst_name in csv, json and the table, by the flow's time"

count() {
    fs print -r "$T/n.fs" --pdns "$T/n.pdns" -o csv:first "$@" | tail -n +2 | wc -l
}
[ "$(count 'dst name *.example.com')" = 2 ] || fail "dst name *.example.com: $(count 'dst name *.example.com')"
[ "$(count 'dst name "WWW.example.com"')" = 1 ] || fail "quoted, upper case"
[ "$(count 'dst name != *.example.com and dport 443')" = 2 ] || fail "!="
[ "$(count 'src name *.example.*')" = 0 ] || fail "src name (the clients have no name)"
[ "$(count 'name *.example.*')" = 3 ] || fail "either side"
[ "$(count 'dst name "[ow]*" and dport 443')" = 2 ] || fail "bracket glob"
fs stats -r "$T/n.fs" --pdns "$T/n.pdns" -s dstport 'dst name *.example.com' >"$T/stats" || fail "stats"
grep -q '443' "$T/stats" || fail "stats: $(cat "$T/stats")"
# stats -s by the name: each name's flows as print's column counts them; name counts
# both ends (a flow with two unnamed ends counts twice under the empty name, as cc does)
fs stats -r "$T/n.fs" --pdns "$T/n.pdns" -s dst_name/flows -o csv | awk -F, 'NR > 1 { print $2 "," $3 }' |
    sort >"$T/by_name" || fail "stats -s dst_name"
fs print -r "$T/n.fs" --pdns "$T/n.pdns" -o csv:dst_name | awk 'NR > 1 { n[$0]++ } END { for (k in n) print k "," n[k] }' |
    sort >"$T/by_print"
cmp -s "$T/by_name" "$T/by_print" || fail "stats -s dst_name: $(cat "$T/by_name") vs print: $(cat "$T/by_print")"
grep -q '^www.example.com,1$' "$T/by_name" || fail "stats -s dst_name: $(cat "$T/by_name")"
fs stats -r "$T/n.fs" --pdns "$T/n.pdns" -s name/flows -o csv | awk -F, 'NR > 1 { t += $3 } END { exit t == 12 ? 0 : 1 }' ||
    fail "stats -s name: not two ends a flow"
st=0
fs stats -r "$T/n.fs" -s dst_name 2>"$T/err" >/dev/null || st=$?
[ "$st" = 2 ] && grep -q 'needs a passive DNS table: --pdns FILE' "$T/err" || fail "stats -s dst_name without --pdns: $st $(cat "$T/err")"
fs pivot -r "$T/n.fs" --pdns "$T/n.pdns" 198.51.100.7 'dst name www.example.com' >"$T/pivot" || fail "pivot"
[ "$(grep -c ' flow ' "$T/pivot")" = 1 ] || fail "pivot: $(cat "$T/pivot")"
fs pivot -r "$T/n.fs" --pdns "$T/n.pdns" -o csv 198.51.100.7 >"$T/pivot.csv" || fail "pivot csv"
grep -q '^2023-11-14T22:13:20.000Z,2023-11-14T22:13:20.000Z,name,.*,www.example.com (count 1)$' "$T/pivot.csv" &&
    grep -q ',name,.*,other.example.org (count 1)$' "$T/pivot.csv" &&
    [ "$(grep -c ',flow,' "$T/pivot.csv")" = 3 ] || fail "pivot's name rows: $(cat "$T/pivot.csv")"
st=0
fs print -r "$T/n.fs" 'dst name x' 2>"$T/err" >/dev/null || st=$?
[ "$st" = 2 ] && grep -q 'needs a passive DNS table: --pdns FILE' "$T/err" || fail "name without --pdns: $st $(cat "$T/err")"
st=0
fs print -r "$T/n.fs" -o csv:dst_name 2>"$T/err" >/dev/null || st=$?
[ "$st" = 2 ] && grep -q -- '--pdns FILE' "$T/err" || fail "dst_name without --pdns: $st $(cat "$T/err")"
echo "ok   (c) the name filter (glob, quoted, !=, either side) in print, stats and pivot; stats -s by name"

{
    cat "$T/n.pdns"
    printf '%s\n' 'not json' '{"rrname":"x","rrtype":"A","rdata":"1.2.3","time_first":1,"time_last":2}' \
        '{"rrname":"x","rrtype":"A","rdata":"1.2.3.4","time_first":3,"time_last":2}'
} >"$T/bad.pdns"
fs print -r "$T/n.fs" --pdns "$T/bad.pdns" -o csv:dst_name 'dport 443' >"$T/out" 2>"$T/err" || fail "bad lines were fatal"
grep -qx 'flowsleuth: --pdns .*bad.pdns: 3 of 7 lines skipped: 1 not a JSON object, 1 rdata not an address of its type, 1 bad time range' "$T/err" ||
    fail "skip message: $(cat "$T/err")"
[ "$(grep -c example "$T/out")" = 3 ] || fail "good lines lost"
st=0
fs print -r "$T/n.fs" --pdns "$T/none.pdns" 2>"$T/err" >/dev/null || st=$?
[ "$st" != 0 ] && grep -q 'none.pdns' "$T/err" || fail "missing file: $st"
echo "ok   (d) bad lines skipped and counted; a missing table is an error"

cat >"$T/dns.eve" <<'X'
{"timestamp":"2023-11-14T22:13:20.000000+0000","event_type":"dns","src_ip":"10.0.0.53","src_port":53,"dest_ip":"10.0.0.5","dest_port":35000,"proto":"UDP","dns":{"version":2,"type":"answer","id":7,"rrname":"www.example.com","rrtype":"A","answers":[{"rrname":"www.example.com","rrtype":"CNAME","ttl":60,"rdata":"cdn.example.net"},{"rrname":"cdn.example.net","rrtype":"A","ttl":60,"rdata":"198.51.100.7"}]}}
{"timestamp":"2023-11-14T22:13:20.000000+0000","event_type":"dns","dns":{"version":3,"type":"response","queries":[{"rrname":"v6.example.com","rrtype":"AAAA"}],"answers":[{"rrname":"v6.example.com","rrtype":"AAAA","ttl":5,"rdata":"2001:db8::7"}]}}
{"timestamp":"2023-11-15T01:00:00.000000+0000","event_type":"dns","dns":{"version":3,"type":"response","answers":[{"rrname":"other.example.org","rrtype":"A","ttl":5,"rdata":"198.51.100.7"}]}}
{"timestamp":"2023-11-15T01:00:00.000000+0000","event_type":"alert"}
X
fs print -r "$T/n.fs" --pdns "$T/dns.eve" -o csv:first,dst,dport,dst_name 'dport 443' >"$T/eve.csv" 2>"$T/err" || fail "--pdns EVE"
expect_same "$T/want" "$T/eve.csv"
grep -q 'eve: 1 line skipped: 1 bad or missing field' "$T/err" || fail "EVE skips: $(cat "$T/err")"
echo "ok   (e) a Suricata EVE file's dns answers name the flows the same"
