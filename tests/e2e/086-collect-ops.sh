#!/bin/sh
# collect's operations on a live collector (127.0.0.1 only):
#  (a) --status on the control socket (STORE/.flowsleuth-collect.sock) shows per
#      exporter and domain the datagrams and flows of a `meter -e ipfix://` run,
#      sequence loss 0 and the socket's kernel drops; SIGHUP closes every open bin file
#      (readers see all flows without stopping the collector); the counters are logged
#      at the rotation; a second collector on the same store is refused.
#  (b) --allow 10.0.0.0/8: datagrams from 127.0.0.1 are counted as not allowed, none
#      decoded; --allow 127.0.0.1 decodes them.
#  (c) templates persist: a collector that saw only an IPFIX template (python3 sender)
#      saves STORE/.templates; a new collector decodes a data-only message at once.
#      A damaged .templates gives a clear message and the collector runs on.
#  (d) expiry at rotation: --expire-age 30d --expire-dry-run names an old bin and
#      removes nothing; without the dry run it goes, newer bins stay.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need ss awk python3
[ -x "$FS_GEN" ] || skip "no fsgen"

pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# wait_grep PATTERN FILE: until FILE holds PATTERN (10 s).
wait_grep() {
    n=0
    until grep -q -- "$1" "$2" 2>/dev/null; do
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "timed out waiting for '$1' in $2"
        sleep 0.05
    done
}
count() {
    fs print -r "$1" -o csv -N | tail -n +2 | wc -l
}
# start STORE LOG ARGS...: a collector in the background; sets cpid.
start() {
    st=$1
    log=$2
    shift 2
    $FS_EXEC_PREFIX "$FS_BIN" collect -l "127.0.0.1:$port" -w "$st/" "$@" 2>"$log" &
    cpid=$!
    pids="$pids $cpid"
    wait_udp "$port"
}
stop() {
    kill -TERM "$cpid"
    wait "$cpid" || fail "collect exited non-zero: $(cat "$1")"
}

"$FS_GEN" mix "$T/mix.pcap" --flows 2000 --seed 86 --snap 128 >/dev/null
port=$(free_port 1)

# (a) --status, SIGHUP
start "$T/S" "$T/a.err"
wait_for_file "$T/S/.flowsleuth-collect.sock"
fs meter -r "$T/mix.pcap" -e "ipfix://127.0.0.1:$port" --stats 2>"$T/a.meter" || fail "meter -e"
sent=$(sed -n 's/.*records sent \([0-9]*\).*/\1/p' "$T/a.meter")
wait_drained "$port"
fs collect --status -w "$T/S" >"$T/a.status" || fail "collect --status"
grep -q "127.0.0.1 ipfix domain 0: datagrams [1-9][0-9]*, flows $sent,.*sequence lost 0" \
    "$T/a.status" || fail "status: $(cat "$T/a.status")"
grep -q "socket 127.0.0.1:$port: datagrams [1-9][0-9]*, kernel drops 0" "$T/a.status" ||
    fail "status: no socket line"
fs collect --status --control "$T/S/.flowsleuth-collect.sock" >/dev/null || fail "--control"
[ "$(find "$T/S" -name 'flows.*' | wc -l)" = 0 ] || fail "a bin was closed before SIGHUP"
kill -HUP "$cpid"
wait_grep "rotations 1" "$T/a.err"
[ "$(count "$T/S")" = "$sent" ] || fail "after SIGHUP readers see $(count "$T/S") of $sent"
$FS_EXEC_PREFIX "$FS_BIN" collect -l "127.0.0.1:$(free_port 2)" -w "$T/S/" 2>"$T/a2.err" &&
    fail "a second collector on the same store ran"
grep -q "another collector runs on" "$T/a2.err" || fail "second collector: $(cat "$T/a2.err")"
stop "$T/a.err"
[ -e "$T/S/.flowsleuth-collect.sock" ] && fail "control socket left behind"
fs collect --status -w "$T/S" 2>"$T/a3.err" && fail "--status without a collector succeeded"
grep -q "no collector answers" "$T/a3.err" || fail "status error: $(cat "$T/a3.err")"
echo "ok   --status: $sent flows, kernel drops 0; SIGHUP made them readable"

