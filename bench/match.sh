#!/bin/sh
# Benchmark: identifying downloads (flowsleuth match) on 10 M flows against a catalogue of
# 100,000 entries (issue 5, "Bad input, speed": target 10 M flows/s on one core).
#
#   bench/match.sh                              # 10 M flows, 100 k entries
#   BENCH_FLOWS=1000000 bench/match.sh
#
# Input (bench/matchgen.c, cached in BENCH_DATA): a catalogue CSV of BENCH_ENTRIES
# entries with log-uniform random sizes from 10 kB to 100 MB, imported with `flowsleuth
# catalog import`, and a store of BENCH_FLOWS flows, one connection each: BENCH_DOWNLOADS
# percent are downloads of catalogue entries (exact goodput = size + a 150-450 byte
# response header), BENCH_FOREIGN percent large transfers of sizes not taken from the
# catalogue, the rest small flows (server payload up to 10 kB) that match screens out,
# as most flows of a real network.
#
# Measured, each the median of BENCH_RUNS:
#   match phase  bench/matchbench.c (built against the build's libfs.a): the flows are
#                read into memory first, then what `flowsleuth match` does with them is
#                timed alone: match_batch_add screens every flow, match_run matches the
#                considered ones (singles and sets, then per server with its calibration); one
#                core; flows/s = all flows / time. Default model options (sets of up to
#                4) and --max-set 1. It prints a checksum of every result, so two builds
#                can be compared, and what the verdicts were worth: matchgen labels each
#                download with its entry's size and each foreign transfer as such (two AS
#                fields match does not read), so "named right / wrong" are counted.
#                The generator's response headers are 150..450 bytes at random per
#                download, not one constant per server as real servers send: no server
#                calibrates, so this input measures speed and chance fits (what is named
#                without evidence beyond the size), not the accuracy on real traffic
#                (that is tests/e2e/094-* and the README's accuracy table).
#   whole        flowsleuth match -c CAT -r FLOWS -o csv > /dev/null: reading (both
#                cores decode), matching and printing every candidate row
#   read only    flowsleuth count -r FLOWS --bin 1e9 (reading the same flows, no match)
#   peer         no Debian tool matches flows to downloads. As the read-only cost of an
#                established tool, nfdump -o null reading 10 M connections of the query
#                benchmark's nfcapd store (bench/query.sh; not the same flows: nfdump
#                cannot read flowsleuth's store), when that store is in BENCH_DATA.
#
# Whole Debian index (issue 13): with BENCH_APT_LISTS (default /var/lib/apt/lists, when
# it holds Packages files) a second case runs: the catalogue is `flowsleuth catalog
# debian` over every Packages file there (66,582 entries here), the flows are drawn
# from its sizes (matchgen --sizes), and the match phase is timed with sets of up to 4
# and up to 10 objects (apt pipelines up to 10), then the whole match -o csv.
#
# Environment: BENCH_FLOWS (10000000), BENCH_ENTRIES (100000), BENCH_DOWNLOADS (1),
# BENCH_FOREIGN (1), BENCH_SEED (1), BENCH_RUNS (3), BENCH_DATA (/tmp/fs-bench),
# BENCH_APT_LISTS (/var/lib/apt/lists; empty = no whole-index case), FS_BUILD, FS_BIN, CC.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BENCH_FLOWS:=10000000}"
: "${BENCH_ENTRIES:=100000}"
: "${BENCH_DOWNLOADS:=1}"
: "${BENCH_FOREIGN:=1}"
: "${BENCH_SEED:=1}"
: "${BENCH_RUNS:=3}"
: "${BENCH_DATA:=${TMPDIR:-/tmp}/fs-bench}"
: "${BENCH_APT_LISTS=/var/lib/apt/lists}"
: "${FS_BUILD:=$ROOT/build}"
: "${FS_BIN:=$FS_BUILD/flowsleuth}"
: "${CC:=cc}"

die() {
    echo "bench/match.sh: $*" >&2
    exit 1
}

