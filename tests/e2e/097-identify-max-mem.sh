#!/bin/sh
# --max-mem on match and inventory (issue 12): what they hold for the flows is bounded.
# The bundled Windows Update capture: one considered flow (12,113 bytes, rejected) and
# four range pieces below --min-size that, with it, make the cab (094-identify-ranges).
# A considered flow is charged 760 bytes at the default --max-cands 8 and --max-set 4
# (match.h, MATCH_FLOW_BYTES), a piece its ~50-byte record and 24 more; a piece is
# kept only while 256 bytes are left. So 1k holds the flow and not the pieces: the cab
# is not named and the dropped pieces are counted; 0.7k does not hold the flow: an
# error, no rows, rather than verdicts from a part of the flows.
. "$(dirname "$0")/lib.sh"

D="$FS_SRC/tests/data"
awk 'BEGIN { srand(94); print "size,name,product,version,os,url";
  print "39618,authrootstc.cab,windows-update,2009-11,windows,/msdownload/update/v3/static/trustedr/en/authrootstc.cab";
  for (n = 0; n < 40; n++)
    printf "%d,setup%02d.exe,other,1,windows,/f/setup%02d.exe\n", 200000 + int(rand() * 49800000), n, n }' \
    >"$T/cat.csv"
fs catalog import -o "$T/cat.tsv" "$T/cat.csv" 2>/dev/null || fail "catalog import"
fs meter --split -r "$D/http_windowsupdate_cab_5_connections.pcap" -w "$T/cab.fsf" || fail "meter"

named() { awk -F, 'NR > 1 && $8 == "match" { print $11 }' "$1"; }

# the default (4Gi) and a bound that holds everything: the cab from its pieces
for m in "" "--max-mem 64Mi"; do
    # shellcheck disable=SC2086 # m is an option and its value, or nothing
    fs match -c "$T/cat.tsv" -r "$T/cab.fsf" $m -o csv >"$T/m.csv" 2>"$T/m.err" || fail "match $m"
    [ "$(named "$T/m.csv")" = authrootstc.cab ] || fail "match $m: $(cat "$T/m.csv" "$T/m.err")"
    ! grep -q 'max-mem' "$T/m.err" || fail "match $m: $(cat "$T/m.err")"
done

# pieces dropped first, counted; the considered flow still matched (rejected) and shown
fs match -c "$T/cat.tsv" -r "$T/cab.fsf" --max-mem 1k --all -o csv >"$T/d.csv" 2>"$T/d.err" ||
    fail "match --max-mem 1k: exit $?: $(cat "$T/d.err")"
[ -z "$(named "$T/d.csv")" ] || fail "named without its pieces: $(cat "$T/d.csv")"
grep -q '^2009-11-19T01:52:33.631Z,192.168.1.105,65.54.95.7,80,1,12113,goodput,rejected,' \
    "$T/d.csv" || fail "the considered flow: $(cat "$T/d.csv")"
grep -q 'match: 4 possible range pieces not kept or not grouped (--max-mem)' "$T/d.err" ||
    fail "not counted: $(cat "$T/d.err")"
fs inventory -c "$T/cat.tsv" -r "$T/cab.fsf" --max-mem 1k -o csv >"$T/di.csv" 2>"$T/di.err" ||
    fail "inventory --max-mem 1k"
! grep -q authrootstc "$T/di.csv" || fail "inventory: $(cat "$T/di.csv")"
grep -q 'inventory: 4 possible range pieces' "$T/di.err" || fail "inventory: $(cat "$T/di.err")"

# a flow to match that does not fit: exit 1, a clear message, no rows
for cmd in match inventory; do
    st=0
    fs "$cmd" -c "$T/cat.tsv" -r "$T/cab.fsf" --max-mem 0.7k -o csv >"$T/e.csv" 2>"$T/e.err" || st=$?
    [ "$st" = 1 ] || fail "$cmd --max-mem 0.7k: exit $st"
    [ ! -s "$T/e.csv" ] || fail "$cmd: rows from a part of the flows: $(cat "$T/e.csv")"
    grep -q "$cmd: the flows to match need more than --max-mem (0 of them fit" "$T/e.err" ||
        fail "$cmd: $(cat "$T/e.err")"
done

# bad values: usage errors
for v in 0 x 5q -1; do
    st=0
    fs match -c "$T/cat.tsv" -r "$T/cab.fsf" --max-mem "$v" >/dev/null 2>"$T/u.err" || st=$?
    [ "$st" = 2 ] || fail "--max-mem $v: exit $st"
    grep -q -- "--max-mem needs a size" "$T/u.err" || fail "--max-mem $v: $(cat "$T/u.err")"
done
echo ok
