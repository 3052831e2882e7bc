#!/bin/sh
# flowsleuth clickhouse schema / insert / expire against a private ClickHouse server
# (Debian's 18.16 on loopback, tests/e2e/clickhouse.sh):
#  (a) the flow table has a column for every field of struct flow (read from
#      src/core/flow.h itself) plus bin and batch; the schema applies on the server,
#      --ttl is left out there with a message naming `clickhouse expire`; --cluster
#      makes *_local tables and Distributed ones; a wrong password is one clear
#      message with the server's text, and the password appears nowhere.
#  (b) insert --sink: every row of a store in the table, field by field equal to
#      flowsleuth print (ClickHouse renders the addresses and times itself); the
#      rollups sum to the same flows, bytes and packets; meter -r --sink sends the
#      rows it writes.
#  (c) expire --age drops the day partitions older than the age from every table.
#  (d) two shards (two servers, the cluster fs_shards): the schema --cluster applied on
#      each, each shard loaded with part of the store into its flows_local, and the
#      Distributed tables of either shard answer for all: rows and rollup sums equal
#      to the whole store's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
. "$(dirname "$0")/clickhouse.sh"
need ss awk curl
command -v clickhouse-server >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
need clickhouse-server
[ -x "$FS_GEN" ] || skip "no fsgen"

trap 'ch_stop "$T/ch"; ch_stop "$T/ch1"; ch_stop "$T/ch2"' EXIT INT TERM
ch_start "$T/ch"
URL="clickhouse://127.0.0.1:$CH_HTTP/fst"

# (a) the schema
fs clickhouse schema --db fst >"$T/schema.sql" || fail "schema"
sed -n '/^struct flow {/,/^};/s/^ *u*int[0-9]*_t \([a-z_]*\).*/\1/p' "$FS_SRC/src/core/flow.h" |
    grep -vx 'pad_' | sort >"$T/fields"
[ "$(wc -l <"$T/fields")" -ge 30 ] || fail "read too few fields from flow.h: $(cat "$T/fields")"
awk '/^CREATE TABLE IF NOT EXISTS fst.flows$/ { on = 1; next } on && /^\)/ { exit }
     on && /^    [a-z_]+ / { print $1 }' "$T/schema.sql" | grep -vx -e bin -e batch | sort >"$T/cols"
expect_same "$T/fields" "$T/cols"
fs clickhouse schema --ttl 30d --apply "$URL" 2>"$T/apply.err" || fail "apply: $(cat "$T/apply.err")"
grep -q "has no table TTL.*clickhouse expire --age 30d" "$T/apply.err" ||
    fail "no word on TTL: $(cat "$T/apply.err")"
grep -q "8 statements applied" "$T/apply.err" || fail "apply: $(cat "$T/apply.err")"
chq "SELECT name FROM system.tables WHERE database = 'fst' ORDER BY name FORMAT TSV" >"$T/tables"
printf '%s\n' flows flows_1h flows_1h_mv flows_1m flows_1m_mv flows_5m flows_5m_mv >"$T/want"
expect_same "$T/want" "$T/tables"
fs clickhouse schema --apply "$URL" 2>/dev/null || fail "applying twice"
fs clickhouse schema --cluster fs_one --apply "clickhouse://127.0.0.1:$CH_HTTP/fsc" 2>"$T/c.err" ||
    fail "cluster: $(cat "$T/c.err")"
chq "SELECT name, engine FROM system.tables WHERE database = 'fsc' AND name LIKE 'flows%' AND engine != 'MaterializedView' ORDER BY name FORMAT TSV" >"$T/ctables"
grep -qx "flows	Distributed" "$T/ctables" && grep -qx "flows_local	MergeTree" "$T/ctables" &&
    grep -qx "flows_1h	Distributed" "$T/ctables" || fail "cluster tables: $(cat "$T/ctables")"
if fs clickhouse schema --apply "clickhouse://fs:wr0ngpass@127.0.0.1:$CH_HTTP/fst" 2>"$T/pw.err"; then
    fail "a wrong password was accepted"
fi
grep -q "HTTP 401: Code: 193.*Wrong password for user fs" "$T/pw.err" || fail "password: $(cat "$T/pw.err")"
! grep -q wr0ngpass "$T/pw.err" || fail "the password was printed: $(cat "$T/pw.err")"
echo "ok   (a) schema: $(wc -l <"$T/cols") flow fields, applied (TTL left out on 18.16), cluster tables, auth error: $(head -1 "$T/pw.err")"

