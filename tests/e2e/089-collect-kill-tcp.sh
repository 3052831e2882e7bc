#!/bin/sh
# kill -9 of `collect -l tcp:` in the middle of an IPFIX-over-TCP stream (127.0.0.1 only).
#
#  1. A collector C1 on tcp:PORT; a python exporter (domain 77) sends a template and
#     one record over its own connection.
#  2. `meter -e ipfix+tcp://` streams a capture at a limited rate. Mid-stream C1
#     rotates (SIGHUP: its bins close, STORE/.templates is saved); later the meter is
#     paused (SIGSTOP, its connection open) so that C1's --status is exact: D flows
#     decoded, S records in closed bins. kill -9 C1.
#  3. No visible file is half written: `print` reads the whole store without error and
#     finds exactly S records (the open bin, D - S records, is lost and nothing else);
#     the open bin exists only as hidden temp files.
#  4. C2 starts on the same port and store: it loads the saved templates and removes
#     C1's temp files. The meter resumes (SIGCONT), finds its connection reset,
#     reconnects (connections 2) and sends the rest; the python exporter connects
#     again and sends data only (no template): C2 decodes it at once (unknown
#     template 0) thanks to the persisted template.
#  5. SIGTERM C2: it stores everything it decoded; store = S + C2's flows. What the
#     meter counted as sent but no collector stored is reported (records in the open
#     bin, plus what was in C1's socket buffers at the kill).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need ss awk python3
[ -x "$FS_GEN" ] || skip "no fsgen"

pids=
cleanup() {
    for p in $pids; do
        kill -CONT "$p" 2>/dev/null || true
        kill -9 "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_tcp() {
    n=0
    until ss -Hltn "sport = :$1" | grep -q .; do
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "nothing listens on tcp $1"
        sleep 0.05
    done
}
status() {
    fs collect --status -w "$T/S/" 2>/dev/null
}
wait_status() { # PATTERN: until --status holds it (15 s)
    n=0
    until status | grep -q -- "$1"; do
        n=$((n + 1))
        [ "$n" -gt 300 ] && fail "timed out waiting for '$1' in --status: $(status)"
        sleep 0.05
    done
}
num() { # num PATTERN TEXT: the number after PATTERN on the first line holding it
    printf '%s\n' "$2" | sed -n "s/.*$1 \([0-9]*\).*/\1/p" | head -n 1
}
count() {
    fs print -r "$T/S" -o csv -N 2>"$T/print.err" | tail -n +2 | wc -l
}
# start LOG: a collector on tcp:PORT writing $T/S/ (sets cpid; not through fs(): $!)
start() {
    $FS_EXEC_PREFIX "$FS_BIN" collect -l "tcp:127.0.0.1:$port" -w "$T/S/" --stats 2>"$1" &
    cpid=$!
    pids="$pids $cpid"
    wait_tcp "$port"
    wait_for_file "$T/S/.flowsleuth-collect.sock"
}
# exporter MODE N: python IPFIX exporter, domain 77, template 300: "tmpl" sends the
# template and N records, "data" N records only; waits until the collector closed.
exporter() {
    python3 - "$port" "$1" "$2" <<'PY' || fail "python exporter ($1)"
import socket, struct, sys, time
port, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
now = int(time.time())
def msg(sets, seq):
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), now, seq, 77) + body
def set_(sid, body):
    return struct.pack("!HH", sid, 4 + len(body)) + body
fields = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8)]
tmpl = struct.pack("!HH", 300, len(fields)) + b"".join(struct.pack("!HH", *f) for f in fields)
recs = b"".join(struct.pack("!4s4sHHBQQQQ", bytes([10, 77, 0, 1]), bytes([10, 77, 1, i]),
                            40000 + i, 443, 6, 1000 + i, 10, now * 1000, now * 1000 + 5)
                for i in range(n))
sets = ([set_(2, tmpl)] if mode == "tmpl" else []) + [set_(300, recs)]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(msg(sets, 0 if mode == "tmpl" else 1))
s.shutdown(socket.SHUT_WR)
s.settimeout(10)
assert s.recv(1) == b""
PY
}

"$FS_GEN" mix "$T/mix.pcap" --flows 20000 --seed 89 --packets-per-flow 8 --snap 128 >/dev/null 2>&1
port=$(free_port 1)
mkdir -p "$T/S"

