#!/bin/sh
# Download identification from an exporter's NetFlow (issue 14): softflowd reads fsgen
# downloads (one HTTP server, 83 bytes of response header, one download a connection)
# and exports NetFlow v9 and IPFIX on loopback into `flowsleuth collect`: one record per
# direction, no payload or goodput. The same captures metered by `flowsleuth meter` are
# the independent side: biflows with goodput, read with --basis bytes (rbytes and
# rpackets only) they hold what the exporter's records hold.
#   (a) print -b pairs every download's two uniflows: as many biflows as meter wrote;
#       without -b match considers nothing and says why (the -b hint);
#   (b) match -b on v9 and on IPFIX = match --basis bytes on the meter's biflows, row for
#       row (but time: softflowd's are 0.45-0.6 s early, LAB-NOTES), verdicts, names,
#       payload estimates and residuals;
#   (c) catalog learn -b on the v9 training run = catalog learn --basis bytes on the
#       meter's: the same learned rows; with them match -b names every catalogue
#       download of the test run and no foreign one, and inventory -b and eval -b give
#       what the meter's biflows give on the bytes basis;
#   (d) one direction missing (only the server's records kept): every uniflow skipped,
#       counted and named; nothing matched. A sampling exporter (collect --sampling 4
#       scales the v9 records as an exporter's 1:4 interval would): every record refused,
#       the exporter and the divisor named; the same for a real sampled v9 capture
#       ($FS_DATA/netflow/v9_multiple_sampling_rates.pcap) when present;
#   (e) new files (honeypot learning): labels naming 2 files the catalogue lacks become
#       learned entries sized from the payload minus the server's learned overhead
#       (exactly, on the meter's goodput); match then names both in the test run and
#       not a foreign download 400 bytes larger (inside the default window); a label
#       whose server is in no flow is counted as such.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need softflowd ss
[ -x "$FS_GEN" ] || skip "fsgen not built"

