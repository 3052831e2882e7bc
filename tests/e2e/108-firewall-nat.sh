#!/bin/sh
# Firewall and NAT fields (xsrc, xdst, xsport, xdport, fw_event, fw_ext_event,
# nat_event, ingress_acl, egress_acl) of the shared NSEL and NAT-event captures:
#  (a) each capture collected into a store, sent over UDP to a live collector (the
#      replay of 080's captures: replay_udp.py), read back with print -o json, equals
#      tshark's decoding (the stored .records.jsonl) record by record in every field both
#      decode (collect_compare.py: the translated addresses and ports, both events, the
#      ACL ids, the counters NSEL carries in initiator/responderOctets or
#      octetTotalCount, the times from flowStart/observationTimeMilliseconds);
#  (b) the filter selects what tshark's own filter language selects: fw_event deleted
#      (cflow.firewall_event == 2), nat_event by name, xsrc by prefix, ingress_acl;
#  (c) print shows events as names in the table and numbers in CSV.
. "$(dirname "$0")/lib.sh"
need tshark python3
N="$FS_DATA/netflow"
[ -f "$N/v9_cisco_asa_nsel_1.pcap" ] || skip "no $N/v9_cisco_asa_nsel_1.pcap"
cmp="$FS_SRC/tests/e2e/collect_compare.py"
. "$(dirname "$0")/ports.sh"

# (a) collect -f into a store and back; the same over UDP into a live collector.
for name in v9_cisco_asa_nsel_1 v9_cisco_asa_nsel_2 v9_nat_events; do
    p="$N/$name.pcap"
    fs collect -f "$p" --sampling 1 -w "$T/$name.fsf" 2>"$T/$name.err" ||
        fail "collect -f $name: $(cat "$T/$name.err")"
    fs print -r "$T/$name.fsf" -o json >"$T/$name.json" || fail "print $name"
    out=$(python3 "$cmp" "$p.records.jsonl" "$T/$name.json") ||
        fail "$name (store) differs from tshark: $out"
    echo "ok   $name (collect -f, store, print): $out"
done

# The same datagrams over UDP on loopback into a live collector writing a store: the
# same records (the exporter is then 127.0.0.1, so it is left out of the comparison).
port=$(free_port 1)
"$FS_BIN" collect -l "127.0.0.1:$port" --sampling 1 -w "$T/live/" 2>"$T/live.err" &
cpid=$!
wait_udp "$port"
for name in v9_cisco_asa_nsel_1 v9_cisco_asa_nsel_2 v9_nat_events; do
    python3 "$(dirname "$0")/replay_udp.py" "$N/$name.pcap" "$port" 200 >/dev/null ||
        fail "replay_udp $name"
done
wait_drained "$port"
kill -TERM "$cpid"
wait "$cpid" || fail "collector exited with an error: $(cat "$T/live.err")"
noexp() { sed 's/"exporter":"[^"]*",//' "$@" | sort; }
fs print -r "$T/live" -o json | noexp >"$T/live.json" || fail "print live"
cat "$T"/v9_*.json | noexp >"$T/file.json"
cmp -s "$T/live.json" "$T/file.json" ||
    fail "over UDP: $(wc -l <"$T/live.json") records, from the files $(wc -l <"$T/file.json"); they differ"
echo "ok   the three captures over UDP to a live collector: the same $(wc -l <"$T/live.json") records"

# (b) filters against tshark's display filter on the same captures.
count_fs() { # store, filter
    fs print -r "$T/$1.fsf" -o csv "$2" | tail -n +2 | wc -l
}
for name in v9_cisco_asa_nsel_1 v9_cisco_asa_nsel_2; do
    want=$(tshark -r "$N/$name.pcap" -T fields -e cflow.firewall_event 2>/dev/null |
        tr ',' '\n' | grep -c '^2$')
    got=$(count_fs "$name" 'fw_event deleted')
    [ "$got" -eq "$want" ] || fail "$name: fw_event deleted: $got flows, tshark $want"
    [ "$want" -gt 0 ] || fail "$name: no deleted events to test with"
    echo "ok   $name: fw_event deleted = $got (tshark cflow.firewall_event == 2)"
done
want=$(tshark -r "$N/v9_cisco_asa_nsel_1.pcap" -T fields -e cflow.ingress_acl_id 2>/dev/null |
    tr ',' '\n' | grep -c '^0f8e7ff3fc1a030f00000000$')
