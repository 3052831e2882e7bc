#!/bin/sh
# Benchmark: baseline and anomaly over 10 M flows (issue 15: each detector at >= 5 M
# flows/s on this machine).
#
#   bench/anomaly.sh                        # the 10 M-flow store of bench/query.sh
#   BENCH_FLOWS=1000000 bench/anomaly.sh
#
# The store is bench/query.sh's flowsleuth store (fsgen mix, BENCH_PPF packets a flow,
# cut to BENCH_SNAP bytes, metered into DIR/), cached in BENCH_DATA and made here the
# same way (the flowsleuth half only) when query.sh has not made it yet. Its flows span
# minutes, not weeks, so the profile is learned with --bin 60 --min-weeks 0: the work per
# flow (decode, key, bin) is the same as over weeks; learning (medians of the slots)
# costs per bin and key, not per flow.
#
# Each command runs as a whole process under /usr/bin/time -v, output to /dev/null,
# best of BENCH_RUNS; printed: wall seconds, peak MB and flows per second.
#   count:         flowsleuth count --bin 60 (the same binning, for comparison)
#   baseline:      --by all, --by srcnet/24, --by service, --by src (every host: the
#                  memory-bound case, one series per host)
#   anomaly:       against each of those profiles
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
    echo "bench/anomaly.sh: $*" >&2
    exit 1
}
. "$ROOT/bench/lib.sh"

[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
if [ ! -x "$FS_BIN" ] || [ ! -x "$FS_GEN" ]; then
    cmake -S "$ROOT" -B "$FS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    ninja -C "$FS_BUILD" -j1 flowsleuth fsgen >/dev/null
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-anomaly.XXXXXX")
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

echo "store: $FSD ($N flows), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %8s %8s %12s\n' test wall_s peak_MB flows/s
row() {
    res=$(best "$2")
    echo "$res" | awk -v t="$1" -v n="$N" '{ printf "%-22s %8.2f %8.1f %12.0f\n", t, $1, $2 / 1024, n / $1 }'
}
row count "'$FS_BIN' count -r '$FSD' --bin 60 -o csv"
for by in all srcnet/24 service src; do
    tag=$(echo "$by" | tr / _)
    "$FS_BIN" baseline -r "$FSD" --bin 60 --min-weeks 0 --by "$by" -w "$W/$tag.profile" 2>/dev/null ||
        die "baseline --by $by"
    row "baseline $by" "'$FS_BIN' baseline -r '$FSD' --bin 60 --min-weeks 0 --by $by -w '$W/$tag.p2'"
    row "anomaly $by" "'$FS_BIN' anomaly -r '$FSD' -b '$W/$tag.profile' -o csv"
done
