#!/bin/sh
# Benchmark: reading, filtering, statistics, aggregation and CSV, flowsleuth vs nfdump,
# on the same capture (issue 4, "Benchmarks").
#
#   bench/query.sh                          # 10 M connections (8.4 GB pcap, ~5 min)
#   BENCH_FLOWS=1000000 BENCH_SNAP=0 bench/query.sh   # 1 M, the read.sh capture
#
# The capture (fsgen mix, BENCH_PPF packets a flow, cut to BENCH_SNAP bytes a packet:
# both meters take lengths from the IP header, so the flows are the same) is stored
# twice, as bench/read.sh does: flowsleuth meter -w DIR/ (biflows, LZ4) and softflowd
# -v 9 -> paced relay -> nfcapd -y (uniflows, LZ4). Capture and both stores are cached
# in BENCH_DATA, so a second run only times the queries. Stored flows are counted in
# both stores: nfcapd must hold two uniflows for every flowsleuth biflow, and the
# selective filter must match as many flows in each.
#
# Each query runs as a whole process under /usr/bin/time -v, output to /dev/null,
# median of BENCH_RUNS, the two tools taking turns (a run longer than BENCH_LONG seconds
# is not repeated):
#   read:   flowsleuth count --bin 1e9 -o csv        vs  nfdump -o null (summary: count)
#   filter: the same with 'proto tcp and dst port 22' (2.6 % of the flows)
#   top10:  flowsleuth stats -s srcip/bytes -n 10   vs  nfdump -s srcip/bytes -n 10
#   ip10:   flowsleuth stats -s ip/bytes -n 10      vs  nfdump -s ip/bytes -n 10
#   agg:    flowsleuth stats -A srcip,dstip -o csv  vs  TZ=UTC nfdump -A srcip,dstip -o csv
#   csv:    flowsleuth print -o csv                 vs  TZ=UTC nfdump -o csv
# It prints wall seconds, peak MB, connections per second (one flowsleuth biflow =
# two nfcapd uniflows = one connection) and the ratio nfdump/flowsleuth wall time
# (> 1: flowsleuth is faster), then bytes per connection on disk. The ip/bytes top
# 10 must agree: both tools count both ends of every connection, and bytes of both
# directions (nfdump: two uniflows; flowsleuth: tbytes = bytes + rbytes, which its
# /bytes order ranks by, as nfdump's does). srcip lists differ by design (nfdump's
# srcip of a server->client uniflow is the server).
#
# Environment: BENCH_FLOWS (default 10000000), BENCH_PPF (8), BENCH_SEED (1),
# BENCH_RUNS (3), BENCH_LONG (20), BENCH_PPS (relay rate, 10000), BENCH_SNAP (128;
# 0 = whole packets), BENCH_DATA (/tmp/fs-bench), BENCH_PORT (29975), FS_BUILD,
# FS_BIN, FS_GEN.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BENCH_FLOWS:=10000000}"
: "${BENCH_PPF:=8}"
: "${BENCH_SEED:=1}"
: "${BENCH_RUNS:=3}"
: "${BENCH_LONG:=20}"
: "${BENCH_PPS:=10000}"
: "${BENCH_SNAP:=128}"
: "${BENCH_DATA:=${TMPDIR:-/tmp}/fs-bench}"
: "${BENCH_PORT:=29975}"
: "${FS_BUILD:=$ROOT/build}"
: "${FS_BIN:=$FS_BUILD/flowsleuth}"
: "${FS_GEN:=$FS_BUILD/fsgen}"
RELAY_PORT=$BENCH_PORT
NF_PORT=$((BENCH_PORT + 1))

die() {
    echo "bench/query.sh: $*" >&2
    exit 1
}
. "$ROOT/bench/lib.sh"

for t in softflowd nfcapd nfdump python3; do
    command -v "$t" >/dev/null 2>&1 || die "$t missing (apt-get install softflowd nfdump python3)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
if [ ! -x "$FS_BIN" ] || [ ! -x "$FS_GEN" ]; then
    cmake -S "$ROOT" -B "$FS_BUILD" -G Ninja >/dev/null
    ninja -C "$FS_BUILD" -j1 flowsleuth fsgen >/dev/null
fi

mkdir -p "$BENCH_DATA"
SNAPTAG=""
[ "$BENCH_SNAP" -gt 0 ] && SNAPTAG="-snap$BENCH_SNAP"
PCAP="$BENCH_DATA/flows-f$BENCH_FLOWS-k$BENCH_PPF-s$BENCH_SEED$SNAPTAG.pcap"
if [ ! -s "$PCAP" ]; then
    echo "generating $PCAP ..." >&2
    set -- --packets-per-flow "$BENCH_PPF" --rate 20000
    [ "$BENCH_SNAP" -gt 0 ] && set -- "$@" --snap "$BENCH_SNAP"
    "$FS_GEN" mix "$PCAP.tmp" --flows "$BENCH_FLOWS" --seed "$BENCH_SEED" "$@" 2>"$PCAP.info"
    mv "$PCAP.tmp" "$PCAP"
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-query.XXXXXX")
NF_PID=""
RELAY_PID=""
cleanup() {
    for p in $RELAY_PID $NF_PID; do
        kill "$p" 2>/dev/null || true
    done
    rm -rf "$W"
}
trap cleanup EXIT INT TERM


