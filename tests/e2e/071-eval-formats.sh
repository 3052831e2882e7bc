#!/bin/sh
# 071: eval prints its figures through the row printer of every non-flow command: -o
# csv and tsv give the metric,value rows of the table (the table's cells, unpadded),
# a list such as the top confusions names its metric on every csv row (the table only
# on its first), tsv is csv with tabs; -o json stays one object; a bad -o exits 2.
# Data: four fsgen downloads of two catalogue entries and one file outside it, two of
# them labelled as the other entry on purpose, so that eval lists two confusions.
. "$(dirname "$0")/lib.sh"
[ -x "$FS_GEN" ] || skip "fsgen not built ($FS_GEN)"

S=198.51.100.80
C=192.0.2.10
printf '#flowsleuth-catalog 1\nsize\tname\tproduct\tversion\tarch\tos\turl\tdigest\tsource\tspread\n' \
    >"$T/cat.tsv"
printf '400000\ta\tlab\t1\tall\tlab\t/a\t\timport\t0\n' >>"$T/cat.tsv"
printf '700000\tb\tlab\t1\tall\tlab\t/b\t\timport\t0\n' >>"$T/cat.tsv"
echo "client,server,start_ms,end_ms,entry_name" >"$T/labels.csv"
set --
n=0
# size label: one download (fsgen adds its response header) labelled as given
for d in 400000:a 700000:a 400000:b 550000:-; do
    n=$((n + 1))
    start=$((1700000000 + n * 100))
    "$FS_GEN" download "$T/d$n.pcap" --size $((${d%:*} + 83)) --seed $n --start $start \
        2>/dev/null || fail "fsgen download"
    fs meter -r "$T/d$n.pcap" -w "$T/d$n.fsf" || fail "meter"
    echo "$C,$S,$((start * 1000)),$((start * 1000 + 20000)),${d#*:}" >>"$T/labels.csv"
    set -- "$@" -r "$T/d$n.fsf"
done

for f in table csv tsv json; do
    fs eval -c "$T/cat.tsv" --labels "$T/labels.csv" "$@" -o "$f" >"$T/ev.$f" ||
        fail "eval -o $f: $(cat "$T/ev.$f")"
done
head -1 "$T/ev.csv" | grep -qx 'metric,value' || fail "csv header: $(head -1 "$T/ev.csv")"
head -1 "$T/ev.table" | grep -q '^metric  *value$' || fail "table header: $(head -1 "$T/ev.table")"
# The table's rows, cut at its value column, a blank metric filled with the one above,
# are the tsv rows; csv quotes the values that hold a comma.
awk 'NR == 1 { n = index($0, "value"); print "metric\tvalue"; next }
    { k = substr($0, 1, n - 1); sub(/ +$/, "", k); if (k != "") m = k
      print m "\t" substr($0, n) }' "$T/ev.table" >"$T/want.tsv"
expect_same "$T/want.tsv" "$T/ev.tsv"
awk -F'\t' '{ v = $2; if (v ~ /[,"]/) { gsub(/"/, "\"\"", v); v = "\"" v "\"" } print $1 "," v }' \
    "$T/want.tsv" >"$T/want.csv"
expect_same "$T/want.csv" "$T/ev.csv"
[ "$(grep -c '^top confusions,[ab] -> [ab]: 1$' "$T/ev.csv")" -eq 2 ] ||
    fail "two confusion rows, each naming its metric: $(cat "$T/ev.csv")"
[ "$(grep -c '^top confusions ' "$T/ev.table")" -eq 1 ] ||
    fail "the table names its list once: $(cat "$T/ev.table")"
grep -q '^closed-set accuracy,33.33% (1 of 3)$' "$T/ev.csv" || fail "accuracy: $(cat "$T/ev.csv")"
[ "$(wc -l <"$T/ev.json")" -eq 1 ] || fail "json is not one object: $(cat "$T/ev.json")"
grep -q '^{"model":"nearest",.*"known":3,"foreign":1,' "$T/ev.json" ||
    fail "json: $(cat "$T/ev.json")"
st=0
fs eval -c "$T/cat.tsv" --labels "$T/labels.csv" "$@" -o xml >/dev/null 2>&1 || st=$?
[ "$st" = 2 ] || fail "-o xml: exit $st, want 2"
echo ok
