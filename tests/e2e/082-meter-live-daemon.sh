#!/bin/sh
# A live meter as a daemon (as root, capturing on lo with a filter for one port):
#  (a) -D --pid-file returns once the capture is open; --status answers with its
#      counters; a flow idle for --idle 1 is written with no packet arriving;
#  (b) SIGHUP closes the open bin: its file is readable at once;
#  (b2) a meter stopped while a flow's packets queue, then resumed, writes one flow;
#  (c) at the wall clock's bin boundary (1-minute bins) the bin's file appears within
#      two seconds while the interface is idle (before: only when a fifth bin opened);
#  (d) SIGTERM via the pid file: every flow stored, pid file and socket gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need python3 ss
[ "$(id -u)" = 0 ] || skip "needs root (live capture)"
[ -z "$FS_EXEC_PREFIX" ] || skip "a daemon escapes FS_EXEC_PREFIX"

dpid=
cleanup() {
    if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM
port=$(free_port 1)
send() { # send N: N datagrams from one socket (one flow)
    python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range($1): s.sendto(b'x' * 100, ('127.0.0.1', $port))"
}
files() { find "$T/S" -name 'flows.*' | wc -l; }
count() { fs print -r "$T/S" -o csv -N | tail -n +2 | wc -l; }
wait_until() { # wait_until SECONDS CMD...: until CMD succeeds
    lim=$(($1 * 20))
    shift
    n=0
    until "$@"; do
        n=$((n + 1))
        [ "$n" -gt "$lim" ] && return 1
        sleep 0.05
    done
}

# Start just after a minute boundary so that (a) and (b) finish inside this minute.
while [ "$(date +%S)" -gt 40 ]; do sleep 0.5; done
mkdir -p "$T/S"
fs meter -D --pid-file "$T/m.pid" -i lo -w "$T/S/" -b 60 --idle 1 "udp port $port" \
    2>"$T/m.err" || fail "meter -D: $(cat "$T/m.err")"
dpid=$(cat "$T/m.pid")
kill -0 "$dpid" || fail "pid file does not name a live meter"
fs meter --status -w "$T/S/" >"$T/s0.txt" || fail "--status"
grep -q "pid $dpid," "$T/s0.txt" || fail "--status: $(cat "$T/s0.txt")"
send 3
has_written() { fs meter --status -w "$T/S/" | grep -q "flows written 1,"; }
wait_until 5 has_written || fail "no flow written after --idle 1: $(fs meter --status -w "$T/S/")"
fs meter --status -w "$T/S/" >"$T/s1.txt" || fail "--status"
grep -q "packets read 3," "$T/s1.txt" || fail "--status: $(cat "$T/s1.txt")"
echo "ok   (a) -D: pid $dpid; --status: $(tail -1 "$T/s1.txt")"

[ "$(files)" = 0 ] || fail "a bin file before SIGHUP"
kill -HUP "$dpid"
has_file() { [ "$(files)" -ge "$1" ]; }
wait_until 2 has_file 1 || fail "SIGHUP did not close the bin"
[ "$(count)" = 1 ] || fail "after SIGHUP readers see $(count) flows"
echo "ok   (b) SIGHUP: the open bin closed, 1 flow readable"

# (b2) a meter that lags behind its capture buffer cuts no flow: stopped (SIGSTOP)
# while one socket sends 3 datagrams 0.6 s apart, resumed 2 s after the last, it
# reads them all at once; flows expire by the packets' time then, not the wall
# clock's (which once cut this flow into 3 with --idle 1).
kill -STOP "$dpid"
python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3):
    s.sendto(b'y' * 100, ('127.0.0.1', $port)); time.sleep(0.6)"
sleep 2
kill -CONT "$dpid"
lagged() { fs meter --status -w "$T/S/" | grep -q "flows written 2,"; }
wait_until 5 lagged || fail "(b2) the lagged flow was not written: $(fs meter --status -w "$T/S/")"
sleep 0.5
fs meter --status -w "$T/S/" | grep -q "flows written 2," ||
    fail "(b2) the lagged flow was cut: $(fs meter --status -w "$T/S/")"
echo "ok   (b2) a lagging meter: 3 packets 0.6 s apart read 3 s late are one flow"

send 2
sec=$(date +%S)
sec=${sec#0}
left=$((60 - sec))
sleep "$left"
wait_until 2 has_file 2 || fail "the bin's file did not appear within 2 s of its end"
echo "ok   (c) the bin closed at the wall clock's boundary, within 2 s ($(files) files)"

kill -TERM "$dpid"
gone() { ! kill -0 "$dpid" 2>/dev/null; }
wait_until 10 gone || fail "meter did not stop on SIGTERM"
dpid=
[ "$(count)" = 3 ] || fail "store holds $(count) flows, not 3"
[ -e "$T/m.pid" ] && fail "pid file left behind"
[ -e "$T/S/.flowsleuth-meter.sock" ] && fail "control socket left behind"
echo "ok   (d) SIGTERM: 3 flows stored, pid file and control socket gone"
