#!/bin/sh
# collect -D --pid-file -u (as root, 127.0.0.1 only):
#  (a) -D returns at once with status 0 once the sockets are bound and the pid file is
#      written; the pid in it is a live collector, not the shell's child; --status
#      answers; a meter -e ipfix:// run is decoded.
#  (b) -u nobody: the daemon runs as nobody (/proc/PID/status Uid and Gid, no
#      supplementary groups) in a store folder owned by nobody, and writes bins there.
#  (c) SIGTERM via the pid file: the daemon exits, the bin files are closed (print
#      sees every flow), the control socket and the pid file are gone.
#  (d) -D with a port already taken: status 1 at once, no pid file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need ss awk python3
[ -x "$FS_GEN" ] || skip "no fsgen"
[ "$(id -u)" = 0 ] || skip "needs root (-u)"
getent passwd nobody >/dev/null || skip "no user nobody"
[ -z "$FS_EXEC_PREFIX" ] || skip "a daemon escapes FS_EXEC_PREFIX"

dpid=
# The store and the pid file's folder must be reachable by nobody: $T may sit below a
# private (0700) folder, such as a clone in mktemp -d.
N=$(mktemp -d /tmp/fs-088.XXXXXX) || fail "mktemp"
chmod 755 "$N"
cleanup() {
    [ -n "$dpid" ] && kill "$dpid" 2>/dev/null || true
    rm -rf "$N"
}
trap cleanup EXIT INT TERM

count() {
    fs print -r "$1" -o csv -N | tail -n +2 | wc -l
}

"$FS_GEN" mix "$T/mix.pcap" --flows 1000 --seed 88 --snap 128 >/dev/null
fs meter -r "$T/mix.pcap" -w "$T/A" || fail "meter -w"
nflows=$(count "$T/A")
port=$(free_port 1)
mkdir -p "$N/S" "$N/run" "$N/private"
chown nobody: "$N/S" "$N/run" # run/: nobody removes the pid file at exit
chmod 700 "$N/private"

# A store folder nobody cannot write: -D fails at start, saying why.
if fs collect -D -u nobody -l "127.0.0.1:$(free_port 1)" -w "$N/private/" 2>"$T/private.err"; then
    fail "collect -D -u nobody started on a store folder nobody cannot write"
fi
grep -q "cannot write the store folder" "$T/private.err" ||
    fail "no clear error for an unwritable store: $(cat "$T/private.err")"
echo "ok   -u nobody refuses a store folder it cannot write: $(cat "$T/private.err")"

# (a) -D returns when ready
fs collect -D -u nobody --pid-file "$N/run/collect.pid" -l "127.0.0.1:$port" -w "$N/S/" \
    2>"$T/daemon.err" || fail "collect -D exited non-zero: $(cat "$T/daemon.err")"
[ -s "$N/run/collect.pid" ] || fail "no pid file when -D returned"
dpid=$(cat "$N/run/collect.pid")
kill -0 "$dpid" || fail "pid $dpid from the pid file is not running"
ss -Hlunp "sport = :$port" | grep -q "pid=$dpid," || fail "pid $dpid does not hold udp $port"
fs collect --status -w "$N/S/" >"$T/status.txt" || fail "--status"
grep -q "pid $dpid," "$T/status.txt" || fail "--status: $(cat "$T/status.txt")"
fs meter -r "$T/mix.pcap" -e "ipfix://127.0.0.1:$port" --rate 200000 || fail "meter -e"
n=0
until fs collect --status -w "$N/S/" | grep -q "flows $nflows,"; do
    n=$((n + 1))
    [ "$n" -gt 200 ] && fail "the daemon did not decode $nflows flows"
    sleep 0.05
done
echo "ok   (a) -D returned once ready; pid file $dpid; --status; $nflows flows decoded"

# (b) privileges dropped
uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$dpid/status")
gid=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$dpid/status")
groups=$(awk '/^Groups:/ { $1 = ""; print $0 }' "/proc/$dpid/status" | tr -d ' ')
want_uid=$(id -u nobody)
want_gid=$(id -g nobody)
[ "$uid" = "$want_uid $want_uid $want_uid $want_uid" ] || fail "Uid: $uid"
[ "$gid" = "$want_gid $want_gid $want_gid $want_gid" ] || fail "Gid: $gid"
[ "$groups" = "$want_gid" ] || [ -z "$groups" ] || fail "Groups: $groups"
echo "ok   (b) -u nobody: uid/gid $want_uid/$want_gid, groups '$groups'"

# (c) SIGTERM via the pid file
kill -TERM "$(cat "$N/run/collect.pid")"
n=0
while kill -0 "$dpid" 2>/dev/null; do
    n=$((n + 1))
    [ "$n" -gt 200 ] && fail "daemon $dpid did not exit on SIGTERM"
    sleep 0.05
done
dpid=
[ "$(count "$N/S")" = "$nflows" ] || fail "store holds $(count "$N/S") flows, not $nflows"
[ -e "$N/S/.flowsleuth-collect.sock" ] && fail "control socket left behind"
[ -e "$N/run/collect.pid" ] && fail "pid file left behind"
find "$N/S" -type f ! -user nobody ! -name '.flowsleuth*' | grep . &&
    fail "bin files not owned by nobody"
echo "ok   (c) SIGTERM via the pid file: exited, $nflows flows stored, socket and pid file gone"

# (d) a port already taken fails before detaching
python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $port))
sys.stdout.write('x\n'); sys.stdout.flush(); time.sleep(10)" >"$T/holder.out" &
hpid=$!
wait_for_file "$T/holder.out"
n=0
until [ -s "$T/holder.out" ]; do n=$((n + 1)); [ "$n" -gt 200 ] && fail "holder"; sleep 0.05; done
if fs collect -D --pid-file "$N/run/d.pid" -l "127.0.0.1:$port" -w "$N/S/" 2>"$T/d.err"; then
    fail "collect -D on a taken port exited 0"
fi
kill "$hpid" 2>/dev/null || true
wait "$hpid" 2>/dev/null || true
[ -e "$N/run/d.pid" ] && fail "pid file written although the port was taken"
grep -q "cannot listen" "$T/d.err" || fail "no clear message: $(cat "$T/d.err")"
echo "ok   (d) -D on a taken port: status 1 before detaching, no pid file"