got=$(count_fs v9_cisco_asa_nsel_1 'ingress_acl 0f8e7ff3:fc1a030f')
[ "$got" -eq "$want" ] && [ "$want" -gt 0 ] ||
    fail "ingress_acl 0f8e7ff3:fc1a030f: $got flows, tshark $want"
echo "ok   ingress_acl 0f8e7ff3:fc1a030f = $got"
want=$(tshark -r "$N/v9_nat_events.pcap" -T fields -e cflow.post_natsource_ipv4_address \
    2>/dev/null | tr ',' '\n' | grep -c '^10\.143\.')
got=$(count_fs v9_nat_events 'xsrc 10.143.0.0/16')
[ "$got" -eq "$want" ] && [ "$want" -gt 0 ] || fail "xsrc 10.143.0.0/16: $got flows, tshark $want"
echo "ok   xsrc 10.143.0.0/16 = $got"
want=$(tshark -r "$N/v9_nat_events.pcap" -T fields -e cflow.nat_event 2>/dev/null |
    tr ',' '\n' | grep -c '^2$')
got=$(count_fs v9_nat_events 'nat_event delete')
[ "$got" -eq "$want" ] && [ "$want" -gt 0 ] || fail "nat_event delete: $got flows, tshark $want"
echo "ok   nat_event delete = $got"
# a bad name is a usage error naming the field
if fs print -r "$T/v9_nat_events.fsf" 'fw_event dleted' >/dev/null 2>"$T/bad.err"; then
    fail "fw_event dleted was taken"
fi
grep -q "firewall event" "$T/bad.err" || fail "fw_event dleted: $(cat "$T/bad.err")"

# (c) names in the table, numbers in CSV.
fs print -r "$T/v9_cisco_asa_nsel_2.fsf" -o fmt:src,xsrc,fw_event,fw_ext_event -c 1 |
    tail -n 1 | grep -q ' deleted ' || fail "table does not name fw_event"
fs print -r "$T/v9_cisco_asa_nsel_2.fsf" -o csv:fw_event -c 1 | tail -n 1 | grep -qx 2 ||
    fail "csv fw_event is not a number"
fs print -r "$T/v9_nat_events.fsf" -o fmt:nat_event -c 1 | tail -n 1 | grep -q create ||
    fail "table does not name nat_event"
echo "ok   names in the table, numbers in csv"

# (d) nfdump files: the same captures through Debian's nfcapd 1.7.1 (on 127.0.0.1), read
# by print -r, give collect's firewall and NAT fields (nfdump keeps the NSEL and NEL
# elements 19-25; compared in the fields both keep: not the ports of the ICMP events,
# which nfdump replaces by ICMP type and code).
if command -v nfcapd >/dev/null && command -v nfdump >/dev/null; then
    port=$(free_port 2)
    mkdir -p "$T/nf"
    nfcapd -w "$T/nf" -b 127.0.0.1 -p "$port" -t 3600 >"$T/nfcapd.log" 2>&1 &
    npid=$!
    wait_udp "$port"
    for name in v9_cisco_asa_nsel_1 v9_cisco_asa_nsel_2 v9_nat_events; do
        python3 "$(dirname "$0")/replay_udp.py" "$N/$name.pcap" "$port" 200 >/dev/null ||
            fail "replay_udp $name to nfcapd"
    done
    wait_drained "$port"
    kill -TERM "$npid"
    wait "$npid" || true
    f=$(find "$T/nf" -name 'nfcapd.2*' | head -1)
    [ -n "$f" ] || fail "nfcapd wrote no file: $(cat "$T/nfcapd.log")"
    cols=first,last,src,dst,proto,xsrc,xdst,xsport,xdport,fw_event,fw_ext_event,nat_event,ingress_acl,egress_acl
    fs print -r "$f" -o "csv:$cols" | tail -n +2 | sort >"$T/nf.csv"
    for name in v9_cisco_asa_nsel_1 v9_cisco_asa_nsel_2 v9_nat_events; do
        fs print -r "$T/$name.fsf" -o "csv:$cols" | tail -n +2
    done | sort >"$T/col.csv"
    [ "$(wc -l <"$T/nf.csv")" -eq 42 ] || fail "nfcapd's file holds $(wc -l <"$T/nf.csv") records, not 42"
    expect_same "$T/col.csv" "$T/nf.csv"
    echo "ok   nfcapd 1.7.1's file of the three captures: the same 42 records in $cols"
else
    echo "     nfcapd/nfdump not installed: nfdump files not checked"
fi
