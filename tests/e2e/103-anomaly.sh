#!/bin/sh
# baseline and anomaly on a generated store (fsgen series: 5 weeks of flows with a
# diurnal and a weekly shape, +-5 % noise, and injected anomalies): learned over all 5
# weeks (the medians must shrug off the anomalies inside them), every injected spike,
# drop and gap is found in its hour with its kind and nothing anywhere else; the
# evidence re-run by print shows the flows counted; per-subnet keys; fewer weeks than
# --min-weeks refused; a corrupt profile named by file, line and field; bad options.
. "$(dirname "$0")/lib.sh"

[ -x "$FS_GEN" ] || fail "fsgen not built ($FS_GEN)"
# Hours from Monday 2025-10-06 00:00 UTC: Fri 12:00 of week 2, then in week 5 Tue
# 10:00, Wed 14:00, Thu 09:00 and Sat 13:00.
"$FS_GEN" series "$T/s/" --weeks 5 --seed 7 --spike 276 --spike 706 --drop 734 \
    --gap 753 --spike 805 >"$T/truth" 2>"$T/gen.err" || fail "fsgen series: $(cat "$T/gen.err")"
[ "$(wc -l <"$T/truth")" = 5 ] || fail "fsgen truth: $(cat "$T/truth")"

# iso MS: the ISO form anomaly prints for a bin start.
iso() {
    date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%S.000Z
}
while read -r kind ms n; do
    echo "$(iso "$ms") $kind"
done <"$T/truth" | sort >"$T/want"

fs baseline -r "$T/s" -w "$T/p" 2>"$T/bl.err" || fail "baseline: $(cat "$T/bl.err")"
grep -q '1 key(s), 5 week(s) of 840 bins' "$T/bl.err" || fail "baseline said: $(cat "$T/bl.err")"
head -n 1 "$T/p" | grep -qx 'flowsleuth-baseline 1' || fail "profile header: $(head -n 1 "$T/p")"
[ "$(grep -c '^all ' "$T/p")" = 168 ] || fail "168 slots expected"

# Read from a pipe (one thread, in order) the profile is the same as from the store.
fs print -r "$T/s" -w - | fs baseline -w "$T/ps" 2>/dev/null || fail "baseline from stdin"
expect_same "$T/p" "$T/ps"

fs anomaly -r "$T/s" -b "$T/p" -o csv >"$T/a.csv" || fail "anomaly"
head -n 1 "$T/a.csv" | grep -qx 'bin,key,metric,value,expected,low,high,score,kind,first,last,evidence' ||
    fail "columns: $(head -n 1 "$T/a.csv")"
# Every finding is in an injected hour: the flows row with the injected kind.
tail -n +2 "$T/a.csv" | awk -F, '$3 == "flows" { print $1, $9 }' | sort >"$T/got"
expect_same "$T/want" "$T/got" "flows findings"
tail -n +2 "$T/a.csv" | cut -d, -f1 | sort -u >"$T/bins"
cut -d' ' -f1 "$T/want" | sort -u | diff - "$T/bins" >/dev/null || fail "findings outside the injected hours: $(cat "$T/bins")"
# A gap is one row (flows), not three drops.
[ "$(grep -c ',gap,' "$T/a.csv")" = 1 ] || fail "gap rows: $(grep ',gap,' "$T/a.csv")"
grep ',gap,' "$T/a.csv" | grep -q '^[^,]*,all,flows,0,' || fail "gap row: $(grep ',gap,' "$T/a.csv")"

# The spike's evidence re-run by print: exactly the flows counted.
row=$(grep ',spike,' "$T/a.csv" | grep ',flows,' | head -n 1)
value=$(echo "$row" | cut -d, -f4)
first=$(echo "$row" | cut -d, -f10)
last=$(echo "$row" | cut -d, -f11)
ev=$(echo "$row" | cut -d, -f12-)
n=$(fs print -r "$T/s" -t "$first..$last" -o csv "$ev" | tail -n +2 | wc -l)
[ "$n" = "$value" ] || fail "evidence '$ev' re-run gives $n flows, the row says $value"

# -t: only whole bins in the window are judged (week 5 from Tuesday on: four findings).
fs anomaly -r "$T/s" -b "$T/p" -o csv -t 2025-11-04T00:00..2025-11-10T00:00 |
    tail -n +2 | awk -F, '$3 == "flows" { print $1, $9 }' >"$T/got5"
