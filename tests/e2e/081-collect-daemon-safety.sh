#!/bin/sh
# The collector's daemon side (issue 11), as root on 127.0.0.1 only:
#  (a) a non-root collector (setpriv to nobody, as the systemd unit runs it) writing a
#      store and listening on UDP starts, answers --status, and stores every flow;
#  (b) -u USER never chowns a path: a shim that swaps the control socket for a link to
#      a root-owned file whenever chown() is called on it finds the file still root's,
#      and the socket belongs to USER;
#  (c) --pid-file never follows a link (a planted one to a root-only file is refused,
#      the file unchanged); a stale pid file is replaced, a live one refused;
#  (d) --control at a regular file is an error naming it; the file stays;
#  (e) --status readers that do not read for seconds cost no datagram: every record
#      sent during the stall is stored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need ss python3 setpriv cc stat
[ "$(id -u)" = 0 ] || skip "needs root (setpriv, -u)"
getent passwd nobody >/dev/null || skip "no user nobody"
[ -z "$FS_EXEC_PREFIX" ] || skip "a daemon escapes FS_EXEC_PREFIX"

N=$(mktemp -d /tmp/fs-081.XXXXXX) || fail "mktemp"
chmod 755 "$N"
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$N"
}
trap cleanup EXIT INT TERM
ngid=$(id -g nobody)

# NetFlow v5 sender: COUNT datagrams of one record each (engine ids spread over
# DOMAINS), at most PPS a second; prints the records sent.
cat >"$T/v5.py" <<'EOF'
import socket, struct, sys, time
port, count, domains, pps = (int(a) for a in sys.argv[1:5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
now = int(time.time())
seq = {}
t0 = time.monotonic()
for i in range(count):
    d = i % domains
    hdr = struct.pack("!HHIIIIBBH", 5, 1, 100000, now, 0, seq.get(d, 0), d >> 8, d & 255, 0)
    seq[d] = seq.get(d, 0) + 1
    rec = struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([10, 1, i >> 8 & 255, i & 255]),
                      bytes([10, 2, 0, 1]), bytes(4), 0, 0, 3, 300, 90000, 99000,
                      1024 + i % 60000, 80, 0, 0x18, 6, 0, 0, 0, 0, 0, 0)
    s.sendto(hdr + rec, ("127.0.0.1", port))
    if pps and (i + 1) % 100 == 0:
        late = t0 + (i + 1) / pps - time.monotonic()
        if late > 0:
            time.sleep(late)
print(count)
EOF
count() {
    fs print -r "$1" -o csv -N | tail -n +2 | wc -l
}
wait_gone() {
    n=0
    while kill -0 "$1" 2>/dev/null; do
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "pid $1 did not exit"
        sleep 0.05
    done
}

# (a) not root
mkdir -p "$N/A"
chown nobody: "$N/A"
port=$(free_port 1)
setpriv --reuid=nobody --regid="$ngid" --clear-groups "$FS_BIN" collect -l "127.0.0.1:$port" \
    -w "$N/A/" 2>"$T/a.err" &
apid=$!
pids="$pids $apid"
n=0
until [ -S "$N/A/.flowsleuth-collect.sock" ]; do
    n=$((n + 1))
    kill -0 "$apid" 2>/dev/null || fail "non-root collector stopped: $(cat "$T/a.err")"
    [ "$n" -gt 200 ] && fail "non-root collector: no control socket"
    sleep 0.05
done
setpriv --reuid=nobody --regid="$ngid" --clear-groups "$FS_BIN" collect --status -w "$N/A/" \
    >"$T/a.status" || fail "--status as nobody"
grep -q "pid $apid," "$T/a.status" || fail "--status: $(cat "$T/a.status")"
sent=$(python3 "$T/v5.py" "$port" 2000 1 20000)
wait_drained "$port"
kill -TERM "$apid"
wait "$apid" || fail "non-root collector exited non-zero: $(cat "$T/a.err")"
[ "$(count "$N/A")" = "$sent" ] || fail "non-root collector stored $(count "$N/A") of $sent"
echo "ok   (a) a collector as nobody started, answered --status, stored $sent of $sent flows"

# (b) -u: no chown of a path. The shim plays the attacker who wins the race between
# bind and chown: at chown() of the socket it puts a link to a root file there.
cat >"$T/shim.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
int chown(const char *path, uid_t u, gid_t g)
{
    int (*real)(const char *, uid_t, gid_t) = (int (*)(const char *, uid_t, gid_t))dlsym(RTLD_NEXT, "chown");
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".sock") == 0 && getenv("SHIM_TARGET")) {
        unlink(path);
        if (symlink(getenv("SHIM_TARGET"), path) != 0)
            return -1;
    }
    return real(path, u, g);
}
EOF
cc -shared -fPIC -o "$T/shim.so" "$T/shim.c" -ldl || fail "cc shim"
mkdir -p "$N/B"
chown nobody: "$N/B"
echo secret >"$N/victim"
chmod 600 "$N/victim"
port=$(free_port 2)
SHIM_TARGET="$N/victim" LD_PRELOAD="$T/shim.so" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
    "$FS_BIN" collect -u nobody -l "127.0.0.1:$port" -w "$N/B/" 2>"$T/b.err" &
