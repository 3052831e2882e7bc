#!/bin/sh
# Benchmark: reading one nfcapd file (nfdump's own format) with flowsleuth and with
# nfdump, side by side.
#
#   bench/nfdump-read.sh                     # 200,000 connections, LZ4 file
#   BENCH_FLOWS=50000 BENCH_NFOPT=-z bench/nfdump-read.sh   # smaller, LZO
#
# The file: an fsgen mix metered by `flowsleuth meter -e nf9://127.0.0.1:PORT --rate N`
# into nfcapd (BENCH_NFOPT: -y LZ4, -z LZO, -j bz2, "" none), one file (-t 3600). The
# meter exports two uniflows per connection; nfcapd's stored count is printed.
#
# Then the same file is read, each command a process timed (best of BENCH_RUNS, output
# to /dev/null), and the ratio nfdump / flowsleuth printed (above 1: flowsleuth faster):
#   one field:  flowsleuth print -r F -o csv:packets   vs  nfdump -r F -q -o fmt:%pkt
#   no output:  flowsleuth count -r F --bin 3600       vs  nfdump -r F -q -o null
#   top-N:      flowsleuth stats -r F -s srcip -n 10   vs  nfdump -r F -s srcip -n 10
# flowsleuth reads an nfdump file through a converter thread that writes the store's
# stream into a pipe (src/store/nfdump_file.c): that conversion is inside every flowsleuth
# time.
#
# Environment:
#   BENCH_FLOWS   connections in the capture (default 200000)
#   BENCH_RATE    meter export rate, records/s (default 50000; nfcapd drops bursts)
#   BENCH_NFOPT   nfcapd compression option (default -y)
#   BENCH_RUNS    runs per reader (default 3)
#   BENCH_DATA    where the capture is cached (default /tmp/fs-bench)
#   BENCH_PORT    UDP port on 127.0.0.1 (default 29975)
#   FS_BUILD, FS_BIN, FS_GEN  as in bench/meter.sh
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BENCH_FLOWS:=200000}"
: "${BENCH_RATE:=50000}"
: "${BENCH_NFOPT=-y}"
: "${BENCH_RUNS:=3}"
: "${BENCH_DATA:=${TMPDIR:-/tmp}/fs-bench}"
: "${BENCH_PORT:=29975}"
: "${FS_BUILD:=$ROOT/build}"
: "${FS_BIN:=$FS_BUILD/flowsleuth}"
: "${FS_GEN:=$FS_BUILD/fsgen}"

die() {
    echo "bench/nfdump-read.sh: $*" >&2
    exit 1
}
. "$ROOT/bench/lib.sh"

command -v nfcapd >/dev/null 2>&1 || die "missing nfdump (apt-get install nfdump)"
[ -x /usr/bin/time ] || die "missing time (apt-get install time)"
if [ ! -x "$FS_BIN" ] || [ ! -x "$FS_GEN" ]; then
    cmake -S "$ROOT" -B "$FS_BUILD" -G Ninja >/dev/null
    ninja -C "$FS_BUILD" -j1 flowsleuth fsgen >/dev/null
fi

