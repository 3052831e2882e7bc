#!/bin/sh
# pivot HOST|CID: one timeline of a host's or a connection's flows, the Suricata alerts
# joined to them and the DNS answers that named the host. The EVE alerts are written
# by eve_from_tshark.py with tshark's community_id (Debian 12 has no suricata); the
# DNS events in Suricata's v2 and v3 shapes by this test.
#  (a) HOST: exactly the flows of `print ip HOST` (each once), exactly the EVE alerts
#      whose community_id is one of those flows' (each once), the DNS answers whose
#      rdata is the host, in time order; json lines the same rows;
#  (b) CID: the connection's flows and its alerts only;
#  (c) a host with no flow: a header and exit 0; usage errors exit 2.
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

# The host: of the addresses with an alert, the one with the most flows (fsgen gives
# most addresses one flow; with this seed the busiest alerted one has two).
fs print -r "$T/mix.fs" -N -o csv:src,dst | tail -n +2 | tr , '\n' | sort | uniq -c |
    sort -k1,1nr -k2,2 >"$T/busy.txt"
cut -d, -f1,3 "$T/want.txt" | tr , '\n' | sort -u >"$T/alerted.txt"
host=$(awk 'NR == FNR { a[$1] = 1; next } ($2 in a) { print $2; exit }' "$T/alerted.txt" "$T/busy.txt")
[ -n "$host" ] || fail "no alerted address"
t0=$(awk -F, 'NR == 1 { printf "%.6f", $1 }' "$T/pkts.csv")
python3 - "$t0" "$host" >"$T/dns.eve" <<'EOF'
import sys, datetime
t = datetime.datetime.fromtimestamp(float(sys.argv[1]) - 1, datetime.timezone.utc)
ts = t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"
host = sys.argv[2]
print('{"timestamp":"%s","event_type":"dns","src_ip":"10.9.9.53","src_port":53,'
      '"dest_ip":"10.9.9.2","dest_port":40000,"proto":"UDP","dns":{"version":2,'
      '"type":"answer","id":7,"rrname":"www.example.org","rrtype":"A","answers":['
      '{"rrname":"www.example.org","rrtype":"CNAME","ttl":60,"rdata":"ssh.example.org"},'
      '{"rrname":"ssh.example.org","rrtype":"A","ttl":60,"rdata":"%s"}]}}' % (ts, host))
print('{"timestamp":"%s","event_type":"dns","dns":{"version":3,"type":"response",'
      '"queries":[{"rrname":"v3.example.org","rrtype":"A"}],"answers":[{"rrname":'
      '"v3.example.org","rrtype":"A","ttl":5,"rdata":"%s"},{"rrname":"v3.example.org",'
      '"rrtype":"A","ttl":5,"rdata":"192.0.2.250"}]}}' % (ts, host))
EOF
cat "$T/alerts.eve" "$T/dns.eve" >"$T/all.eve"

# (a) the host's timeline
fs pivot -r "$T/mix.fs" --eve "$T/all.eve" -o csv "$host" >"$T/p.csv" || fail "pivot $host"
head -1 "$T/p.csv" | grep -qx 'time,last,kind,proto,src,sport,dst,dport,packets,bytes,rpackets,rbytes,alerts,severity,sid,category,cid,what' ||
    fail "header: $(head -1 "$T/p.csv")"
fs print -r "$T/mix.fs" -N -o csv:first,src,sport,dst,dport,cid "ip $host" | tail -n +2 |
    sort >"$T/want-flows.txt"
awk -F, '$3 == "flow" { print $1 "," $5 "," $6 "," $7 "," $8 "," $17 }' "$T/p.csv" |
    sort >"$T/got-flows.txt"
