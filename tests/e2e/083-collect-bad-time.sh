#!/bin/sh
# collect -l: a record's time never costs another record (issue 11; 127.0.0.1 only):
#  (a) three NetFlow v9 datagrams, 55 records, one of them dated past year 9999 and
#      one before 1970: every record is stored (the two by arrival time), 'time out of
#      range 2' per exporter, and the 'records stored' counter equals the records print
#      reads from the store; with --bad-time drop: 53 stored, 2 dropped and counted.
#  (b) -l ports out of range (0, 65536+, junk; PORT, ADDR:PORT, [ADDR]:PORT, tcp:)
#      are refused naming the value, before anything is bound.
#  (c) an exporter clock a month ahead: warned once, counted as future; --bin-by
#      received files its records in today's bins instead of next month's.
#  (d) STORE/.templates cannot be written (a folder of that name): said once over three
#      rotations, counted in --status; once writable, "saved again".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need ss awk python3 timeout

pids=
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

cat >"$T/send.py" <<'PY'
import socket, struct, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
now = int(time.time() * 1000)
def v9(seq, sets):
    body = b"".join(sets)
    return struct.pack(">HHIIII", 9, 0, 60000, now // 1000, seq, 42) + body
def fset(fid, body):
    return struct.pack(">HH", fid, 4 + len(body)) + body
tmpl = fset(0, struct.pack(">HH", 256, 6) + b"".join(struct.pack(">HH", t, l) for t, l in
            ((8, 4), (12, 4), (1, 4), (2, 4), (152, 8), (153, 8))))
def rec(i, first, last):
    return struct.pack(">IIIIQQ", 0x0a000001, 0x0a000100 + i, 1000 + i, 2, first, last)
def data(recs):
    return fset(256, b"".join(recs))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def send(d):
    s.sendto(d, ("127.0.0.1", port))
    time.sleep(0.05)
if mode == "bad":
    send(v9(1, [tmpl, data([rec(i, now - 2000, now - 1000) for i in range(20)])]))
    far, neg = 300000000000000, (1 << 64) - 5000  # year 11476; 1969 wrapped
    send(v9(2, [data([rec(20, far, far)] + [rec(21 + i, now - 2000, now - 1000)
                                            for i in range(13)] + [rec(34, now, neg)])]))
    send(v9(3, [data([rec(35 + i, now - 1000, now) for i in range(20)])]))
elif mode == "future":
    ahead = now + 30 * 86400000
    send(v9(1, [tmpl, data([rec(i, ahead - 1000, ahead) for i in range(10)])]))
    print(time.strftime("%Y/%m/%d", time.gmtime(ahead // 1000)))
PY

num() { # num PATTERN FILE: the number after PATTERN on the last line holding it
    sed -n "s/.*$1 \([0-9]*\).*/\1/p" "$2" | tail -n 1
}
count() {
    fs print -r "$1" -o csv -N 2>"$T/print.err" | tail -n +2 | wc -l
}
# run STORE LOG MODE ARGS...: a collector, the sender in MODE, SIGTERM; sender output
# in $T/sent.
run() {
    st=$1
    log=$2
    mode=$3
    shift 3
    port=$(free_port 1)
    mkdir -p "$st"
    $FS_EXEC_PREFIX "$FS_BIN" collect -l "127.0.0.1:$port" -w "$st/" --stats "$@" 2>"$log" &
    cpid=$!
    pids="$pids $cpid"
    wait_udp "$port"
    python3 "$T/send.py" "$port" "$mode" >"$T/sent" || fail "sender"
    wait_drained "$port"
    kill -TERM "$cpid"
    wait "$cpid" || fail "collect exited non-zero: $(cat "$log")"
}

# (a)
run "$T/A" "$T/a.log" bad
stored=$(num "records stored" "$T/a.log")
ondisk=$(count "$T/A")
[ "$stored" = 55 ] || fail "stored $stored of 55: $(cat "$T/a.log")"
[ "$ondisk" = "$stored" ] || fail "counter says stored $stored, the store holds $ondisk"
[ "$(num "time out of range" "$T/a.log")" = 2 ] || fail "bad times not counted: $(cat "$T/a.log")"
[ "$(num "lost to write errors" "$T/a.log")" = 0 ] || fail "records counted lost"
grep -q "records are dropped" "$T/a.log" && fail "a write failure was reported"
run "$T/A2" "$T/a2.log" bad --bad-time drop
stored=$(num "records stored" "$T/a2.log")
[ "$stored" = 53 ] || fail "--bad-time drop: stored $stored of 53"
[ "$(count "$T/A2")" = 53 ] || fail "--bad-time drop: the store holds $(count "$T/A2")"
grep -q "time out of range 2 (dropped 2)" "$T/a2.log" || fail "drops not counted"
echo "ok   bad times: 55 of 55 stored (counter = store), 53 with --bad-time drop"

# (b)
for spec in 0 99999 70000 65536 abc 12ab '' 127.0.0.1:0 127.0.0.1:99999 127.0.0.1: \
    '[::1]:70000' '[::1]:0' tcp:0 tcp:99999 tcp:127.0.0.1:70000 tcp:; do
    rc=0
    timeout 5 "$FS_BIN" collect -l "$spec" -w "$T/B/" 2>"$T/b.err" >/dev/null || rc=$?
    [ "$rc" = 2 ] || fail "-l '$spec': exit $rc, not 2 (a usage error)"
    want=${spec#tcp:}
    want=${want##*:}
    grep -q "1..65535, not '${want:-(none)}'" "$T/b.err" || fail "-l '$spec': $(cat "$T/b.err")"
done
echo "ok   -l ports out of range refused naming the value"

# (c)
run "$T/C" "$T/c.log" future
ahead=$(cat "$T/sent")
[ -d "$T/C/$ahead" ] || fail "flow-time bins: nothing in $ahead"
[ "$(grep -c "more than a day after they arrive" "$T/c.log")" = 1 ] || fail "not warned once"
[ "$(num "future" "$T/c.log")" = 10 ] || fail "future flows not counted: $(cat "$T/c.log")"
run "$T/C2" "$T/c2.log" future --bin-by received
ahead=$(cat "$T/sent")
[ ! -d "$T/C2/$ahead" ] || fail "--bin-by received: bins in $ahead"
[ "$(count "$T/C2")" = 10 ] || fail "--bin-by received: $(count "$T/C2") of 10 stored"
echo "ok   clock a month ahead: warned once, counted; --bin-by received bins by arrival"

# (d)
port=$(free_port 2)
mkdir -p "$T/D/.templates/x"
$FS_EXEC_PREFIX "$FS_BIN" collect -l "127.0.0.1:$port" -w "$T/D/" 2>"$T/d.log" &
cpid=$!
pids="$pids $cpid"
wait_udp "$port"
rot() { # rot N: SIGHUP, until --status counts N rotations
    kill -HUP "$cpid"
    n=0
    until fs collect --status -w "$T/D" 2>/dev/null >"$T/d.status" &&
        [ "$(num "rotations" "$T/d.status")" = "$1" ]; do
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "rotation $1 not seen"
        sleep 0.05
    done
}
rot 1
rot 2
rot 3
[ "$(grep -c "cannot save templates" "$T/d.log")" = 1 ] || fail "said $(grep -c "cannot save templates" "$T/d.log") times"
grep -q "template saves failed 3 (failing now)" "$T/d.status" || fail "not counted: $(cat "$T/d.status")"
rm -r "$T/D/.templates"
rot 4
grep -q "templates saved again after 3 failed saves" "$T/d.log" || fail "recovery not said"
[ -f "$T/D/.templates" ] || fail "templates not saved"
kill -TERM "$cpid"
wait "$cpid" || fail "collect exited non-zero"
echo "ok   template save failure said once, counted, recovery said"