# (b) insert a store
"$FS_GEN" mix "$T/mix.pcap" --flows 5000 --seed 110 --snap 128 >/dev/null
fs meter -r "$T/mix.pcap" -w "$T/S/" || fail "meter"
fs clickhouse insert -r "$T/S" --sink "$URL" --sink-spool "$T/spool" || fail "insert"
F=first,last,exporter,src,dst,sport,dport,proto,bytes,packets,rbytes,rpackets,payload,rpayload
F=$F,goodput,rgoodput,retrans,rretrans,flags,rflags,minlen,maxlen,rminlen,rmaxlen,in_if,out_if
F=$F,src_as,dst_as,vlan,tos,exchange,xsport,xdport,fw_event,fw_ext_event,nat_event
fs print -r "$T/S" -o "tsv:$F,xsrc,xdst,ingress_acl,egress_acl" -N | tail -n +2 | sort >"$T/local.tsv"
addr() { echo "if(substring($1, 1, 12) = unhex('00000000000000000000FFFF'), IPv4NumToString(reinterpretAsUInt32(reverse(substring($1, 13, 4)))), IPv6NumToString($1))"; }
acl() { echo "if($1 = 0, '0', concat(lower(hex(toUInt32(intDiv($1, 4294967296)))), ':', lower(hex(toUInt32($1 % 4294967296)))))"; }
ms() { echo "concat(formatDateTime(toDateTime(intDiv($1, 1000)), '%Y-%m-%dT%H:%M:%S'), '.', substring(toString(1000 + $1 % 1000), 2, 3), 'Z')"; }
rows() {
    chq "SELECT $(ms first), $(ms last), $(addr exporter), $(addr src), $(addr dst), $(echo "$F" | cut -d, -f6-), $(addr xsrc), $(addr xdst), $(acl ingress_acl), $(acl egress_acl) FROM $1 FORMAT TabSeparated" | sort
}
rows fst.flows >"$T/ch.tsv"
[ "$(wc -l <"$T/local.tsv")" -ge 5000 ] || fail "the store holds $(wc -l <"$T/local.tsv") flows"
expect_same "$T/local.tsv" "$T/ch.tsv"
sums=$(awk -F'\t' '{ b += $9 + $11; p += $10 + $12 } END { printf "%d\t%.0f\t%.0f\n", NR, b, p }' "$T/local.tsv")
for t in flows_1m flows_5m flows_1h; do
    got=$(chq "SELECT sum(flows), sum(bytes + rbytes), sum(packets + rpackets) FROM fst.$t FORMAT TSV")
    [ "$got" = "$sums" ] || fail "$t sums to $got, the store to $sums"
done
echo "ok   (b) insert: $(wc -l <"$T/ch.tsv") rows equal to print's, field by field; rollups sum to $sums"
# meter --sink: the flows it writes are the rows it sends
fs clickhouse schema --apply "clickhouse://127.0.0.1:$CH_HTTP/fsm" 2>/dev/null || fail "schema fsm"
fs meter -r "$T/mix.pcap" -w "$T/M.fs" --sink "clickhouse://127.0.0.1:$CH_HTTP/fsm" \
    --sink-spool "$T/spm" || fail "meter --sink"
rows fsm.flows >"$T/m.tsv"
expect_same "$T/local.tsv" "$T/m.tsv"
echo "ok   (b) meter --sink: the $(wc -l <"$T/m.tsv") flows of meter -w, field by field"

# (c) expire: the generated flows are of 2023, every day partition is older than 30d
fs clickhouse expire --age 30d --dry-run "$URL" >"$T/dry.out" 2>"$T/dry.err" || fail "expire --dry-run"
[ "$(chq "SELECT count() FROM fst.flows")" != 0 ] || fail "--dry-run dropped rows"
grep -q "^would drop fst.flows partition 2023" "$T/dry.out" || fail "dry run: $(cat "$T/dry.out")"
fs clickhouse expire --age 30d "$URL" >"$T/exp.out" 2>"$T/exp.err" || fail "expire: $(cat "$T/exp.err")"
for t in flows flows_1m flows_5m flows_1h; do
    [ "$(chq "SELECT count() FROM fst.$t")" = 0 ] || fail "$t keeps rows after expire"
done
fs clickhouse expire --age 30d "$URL" 2>"$T/exp2.err" >/dev/null || fail "expire again"
grep -q ": 0 partitions dropped" "$T/exp2.err" || fail "expire again: $(cat "$T/exp2.err")"
echo "ok   (c) expire: $(grep -c '^dropped' "$T/exp.out") day partitions dropped; $(cat "$T/exp.err")"

# (d) two shards
ch_stop "$T/ch"
h1=$(free_port 31)
t1=$(free_port 32)
h2=$(free_port 33)
t2=$(free_port 34)
[ "$(printf '%s\n' "$h1" "$t1" "$h2" "$t2" | sort -u | wc -l)" = 4 ] || skip "no four free ports"
export CH_SHARDS="$t1 $t2"
ch_start "$T/ch2" "$h2" "$t2"
ch_start "$T/ch1" "$h1" "$t1"
fs clickhouse schema --cluster fs_shards --apply "clickhouse://127.0.0.1:$h1/fsd" \
    --apply "clickhouse://127.0.0.1:$h2/fsd" 2>"$T/d.err" || fail "d: $(cat "$T/d.err")"
fs clickhouse insert -r "$T/S" --sink "clickhouse://127.0.0.1:$h1/fsd?table=flows_local" \
    --sink-spool "$T/sp1" 'proto tcp' || fail "insert shard 1"
fs clickhouse insert -r "$T/S" --sink "clickhouse://127.0.0.1:$h2/fsd?table=flows_local" \
    --sink-spool "$T/sp2" 'not proto tcp' || fail "insert shard 2"
n1=$(CH_HTTP=$h1 chq "SELECT count() FROM fsd.flows_local")
n2=$(CH_HTTP=$h2 chq "SELECT count() FROM fsd.flows_local")
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "a shard is empty: $n1, $n2"
for h in "$h1" "$h2"; do
    CH_HTTP=$h
    rows fsd.flows >"$T/d.tsv"
    expect_same "$T/local.tsv" "$T/d.tsv"
    for t in flows_1m flows_5m flows_1h; do
        got=$(chq "SELECT sum(flows), sum(bytes + rbytes), sum(packets + rpackets) FROM fsd.$t FORMAT TSV")
        [ "$got" = "$sums" ] || fail "Distributed $t on $h sums to $got, the store to $sums"
    done
done
echo "ok   (d) two shards ($n1 and $n2 flows in their flows_local): either server's Distributed tables give the whole store's $(wc -l <"$T/d.tsv") rows and rollup sums"