expect_same "$T/want-flows.txt" "$T/got-flows.txt"
nflows=$(wc -l <"$T/got-flows.txt")
[ "$nflows" -ge 2 ] || fail "only $nflows flows of $host"
# The alerts of the host's connections, by the community_id tshark gave them.
cut -d, -f6 "$T/want-flows.txt" | sort -u >"$T/cids.txt"
python3 - "$T/alerts.eve" "$T/cids.txt" >"$T/want-alerts.txt" <<'EOF'
import json, sys
cids = set(open(sys.argv[2]).read().split())
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["community_id"] in cids:
        print("%s,%d,%s" % (e["community_id"], e["alert"]["signature_id"], e["alert"]["signature"]))
EOF
sort "$T/want-alerts.txt" >"$T/want-alerts.sorted"
awk -F, '$3 == "alert" { print $17 "," $15 "," $18 }' "$T/p.csv" | sort >"$T/got-alerts.txt"
expect_same "$T/want-alerts.sorted" "$T/got-alerts.txt"
[ -s "$T/got-alerts.txt" ] || fail "no alert on $host"
awk -F, '$3 == "dns" { print $18 }' "$T/p.csv" | sort >"$T/got-dns.txt"
printf 'A ssh.example.org\nA v3.example.org\n' >"$T/want-dns.txt"
expect_same "$T/want-dns.txt" "$T/got-dns.txt"
tail -n +2 "$T/p.csv" | cut -d, -f1 >"$T/times.txt"
sort -c "$T/times.txt" || fail "the timeline is not in time order"
fs pivot -r "$T/mix.fs" --eve "$T/all.eve" -o json "$host" >"$T/p.json" || fail "pivot -o json"
python3 - "$T/p.json" "$T/p.csv" <<'EOF' || fail "json lines differ from csv rows"
import csv, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
table = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == len(table), (len(rows), len(table))
for j, c in zip(rows, table):
    for k, v in c.items():
        w = j[k]
        assert (str(w) if w is not None else "") == v, (k, w, v)
EOF
echo "ok   (a) $host: $nflows flows, $(wc -l <"$T/got-alerts.txt") alerts, 2 names, in time order; json = csv"

# (b) one connection: its flows and alerts only
cid=$(awk -F, '$3 == "alert" { print $17; exit }' "$T/p.csv")
fs pivot -r "$T/mix.fs" --eve "$T/all.eve" -o csv "$cid" >"$T/c.csv" || fail "pivot $cid"
awk -F, -v c="$cid" 'NR > 1 && $17 != c { bad = 1 } END { exit bad }' "$T/c.csv" ||
    fail "pivot $cid shows another connection"
want=$(grep -c "^$cid," "$T/want-alerts.sorted")
got=$(awk -F, '$3 == "alert"' "$T/c.csv" | wc -l)
[ "$got" = "$want" ] || fail "pivot $cid: $got alerts, want $want"
grep -q ',dns,' "$T/c.csv" && fail "a connection's timeline has dns rows"
n=$(awk -F, '$3 == "flow"' "$T/c.csv" | wc -l)
[ "$n" -ge 1 ] || fail "pivot $cid: no flow"
echo "ok   (b) $cid: $n flow(s), $got alerts"

# (c) nothing found, and usage
fs pivot -r "$T/mix.fs" --eve "$T/all.eve" -o csv 192.0.2.99 >"$T/none.csv" || fail "pivot with no flow failed"
[ "$(wc -l <"$T/none.csv")" = 1 ] || fail "pivot with no flow: $(cat "$T/none.csv")"
for bad in "not-a-host" "1:short"; do
    st=0
    fs pivot -r "$T/mix.fs" "$bad" >/dev/null 2>&1 || st=$?
    [ "$st" = 2 ] || fail "pivot $bad: exit $st, want 2"
done
st=0
fs pivot -r "$T/mix.fs" >/dev/null 2>&1 || st=$?
[ "$st" = 2 ] || fail "pivot without a subject: exit $st, want 2"
echo "ok   (c) an unseen host gives a header only (exit 0); bad subjects exit 2"
