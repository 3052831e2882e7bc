#!/bin/sh
# Benchmark: metering a pcap file, flowsleuth vs softflowd, as whole processes.
#
#   bench/meter.sh                        # ~5 M packets (~4.6 GB pcap, cached)
#   BENCH_PACKETS=1000000 bench/meter.sh  # smaller
#
# Both read the same fsgen mix capture (TCP/UDP, IPv4/IPv6, unique 5-tuples, so
# softflowd's lack of packet-time expiry merges nothing). flowsleuth writes an LZ4
# flow file; softflowd exports NetFlow v9 to a UDP sink on 127.0.0.1 (its table is
# made large enough to hold every flow, -m). Two more rows: flowsleuth reading the
# file through libpcap (FS_PCAP_READER=libpcap; by default it maps a classic pcap
# file and reads it itself), and the floor, libpcap's bare read loop
# (bench/pcaploop.c: pcap_next_ex over every packet, nothing else). Each run is
# timed by /usr/bin/time -v; the best (least CPU, user + sys) of BENCH_RUNS runs is
# shown, and the CPU ratios of those runs: the targets are CPU ratios, and on a shared
# machine the run of least wall time need not be the one of least CPU.
#
# Environment:
#   BENCH_PACKETS  packets in the capture (default 5000000)
#   BENCH_SEED     fsgen seed (default 1)
#   BENCH_SNAP     store only N bytes of each packet (default 0 = whole packets);
#                  both meters take lengths from IP headers, so counts do not change
#   BENCH_RUNS     runs per tool (default 3)
#   BENCH_DATA     where the capture is cached (default /tmp/fs-bench)
#   BENCH_PORT     UDP port of the sink on 127.0.0.1 (default 29955)
#   FS_BUILD       build folder (default ./build; built with Ninja -j1 if missing)
#   FS_BIN, FS_GEN the flowsleuth and fsgen binaries (default FS_BUILD/...)
#   CC             compiler for bench/pcaploop.c (default cc)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BENCH_PACKETS:=5000000}"
: "${BENCH_SEED:=1}"
: "${BENCH_SNAP:=0}"
: "${BENCH_RUNS:=3}"
: "${BENCH_DATA:=${TMPDIR:-/tmp}/fs-bench}"
: "${BENCH_PORT:=29955}"
: "${FS_BUILD:=$ROOT/build}"
: "${FS_BIN:=$FS_BUILD/flowsleuth}"
: "${FS_GEN:=$FS_BUILD/fsgen}"
: "${CC:=cc}"

die() {
    echo "bench/meter.sh: $*" >&2
    exit 1
}

# Tools: install from Debian only what is missing.
missing=""
command -v softflowd >/dev/null 2>&1 || missing="$missing softflowd"
[ -x /usr/bin/time ] || missing="$missing time"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
if [ -n "$missing" ]; then
    [ "$(id -u)" -eq 0 ] || die "missing:$missing (apt-get install$missing)"
    # shellcheck disable=SC2086 # a list of package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
fi

if [ ! -x "$FS_BIN" ] || [ ! -x "$FS_GEN" ]; then
    cmake -S "$ROOT" -B "$FS_BUILD" -G Ninja >/dev/null
    ninja -C "$FS_BUILD" -j1 flowsleuth fsgen >/dev/null
fi

mkdir -p "$BENCH_DATA"
PCAP="$BENCH_DATA/mix-p$BENCH_PACKETS-s$BENCH_SEED-snap$BENCH_SNAP.pcap"
if [ ! -s "$PCAP" ] || [ ! -s "$PCAP.info" ]; then
    echo "generating $PCAP ..." >&2
    "$FS_GEN" mix "$PCAP.tmp" --packets "$BENCH_PACKETS" --seed "$BENCH_SEED" \
        --snap "$BENCH_SNAP" 2>"$PCAP.info.tmp"
    mv "$PCAP.tmp" "$PCAP"
    mv "$PCAP.info.tmp" "$PCAP.info"
fi
info() {
    tr ' ' '\n' <"$PCAP.info" | sed -n "s/^$1=//p"
}
PACKETS=$(info packets)
FLOWS=$(info flows)

