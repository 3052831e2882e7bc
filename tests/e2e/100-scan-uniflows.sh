#!/bin/sh
# flowsleuth scan -b on NetFlow v9 uniflows: scan_pcap.py's traffic metered, exported
# as v9 (each biflow as its pair of uniflows) to `collect` on 127.0.0.1, and scanned.
# Without -b every contact looks unanswered, so ordinary clients are taken for
# scanners; with -b the uniflows are paired back and the rows are those of the biflow
# store, and `services -b` gives the services of the biflow store. Without -b both say
# on stderr that no flow has reverse counters. The evidence re-runs through `print -b`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need python3 ss

cpid=""
cleanup() {
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

python3 "$FS_SRC/tests/e2e/scan_pcap.py" "$T/scan.pcap" || fail "scan_pcap.py"
fs meter -r "$T/scan.pcap" -w "$T/bi.fl" || fail "meter -w"
port=$(free_port 0)
# Not through fs(): $! must be the collector, not a subshell.
$FS_EXEC_PREFIX "$FS_BIN" collect -l "127.0.0.1:$port" -w "$T/uni" 2>"$T/collect.err" &
cpid=$!
wait_udp "$port"
fs meter -r "$T/scan.pcap" -e "nf9://127.0.0.1:$port" --stats 2>"$T/meter.stats" || fail "meter -e nf9"
wait_drained "$port"
kill -TERM "$cpid"
wait "$cpid" || fail "collect exited non-zero: $(cat "$T/collect.err")"
cpid=""
nbi=$(fs print -r "$T/bi.fl" -o csv | tail -n +2 | wc -l)
nuni=$(fs print -r "$T/uni" -o csv | tail -n +2 | wc -l)
[ "$nuni" -gt "$nbi" ] || fail "the v9 store holds $nuni records for $nbi biflows: no uniflows?"

# src targets ports kind method contacts failed flows
cols() { tail -n +2 "$1" | cut -d, -f1,4,5,6,7,9,10,11; }
fs scan -r "$T/bi.fl" -o csv >"$T/bi.csv" || fail "scan (biflows)"
fs scan -r "$T/uni" -b -o csv >"$T/uni-b.csv" || fail "scan -b"
cols "$T/bi.csv" >"$T/want"
cols "$T/uni-b.csv" >"$T/got"
expect_same "$T/want" "$T/got"
fs scan -r "$T/uni" -o csv >"$T/uni.csv" 2>"$T/uni.err" || fail "scan (uniflows, no -b)"
grep -q 'no flow has reverse counters (NetFlow uniflows?).*-b pairs them' "$T/uni.err" ||
    fail "scan without -b on uniflows: no hint: $(cat "$T/uni.err")"
grep -q 'reverse counters' "$T/uni-b.csv" && fail "hint on stdout"
grep -q '^192\.168\.1\.' "$T/uni.csv" || fail "without -b no ordinary client looks like a scanner: uniflows not what this test thinks"

while IFS=, read -r src first last _t _p _k _m _s _c _f flows ev; do
    [ "$src" = src ] && continue
    got=$(fs print -r "$T/uni" -b -t "$first..$last" -o csv "$ev" | tail -n +2 | wc -l)
    [ "$got" = "$flows" ] || fail "print -b with evidence '$ev' shows $got flows, the row says $flows"
done <"$T/uni-b.csv"

fs services -r "$T/bi.fl" -o csv >"$T/want" || fail "services (biflows)"
fs services -r "$T/uni" -b -o csv >"$T/got" 2>"$T/svc.err" || fail "services -b"
expect_same "$T/want" "$T/got"
[ -s "$T/svc.err" ] && fail "services -b: $(cat "$T/svc.err")"
fs services -r "$T/uni" -o csv >"$T/got" 2>"$T/svc.err" || fail "services (uniflows, no -b)"
[ "$(wc -l <"$T/got")" = 1 ] || fail "services on uniflows without -b: $(cat "$T/got")"
grep -q 'no flow has reverse counters' "$T/svc.err" || fail "services without -b: no hint"
exit 0
