#!/bin/sh
# collect --sink clickhouse:// against a private ClickHouse server (tests/e2e/clickhouse.sh):
#  (a) a live collector takes IPFIX from meter -e while the server is killed (-9) in the
#      middle of the ingest and started again: the table holds every flow of the
#      collector's store exactly once (the rows, field by field, as a multiset), the
#      rollups the same sums; --status counted the spooled batches; the password of
#      the URL is in no log line and no --status.
#  (b) exactly once on resend: batches spooled while the server is down are sent when
#      it is back; the same spool files put back are found stored and not sent again;
#      a batch of which the server holds the first half gets only the second half.
#  (c) a server answering errors (a missing table): one message with the server's text,
#      the batches stay in the spool, exit status 0 for a collector that lost nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
. "$(dirname "$0")/clickhouse.sh"
need ss awk curl
command -v clickhouse-server >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
need clickhouse-server
[ -x "$FS_GEN" ] || skip "no fsgen"
[ -z "$FS_EXEC_PREFIX" ] || skip "a daemon escapes FS_EXEC_PREFIX"

cpid=
cleanup() {
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null || true
    ch_stop "$T/ch"
}
trap cleanup EXIT INT TERM
ch_start "$T/ch"
URL="clickhouse://fs:s3cret@127.0.0.1:$CH_HTTP/fss"
fs clickhouse schema --apply "$URL" 2>/dev/null || fail "schema"

# rows TABLE: every row of a ClickHouse table as print -o tsv:$F renders it, sorted
F=first,last,exporter,src,dst,sport,dport,proto,bytes,packets,rbytes,rpackets,payload,rpayload
F=$F,goodput,rgoodput,retrans,rretrans,flags,rflags,minlen,maxlen,rminlen,rmaxlen,in_if,out_if
F=$F,src_as,dst_as,vlan,tos,exchange,xsport,xdport,fw_event,fw_ext_event,nat_event
addr() { echo "if(substring($1, 1, 12) = unhex('00000000000000000000FFFF'), IPv4NumToString(reinterpretAsUInt32(reverse(substring($1, 13, 4)))), IPv6NumToString($1))"; }
acl() { echo "if($1 = 0, '0', concat(lower(hex(toUInt32(intDiv($1, 4294967296)))), ':', lower(hex(toUInt32($1 % 4294967296)))))"; }
ms() { echo "concat(formatDateTime(toDateTime(intDiv($1, 1000)), '%Y-%m-%dT%H:%M:%S'), '.', substring(toString(1000 + $1 % 1000), 2, 3), 'Z')"; }
rows() {
    chq "SELECT $(ms first), $(ms last), $(addr exporter), $(addr src), $(addr dst), $(echo "$F" | cut -d, -f6-), $(addr xsrc), $(addr xdst), $(acl ingress_acl), $(acl egress_acl) FROM $1 FORMAT TabSeparated" | sort
}
local_rows() {
    fs print -r "$1" -o "tsv:$F,xsrc,xdst,ingress_acl,egress_acl" -N | tail -n +2 | sort
}

# (a) kill -9 in the middle of a live ingest
"$FS_GEN" mix "$T/mix.pcap" --flows 20000 --seed 111 --snap 128 >/dev/null
port=$(free_port 1)
mkdir -p "$T/C"
"$FS_BIN" collect -l "127.0.0.1:$port" -w "$T/C/" --sink "$URL" --sink-batch 1000 2>"$T/collect.err" &
cpid=$!
wait_udp "$port"
fs meter -r "$T/mix.pcap" -e "ipfix://127.0.0.1:$port" --rate 2500 &
mpid=$!
n=0
until fs collect --status -w "$T/C/" | grep -q "sent [1-9][0-9]*[0-9][0-9][0-9] in"; do
    n=$((n + 1))
    [ "$n" -gt 600 ] && fail "the sink sent nothing: $(fs collect --status -w "$T/C/")"
    sleep 0.05
done
ch_stop "$T/ch" -9
n=0
until fs collect --status -w "$T/C/" >"$T/status.down" && grep -q "DOWN.*spool [1-9]" "$T/status.down"; do
    n=$((n + 1))
    [ "$n" -gt 600 ] && fail "no batch spooled while the server was down: $(cat "$T/status.down")"
    sleep 0.05
done
ch_start "$T/ch"
wait "$mpid" || fail "meter -e"
wait_drained "$port"
n=0
until fs collect --status -w "$T/C/" >"$T/status.up" && grep -q ": up, rows 20000, sent 20000 in .* spool 0 files" "$T/status.up"; do
    n=$((n + 1))
    [ "$n" -gt 1200 ] && fail "the spool did not empty: $(cat "$T/status.up")"
    sleep 0.05
done
kill -TERM "$cpid"
wait "$cpid" || fail "collect exited non-zero: $(cat "$T/collect.err")"
cpid=
local_rows "$T/C" >"$T/local.tsv"
rows fss.flows >"$T/ch.tsv"
[ "$(wc -l <"$T/local.tsv")" = 20000 ] || fail "the store holds $(wc -l <"$T/local.tsv") flows"
expect_same "$T/local.tsv" "$T/ch.tsv"
sums=$(awk -F'\t' '{ b += $9 + $11; p += $10 + $12 } END { printf "%d\t%.0f\t%.0f\n", NR, b, p }' "$T/local.tsv")
for t in flows_1m flows_5m flows_1h; do
    got=$(chq "SELECT sum(flows), sum(bytes + rbytes), sum(packets + rpackets) FROM fss.$t FORMAT TSV")
    # A kill between a batch's insert into the flow table and the views' inserts into the
    # rollups leaves the rollups short of that batch (docs/internals/clickhouse.md: the
    # flow table is the record; a known gap): never above the store, and said when short.
    [ "$got" = "$sums" ] && continue
    echo "$got" "$sums" | awk '{ exit !($1 <= $4 && $2 <= $5 && $3 <= $6) }' ||
        fail "$t sums to $got, above the store's $sums"
    echo "     $t short of the store after the kill ($got of $sums): the known rollup gap" >&2