bpid=$!
pids="$pids $bpid"
n=0
until fs collect --status -w "$N/B/" >/dev/null 2>&1; do
    n=$((n + 1))
    kill -0 "$bpid" 2>/dev/null || break
    [ "$n" -gt 200 ] && break
    sleep 0.05
done
[ "$(stat -c %U "$N/victim")" = root ] || fail "-u nobody gave $N/victim to $(stat -c %U "$N/victim")"
kill -0 "$bpid" 2>/dev/null || fail "-u collector stopped: $(cat "$T/b.err")"
fs collect --status -w "$N/B/" >/dev/null || fail "-u nobody: no answer on the control socket"
[ "$(stat -c %U "$N/B/.flowsleuth-collect.sock")" = nobody ] || fail "control socket not nobody's"
kill -TERM "$bpid"
wait "$bpid" || fail "-u collector exited non-zero: $(cat "$T/b.err")"
echo "ok   (b) -u nobody: the control socket is nobody's, a link at it gave nothing away"

# (c) --pid-file
mkdir -p "$N/run"
chown nobody: "$N/run"
echo "root only" >"$N/rootonly"
chmod 600 "$N/rootonly"
ln -s "$N/rootonly" "$N/run/c.pid"
port=$(free_port 3)
for u in "" "-u nobody"; do
    # shellcheck disable=SC2086
    if fs collect -D $u --pid-file "$N/run/c.pid" -l "127.0.0.1:$port" -w "$N/B/" \
        2>"$T/c.err"; then
        kill "$(cat "$N/rootonly")" 2>/dev/null || true
        fail "collect -D $u started with a link as its pid file"
    fi
    [ "$(cat "$N/rootonly")" = "root only" ] || fail "$u: the planted link's target was written"
    grep -q "$N/run/c.pid" "$T/c.err" || fail "$u: no error naming the pid file: $(cat "$T/c.err")"
done
rm "$N/run/c.pid"
sh -c 'echo $$' >"$N/run/c.pid" # a pid that is gone: stale
fs collect -D -u nobody --pid-file "$N/run/c.pid" -l "127.0.0.1:$port" -w "$N/B/" \
    2>"$T/c2.err" || fail "a stale pid file was not replaced: $(cat "$T/c2.err")"
cpid=$(cat "$N/run/c.pid")
pids="$pids $cpid"
kill -0 "$cpid" || fail "pid file does not name the daemon"
if fs collect -D --pid-file "$N/run/c.pid" -l "127.0.0.1:$(free_port 4)" -w "$N/A/" \
    2>"$T/c3.err"; then
    fail "a second collector took a live collector's pid file"
fi
grep -q "runs" "$T/c3.err" || fail "live pid file: $(cat "$T/c3.err")"
kill -TERM "$cpid"
wait_gone "$cpid"
[ -e "$N/run/c.pid" ] && fail "pid file left behind after -u"
echo "ok   (c) --pid-file: a planted link refused, a stale file replaced, removed after -u"

# (d) --control at a regular file
echo keep >"$N/notasock"
if fs collect -l "127.0.0.1:$(free_port 5)" -w "$N/A/" --control "$N/notasock" 2>"$T/d.err"; then
    fail "--control at a regular file ran"
fi
[ "$(cat "$N/notasock" 2>/dev/null)" = keep ] || fail "--control removed a regular file"
grep -q "$N/notasock" "$T/d.err" || fail "--control: no error naming the path: $(cat "$T/d.err")"
echo "ok   (d) --control at a regular file: refused, file kept: $(grep "control socket" "$T/d.err")"

# (e) stalled --status readers. 3000 engine ids make the counters text ~0.7 MB, more
# than a UNIX socket buffers, so a writer that waits for the reader would block.
mkdir -p "$N/E"
port=$(free_port 6)
"$FS_BIN" collect -l "127.0.0.1:$port" -w "$N/E/" 2>"$T/e.err" &
epid=$!
pids="$pids $epid"
wait_udp "$port"
wait_for_file "$N/E/.flowsleuth-collect.sock"
first=$(python3 "$T/v5.py" "$port" 3000 3000 20000)
wait_drained "$port"
fs collect --status -w "$N/E/" >"$T/e.status" || fail "--status"
size=$(wc -c <"$T/e.status")
[ "$size" -gt 400000 ] || fail "counters text only $size bytes"
python3 - "$N/E/.flowsleuth-collect.sock" >"$T/e.readers" <<'EOF' &
import socket, sys, time
cs = []
for _ in range(4):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(sys.argv[1])
    cs.append(c)
print("connected", flush=True)
time.sleep(3)
print("done", flush=True)
EOF
rpid=$!
pids="$pids $rpid"
n=0
until grep -q connected "$T/e.readers"; do
    n=$((n + 1))
    [ "$n" -gt 200 ] && fail "stalled readers did not connect"
    sleep 0.05
done
sent=$(python3 "$T/v5.py" "$port" 60000 1 25000)
wait "$rpid" || true
wait_drained "$port"
fs collect --status -w "$N/E/" >"$T/e2.status" || fail "--status after the stall"
kill -TERM "$epid"
wait "$epid" || fail "collect exited non-zero: $(cat "$T/e.err")"
stored=$(count "$N/E")
[ "$stored" = $((first + sent)) ] ||
    fail "stored $stored of $((first + sent)) records while --status readers stalled"
echo "ok   (e) 4 --status readers stalled 3 s on a $size-byte text: $sent of $sent datagrams stored"