[ "$(wc -l <"$T/got5")" = 4 ] || fail "-t week 5: $(cat "$T/got5")"

# Per subnet: four /24 keys; the gap hour is a gap for each.
fs baseline -r "$T/s" --by srcnet/24 -w "$T/pn" 2>/dev/null || fail "baseline --by srcnet/24"
grep -q '^by srcnet/24/64$' "$T/pn" || fail "by line"
[ "$(grep -c '^10\.0\.[0-3]\.0/24 ' "$T/pn")" = 672 ] || fail "4 x 168 subnet slots expected"
fs anomaly -r "$T/s" -b "$T/pn" -o csv >"$T/an.csv" || fail "anomaly per subnet"
[ "$(grep -c ',gap,' "$T/an.csv")" = 4 ] || fail "subnet gaps: $(grep ',gap,' "$T/an.csv")"
grep ',gap,' "$T/an.csv" | grep -q 'and src net 10.0.2.0/24$' || fail "subnet evidence"
tail -n +2 "$T/an.csv" | cut -d, -f1 | sort -u | diff - "$T/bins" >/dev/null ||
    fail "subnet findings outside the injected hours"
# A subnet's evidence re-run: exactly its flows in the bin.
row=$(grep ',spike,' "$T/an.csv" | grep ',flows,' | grep '10\.0\.1\.0/24' | head -n 1)
value=$(echo "$row" | cut -d, -f4)
ev=$(echo "$row" | cut -d, -f12-)
n=$(fs print -r "$T/s" -t "$(echo "$row" | cut -d, -f10)..$(echo "$row" | cut -d, -f11)" -o csv "$ev" |
    tail -n +2 | wc -l)
[ "$n" -gt 0 ] || fail "subnet evidence '$ev' gives no flows"
[ "$n" = "$value" ] || fail "subnet evidence '$ev' gives $n flows, the row says $value"
# Per host and per service, a few flows an hour each: Poisson noise at small counts
# (and a host that expects none and gets one) is no finding; only injected hours are.
for by in dst service; do
    fs baseline -r "$T/s" --by "$by" -w "$T/pk" 2>/dev/null || fail "baseline --by $by"
    fs anomaly -r "$T/s" -b "$T/pk" -o csv >"$T/ak.csv" || fail "anomaly --by $by"
    tail -n +2 "$T/ak.csv" | cut -d, -f1 | sort -u >"$T/kbins"
    [ -s "$T/kbins" ] || fail "--by $by: nothing found"
    comm -23 "$T/kbins" "$T/bins" >"$T/extra"
    [ ! -s "$T/extra" ] || fail "--by $by: findings outside the injected hours: $(head -n 5 "$T/extra")"
done

# Keys past --max-mem: an error, not a profile with keys missing.
rc=0
fs baseline -r "$T/s" --by src --max-mem 64k -w "$T/pm" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "--max-mem 64k: exit $rc"
grep -q 'need more than --max-mem' "$T/err" || fail "--max-mem: $(cat "$T/err")"
[ ! -e "$T/pm" ] || fail "a profile was written past --max-mem"

# Fewer whole weeks than --min-weeks: refused, saying why; allowed when lowered.
if fs baseline -r "$T/s" -t 2025-10-06..2025-10-27 -w "$T/p3" 2>"$T/err"; then
    fail "3 weeks accepted"
fi
grep -q 'refused: the flows span 3 whole week(s), fewer than --min-weeks 4' "$T/err" ||
    fail "3 weeks: $(cat "$T/err")"
[ ! -e "$T/p3" ] || fail "a refused profile was written"
fs baseline -r "$T/s" -t 2025-10-06..2025-10-27 --min-weeks 3 -w "$T/p3" 2>/dev/null ||
    fail "--min-weeks 3"

# --tz: a network whose day follows Berlin time (fsgen --tz: its busy hours move by an
# hour in UTC when summer time ends on 2025-10-26, in week 3). Learned in Berlin time,
# only the injected gap is found; learned in UTC, the hours around the shift are
# unusual in the weeks after it, which is what --tz is for.
"$FS_GEN" series "$T/b/" --weeks 5 --seed 8 --tz Europe/Berlin --gap 753 >"$T/truthb" 2>/dev/null ||
    fail "fsgen series --tz"
