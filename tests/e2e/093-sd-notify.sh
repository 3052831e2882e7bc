#!/bin/sh
# systemd's readiness protocol (Type=notify), with a stand-in for systemd: a datagram
# socket named by NOTIFY_SOCKET that records what the collector sends.
#  (a) READY=1 with MAINPID = the collector's pid, and only once its UDP socket is
#      bound: an IPFIX message sent right after READY=1 is stored.
#  (b) SIGTERM: STOPPING=1 before it exits, and the exit status is 0.
#  (c) without NOTIFY_SOCKET nothing is sent and nothing fails (the rest of the suite).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need python3 ss
[ -z "$FS_EXEC_PREFIX" ] || skip "the notify message names the wrapper's pid, not the collector's"

lpid=
cpid=
cleanup() {
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
    [ -n "$lpid" ] && kill "$lpid" 2>/dev/null
    return 0
}
trap cleanup EXIT INT TERM

# The stand-in for systemd: one line per message, its fields joined by ';'.
cat >"$T/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as log:
    while True:
        msg = s.recv(4096).decode()
        log.write(";".join(msg.strip().split("\n")) + "\n")
        log.flush()
PY
python3 "$T/notify.py" "$T/notify.sock" "$T/notify.log" &
lpid=$!
wait_for_file "$T/notify.sock" 10
: >"$T/notify.log"

port=$(free_port 1)
mkdir -p "$T/S"
NOTIFY_SOCKET="$T/notify.sock" "$FS_BIN" collect -l "127.0.0.1:$port" -w "$T/S/" \
    2>"$T/collect.err" &
cpid=$!

n=0
until grep -q 'READY=1' "$T/notify.log"; do
    n=$((n + 1))
    [ "$n" -gt 200 ] && fail "no READY=1 within 10 s: $(cat "$T/notify.log" "$T/collect.err")"
    kill -0 "$cpid" 2>/dev/null || fail "collector died: $(cat "$T/collect.err")"
    sleep 0.05
done
# (a) bound when ready: the very next datagram is stored.
ss -Hlun "sport = :$port" | grep -q . || fail "READY=1 before udp $port was bound"
grep 'READY=1' "$T/notify.log" | grep -q "MAINPID=$cpid\$\|MAINPID=$cpid;" ||
    fail "READY=1 without MAINPID=$cpid: $(cat "$T/notify.log")"
"$FS_GEN" mix "$T/mix.pcap" --flows 20 --seed 93 --snap 128 >/dev/null || fail "fsgen"
fs meter -r "$T/mix.pcap" -e "ipfix://127.0.0.1:$port" || fail "meter -e"
echo "ok   READY=1 MAINPID=$cpid once udp $port was bound"

# (b) STOPPING=1 on SIGTERM, then a clean exit with the flows stored.
sleep 0.3
kill -TERM "$cpid"
wait "$cpid"
rc=$?
cpid=
[ "$rc" = 0 ] || fail "collector exit status $rc after SIGTERM: $(cat "$T/collect.err")"
grep -q 'STOPPING=1' "$T/notify.log" || fail "no STOPPING=1: $(cat "$T/notify.log")"
got=$(fs print -r "$T/S" -o csv -N | tail -n +2 | wc -l)
want=$(fs meter -r "$T/mix.pcap" -w - | fs print -o csv -N | tail -n +2 | wc -l)
[ "$got" = "$want" ] || fail "stored $got flows of $want sent right after READY=1"
echo "ok   STOPPING=1 on SIGTERM, exit 0, $got of $want flows stored"