# ---------------------------------------------------------------- store both
# Both stores are cached next to the capture (STORE.fs, STORE.nf), so a second run
# only times the queries; a store is kept only when its flows were all counted in.
STORE="${PCAP%.pcap}"
FSD="$STORE.fs"
NFD="$STORE.nf"
if [ ! -s "$FSD.count" ]; then
    echo "storing: flowsleuth meter ..." >&2
    rm -rf "$FSD" "$FSD.count"
    "$FS_BIN" meter -r "$PCAP" -w "$FSD/" 2>"$W/meter.log" || die "meter: $(cat "$W/meter.log")"
    "$FS_BIN" count -r "$FSD" --bin 100000000 -o csv |
        awk -F, 'NR > 1 { n += $2 } END { print n + 0 }' >"$FSD.count"
fi
if [ ! -s "$NFD.count" ]; then
    echo "storing: softflowd -> relay -> nfcapd -y ..." >&2
    rm -rf "$NFD" "$NFD.count"
    mkdir -p "$NFD"
    nfcapd -w "$NFD" -p "$NF_PORT" -b 127.0.0.1 -y -t 3600 -B 4194304 >"$W/nfcapd.log" 2>&1 &
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
    softflowd -r "$PCAP" -c none -d -v 9 -m 4000000 -n "127.0.0.1:$RELAY_PORT" >"$W/sf.log" 2>&1 ||
        die "softflowd failed: $(cat "$W/sf.log")"
    kill -USR1 "$RELAY_PID"
    wait "$RELAY_PID" || die "relay failed"
    RELAY_PID=""
    n=0
    while [ "$(udp_rxq "$NF_PORT")" != 00000000 ] && [ "$n" -lt 100 ]; do
        n=$((n + 1))
        sleep 0.1
    done
    sleep 0.5
    kill "$NF_PID"
    wait "$NF_PID" 2>/dev/null || true
    NF_PID=""
    # shellcheck disable=SC2046 # datagrams, records, drops
    set -- $(cat "$W/relay.out")
    got=$(nfdump -R "$NFD" -q -o fmt:%pkt | wc -l)
    [ "$got" -eq "$2" ] || die "nfcapd stored $got of $2 records softflowd sent (lower BENCH_PPS)"
    echo "$got" >"$NFD.count"
fi
FS_RECORDS=$(cat "$FSD.count")
NF_RECORDS=$(cat "$NFD.count")
find "$FSD" "$NFD" -type f -exec cat {} + >/dev/null # page cache

# ---------------------------------------------------------------- counts
FILTER='proto tcp and dst port 22'
FS="'$FS_BIN'"
fs_count() { # flows flowsleuth reads with filter $1
    "$FS_BIN" count -r "$FSD" --bin 1000000000 -o csv "$1" |
        awk -F, 'NR > 1 { n += $2 } END { print n + 0 }'
}
nf_count() { # flows nfdump reads with filter $1 (its summary line)
    nfdump -R "$NFD" -o null "$1" | sed -n 's/^Summary: total flows: \([0-9]*\),.*/\1/p'
}
FS_FILTERED=$(fs_count "$FILTER")
NF_FILTERED=$(nf_count "$FILTER")
NF_ALL=$(nf_count any)
[ "$FS_RECORDS" -eq "$BENCH_FLOWS" ] ||
    echo "WARNING: flowsleuth stored $FS_RECORDS biflows of $BENCH_FLOWS connections" >&2
[ "$NF_RECORDS" -eq $((2 * FS_RECORDS)) ] && [ "$NF_ALL" -eq "$NF_RECORDS" ] ||
    echo "WARNING: nfcapd holds $NF_RECORDS uniflows, not 2 x $FS_RECORDS" >&2
[ "$FS_FILTERED" -eq "$NF_FILTERED" ] ||
    echo "WARNING: filter '$FILTER': flowsleuth $FS_FILTERED, nfdump $NF_FILTERED flows" >&2
find "$FSD" "$NFD" -type f -exec cat {} + >/dev/null # page cache