W=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-meter.XXXXXX")
SINK_PID=""
cleanup() {
    if [ -n "$SINK_PID" ]; then
        kill "$SINK_PID" 2>/dev/null || true
    fi
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

# A UDP sink for softflowd's export: counts datagrams, discards them.
cat >"$W/sink.py" <<'EOF'
import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
n = 0
def done(*_):
    print(n, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    s.recv(65535)
    n += 1
EOF

# timed OUTFILE CMD...: run CMD under /usr/bin/time -v; prints "wall user sys rss_kb"
timed() {
    out=$1
    shift
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$W/time.txt" "$@" >"$out" 2>&1 || {
        cat "$out" >&2
        die "failed: $*"
    }
    t1=$(date +%s%N)
    # wall time from date (ns); /usr/bin/time -v rounds it to 10 ms
    awk -F': ' -v ns=$((t1 - t0)) '
        /User time/ { u = $2 }
        /System time/ { s = $2 }
        /Maximum resident set size/ { m = $2 }
        END { printf "%.3f %.2f %.2f %d\n", ns / 1e9, u, s, m }' "$W/time.txt"
}

# best TOOL CMD...: BENCH_RUNS runs, keep the least CPU (user + sys) in $W/TOOL.best
best() {
    tool=$1
    shift
    : >"$W/$tool.best"
    r=0
    while [ "$r" -lt "$BENCH_RUNS" ]; do
        r=$((r + 1))
        res=$(timed "$W/$tool.log" "$@")
        echo "  $tool run $r: wall/user/sys s, peak KB: $res" >&2
        if [ ! -s "$W/$tool.best" ] ||
            [ "$(echo "$res $(cat "$W/$tool.best")" | awk '{ print ($2 + $3 < $6 + $7) }')" = 1 ]; then
            echo "$res" >"$W/$tool.best"
            cp "$W/$tool.log" "$W/$tool.bestlog"
        fi
    done
}

# shellcheck disable=SC2046 # pkg-config's flags are several words
"$CC" -O2 -std=c11 -D_DEFAULT_SOURCE "$ROOT/bench/pcaploop.c" \
    $(pkg-config --cflags --libs libpcap 2>/dev/null || echo -lpcap) -o "$W/pcaploop" ||
    die "cannot build bench/pcaploop.c"

# Warm the page cache so the first tool does not pay for the disk.
cat "$PCAP" >/dev/null

best flowsleuth "$FS_BIN" meter -r "$PCAP" -w "$W/x.fsf" --stats
FS_FLOWS=$(sed -n 's/.*flowsleuth meter: flows \([0-9]*\).*/\1/p' "$W/flowsleuth.bestlog")
best fs-libpcap env FS_PCAP_READER=libpcap "$FS_BIN" meter -r "$PCAP" -w "$W/y.fsf" --stats
LP_FLOWS=$(sed -n 's/.*flowsleuth meter: flows \([0-9]*\).*/\1/p' "$W/fs-libpcap.bestlog")
best pcap-loop "$W/pcaploop" "$PCAP"
LOOP_PKTS=$(sed -n 's/^packets \([0-9]*\).*/\1/p' "$W/pcap-loop.bestlog")
[ "$LOOP_PKTS" = "$PACKETS" ] || die "read loop: $LOOP_PKTS packets, the capture has $PACKETS"

python3 "$W/sink.py" "$BENCH_PORT" >"$W/sink.out" &
SINK_PID=$!
sleep 0.3
best softflowd softflowd -r "$PCAP" -c none -d -v 9 -m 4000000 -n "127.0.0.1:$BENCH_PORT"
kill "$SINK_PID"
wait "$SINK_PID" 2>/dev/null || true
SINK_PID=""
# softflowd's exit statistics: the expiry reasons add up to the flows it exported
SF_FLOWS=$(awk '/Expired flow reasons/ { on = 1; next }
                on && /^$/ { on = 0 }
                on { for (i = 1; i <= NF; i++) if ($i == "=") n += $(i + 1) }
                END { print n + 0 }' "$W/softflowd.bestlog")

echo
echo "meter benchmark: $PACKETS packets, $FLOWS flows (fsgen mix, seed $BENCH_SEED," \
    "snap $BENCH_SNAP), $(du -h "$PCAP" | cut -f1) pcap, best of $BENCH_RUNS"
printf '%-11s %8s %8s %8s %8s %10s %10s %9s\n' tool wall_s user_s sys_s cpu_s Mpkt/s peak_MB \
    flows
for t in flowsleuth fs-libpcap softflowd pcap-loop; do
    # shellcheck disable=SC2046 # four numbers
    set -- $(cat "$W/$t.best")
    case $t in
    flowsleuth) fl=$FS_FLOWS ;;
    fs-libpcap) fl=$LP_FLOWS ;;
    softflowd) fl=$SF_FLOWS ;;
    *) fl=- ;;
    esac
    awk -v t="$t" -v w="$1" -v u="$2" -v s="$3" -v m="$4" -v p="$PACKETS" -v f="$fl" 'BEGIN {
        printf "%-11s %8.3f %8.2f %8.2f %8.2f %10.2f %10.1f %9s\n", t, w, u, s, u + s,
               (w > 0 ? p / w / 1e6 : 0), m / 1024, f }'
done
# shellcheck disable=SC2046 # sixteen numbers
set -- $(cat "$W/flowsleuth.best") $(cat "$W/softflowd.best") $(cat "$W/pcap-loop.best") \
    $(cat "$W/fs-libpcap.best")
awk -v a="$1 $2 $3 $4" -v b="$5 $6 $7 $8" -v c="$9 ${10} ${11} ${12}" \
    -v d="${13} ${14} ${15} ${16}" 'BEGIN {
    split(a, fs, " "); split(b, sf, " "); split(c, lp, " "); split(d, fl, " ")
    c1 = fs[2] + fs[3]; c2 = sf[2] + sf[3]; c3 = lp[2] + lp[3]; c4 = fl[2] + fl[3]
    printf "ratio flowsleuth/softflowd: speed %.2fx (packets/s), CPU %.2fx less, peak memory %.2fx\n",
           (fs[1] > 0 ? sf[1] / fs[1] : 0), (c1 > 0 ? c2 / c1 : 0), (sf[4] > 0 ? fs[4] / sf[4] : 0)
    printf "ratio flowsleuth/read loop: CPU %.2fx (reading through libpcap: %.2fx)\n",
           (c3 > 0 ? c1 / c3 : 0), (c3 > 0 ? c4 / c3 : 0) }'
echo "(flowsleuth: biflows with payload/goodput/retrans into an LZ4 file;" \
    "softflowd: NetFlow v9 uniflows to a UDP sink; read loop: libpcap alone)"