# (b) --allow
start "$T/B" "$T/b.err" --allow 10.0.0.0/8 --allow ::1
fs meter -r "$T/mix.pcap" -e "ipfix://127.0.0.1:$port" 2>/dev/null || fail "meter -e"
wait_drained "$port"
fs collect --status -w "$T/B" >"$T/b.status"
grep -q "127.0.0.1: not allowed [1-9]" "$T/b.status" || fail "allow: $(cat "$T/b.status")"
grep -q "total flows 0;" "$T/b.status" || fail "allow: flows decoded"
stop "$T/b.err"
start "$T/B2" "$T/b2.err" --allow 127.0.0.0/24
fs meter -r "$T/mix.pcap" -e "ipfix://127.0.0.1:$port" 2>/dev/null || fail "meter -e"
wait_drained "$port"
stop "$T/b2.err"
[ "$(count "$T/B2")" = "$sent" ] || fail "--allow 127.0.0.0/24 stored $(count "$T/B2")"
fs collect -l "127.0.0.1:$port" --allow 300.1.1.1 2>/dev/null && fail "bad --allow accepted"
echo "ok   --allow: other exporters counted as not allowed, named ones decoded"

# (c) template persistence, python3 as the exporter
cat >"$T/send.py" <<'EOF'
import socket, struct, sys, time
port, what = int(sys.argv[1]), sys.argv[2]
now = int(time.time())
def msg(sets, seq=0):
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), now, seq, 7) + body
# template 300: src4, dst4, octets, packets, start ms, end ms
fields = [(8, 4), (12, 4), (1, 8), (2, 8), (152, 8), (153, 8)]
t = struct.pack(">HH", 300, len(fields)) + b"".join(struct.pack(">HH", i, l) for i, l in fields)
tset = struct.pack(">HH", 2, 4 + len(t)) + t
recs = b"".join(struct.pack(">IIQQQQ", 0x0a000001, 0x0a000100 + i, 1000 + i, 3,
                            now * 1000 - 5000, now * 1000 - 1000) for i in range(5))
dset = struct.pack(">HH", 300, 4 + len(recs)) + recs
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(msg([tset]) if what == "template" else msg([dset], 0), ("127.0.0.1", port))
EOF
start "$T/C" "$T/c1.err"
python3 "$T/send.py" "$port" template
wait_drained "$port"
stop "$T/c1.err"
[ -s "$T/C/.templates" ] || fail "no STORE/.templates after stop"
start "$T/C" "$T/c2.err"
grep -q "1 templates loaded" "$T/c2.err" || fail "templates not loaded: $(cat "$T/c2.err")"
python3 "$T/send.py" "$port" data
wait_drained "$port"
fs collect --status -w "$T/C" >"$T/c.status"
grep -q "flows 5,.*unknown template 0" "$T/c.status" || fail "restart: $(cat "$T/c.status")"
stop "$T/c2.err"
[ "$(count "$T/C")" = 5 ] || fail "restart stored $(count "$T/C") of 5"
head -c 100 /dev/urandom >"$T/C/.templates"
start "$T/C" "$T/c3.err"
grep -q "starting without saved templates" "$T/c3.err" || fail "damaged: $(cat "$T/c3.err")"
python3 "$T/send.py" "$port" data
wait_drained "$port"
stop "$T/c3.err"
echo "ok   templates persist across a restart; a damaged file is refused clearly"

# (d) expiry at rotation
old="$T/C/2020/01/01/flows.202001010000"
mkdir -p "$(dirname "$old")"
cp "$(find "$T/C" -name 'flows.*' | head -n 1)" "$old"
start "$T/C" "$T/d1.err" --expire-age 30d --expire-dry-run
kill -HUP "$cpid"
wait_grep "would expire $T/C//2020/01/01/flows.202001010000" "$T/d1.err"
stop "$T/d1.err"
[ -e "$old" ] || fail "dry run removed a bin"
start "$T/C" "$T/d2.err" --expire-age 30d
kill -HUP "$cpid"
wait_grep "expired $T/C//2020/01/01/flows.202001010000" "$T/d2.err"
stop "$T/d2.err"
[ -e "$old" ] && fail "old bin not expired"
[ -d "$T/C/2020" ] && fail "empty folders left"
[ "$(count "$T/C")" -ge 5 ] || fail "expiry removed new bins"
echo "ok   expiry: dry run names the old bin, then it goes; newer bins stay"