# ---------------------------------------------------------------- run
median() { # "wall kb;wall kb;...": the run of median wall time (the lower middle of an even count)
    echo "$1" | tr ';' '\n' | awk 'NF == 2' | sort -n | awk '{ r[NR] = $0 } END { print r[int((NR + 1) / 2)] }'
}
is_long() { # "wall kb": 1 when the run took longer than BENCH_LONG seconds
    echo "$1" | awk -v l="$BENCH_LONG" '{ print ($1 > l) ? 1 : 0 }'
}
pair() { # fs_command nf_command: "fs_wall fs_kb nf_wall nf_kb", median of BENCH_RUNS each
    # The tools take turns, so a burst of load on this shared machine hits both. A run
    # longer than BENCH_LONG is not repeated: it varies little (nfdump's CSV: minutes).
    # The peak memory printed is that of the median run.
    bf=""
    bn=""
    df=0
    dn=0
    r=0
    while [ "$r" -lt "$BENCH_RUNS" ] && [ "$df$dn" != 11 ]; do
        r=$((r + 1))
        if [ "$df" = 0 ]; then
            res=$(timed "$1")
            echo "  run $r: wall s, peak KB: $res: $1" >&2
            bf="$bf;$res"
            df=$(is_long "$res")
        fi
        if [ "$dn" = 0 ]; then
            res=$(timed "$2")
            echo "  run $r: wall s, peak KB: $res: $2" >&2
            bn="$bn;$res"
            dn=$(is_long "$res")
        fi
    done
    echo "$(median "$bf") $(median "$bn")"
}
row() { # name "fs_wall fs_kb nf_wall nf_kb"
    # shellcheck disable=SC2086 # four numbers
    set -- "$1" $2
    awk -v n="$1" -v fw="$2" -v fm="$3" -v nw="$4" -v nm="$5" -v c="$FS_RECORDS" 'BEGIN {
        printf "%-7s %9.3f %8.1f %9.2f %10.3f %8.1f %9.2f %7.2fx\n", n, fw, fm / 1024,
               c / fw / 1e6, nw, nm / 1024, c / nw / 1e6, (fw > 0 ? nw / fw : 0) }'
}

RD=$(pair "$FS count -r '$FSD' --bin 1000000000 -o csv" "nfdump -R '$NFD' -o null")
FL=$(pair "$FS count -r '$FSD' --bin 1000000000 -o csv '$FILTER'" \
    "nfdump -R '$NFD' -o null '$FILTER'")
T10=$(pair "$FS stats -r '$FSD' -s srcip/bytes -n 10" "nfdump -R '$NFD' -q -s srcip/bytes -n 10")
IP=$(pair "$FS stats -r '$FSD' -s ip/bytes -n 10" "nfdump -R '$NFD' -q -s ip/bytes -n 10")
AG=$(pair "$FS stats -r '$FSD' -A srcip,dstip -o csv" \
    "TZ=UTC nfdump -R '$NFD' -q -A srcip,dstip -o csv")
CSV=$(pair "$FS print -r '$FSD' -o csv" "TZ=UTC nfdump -R '$NFD' -q -o csv")

# Do the ip/bytes top 10 agree? (address and bytes: flowsleuth's columns ip and tbytes)
"$FS_BIN" stats -r "$FSD" -s ip/bytes -n 10 -o csv | awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { print $c["ip"], $c["tbytes"] }' >"$W/ip.fs"
nfdump -R "$NFD" -q -s ip/bytes -n 10 -o csv 2>/dev/null | awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["val"] != "" && c["val"] { print $c["val"], $c["byt"] }' >"$W/ip.nf"

FS_DISK=$(du -sb "$FSD" | cut -f1)
NF_DISK=$(du -sb "$NFD" | cut -f1)
echo
echo "query benchmark: $BENCH_FLOWS connections (fsgen mix, $BENCH_PPF packets a flow," \
    "seed $BENCH_SEED), median of $BENCH_RUNS, $(nproc) CPUs"
echo "stored: flowsleuth $FS_RECORDS biflows, $FS_DISK bytes; nfcapd -y $NF_RECORDS" \
    "uniflows, $NF_DISK bytes; filter '$FILTER': $FS_FILTERED / $NF_FILTERED flows"
printf '%-7s %9s %8s %9s %10s %8s %9s %8s\n' query fs_wall_s fs_MB fs_Mconn/s nf_wall_s \
    nf_MB nf_Mconn/s nf/fs
row read "$RD"
row filter "$FL"
row top10 "$T10"
row ip10 "$IP"
row agg "$AG"
row csv "$CSV"
awk -v fd="$FS_DISK" -v nd="$NF_DISK" -v fr="$FS_RECORDS" -v nr="$NF_RECORDS" 'BEGIN {
    printf "on disk (LZ4): flowsleuth %.1f bytes per connection; nfcapd %.1f per connection" \
           " (%.1f per uniflow record): %.2fx\n", fd / fr, nd / fr, nd / nr, fd / nd }'
if [ -s "$W/ip.nf" ] && cmp -s "$W/ip.fs" "$W/ip.nf"; then
    echo "ip/bytes top 10: same addresses and bytes in both tools"
else
    echo "ip/bytes top 10 differ (flowsleuth | nfdump):"
    paste -d'|' "$W/ip.fs" "$W/ip.nf"
fi
