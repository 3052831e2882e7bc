#!/bin/sh
# Benchmark: reading stored flows, flowsleuth's store vs nfcapd's files (nfdump).
#
#   bench/read.sh                          # 1 M connections (~2 GB pcap, cached)
#   BENCH_FLOWS=200000 bench/read.sh       # smaller
#
# The same capture (fsgen mix) is stored twice:
#   flowsleuth meter -r X.pcap -w DIR/                 (biflows, LZ4 blocks)
#   softflowd -r X.pcap -v 9 -> relay -> nfcapd -y     (NetFlow v9 uniflows, LZ4)
# softflowd sends as fast as it can and nfcapd drops datagrams under bursts (its
# socket buffer is capped by net.core.rmem_max), so a small relay on 127.0.0.1
# receives everything into a large buffer (SO_RCVBUFFORCE), counts the v9 data
# records, and replays the datagrams to nfcapd at BENCH_PPS datagrams per second.
# Stored counts are printed for both sides; a shortfall is reported, not hidden.
#
# Then both stores are read whole, each as a process timed by /usr/bin/time -v, best
# of BENCH_RUNS:
#   csv:   flowsleuth print -r DIR -o csv          vs  TZ=UTC nfdump -R DIR -q -o csv
#   field: flowsleuth print -r DIR -o csv:packets  vs  nfdump -R DIR -q -o fmt:%pkt
# (output to /dev/null). nfdump stores two uniflows per connection, flowsleuth one
# biflow: the table gives records/s and connections/s.
#
# The default capture is flow-heavy (8 packets per flow: a TCP connection with a
# handshake, one request, one response and the close, or 8 UDP datagrams) so that
# reading takes long enough to time; BENCH_PPF=0 gives fsgen's realistic mix
# (~55 packets per flow, so a far larger pcap for the same flow count).
#
# Environment:
#   BENCH_FLOWS   connections in the capture (default 1000000)
#   BENCH_PPF     packets per flow (default 8; 0 = realistic mix)
#   BENCH_SEED    fsgen seed (default 1)
#   BENCH_RUNS    runs per reader (default 3)
#   BENCH_PPS     relay replay rate into nfcapd, datagrams/s (default 10000)
#   BENCH_DATA    where the capture is cached (default /tmp/fs-bench)
#   BENCH_PORT    first of two UDP ports on 127.0.0.1 (default 29965)
#   FS_BUILD, FS_BIN, FS_GEN  as in bench/meter.sh
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BENCH_FLOWS:=1000000}"
: "${BENCH_PPF:=8}"
: "${BENCH_SEED:=1}"
: "${BENCH_RUNS:=3}"
: "${BENCH_PPS:=10000}"
: "${BENCH_DATA:=${TMPDIR:-/tmp}/fs-bench}"
: "${BENCH_PORT:=29965}"
: "${FS_BUILD:=$ROOT/build}"
: "${FS_BIN:=$FS_BUILD/flowsleuth}"
: "${FS_GEN:=$FS_BUILD/fsgen}"
RELAY_PORT=$BENCH_PORT
NF_PORT=$((BENCH_PORT + 1))

die() {
    echo "bench/read.sh: $*" >&2
    exit 1
}
. "$ROOT/bench/lib.sh"

missing=""
command -v softflowd >/dev/null 2>&1 || missing="$missing softflowd"
command -v nfcapd >/dev/null 2>&1 || missing="$missing nfdump"
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
PCAP="$BENCH_DATA/flows-f$BENCH_FLOWS-k$BENCH_PPF-s$BENCH_SEED.pcap"
if [ ! -s "$PCAP" ] || [ ! -s "$PCAP.info" ]; then
    echo "generating $PCAP ..." >&2
    if [ "$BENCH_PPF" -gt 0 ]; then
        set -- --packets-per-flow "$BENCH_PPF" --rate 20000
    else
        set --
    fi
    "$FS_GEN" mix "$PCAP.tmp" --flows "$BENCH_FLOWS" --seed "$BENCH_SEED" "$@" \
        2>"$PCAP.info.tmp"
    mv "$PCAP.tmp" "$PCAP"
    mv "$PCAP.info.tmp" "$PCAP.info"
fi
info() {
    tr ' ' '\n' <"$PCAP.info" | sed -n "s/^$1=//p"
}
CONNS=$(info flows)