done
grep -q "sending again" "$T/collect.err" || fail "no word of the server coming back: $(cat "$T/collect.err")"
! grep -q s3cret "$T/collect.err" "$T/status.down" "$T/status.up" || fail "the password was said"
echo "ok   (a) server killed mid-ingest and restarted: 20000 flows once, as the store; $(grep -o 'spooled [0-9]*, resent [0-9]* ([0-9]* rows were there)' "$T/status.up")"
echo "     $(grep -m1 'batches wait in the spool' "$T/collect.err" | sed 's/^[^ ]* //')"

# (b) resends: down, spooled; back, sent; the same files again, nothing sent twice
fs print -r "$T/C" -w "$T/B.fs" 'proto tcp' || fail "print -w"
nb=$(fs print -r "$T/B.fs" -o csv -N | tail -n +2 | wc -l)
fs clickhouse schema --apply "clickhouse://127.0.0.1:$CH_HTTP/fsb" 2>/dev/null || fail "schema fsb"
ch_stop "$T/ch"
URLB="clickhouse://127.0.0.1:$CH_HTTP/fsb"
st=0
fs clickhouse insert -r "$T/B.fs" --sink "$URLB" --sink-spool "$T/sp" --sink-batch 1000 2>"$T/b1.err" || st=$?
[ "$st" = 0 ] || fail "insert with the server down: status $st: $(cat "$T/b1.err")"
grep -q "batches (.*bytes) wait in the spool" "$T/b1.err" || fail "b1: $(cat "$T/b1.err")"
cp -a "$T/sp" "$T/sp.copy"
nfiles=$(ls "$T/sp" | wc -l)
ch_start "$T/ch"
fs clickhouse insert -r "$T/B.fs" --sink "$URLB" --sink-spool "$T/sp" --stats 'proto 255' 2>"$T/b2.err" ||
    fail "b2: $(cat "$T/b2.err")"
[ "$(chq "SELECT count() FROM fsb.flows")" = "$nb" ] || fail "after the spool was sent: $(chq "SELECT count() FROM fsb.flows"), not $nb"
[ -z "$(ls "$T/sp")" ] || fail "spool not emptied: $(ls "$T/sp")"
cp "$T/sp.copy"/* "$T/sp/"
fs clickhouse insert -r "$T/B.fs" --sink "$URLB" --sink-spool "$T/sp" --stats 'proto 255' 2>"$T/b3.err" ||
    fail "b3: $(cat "$T/b3.err")"
grep -q "resent $nfiles ($nb rows were there)" "$T/b3.err" || fail "b3: $(cat "$T/b3.err")"
[ "$(chq "SELECT count() FROM fsb.flows")" = "$nb" ] || fail "a resend stored rows twice"
# the first half of a batch stored (as a body cut short stores a prefix), then the batch
chq "DROP DATABASE fsb" >/dev/null
fs clickhouse schema --apply "$URLB" 2>/dev/null || fail "schema fsb again"
f1=$(ls "$T/sp.copy" | head -1)
rows1=$(($(wc -c <"$T/sp.copy/$f1") / 251))
half=$((rows1 / 2))
head -c $((half * 251)) "$T/sp.copy/$f1" >"$T/half.rb"
curl -sS --fail-with-body "http://127.0.0.1:$CH_HTTP/?query=INSERT%20INTO%20fsb.flows%20FORMAT%20RowBinary" \
    --data-binary @"$T/half.rb" || fail "inserting half a batch"
cp "$T/sp.copy/$f1" "$T/sp/"
fs clickhouse insert -r "$T/B.fs" --sink "$URLB" --sink-spool "$T/sp" --stats 'proto 255' 2>"$T/b4.err" ||
    fail "b4: $(cat "$T/b4.err")"
grep -q "resent 1 ($half rows were there)" "$T/b4.err" || fail "b4: $(cat "$T/b4.err")"
[ "$(chq "SELECT count(), uniqExact(first, last, src, dst, sport, dport, proto) FROM fsb.flows FORMAT CSV")" = "$rows1,$rows1" ] ||
    fail "half a batch stored, then the batch: $(chq "SELECT count() FROM fsb.flows") rows, not $rows1"
echo "ok   (b) $nfiles batches spooled while down, sent when back; sent again: $nb rows found there, none stored twice; half a batch there: the other $((rows1 - half)) rows sent"

# (c) a missing table: one clear message, the spool keeps the batches
fs clickhouse insert -r "$T/B.fs" --sink "clickhouse://fs:s3cret@127.0.0.1:$CH_HTTP/fss?table=nope" \
    --sink-spool "$T/spc" 2>"$T/c.err" || fail "c: $(cat "$T/c.err")"
grep -q "HTTP 404: Code: 60.*Table fss.nope doesn.t exist" "$T/c.err" || fail "c: $(cat "$T/c.err")"
[ "$(grep -c "HTTP 404" "$T/c.err")" = 1 ] || fail "the error was said more than once: $(cat "$T/c.err")"
[ -n "$(ls "$T/spc")" ] || fail "the batches are not in the spool"
! grep -q s3cret "$T/c.err" || fail "the password was said"
echo "ok   (c) $(grep -m1 "HTTP 404" "$T/c.err")"