mkdir -p "$BENCH_DATA"
PCAP="$BENCH_DATA/nfdump-read-f$BENCH_FLOWS.pcap"
if [ ! -s "$PCAP" ]; then
    echo "generating $PCAP ..." >&2
    "$FS_GEN" mix "$PCAP.tmp" --flows "$BENCH_FLOWS" --seed 1 --packets-per-flow 8 \
        --rate 20000 2>/dev/null
    mv "$PCAP.tmp" "$PCAP"
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-nfdump.XXXXXX")
NF_PID=""
cleanup() {
    [ -z "$NF_PID" ] || kill "$NF_PID" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- the nfcapd file
echo "storing: flowsleuth meter -e nf9:// --rate $BENCH_RATE -> nfcapd $BENCH_NFOPT ..." >&2
mkdir "$W/nf"
# shellcheck disable=SC2086 # an option or nothing
nfcapd -w "$W/nf" -p "$BENCH_PORT" -b 127.0.0.1 $BENCH_NFOPT -t 3600 -B 8388608 \
    >"$W/nfcapd.log" 2>&1 &
NF_PID=$!
n=0
until ss -Hlun "sport = :$BENCH_PORT" | grep -q .; do
    n=$((n + 1))
    [ "$n" -lt 100 ] || die "nfcapd did not bind: $(cat "$W/nfcapd.log")"
    sleep 0.1
done
"$FS_BIN" meter -r "$PCAP" -e "nf9://127.0.0.1:$BENCH_PORT" --rate "$BENCH_RATE" ||
    die "meter -e failed"
n=0
while [ "$(ss -Hlun "sport = :$BENCH_PORT" | awk '{ s += $2 } END { print s + 0 }')" != 0 ] &&
    [ "$n" -lt 200 ]; do
    n=$((n + 1))
    sleep 0.1
done
kill "$NF_PID"
wait "$NF_PID" 2>/dev/null || true
NF_PID=""
F=$(find "$W/nf" -name 'nfcapd.2*' | head -1)
[ -n "$F" ] || die "nfcapd wrote no file: $(cat "$W/nfcapd.log")"
RECORDS=$(nfdump -r "$F" -q -o fmt:%pkt | wc -l)
FSREC=$(($("$FS_BIN" print -r "$F" -o csv:packets | wc -l) - 1))
[ "$RECORDS" -eq "$FSREC" ] || die "nfdump reads $RECORDS records, flowsleuth $FSREC"
BYTES=$(wc -c <"$F")
cat "$F" >/dev/null # page cache

# ---------------------------------------------------------------- read it
FS1=$(best "'$FS_BIN' print -r '$F' -o csv:packets")
NF1=$(best "nfdump -r '$F' -q -o fmt:%pkt")
FS2=$(best "'$FS_BIN' count -r '$F' --bin 3600")
NF2=$(best "nfdump -r '$F' -q -o null")
FS3=$(best "'$FS_BIN' stats -r '$F' -s srcip -n 10")
NF3=$(best "nfdump -r '$F' -s srcip -n 10")

echo
echo "nfdump-file read benchmark: one nfcapd file (nfcapd ${BENCH_NFOPT:-uncompressed})," \
    "$RECORDS records, $BYTES bytes; $(nproc) CPUs; best of $BENCH_RUNS"
printf '%-10s %-44s %9s %11s %9s %8s\n' task command "wall s" "records/s" "peak MB" ratio
row() { # TASK LABEL "WALL KB" RATIO_AGAINST
    # shellcheck disable=SC2086 # "WALL KB": two numbers
    set -- "$1" "$2" $3 "$4"
    awk -v t="$1" -v l="$2" -v s="$3" -v kb="$4" -v n="$RECORDS" -v o="$5" 'BEGIN {
        r = (o == "") ? "" : sprintf("%.2f", o / s)
        printf "%-10s %-44s %9.3f %11.0f %9.1f %8s\n", t, l, s, n / s, kb / 1024, r }'
}
row "one field" "flowsleuth print -o csv:packets" "$FS1" "$(echo "$NF1" | cut -d' ' -f1)"
row "" "nfdump -q -o fmt:%pkt" "$NF1" ""
row "no output" "flowsleuth count --bin 3600" "$FS2" "$(echo "$NF2" | cut -d' ' -f1)"
row "" "nfdump -q -o null" "$NF2" ""
row "top-N" "flowsleuth stats -s srcip -n 10" "$FS3" "$(echo "$NF3" | cut -d' ' -f1)"
row "" "nfdump -s srcip -n 10" "$NF3" ""
echo "ratio: nfdump's wall time / flowsleuth's (above 1: flowsleuth is faster)"
