#!/bin/sh
# Benchmark: print --eve, the alerts of a Suricata EVE file joined to flows by Community
# ID (issue 16's speed rule: enrichment costs at most 30 % of print's speed with 1 M
# entries loaded).
#
#   bench/eve.sh                                   # 10 M flows, 1 M alerts
#   BENCH_FLOWS=1000000 BENCH_ALERTS=100000 bench/eve.sh
#
# The store is query.sh's (BENCH_DATA/flows-fN-k8-s1-snap128.fs, made here with fsgen
# and meter when missing). The EVE file holds BENCH_ALERTS alerts in Suricata 6's
# alert shape (flow_id, in_iface, alert.action/gid/rev beside what is read), one on
# every k-th flow (k = flows / alerts) at the flow's first packet, community_id as
# flowsleuth prints it (tests/e2e/105-eve-print.sh checks the join against tshark's
# ids; this measures speed), 500 signatures, severities 1-3.
#
# Timed, best of BENCH_RUNS, the two taking turns:
#   plain:  print -o csv                  eve:  print -o csv --eve FILE
#   load:   print --eve FILE -t (a window without flows): read and index the file alone
# It prints wall and CPU seconds (user + sys: on a shared machine CPU seconds vary far
# less than wall) and eve / plain; then checks that exactly BENCH_ALERTS flows got an
# alert.
#
# Environment: BENCH_FLOWS (10000000), BENCH_ALERTS (1000000), BENCH_RUNS (3),
# BENCH_DATA (/tmp/fs-bench), FS_BUILD, FS_BIN, FS_GEN.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BENCH_FLOWS:=10000000}"
: "${BENCH_ALERTS:=1000000}"
: "${BENCH_RUNS:=3}"
: "${BENCH_DATA:=${TMPDIR:-/tmp}/fs-bench}"
: "${FS_BUILD:=$ROOT/build}"
: "${FS_BIN:=$FS_BUILD/flowsleuth}"
: "${FS_GEN:=$FS_BUILD/fsgen}"

die() {
    echo "bench/eve.sh: $*" >&2
    exit 1
}
. "$ROOT/bench/lib.sh"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
[ "$BENCH_ALERTS" -le "$BENCH_FLOWS" ] || die "BENCH_ALERTS > BENCH_FLOWS"
bench_binaries
bench_store

W=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-eve.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
EVE="$BENCH_DATA/alerts-f$BENCH_FLOWS-a$BENCH_ALERTS.eve"
if [ ! -s "$EVE" ]; then
    echo "writing $EVE ..." >&2
    "$FS_BIN" print -r "$STORE.fs" -N -o csv:first,src,sport,dst,dport,proto,cid |
        awk -F, -v every=$((BENCH_FLOWS / BENCH_ALERTS)) -v max="$BENCH_ALERTS" '
        NR > 1 && (NR - 2) % every == 0 && n < max {
            n++
            p = $6 == 6 ? "TCP" : $6 == 17 ? "UDP" : $6
            printf "{\"timestamp\":\"%s000+0000\",\"flow_id\":%d,\"in_iface\":\"eth0\",", substr($1, 1, 23), NR
            printf "\"event_type\":\"alert\",\"src_ip\":\"%s\",\"src_port\":%s,\"dest_ip\":\"%s\",", $2, $3, $4
            printf "\"dest_port\":%s,\"proto\":\"%s\",\"community_id\":\"%s\",\"alert\":", $5, p, $7
            printf "{\"action\":\"allowed\",\"gid\":1,\"signature_id\":%d,\"rev\":1,", 1000000 + n % 500
            printf "\"signature\":\"BENCH rule %d\",\"category\":\"Misc activity\",", n % 500
            printf "\"severity\":%d}}\n", 1 + n % 3
        }' >"$EVE.tmp"
    mv "$EVE.tmp" "$EVE"
fi

# The least CPU time of BENCH_RUNS runs, plain and eve in turns.
plain="" eve="" load=""
r=0
P="$FS_BIN print -r $STORE.fs -o csv"
while [ "$r" -lt "$BENCH_RUNS" ]; do
    r=$((r + 1))
    a=$(cpu "$P")
    b=$(cpu "$P --eve $EVE")
    c=$(cpu "$P --eve $EVE -t 2000-01-01..2000-01-02")
    echo "  run $r (wall s, cpu s, peak KB): plain $a | eve $b | load $c" >&2
    plain=$(least_cpu "$a" "$plain")
    eve=$(least_cpu "$b" "$eve")
    load=$(least_cpu "$c" "$load")
done
echo "flows $BENCH_FLOWS, alerts $BENCH_ALERTS ($(du -m "$EVE" | cut -f1) MB of EVE JSON), best of $BENCH_RUNS by CPU time"
printf '%-44s %8s %8s %9s\n' "" "wall s" "cpu s" "peak MB"
echo "$plain" | awk '{ printf "%-44s %8.2f %8.2f %9.1f\n", "print -o csv", $1, $2, $3 / 1024 }'
echo "$eve" | awk '{ printf "%-44s %8.2f %8.2f %9.1f\n", "print -o csv --eve", $1, $2, $3 / 1024 }'
echo "$load" | awk '{ printf "%-44s %8.2f %8.2f %9.1f\n", "  of which loading the EVE file (no flow)", $1, $2, $3 / 1024 }'
echo "$plain $eve $load" | awk '{
    printf "eve / plain: cpu %.2f (join %.0f %%, loading %.0f %%), wall %.2f\n",
        $5 / $2, 100 * ($5 - $2 - $8) / $2, 100 * $8 / $2, $4 / $1 }'

n=$("$FS_BIN" print -r "$STORE.fs" -N -o csv:sport --eve "$EVE" | awk -F, 'NR > 1 && $2 > 0' | wc -l)
[ "$n" = "$BENCH_ALERTS" ] || die "$n flows with alerts, want $BENCH_ALERTS"
echo "check: $n flows carry an alert, one per alert written"
