#!/bin/sh
# Benchmark: the detectors over 10 M flows (issue 15: each at >= 5 M flows/s on this
# machine, memory bounded by --max-mem).
#
#   bench/detectors.sh                      # the 10 M-flow store of bench/query.sh
#   BENCH_FLOWS=1000000 bench/detectors.sh
#
# The store is bench/query.sh's flowsleuth store (fsgen mix, BENCH_PPF packets a flow,
# cut to BENCH_SNAP bytes, metered into DIR/), cached in BENCH_DATA and made here the
# same way (the flowsleuth half only) when query.sh or anomaly.sh has not made it yet.
#
# Each command runs as a whole process under /usr/bin/time, output to /dev/null, best
# (least CPU) of BENCH_RUNS; printed: wall seconds, CPU seconds (user + system), peak MB,
# flows per second (the store's flows over the wall time: every detector reads all of
# them) and flows per CPU second (what a loaded machine still measures fairly: wall
# time there is mostly waiting for a core).
#   count:     flowsleuth count --bin 1e9 (reading and decoding alone, for comparison)
#   scan:      flowsleuth scan --max-mem 2Gi (every contact held, 20 or 32 bytes; --max-mem
#              counts 56 a flow)
#   services:  flowsleuth services (per answered flow an 8-byte pair)
#   spam:      flowsleuth spam (the mail flows held)
#   hosts:     flowsleuth hosts --internal 10.0.0.0/8 (sums per host, and services)
#   watch:     flowsleuth watch --once --from-start over the whole store, a bin at a
#              time (scan and spam on every bin, as a catch-up after a long stop)
#
# Environment: BENCH_FLOWS (10000000), BENCH_PPF (8), BENCH_SEED (1), BENCH_SNAP (128),
# BENCH_RUNS (3), BENCH_DATA (/tmp/fs-bench), FS_BUILD, FS_BIN, FS_GEN.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BENCH_FLOWS:=10000000}"
: "${BENCH_PPF:=8}"
: "${BENCH_SEED:=1}"
: "${BENCH_SNAP:=128}"
: "${BENCH_RUNS:=3}"
: "${BENCH_DATA:=${TMPDIR:-/tmp}/fs-bench}"
: "${FS_BUILD:=$ROOT/build}"
: "${FS_BIN:=$FS_BUILD/flowsleuth}"
: "${FS_GEN:=$FS_BUILD/fsgen}"

die() {
    echo "bench/detectors.sh: $*" >&2
    exit 1
}
. "$ROOT/bench/lib.sh"

[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
if [ ! -x "$FS_BIN" ] || [ ! -x "$FS_GEN" ]; then
    cmake -S "$ROOT" -B "$FS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    ninja -C "$FS_BUILD" -j1 flowsleuth fsgen >/dev/null
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-detectors.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM

mkdir -p "$BENCH_DATA"
SNAPTAG=""
[ "$BENCH_SNAP" -gt 0 ] && SNAPTAG="-snap$BENCH_SNAP"
PCAP="$BENCH_DATA/flows-f$BENCH_FLOWS-k$BENCH_PPF-s$BENCH_SEED$SNAPTAG.pcap"
FSD="${PCAP%.pcap}.fs"
if [ ! -s "$FSD.count" ]; then
    if [ ! -s "$PCAP" ]; then
        echo "generating $PCAP ..." >&2
        set -- --packets-per-flow "$BENCH_PPF" --rate 20000
        [ "$BENCH_SNAP" -gt 0 ] && set -- "$@" --snap "$BENCH_SNAP"
        "$FS_GEN" mix "$PCAP.tmp" --flows "$BENCH_FLOWS" --seed "$BENCH_SEED" "$@" 2>"$PCAP.info"
        mv "$PCAP.tmp" "$PCAP"
    fi
    echo "storing: flowsleuth meter ..." >&2
    rm -rf "$FSD" "$FSD.count"
    "$FS_BIN" meter -r "$PCAP" -w "$FSD/" 2>"$W/meter.log" || die "meter: $(cat "$W/meter.log")"
    "$FS_BIN" count -r "$FSD" --bin 100000000 -o csv |
        awk -F, 'NR > 1 { n += $2 } END { print n + 0 }' >"$FSD.count"
fi
N=$(cat "$FSD.count")
[ "$N" -gt 0 ] || die "no flows in $FSD"
NBINS=$(find "$FSD" -name 'flows.*' | wc -l)

echo "store: $FSD ($N flows, $NBINS bin files), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %8s %8s %8s %12s %12s\n' test wall_s cpu_s peak_MB flows/s flows/cpu_s
# cpu_timed COMMAND: "wall_s cpu_s peak_kb" of one run (stdout discarded)
cpu_timed() {
    t0=$(date +%s%N)
    /usr/bin/time -f '%U %S %M' -o "$W/time.txt" sh -c "$1" >/dev/null 2>"$W/cmd.err" || {
        cat "$W/cmd.err" >&2
        die "failed: $1"
    }
    t1=$(date +%s%N)
    awk -v ns=$((t1 - t0)) '{ printf "%.3f %.2f %d\n", ns / 1e9, $1 + $2, $3 }' "$W/time.txt"
}
row() {
    b=""
    r=0
    while [ "$r" -lt "$BENCH_RUNS" ]; do
        r=$((r + 1))
        res=$(cpu_timed "$2")
        echo "  run $r: wall s, cpu s, peak KB: $res: $2" >&2
        if [ -z "$b" ] || [ "$(echo "$res $b" | awk '{ print ($2 < $5) }')" = 1 ]; then
            b=$res
        fi
    done
    echo "$b" | awk -v t="$1" -v n="$N" '{ printf "%-10s %8.2f %8.2f %8.1f %12.0f %12.0f\n", t, $1, $2, $3 / 1024, n / $1, n / $2 }'
}
row count "'$FS_BIN' count -r '$FSD' --bin 1000000000 -o csv"
row scan "'$FS_BIN' scan -r '$FSD' --max-mem 2Gi -o csv"
row services "'$FS_BIN' services -r '$FSD' --max-mem 2Gi -o csv"
row spam "'$FS_BIN' spam -r '$FSD' --max-mem 2Gi -o csv"
row hosts "'$FS_BIN' hosts -r '$FSD' --internal 10.0.0.0/8 --max-mem 2Gi -o csv"
row watch "rm -f '$W/st'; '$FS_BIN' watch -r '$FSD' --once --from-start --max-mem 2Gi --state '$W/st'"