fs baseline -r "$T/b" --tz Europe/Berlin -w "$T/pz" 2>/dev/null || fail "baseline --tz"
grep -qx 'tz Europe/Berlin' "$T/pz" || fail "tz line: $(grep '^tz' "$T/pz")"
fs anomaly -r "$T/b" -b "$T/pz" -o csv >"$T/az.csv" || fail "anomaly, Berlin profile"
tail -n +2 "$T/az.csv" | cut -d, -f1,9 >"$T/gotz"
echo "$(iso "$(cut -d' ' -f2 "$T/truthb")"),gap" >"$T/wantz"
expect_same "$T/wantz" "$T/gotz" "Berlin profile findings"
fs baseline -r "$T/b" -w "$T/pu" 2>/dev/null || fail "baseline in UTC"
fs anomaly -r "$T/b" -b "$T/pu" -o csv >"$T/au.csv" || fail "anomaly, UTC profile"
[ "$(tail -n +2 "$T/au.csv" | cut -d, -f1 | sort -u | wc -l)" -gt 5 ] ||
    fail "a UTC profile of a Berlin network should see the shift: $(cat "$T/au.csv")"
# The filter's hour is in the --tz zone too: 09:00 in Berlin fills slot 9 (Monday 09:00)
# and its weekday twins only.
fs baseline -r "$T/b" --tz Europe/Berlin -w "$T/p9" 'hour 9' 2>/dev/null || fail "baseline 'hour 9'"
awk '$1 == "all" && $4 > 0 { printf "%s ", $2 }' "$T/p9" >"$T/slots"
[ "$(cat "$T/slots")" = "9 33 57 81 105 129 153 " ] || fail "--tz slots: $(cat "$T/slots")"

# The profile keeps its filter; anomaly warns when it reads other flows (blanks aside).
fs baseline -r "$T/s" -w "$T/pt" 'proto tcp and  dst port 443' 2>/dev/null || fail "baseline with a filter"
grep -qx 'filter proto tcp and  dst port 443' "$T/pt" || fail "filter line: $(grep '^filter' "$T/pt")"
fs anomaly -r "$T/s" -b "$T/pt" 'proto tcp and dst port 443' >/dev/null 2>"$T/err" || fail "anomaly, same filter"
[ ! -s "$T/err" ] || fail "warned on the same filter: $(cat "$T/err")"
fs anomaly -r "$T/s" -b "$T/pt" >/dev/null 2>"$T/err" || fail "anomaly, no filter"
grep -q "warning: the profile was learned with the filter 'proto tcp and  dst port 443', this run reads ''" "$T/err" ||
    fail "no warning on another filter: $(cat "$T/err")"

# A corrupt profile: the file, the line and the field.
sed '20s/^\(all [0-9]* [0-9]*\) [0-9]*/\1 x/' "$T/p" >"$T/bad"
rc=0
fs anomaly -r "$T/s" -b "$T/bad" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "corrupt profile: exit $rc"
grep -q "$T/bad:20: field 4: not a number >= 0 'x'" "$T/err" || fail "corrupt: $(cat "$T/err")"
head -n 100 "$T/p" >"$T/short"
fs anomaly -r "$T/s" -b "$T/short" >/dev/null 2>"$T/err" && fail "a cut profile accepted"
grep -q "key all has no line for slot 90" "$T/err" || fail "cut: $(cat "$T/err")"
sed '1s/ 1$/ 9/' "$T/p" >"$T/v9"
fs anomaly -r "$T/s" -b "$T/v9" >/dev/null 2>"$T/err" && fail "version 9 accepted"
grep -q "v9:1: baseline version 9, not 1" "$T/err" || fail "version: $(cat "$T/err")"

# Usage: no profile, no alarms; a zone the C library does not know.
rc=0
fs anomaly -r "$T/s" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "anomaly without -b: exit $rc"
rc=0
fs baseline -r "$T/s" --tz Mars/Olympus -w "$T/x" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "bad zone: exit $rc"
grep -q "unknown time zone 'Mars/Olympus'" "$T/err" || fail "bad zone: $(cat "$T/err")"
rc=0
fs baseline -r "$T/s" --bin 7 -w "$T/x" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "--bin 7: exit $rc"
exit 0
