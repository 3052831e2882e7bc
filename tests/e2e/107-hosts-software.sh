#!/bin/sh
# flowsleuth hosts -c: the software column. apt_download.pcap (apt fetching 5 packages
# over one pipelined connection, split into exchanges by meter --split) against the
# Packages index they came from: the client's software is exactly the 5 packages apt
# fetched (tests/data/apt_download.expected, apt's own list), the same as flowsleuth
# inventory names; the server is a host with no software (every host is listed, not
# only those with downloads); json gives an array; without -c the columns stay as they
# were; a catalogue that does not load prints nothing; usage errors.
. "$(dirname "$0")/lib.sh"

need python3
D="$FS_SRC/tests/data"
fs catalog debian --suite bookworm -o "$T/cat.tsv" "$D/apt_Packages" 2>"$T/cat.err" ||
    fail "catalog: $(cat "$T/cat.err")"
fs meter --split -r "$D/apt_download.pcap" -w "$T/s.fl" || fail "meter"

fs hosts -r "$T/s.fl" -c "$T/cat.tsv" -o csv >"$T/h.csv" 2>"$T/h.err" || fail "hosts -c: $(cat "$T/h.err")"
head -n 1 "$T/h.csv" |
    grep -qx 'host,first,last,flows,initiated,answered,bytes,services,packages,software,evidence' ||
    fail "columns: $(head -n 1 "$T/h.csv")"
# one "name version arch" a line per host: host<TAB>package
python3 -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    pk = [p for p in r["software"].split(", ") if p]
    if int(r["packages"]) != len(pk):
        sys.exit("packages %s but %d listed: %s" % (r["packages"], len(pk), r["software"]))
    print("%s\t%d" % (r["host"], len(pk)))
    for p in pk:
        print("%s\t%s" % (r["host"], p), file=sys.stderr)
' "$T/h.csv" >"$T/count" 2>"$T/pk" || fail "software cells: $(cat "$T/pk")"
printf '192.0.2.2\t5\n203.0.113.80\t0\n' >"$T/count.want"
diff "$T/count.want" "$T/count" >&2 || fail "hosts and package counts"
grep '^192\.0\.2\.2	' "$T/pk" | cut -f2 | sort >"$T/got"
sort "$D/apt_download.expected" >"$T/want"
diff "$T/want" "$T/got" >&2 || fail "software is not what apt fetched"
# the same as inventory's rows for that client
fs inventory -c "$T/cat.tsv" -r "$T/s.fl" -o csv >"$T/inv.csv" || fail "inventory"
awk -F, 'NR > 1 && $1 == "192.0.2.2" { print $3, $4, $5 }' "$T/inv.csv" | sort >"$T/inv"
diff "$T/inv" "$T/got" >&2 || fail "hosts -c and inventory differ"
echo "ok   the client's software is apt's 5 packages, as inventory; the server has none"

# json: software is an array of objects
fs hosts -r "$T/s.fl" -c "$T/cat.tsv" -o json >"$T/h.json" || fail "hosts -c -o json"
python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {r["host"]: r for r in rows}
sw = by["192.0.2.2"]["software"]
assert isinstance(sw, list) and len(sw) == 5, sw
assert all(set(p) == {"name", "version", "arch", "flows"} and p["flows"] == 1 for p in sw), sw
assert [p["name"] for p in sw] == sorted(p["name"] for p in sw), sw
assert by["203.0.113.80"]["software"] == [] and by["203.0.113.80"]["packages"] == 0
' "$T/h.json" || fail "json: $(cat "$T/h.json")"
# without -c: the columns of before
fs hosts -r "$T/s.fl" -o csv | head -n 1 |
    grep -qx 'host,first,last,flows,initiated,answered,bytes,services,evidence' || fail "columns without -c"
echo "ok   json array; no software columns without -c"

# a catalogue that does not load: exit 1, nothing on stdout; usage errors: exit 2
rc=0
fs hosts -r "$T/s.fl" -c "$T/nonexistent.tsv" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && [ ! -s "$T/out" ] && [ -s "$T/err" ] || fail "missing catalogue: $rc $(cat "$T/err")"
rc=0
fs hosts -r "$T/s.fl" --model-file "$T/m" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q 'needs -c' "$T/err" || fail "--model-file without -c: $rc $(cat "$T/err")"
rc=0
fs hosts -r "$T/s.fl" -c "$T/cat.tsv" --max-set 99 >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q -- '--max-set' "$T/err" || fail "--max-set 99: $rc $(cat "$T/err")"
rc=0
fs hosts -r "$T/s.fl" -c "$T/cat.tsv" --max-mem 1k >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && [ ! -s "$T/out" ] && grep -q 'more than --max-mem' "$T/err" ||
    fail "--max-mem 1k: $rc $(cat "$T/err")"
echo "ok   a bad catalogue, --model-file without -c, a bad model option, --max-mem"