S=198.51.100.80
C=192.0.2.10
P9=$(free_port 1)
P10=$(free_port 2)
[ "$P9" != "$P10" ] || P10=$((P9 + 1))
P4=$(free_port 3)
[ "$P4" != "$P9" ] && [ "$P4" != "$P10" ] || P4=$((P10 + 1))
PIDS=""
cleanup() {
    for p in $PIDS; do
        kill "$p" 2>/dev/null || true
    done
    for p in $PIDS; do
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$T/N9" "$T/N10" "$T/N4" "$T/B"
"$FS_BIN" collect -l "127.0.0.1:$P9" -w "$T/N9/" --stats 2>"$T/collect9.log" &
PIDS="$PIDS $!"
"$FS_BIN" collect -l "127.0.0.1:$P10" -w "$T/N10/" --stats 2>"$T/collect10.log" &
PIDS="$PIDS $!"
"$FS_BIN" collect -l "127.0.0.1:$P4" -w "$T/N4/" --sampling 4 2>"$T/collect4.log" &
PIDS="$PIDS $!"
wait_udp "$P9"
wait_udp "$P10"
wait_udp "$P4"

hdr() { echo $((77 + ${#1})); } # fsgen's header: status, Content-Type, Content-Length
# 8 catalogue files of 300-900 kB at least 50 kB apart
awk 'BEGIN { srand(14); print "#flowsleuth-catalog 1";
  print "size\tname\tproduct\tversion\tarch\tos\turl\tdigest\tsource\tspread";
  for (i = 1; i <= 8; i++)
    printf "%d\tf%d\tlab\t1\tall\tlab\t/f%d\t\timport\t0\n", 230000 + i * 75000 + int(rand() * 20000), i, i }' \
    >"$T/cat.tsv"

# dl NAME BODY SEED SLOT RUN: one download at time slot SLOT, labelled NAME in RUN's
# labels; metered into B/, exported by softflowd as NetFlow v9 and IPFIX
dl() {
    start=$((1700000000 + $4 * 100))
    "$FS_GEN" download "$T/d.pcap" --size $(($2 + $(hdr "$2"))) --seed "$3" --start $start \
        2>/dev/null || fail "fsgen"
    fs meter -r "$T/d.pcap" -w "$T/B/d$4.fsf" || fail "meter"
    for v in 9 10 4; do
        port=$P9
        [ $v = 10 ] && port=$P10
        [ $v = 4 ] && port=$P4 && v=9
        softflowd -r "$T/d.pcap" -c none -d -a -v $v -n "127.0.0.1:$port" >>"$T/softflowd.log" 2>&1 ||
            fail "softflowd -v $v: $(tail -3 "$T/softflowd.log")"
    done
    echo "$C,$S,$((start * 1000)),$((start * 1000 + 20000)),$1" >>"$T/$5.csv"
    echo "$T/B/d$4.fsf" >>"$T/$5.list"
}
echo "client,server,start_ms,end_ms,entry_name" >"$T/train.csv"
echo "client,server,start_ms,end_ms,entry_name" >"$T/test.csv"
slot=0
while IFS="$(printf '\t')" read -r size name _; do
    case $size in '#'* | size) continue ;; esac
    slot=$((slot + 1))
    dl "$name" "$size" $slot $slot train
    slot=$((slot + 1))
    dl "$name" "$size" $((slot + 50)) $slot test
done <"$T/cat.tsv"
# two files the catalogue lacks (a honeypot's delta updates), in both runs
for n in 1 2; do
    size=$((400000 + n * 123457))
    slot=$((slot + 1))
    dl "delta-$n" $size $((slot + 70)) $slot train
    slot=$((slot + 1))
    dl "delta-$n" $size $((slot + 70)) $slot test
    echo "$size" >"$T/delta-$n.size"
done
# foreign files: 40 kB from every entry; and 400 bytes above delta-1 (inside the default
# 40..800 window of an entry of that size, outside its learned one)
for size in 260000 670000 $(($(cat "$T/delta-1.size") + 400)); do
    slot=$((slot + 1))
    dl - $size $((slot + 90)) $slot test
done
# a label of a server that is in no flow
echo "$C,203.0.113.99,1700000000000,1700009000000,f1" >>"$T/train.csv"

wait_drained "$P9"
wait_drained "$P10"
wait_drained "$P4"
cleanup
PIDS=""
nb=$(cat "$T/train.list" "$T/test.list" | wc -l)
rin() { for f in $(cat "$@"); do printf ' -r %s' "$f"; done; }
BTR=$(rin "$T/train.list")
BTE=$(rin "$T/test.list")

# ---- (a) pairing
for v in 9 10; do
    n=$(fs print -r "$T/N$v" -o csv:src | tail -n +2 | wc -l)
    [ "$n" -eq $((2 * nb)) ] || fail "v$v: $n records stored, want 2 x $nb: $(cat "$T/collect$v.log")"
    n=$(fs print -r "$T/N$v" -b -o csv:src | tail -n +2 | wc -l)
    [ "$n" -eq "$nb" ] || fail "v$v: print -b gives $n biflows, want $nb"
done
fs match -c "$T/cat.tsv" -r "$T/N9" >/dev/null 2>"$T/nob.err" || fail "match without -b"
grep -q '0 flows considered' "$T/nob.err" || fail "without -b: $(cat "$T/nob.err")"
grep -q "uniflows (rbytes = rpackets = 0.* above 10000 bytes, whose downloads are not seen: -b pairs them" \
    "$T/nob.err" || fail "no -b hint: $(cat "$T/nob.err")"

# ---- (b) match -b on NetFlow = match --basis bytes on the meter's biflows (both runs)
notime() { cut -d, -f2- "$1" | sort; }
# shellcheck disable=SC2086
fs match -c "$T/cat.tsv" $BTR $BTE --basis bytes --all -o csv >"$T/mB.csv" || fail "match meter"
notime "$T/mB.csv" >"$T/mB"
[ "$(wc -l <"$T/mB")" -eq $((nb + 1)) ] || fail "match on the meter's flows: $(cat "$T/mB.csv")"
grep -q ',estimate,possible,' "$T/mB" || fail "not the bytes basis: $(cat "$T/mB.csv")"
for v in 9 10; do
    fs match -c "$T/cat.tsv" -r "$T/N$v" -b --all -o csv >"$T/m$v.csv" 2>"$T/m$v.err" ||
        fail "match -b v$v"
    grep -q "0 uniflows without their reverse skipped" "$T/m$v.err" || fail "v$v: $(cat "$T/m$v.err")"
    notime "$T/m$v.csv" >"$T/m$v"
    expect_same "$T/mB" "$T/m$v"
done
echo "match -b: v9 and IPFIX give the meter's $nb rows on the bytes basis"

# ---- (c) learning, match, inventory and eval on NetFlow = on the meter's bytes basis
fs catalog learn "$T/train.csv" "$T/N9" -b -c "$T/cat.tsv" -o "$T/l9.tsv" >/dev/null \
    2>"$T/l9.err" || fail "catalog learn -b: $(cat "$T/l9.err")"
# shellcheck disable=SC2046
fs catalog learn "$T/train.csv" $(cat "$T/train.list") --basis bytes -c "$T/cat.tsv" \
    -o "$T/lB.tsv" >/dev/null 2>"$T/lB.err" || fail "catalog learn --basis bytes"
expect_same "$T/lB.tsv" "$T/l9.tsv"
grep -q '11 labels: 10 learned, 0 not in the catalogue' "$T/l9.err" || fail "learn: $(cat "$T/l9.err")"
# shellcheck disable=SC2086
fs match -c "$T/lB.tsv" $BTR $BTE --basis bytes --all -o csv >"$T/lmB.csv" || fail "match learned"
fs match -c "$T/l9.tsv" -r "$T/N9" -b --all -o csv >"$T/lm9.csv" || fail "match -b learned"
notime "$T/lmB.csv" >"$T/lmB"
notime "$T/lm9.csv" >"$T/lm9"
expect_same "$T/lmB" "$T/lm9"
# every catalogue download of both runs named, as its label says
for i in 1 2 3 4 5 6 7 8; do
    [ "$(grep -c ",match,1,1/1,f$i,1,all,lab," "$T/lm9")" -eq 2 ] || fail "f$i: $(cat "$T/lm9.csv")"
done
# inventory: the same packages and flow counts (first/last are softflowd's times)
# shellcheck disable=SC2086
fs inventory -c "$T/lB.tsv" $BTR $BTE --basis bytes -o csv | cut -d, -f1-6 >"$T/iB" ||
    fail "inventory"
fs inventory -c "$T/l9.tsv" -r "$T/N9" -b -o csv | cut -d, -f1-6 >"$T/i9" || fail "inventory -b"
expect_same "$T/iB" "$T/i9"
# eval: every figure the same
# shellcheck disable=SC2086
fs eval -c "$T/lB.tsv" --labels "$T/test.csv" $BTE --basis bytes >"$T/eB" || fail "eval"
fs eval -c "$T/l9.tsv" --labels "$T/test.csv" -r "$T/N9" -b --basis bytes >"$T/e9" ||
    fail "eval -b"
expect_same "$T/eB" "$T/e9"
grep -q 'closed-set accuracy *100.00% (10 of 10)' "$T/e9" || fail "eval -b: $(cat "$T/e9")"
fs eval -c "$T/l9.tsv" --labels "$T/train.csv" -r "$T/N9" -b >/dev/null 2>"$T/etr.err" ||
    fail "eval -b train"
grep -q '1 labels name a client or server that is in no flow' "$T/etr.err" ||
    fail "eval: the label of an unknown server: $(cat "$T/etr.err")"
echo "learned on NetFlow: the meter's learned catalogue, matches, inventory and eval figures"

# ---- (d) one direction missing: only the server's records
fs print -r "$T/N9" -w "$T/down.fsf" 'src port 80' || fail "print -w"
fs match -c "$T/cat.tsv" -r "$T/down.fsf" -b >"$T/down.out" 2>"$T/down.err" || fail "match down"
grep -q "0 flows considered" "$T/down.err" || fail "one direction: $(cat "$T/down.err")"
grep -q "0 pairs of uniflows made into biflows, 0 biflows as read; $nb uniflows without their reverse skipped (one direction missing), $nb of them above 10000 bytes" \
    "$T/down.err" || fail "one direction: $(cat "$T/down.err")"
fs match -c "$T/cat.tsv" -r "$T/N4" -b >/dev/null 2>"$T/s4.err" || fail "match sampled"
grep -q "0 flows considered" "$T/s4.err" || fail "sampled: $(cat "$T/s4.err")"
grep -q "exporter 127.0.0.1 samples: every packet and byte count of its records is a multiple of 4 .*its $nb flows refused" \
    "$T/s4.err" || fail "sampled: $(cat "$T/s4.err")"
if [ -f "$FS_DATA/netflow/v9_multiple_sampling_rates.pcap" ]; then
    fs collect -f "$FS_DATA/netflow/v9_multiple_sampling_rates.pcap" -w "$T/ms.fsf" 2>/dev/null ||
        fail "collect v9_multiple_sampling_rates"
    fs match -c "$T/cat.tsv" -r "$T/ms.fsf" -b >/dev/null 2>"$T/ms.err" || fail "match ms"
    grep -q "exporter 238.0.0.1 samples: .* multiple of 2000 .*its 12 flows refused" "$T/ms.err" ||
        fail "real sampled capture: $(cat "$T/ms.err")"
fi

# ---- (e) new files learned on the honeypot (the meter's goodput: exact)
# shellcheck disable=SC2046
fs catalog learn "$T/train.csv" $(cat "$T/train.list") -c "$T/cat.tsv" -o "$T/lg.tsv" \
    >"$T/lg.out" 2>"$T/lg.err" || fail "catalog learn: $(cat "$T/lg.err")"
grep -q '2 of files the catalogue lacks, 1 without a flow (1 of them name a host that is in no flow)' \
    "$T/lg.err" || fail "learn summary: $(cat "$T/lg.err")"
grep -q '2 new files added (source learned), 0 of them sized without a known overhead' \
    "$T/lg.err" || fail "learn new files: $(cat "$T/lg.err")"
for n in 1 2; do # the size is the file's own: payload minus the server's 83 header bytes
    awk -F'\t' -v n="delta-$n" -v s="$(cat "$T/delta-$n.size")" \
        '$2 == n && $1 == s && $9 == "learned" { ok = 1 } END { exit !ok }' "$T/lg.tsv" ||
        fail "delta-$n: $(grep delta "$T/lg.tsv")"
done
# shellcheck disable=SC2086
fs match -c "$T/lg.tsv" $BTE --all -o csv >"$T/lg.csv" || fail "match learned new files"
for n in 1 2; do
    [ "$(grep -c ",goodput,match,1,1/1,delta-$n," "$T/lg.csv")" -eq 1 ] ||
        fail "delta-$n not named: $(cat "$T/lg.csv")"
done
foreign=$(($(cat "$T/delta-1.size") + 400 + 83))
grep -q ",$foreign,goodput,rejected," "$T/lg.csv" ||
    fail "the foreign download next to delta-1: $(grep ",$foreign," "$T/lg.csv")"
# without the learned catalogue neither delta file is named
# shellcheck disable=SC2086
fs match -c "$T/cat.tsv" $BTE -o csv | grep -q delta && fail "delta named without learning"
echo "new files: delta-1 and delta-2 learned to the byte, named in the test run, the foreign neighbour rejected"
echo ok