W=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-read.XXXXXX")
NF_PID=""
RELAY_PID=""
cleanup() {
    for p in $RELAY_PID $NF_PID; do
        kill "$p" 2>/dev/null || true
    done
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

# udp_drops PORT: the kernel's drop counter of the socket bound to 127.0.0.1:PORT
udp_drops() {
    awk -v p="$(printf ':%04X' "$1")" 'substr($2, length($2) - 4) == p { print $NF; f = 1 }
                                       END { if (!f) print 0 }' /proc/net/udp
}

# ---------------------------------------------------------------- store both
echo "storing $CONNS connections: flowsleuth ..." >&2
mkdir -p "$W/fs" "$W/nf"
"$FS_BIN" meter -r "$PCAP" -w "$W/fs/" --stats 2>"$W/meter.log" || {
    cat "$W/meter.log" >&2
    die "flowsleuth meter failed"
}

echo "storing: softflowd -> relay -> nfcapd -y ..." >&2
nfcapd -w "$W/nf" -p "$NF_PORT" -b 127.0.0.1 -y -t 3600 -B 4194304 >"$W/nfcapd.log" 2>&1 &
NF_PID=$!
python3 "$ROOT/bench/relay.py" "$RELAY_PORT" "$NF_PORT" "$BENCH_PPS" "$W/relay.ready" >"$W/relay.out" &
RELAY_PID=$!
n=0
while [ ! -e "$W/relay.ready" ]; do
    n=$((n + 1))
    [ "$n" -lt 100 ] || die "relay did not start"
    sleep 0.1
done
sleep 0.5 # nfcapd binds its socket
softflowd -r "$PCAP" -c none -d -v 9 -m 4000000 -n "127.0.0.1:$RELAY_PORT" >"$W/softflowd.log" 2>&1 ||
    die "softflowd failed: $(cat "$W/softflowd.log")"
kill -USR1 "$RELAY_PID"
wait "$RELAY_PID" || die "relay failed"
RELAY_PID=""
# let nfcapd empty its socket, then stop it (it closes its file on SIGTERM)
n=0
while [ "$(udp_rxq "$NF_PORT")" != 00000000 ] && [ "$n" -lt 100 ]; do
    n=$((n + 1))
    sleep 0.1
done
sleep 0.5
NF_DROPS=$(udp_drops "$NF_PORT")
kill "$NF_PID"
wait "$NF_PID" 2>/dev/null || true
NF_PID=""
# shellcheck disable=SC2046 # three numbers
set -- $(cat "$W/relay.out")
SENT_DGRAMS=$1
SENT_RECORDS=$2
RELAY_DROPS=$3

# ---------------------------------------------------------------- read both
FSD="$W/fs"
NFD="$W/nf"
FS_RECORDS=$("$FS_BIN" print -r "$FSD" -o csv | tail -n +2 | wc -l)
NF_RECORDS=$(TZ=UTC nfdump -R "$NFD" -q -o fmt:%pkt | wc -l)
FS_DISK=$(find "$FSD" -type f -name 'flows.*' -exec cat {} + | wc -c)
NF_DISK=$(find "$NFD" -type f -name 'nfcapd.[0-9]*' -exec cat {} + | wc -c)
find "$FSD" "$NFD" -type f -exec cat {} + >/dev/null # page cache

FS_CSV=$(best "'$FS_BIN' print -r '$FSD' -o csv")
NF_CSV=$(best "TZ=UTC nfdump -R '$NFD' -q -o csv")
FS_ONE=$(best "'$FS_BIN' print -r '$FSD' -o csv:packets")
NF_ONE=$(best "nfdump -R '$NFD' -q -o fmt:%pkt")

echo
echo "read benchmark: $CONNS connections (fsgen mix, $BENCH_PPF packets per flow," \
    "seed $BENCH_SEED), best of $BENCH_RUNS"
echo "nfcapd input: softflowd sent $SENT_DGRAMS datagrams, $SENT_RECORDS v9 records" \
    "(relay drops $RELAY_DROPS); nfcapd socket drops $NF_DROPS; stored $NF_RECORDS records"
[ "$NF_RECORDS" -eq "$SENT_RECORDS" ] ||
    echo "WARNING: nfcapd stored $NF_RECORDS of $SENT_RECORDS records (lower BENCH_PPS)"
[ "$FS_RECORDS" -eq "$CONNS" ] ||
    echo "WARNING: flowsleuth stored $FS_RECORDS records for $CONNS connections"
printf '%-22s %10s %8s %12s %12s %9s %8s\n' reader records wall_s records/s conns/s peak_MB B/record
row() { # name records disk "wall rss"
    # shellcheck disable=SC2086 # two numbers
    set -- "$1" "$2" "$3" $4
    awk -v n="$1" -v r="$2" -v d="$3" -v w="$4" -v m="$5" -v c="$CONNS" 'BEGIN {
        printf "%-22s %10d %8.3f %12.0f %12.0f %9.1f %8.1f\n", n, r, w,
               (w > 0 ? r / w : 0), (w > 0 ? c / w : 0), m / 1024, (r ? d / r : 0) }'
}
row "flowsleuth print csv" "$FS_RECORDS" "$FS_DISK" "$FS_CSV"
row "nfdump csv (TZ=UTC)" "$NF_RECORDS" "$NF_DISK" "$NF_CSV"
row "flowsleuth 1 field" "$FS_RECORDS" "$FS_DISK" "$FS_ONE"
row "nfdump fmt:%pkt" "$NF_RECORDS" "$NF_DISK" "$NF_ONE"
awk -v fd="$FS_DISK" -v nd="$NF_DISK" -v c="$CONNS" -v a="${FS_CSV% *}" -v b="${NF_CSV% *}" \
    -v e="${FS_ONE% *}" -v f="${NF_ONE% *}" 'BEGIN {
    printf "on disk: flowsleuth %.1f MB (%.1f B/connection), nfcapd -y %.1f MB (%.1f B/connection)\n",
           fd / 1e6, fd / c, nd / 1e6, nd / c
    printf "ratio flowsleuth/nfdump, connections/s: csv %.2fx, one field %.2fx; disk per connection %.2fx\n",
           (a > 0 ? b / a : 0), (e > 0 ? f / e : 0), (nd > 0 ? fd / nd : 0) }'
