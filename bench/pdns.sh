#!/bin/sh
# Benchmark: print --pdns, flows named from a passive DNS table (issue 16's speed rule:
# enrichment costs at most 30 % of print's speed with a 1 M-entry passive DNS table).
#
#   bench/pdns.sh                                  # 10 M flows, 1 M table lines
#   BENCH_FLOWS=1000000 BENCH_PDNS=100000 bench/pdns.sh
#
# The store is query.sh's (BENCH_DATA/flows-fN-k8-s1-snap128.fs, made here with fsgen
# and meter when missing). The table holds BENCH_PDNS lines in the passive DNS common
# output format, as meter --pdns-out writes them: for every k-th flow (k = flows /
# lines) an A or AAAA record of its dst, named host-N.bench.example, seen from 10 s
# before the flow's first packet to 10 s after; every 10th line instead a CNAME
# www-N.bench.example -> host-(N-1).bench.example, so that a tenth of the names go
# through a chain (tests/e2e/114-pdns-*.sh check the names against tshark and by
# construction; this measures speed).
#
# Timed, best of BENCH_RUNS, taking turns, with the same csv columns (every stored field):
#   plain:  print -o csv:FIELDS           pdns:  print -o csv:FIELDS,src_name,dst_name --pdns FILE
#   load:   the pdns run with -t (a window without flows): read and index the table alone
# It prints wall and CPU seconds (user + sys) and pdns / plain; then checks that every
# flow of the table's k-th flows whose record is an A/AAAA got a dst_name.
#
# Environment: BENCH_FLOWS (10000000), BENCH_PDNS (1000000), BENCH_RUNS (3),
# BENCH_DATA (/tmp/fs-bench), FS_BUILD, FS_BIN, FS_GEN.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BENCH_FLOWS:=10000000}"
: "${BENCH_PDNS:=1000000}"
: "${BENCH_RUNS:=3}"
: "${BENCH_DATA:=${TMPDIR:-/tmp}/fs-bench}"
: "${FS_BUILD:=$ROOT/build}"
: "${FS_BIN:=$FS_BUILD/flowsleuth}"
: "${FS_GEN:=$FS_BUILD/fsgen}"

die() {
    echo "bench/pdns.sh: $*" >&2
    exit 1
}
. "$ROOT/bench/lib.sh"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
[ "$BENCH_PDNS" -le "$BENCH_FLOWS" ] || die "BENCH_PDNS > BENCH_FLOWS"
bench_binaries
bench_store

W=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-pdns.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
PDNS="$BENCH_DATA/pdns-f$BENCH_FLOWS-n$BENCH_PDNS.json"
if [ ! -s "$PDNS" ]; then
    echo "writing $PDNS ..." >&2
    "$FS_BIN" print -r "$STORE.fs" -N -o csv:first,dst,ipver |
        awk -F, -v every=$((BENCH_FLOWS / BENCH_PDNS)) -v max="$BENCH_PDNS" '
        NR > 1 && (NR - 2) % every == 0 && n < max {
            n++
            # seconds of the ISO 8601 time, UTC (2023-11-14T22:13:20.012Z)
            split(substr($1, 1, 19), d, /[-T:]/)
            t = mktime(d[1] " " d[2] " " d[3] " " d[4] " " d[5] " " d[6], 1)
            if (n % 10 == 0)
                printf "{\"rrname\":\"www-%d.bench.example\",\"rrtype\":\"CNAME\",\"rdata\":\"host-%d.bench.example\",\"time_first\":%d,\"time_last\":%d,\"count\":1}\n", n, n - 1, t - 10, t + 10
            else
                printf "{\"rrname\":\"host-%d.bench.example\",\"rrtype\":\"%s\",\"rdata\":\"%s\",\"time_first\":%d,\"time_last\":%d,\"count\":%d}\n", n, $3 == 6 ? "AAAA" : "A", $2, t - 10, t + 10, 1 + n % 7
        }' >"$PDNS.tmp"
    mv "$PDNS.tmp" "$PDNS"
fi

# The record's own fields: print --fields lists them first, ending with sni; the
# computed ones after it need options of their own (--pdns, --mmdb, --label).
FIELDS=$("$FS_BIN" print --fields | awk '{ printf "%s%s", n++ ? "," : "", $1 } $1 == "sni" { exit }')
plain="" pdns="" load=""
r=0
P="$FS_BIN print -r $STORE.fs"
while [ "$r" -lt "$BENCH_RUNS" ]; do
    r=$((r + 1))
    a=$(cpu "$P -o csv:$FIELDS")
    b=$(cpu "$P -o csv:$FIELDS,src_name,dst_name --pdns $PDNS")
    c=$(cpu "$P -o csv:$FIELDS,src_name,dst_name --pdns $PDNS -t 2000-01-01..2000-01-02")
    echo "  run $r (wall s, cpu s, peak KB): plain $a | pdns $b | load $c" >&2
    plain=$(least_cpu "$a" "$plain")
    pdns=$(least_cpu "$b" "$pdns")
    load=$(least_cpu "$c" "$load")
done
echo "flows $BENCH_FLOWS, passive DNS lines $BENCH_PDNS ($(du -m "$PDNS" | cut -f1) MB), best of $BENCH_RUNS by CPU time"
printf '%-44s %8s %8s %9s\n' "" "wall s" "cpu s" "peak MB"
echo "$plain" | awk '{ printf "%-44s %8.2f %8.2f %9.1f\n", "print -o csv", $1, $2, $3 / 1024 }'
echo "$pdns" | awk '{ printf "%-44s %8.2f %8.2f %9.1f\n", "print -o csv,src_name,dst_name --pdns", $1, $2, $3 / 1024 }'
echo "$load" | awk '{ printf "%-44s %8.2f %8.2f %9.1f\n", "  of which loading the table (no flow)", $1, $2, $3 / 1024 }'
echo "$plain $pdns $load" | awk '{
    printf "pdns / plain: cpu %.2f (names %.0f %%, loading %.0f %%), wall %.2f\n",
        $5 / $2, 100 * ($5 - $2 - $8) / $2, 100 * $8 / $2, $4 / $1 }'

want=$(grep -c '"rrname":"host-' "$PDNS")
n=$("$FS_BIN" print -r "$STORE.fs" -N -o csv:dst_name --pdns "$PDNS" 'dst name host-*.bench.example or dst name www-*.bench.example' | tail -n +2 | wc -l)
[ "$n" -ge "$want" ] || die "$n flows named, want at least $want"
echo "check: $n flows have a dst_name (the table names $want A/AAAA records' flows, and any flow to those addresses within their time)"