[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
if [ ! -x "$FS_BIN" ] || [ ! -f "$FS_BUILD/libfs.a" ]; then
    cmake -S "$ROOT" -B "$FS_BUILD" -G Ninja >/dev/null
    ninja -C "$FS_BUILD" -j1 flowsleuth fs >/dev/null
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-match.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM

# The two helpers link the library the binary is made of.
LIBS="$(pkg-config --libs libpcap liblz4 libzstd zlib liblzma libcurl libxml-2.0 jansson) -lpthread -lm"
for t in matchgen matchbench; do
    # shellcheck disable=SC2086 # LIBS is a list
    "$CC" -O2 -std=c11 -D_DEFAULT_SOURCE -I"$ROOT/src" "$ROOT/bench/$t.c" "$FS_BUILD/libfs.a" \
        $LIBS -o "$W/$t" || die "cannot build bench/$t.c"
done

mkdir -p "$BENCH_DATA"
TAG="m2-e$BENCH_ENTRIES-f$BENCH_FLOWS-d$BENCH_DOWNLOADS-x$BENCH_FOREIGN-s$BENCH_SEED"
CSV="$BENCH_DATA/$TAG.csv"
CAT="$BENCH_DATA/$TAG.fscat"
FLOWS="$BENCH_DATA/$TAG.fsf"
if [ ! -s "$FLOWS" ] || [ ! -s "$CAT" ]; then
    echo "generating $FLOWS and $CAT ..." >&2
    "$W/matchgen" "$CSV" "$FLOWS.tmp" --entries "$BENCH_ENTRIES" --flows "$BENCH_FLOWS" \
        --downloads "$BENCH_DOWNLOADS" --foreign "$BENCH_FOREIGN" --seed "$BENCH_SEED"
    "$FS_BIN" catalog import -o "$CAT" "$CSV" 2>/dev/null
    mv "$FLOWS.tmp" "$FLOWS"
fi
cat "$FLOWS" "$CAT" >/dev/null # page cache

timed() { # command: "wall_s peak_kb"
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$W/time.txt" sh -c "$1" >/dev/null 2>"$W/cmd.err" || {
        cat "$W/cmd.err" >&2
        die "failed: $1"
    }
    t1=$(date +%s%N)
    awk -F': ' -v ns=$((t1 - t0)) '/Maximum resident set size/ { m = $2 }
        END { printf "%.3f %d\n", ns / 1e9, m }' "$W/time.txt"
}
median() { # command: the run of median wall time of BENCH_RUNS, "wall_s peak_kb"
    all=""
    r=0
    while [ "$r" -lt "$BENCH_RUNS" ]; do
        r=$((r + 1))
        res=$(timed "$1")
        echo "  run $r: wall s, peak KB: $res: $1" >&2
        all="$all$res
"
    done
    printf '%s' "$all" | sort -n | awk '{ r[NR] = $0 } END { print r[int((NR + 1) / 2)] }'
}

echo "match phase (bench/matchbench.c, one core):" >&2
"$W/matchbench" "$CAT" "$FLOWS" --runs "$BENCH_RUNS" >"$W/mb4.txt"
"$W/matchbench" "$CAT" "$FLOWS" --runs "$BENCH_RUNS" --max-set 1 >"$W/mb1.txt"
cat "$W/mb4.txt" "$W/mb1.txt" >&2
WHOLE=$(median "'$FS_BIN' match -c '$CAT' -r '$FLOWS' -o csv")
READ=$(median "'$FS_BIN' count -r '$FLOWS' --bin 1000000000 -o csv")
NFD=$(find "$BENCH_DATA" -maxdepth 1 -name 'flows-f10000000-*.nf' -type d | head -1)
PEER=""
if [ -n "$NFD" ] && command -v nfdump >/dev/null 2>&1; then
    PEER=$(median "nfdump -R '$NFD' -o null")
fi

echo
echo "match benchmark: $BENCH_FLOWS flows ($BENCH_DOWNLOADS % downloads, $BENCH_FOREIGN %" \
    "foreign large transfers), catalogue of $BENCH_ENTRIES entries, median of $BENCH_RUNS," \
    "$(nproc) CPUs"