# 1. C1, a template, a rotation
start "$T/c1.err"
exporter tmpl 1
wait_status "domain 77: datagrams 1, flows 1,"

# 2. the stream, paused mid-way
# (not through fs(): $! must be the meter itself for SIGSTOP)
$FS_EXEC_PREFIX "$FS_BIN" meter -r "$T/mix.pcap" -e "ipfix+tcp://127.0.0.1:$port" --rate 5000 \
    --stats 2>"$T/meter.err" &
mpid=$!
pids="$pids $mpid"
wait_status "total flows [0-9][0-9][0-9][0-9]" # >= 1000 flows of the meter
kill -HUP "$cpid"
wait_status "rotations 1,"
[ -s "$T/S/.templates" ] || fail "no templates file after the rotation"
sleep 0.5
kill -STOP "$mpid"
sleep 0.3 # what the meter wrote reaches C1
wait_drained_tcp() {
    n=0
    while [ "$(ss -Htn state established "sport = :$port" | awk '{ s += $2 } END { print s + 0 }')" != 0 ]; do
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "tcp $port not drained"
        sleep 0.05
    done
}
wait_drained_tcp
st=$(status)
c1_stored=$(num "records stored" "$st")
c1_open=$(num "in open bins" "$st")
c1_flows=$(printf '%s\n' "$st" | awk '/ipfix domain/ { sub(/.*flows /, ""); s += $1 } END { print s }')
[ "$c1_open" -gt 0 ] || fail "no open bin at kill -9? $st"
kill -9 "$cpid"
wait "$cpid" 2>/dev/null || true

# 3. nothing half written
[ "$(find "$T/S" -name '.flows.*.tmp.*' | wc -l)" -gt 0 ] || fail "no hidden bin at kill -9?"
got=$(count)
[ -s "$T/print.err" ] && fail "reading after kill -9: $(cat "$T/print.err")"
[ "$got" = "$c1_stored" ] || fail "after kill -9: $got records visible, $c1_stored closed"
[ $((c1_flows - c1_stored)) = "$c1_open" ] || fail "decoded $c1_flows, closed $c1_stored, open $c1_open"
echo "ok   kill -9 mid-stream: $c1_stored records in closed bins intact, the open bin ($c1_open) lost"

# 4. C2: templates loaded, the meter reconnects, data without template decodes at once
start "$T/c2.err"
grep -q "templates loaded" "$T/c2.err" || fail "C2 loaded no templates: $(cat "$T/c2.err")"
grep -q "removed [1-9][0-9]* unfinished bin files" "$T/c2.err" ||
    fail "C2 did not remove C1's temp files: $(cat "$T/c2.err")"
[ "$(find "$T/S" -name '.flows.*.tmp.*' | wc -l)" = 0 ] || fail "temp files left at C2's start"
kill -CONT "$mpid"
exporter data 5
wait_status "domain 77: datagrams 1, flows 5, options 0, templates 0, withdrawn 0, unknown template 0"
wait "$mpid" || fail "meter failed: $(cat "$T/meter.err")"
grep -q "send errors 0 (0 records), connections 2" "$T/meter.err" ||
    fail "the meter did not reconnect at once: $(cat "$T/meter.err")"
sent=$(sed -n 's/.*records sent \([0-9]*\),.*/\1/p' "$T/meter.err")
echo "ok   restart: the meter reconnected, data without a template decoded at once"

# 5. stop C2: every record it decoded is stored
kill -TERM "$cpid"
wait "$cpid" || fail "C2 exited non-zero: $(cat "$T/c2.err")"
c2_flows=$(awk '/ipfix domain/ { sub(/.*flows /, ""); s += $1 } END { print s }' "$T/c2.err")
total=$(count)
[ "$total" = $((c1_stored + c2_flows)) ] ||
    fail "store $total != $c1_stored (closed before kill -9) + $c2_flows (C2)"
meter_stored=$((total - 1 - 5)) # minus the python exporter's records
lost=$((sent - meter_stored))
[ "$lost" -ge "$c1_open" ] || fail "meter sent $sent, stored $meter_stored: lost $lost < open bin"
echo "ok   after SIGTERM: $total records; of the meter's $sent, $lost lost ($c1_open in the open bin)"
