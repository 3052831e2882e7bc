#!/bin/sh
# Benchmark: the web console's first full draw (issue 18, "Speed"): on a 10 M-flow store
# spanning 24 hours, the requests the page makes for its charts, sent at once as the
# browser sends them: the series over the 24 h in 5-minute bins, and the five top-10
# lists (srcip, dstip, srcnet, dport, proto by tbytes, one request: the server answers
# them in one scan); timed from the first request to the last answer. Twice:
#   cold: --cache-mem 0, every draw reads the store (what the first visitor waits for),
#         the 95th percentile of BENCH_COLD_RUNS draws;
#   warm: the default answer cache (web_cache.h): after the first draw, the same
#         question of an unchanged store is answered from memory; BENCH_RUNS draws.
# cpu/draw is the server's CPU time (user + system, /proc) per draw: what the draw
# costs whatever else runs on the machine, where the wall times depend on the load.
# Also timed alone, cold: the page's other requests (hosts, services, 100 flows).
#
# The store: fsgen mix (BENCH_FLOWS connections, 8 packets each, snapped to 128 bytes)
# piped into flowsleuth meter, its flows spread over 24 h (--rate FLOWS/86400); cached in
# BENCH_DATA/serve-store. bench/query.sh's store (BENCH_STORE=) does as well; the window
# is then the 24 h from its first flow.
#
# Environment: BENCH_FLOWS (10000000), BENCH_RUNS (20), BENCH_COLD_RUNS (5), BENCH_SEED (1), BENCH_DATA
# (/tmp/fs-bench), BENCH_STORE, FS_BUILD, FS_BIN, FS_GEN.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BENCH_FLOWS:=10000000}"
: "${BENCH_RUNS:=20}"
: "${BENCH_COLD_RUNS:=5}"
: "${BENCH_SEED:=1}"
: "${BENCH_DATA:=${TMPDIR:-/tmp}/fs-bench}"
: "${FS_BUILD:=$ROOT/build}"
: "${FS_BIN:=$FS_BUILD/flowsleuth}"
: "${FS_GEN:=$FS_BUILD/fsgen}"
: "${BENCH_STORE:=$BENCH_DATA/serve-store}"

die() {
    echo "bench/serve.sh: $*" >&2
    exit 1
}
[ -x "$FS_BIN" ] && [ -x "$FS_GEN" ] || die "build flowsleuth and fsgen first (FS_BUILD=$FS_BUILD)"
command -v python3 >/dev/null || die "python3 is needed"
mkdir -p "$BENCH_DATA"
W=$(mktemp -d "$BENCH_DATA/serve.XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

if [ ! -d "$BENCH_STORE" ]; then
    rate=$((BENCH_FLOWS / 86400))
    [ "$rate" -ge 1 ] || rate=1
    echo "making $BENCH_STORE: $BENCH_FLOWS flows at $rate a second (a few minutes)" >&2
    nice "$FS_GEN" mix /dev/stdout --flows "$BENCH_FLOWS" --rate "$rate" --snap 128 \
        --packets-per-flow 8 --seed "$BENCH_SEED" 2>"$W/fsgen.err" |
        nice "$FS_BIN" meter -r - -w "$BENCH_STORE.tmp/" || die "fsgen | meter failed"
    mv "$BENCH_STORE.tmp" "$BENCH_STORE"
fi

# The window: the 24 h from the store's first flow.
first=$("$FS_BIN" print -r "$BENCH_STORE" -o csv:first -N | sed -n 2p)
[ -n "$first" ] || die "no flows in $BENCH_STORE"
t0=$(date -u -d "$first" +%s)
window="@$t0..@$((t0 + 86400))"
flows=$("$FS_BIN" count -r "$BENCH_STORE" -t "$window" --bin 86400 -N | sed -n 's/.*total flows: \([0-9]*\),.*/\1/p')

# serve_start NAME ARGS...: a server on a free loopback port: sets pid and port
serve_start() {
    log=$W/serve-$1.log
    shift
    "$FS_BIN" serve -r "$BENCH_STORE" --listen 127.0.0.1:0 --max-time 600 --max-mem 4Gi "$@" \
        2>"$log" &
    pid=$!
    n=0
    until grep -q "listening on" "$log" 2>/dev/null; do
        n=$((n + 1))
        [ "$n" -gt 600 ] && die "serve did not start: $(cat "$log")"
        sleep 0.05
    done
    port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$log")
}
serve_stop() {
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
}

# draws MODE RUNS: RUNS draws of the page's chart requests, all at once; one line.
draws() {
    python3 - "$port" "$window" "$2" "$1" "$pid" <<'PY'
import math, os, sys, threading, time, urllib.parse, urllib.request
port, window, runs, mode, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
def cpu():  # the server's user + system CPU seconds
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
c0 = cpu()
t = urllib.parse.quote(window)
reqs = ["/api/series?t=%s&bin=300" % t, "/api/top?key=%s&n=10&t=%s" % (urllib.parse.quote(
        "srcip/tbytes,dstip/tbytes,srcnet/tbytes,dport/tbytes,proto/tbytes"), t)]
def get(path, out, i):
    t0 = time.monotonic()
    with urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path), timeout=900) as r:
        body = r.read()
        if r.status != 200:
            raise SystemExit("HTTP %d: %s" % (r.status, body[:200]))
    out[i] = time.monotonic() - t0
draw, per = [], [[] for _ in reqs]
for _ in range(runs):
    out = [None] * len(reqs)
    th = [threading.Thread(target=get, args=(p, out, i)) for i, p in enumerate(reqs)]
    t0 = time.monotonic()
    for x in th: x.start()
    for x in th: x.join()
    draw.append(time.monotonic() - t0)
    if None in out:
        raise SystemExit("a request failed")
    for i, v in enumerate(out): per[i].append(v)
def pct(v, p):  # nearest rank
    v = sorted(v)
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)] * 1000
print("%-5s %5d %8.0f %8.0f %8.0f %8.0f %8.0f   %s" % (mode, runs, pct(draw, 50), pct(draw, 95),
      max(draw) * 1000, draw[0] * 1000, (cpu() - c0) * 1000 / runs,
      " ".join("%.0f" % pct(p, 95) for p in per)))
PY
}

# alone PATH: ms of one request of the page (cold), the best of 3.
alone() {
    python3 - "$port" "$1" <<'PY'
import sys, time, urllib.request
best = None
for _ in range(3):
    t0 = time.monotonic()
    with urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=900) as r:
        r.read()
    d = time.monotonic() - t0
    best = d if best is None or d < best else best
print("%.0f" % (best * 1000))
PY
}

echo "store: $BENCH_STORE, $(du -sh "$BENCH_STORE" | cut -f1); window $window: $flows flows; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "the page's first draw (the series and the five top-10 lists at once), ms:"
echo "mode  draws      p50      p95      max    first  cpu/draw   p95 of each: series top-10s"
serve_start cold --cache-mem 0
draws cold "$BENCH_COLD_RUNS"
tw=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$window")
h=$(alone "/api/hosts?n=50&t=$tw")
s=$(alone "/api/services?n=50&t=$tw")
f=$(alone "/api/flows?limit=100&t=$tw")
serve_stop
serve_start warm
draws warm "$BENCH_RUNS"
serve_stop
echo "the page's other requests alone, cold, best of 3: hosts $h ms, services $s ms, 100 flows $f ms"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