sed -n 's/^flows /considered and verdicts: flows /p' "$W/mb4.txt"
sed -n 's/^\(downloads\|foreign\) /  \1 /p' "$W/mb4.txt"
for m in 4 1; do
    awk -v m="$m" -v n="$BENCH_FLOWS" '/median match/ {
        sub(/.*median match /, ""); split($0, a, " ");
        printf "match phase, --max-set %d: %.3f s for %d flows = %.2f M flows/s on one core (target 10)\n",
               m, a[1], n, n / a[1] / 1e6 }' "$W/mb$m.txt"
done
echo "$WHOLE" | awk -v n="$BENCH_FLOWS" '{ printf "whole: flowsleuth match -o csv: %.3f s, %.1f MB, %.2f M flows/s\n",
    $1, $2 / 1024, n / $1 / 1e6 }'
echo "$READ" | awk -v n="$BENCH_FLOWS" '{ printf "read only: flowsleuth count: %.3f s, %.1f MB, %.2f M flows/s\n",
    $1, $2 / 1024, n / $1 / 1e6 }'
if [ -n "$PEER" ]; then
    echo "$PEER" | awk '{ printf "peer (read only, query-bench store, 10 M connections): nfdump -o null: %.3f s, %.1f MB\n",
        $1, $2 / 1024 }'
else
    echo "peer: no nfcapd store of bench/query.sh in $BENCH_DATA (run it first) or no nfdump"
fi

# ---- the whole Debian index
set --
for f in "${BENCH_APT_LISTS:-/nonexistent}"/*_Packages "${BENCH_APT_LISTS:-/nonexistent}"/*_Packages.*; do
    [ -f "$f" ] && set -- "$@" "$f"
done
if [ $# -eq 0 ]; then
    echo "whole Debian index: no Packages files in '$BENCH_APT_LISTS' (apt-get update)"
    exit 0
fi
DCAT="$BENCH_DATA/debian-index.fscat"
DTAG="m2-debian-f$BENCH_FLOWS-d$BENCH_DOWNLOADS-x$BENCH_FOREIGN-s$BENCH_SEED"
DFLOWS="$BENCH_DATA/$DTAG.fsf"
"$FS_BIN" catalog debian -o "$DCAT" "$@" 2>"$W/deb.err" || die "catalog debian: $(cat "$W/deb.err")"
if [ ! -s "$DFLOWS" ]; then
    echo "generating $DFLOWS ..." >&2
    "$W/matchgen" "$W/unused.csv" "$DFLOWS.tmp" --sizes "$DCAT" --flows "$BENCH_FLOWS" \
        --downloads "$BENCH_DOWNLOADS" --foreign "$BENCH_FOREIGN" --seed "$BENCH_SEED"
    mv "$DFLOWS.tmp" "$DFLOWS"
fi
"$W/matchbench" "$DCAT" "$DFLOWS" --runs "$BENCH_RUNS" >"$W/db4.txt"
"$W/matchbench" "$DCAT" "$DFLOWS" --runs "$BENCH_RUNS" --max-set 10 >"$W/db10.txt"
cat "$W/db4.txt" "$W/db10.txt" >&2
DWHOLE=$(median "'$FS_BIN' match -c '$DCAT' -r '$DFLOWS' -o csv --max-set 10")
DREAD=$(median "'$FS_BIN' count -r '$DFLOWS' --bin 1000000000 -o csv")
echo
echo "whole Debian index: $(tail -1 "$W/deb.err" | sed 's/.*: \([0-9]* entries\).*/\1/'), $BENCH_FLOWS flows"
sed -n 's/^flows /considered and verdicts (--max-set 10): flows /p' "$W/db10.txt"
sed -n 's/^\(downloads\|foreign\) /  \1 /p' "$W/db10.txt"
for m in 4 10; do
    awk -v m="$m" -v n="$BENCH_FLOWS" '/median match/ {
        sub(/.*median match /, ""); split($0, a, " ");
        printf "match phase, --max-set %d: %.3f s for %d flows = %.2f M flows/s on one core (target 5)\n",
               m, a[1], n, n / a[1] / 1e6 }' "$W/db$m.txt"
done
echo "$DWHOLE $DREAD" | awk -v n="$BENCH_FLOWS" '{ printf "whole: flowsleuth match -o csv --max-set 10: %.3f s, %.1f MB; read only: %.3f s; ratio %.2f (target 2)\n",
    $1, $2 / 1024, $3, $1 / $3 }'
