#!/bin/sh
# --mmdb FILE: country and autonomous system of flow addresses from MaxMind DB files
# that fsgen writes from its own table of networks (tests/gen/mmdb_write.c), checked
# against that table read by Python's ipaddress, and against mmdblookup (Debian's
# mmdb-bin, libmaxminddb's own reader) as an independent reader of the files:
#  (a) src_cc, dst_cc, src_asn, dst_asn, src_asname, dst_asname of 3000 generated flows
#      (IPv4 and IPv6, nested networks, names with a comma, quotes, a backslash and
#      non-ASCII letters) in csv and json (null when unknown);
#  (b) mmdblookup gives the same country and AS number for each distinct address;
#  (c) the filter terms: count under cc, src/dst cc, asn, not, and equal Python's
#      counts; stats under a cc filter sums the same flows; stats -A's json rows are
#      valid JSON with the organization escaped;
#  (d) 24- and 32-bit records give the same columns as 28; an IPv4 tree knows no IPv6
#      address;
#  (e) usage errors: the fields and terms without --mmdb, bad values, a missing file, a
#      file that is no MaxMind DB, each a named error and exit 2.
. "$(dirname "$0")/lib.sh"

need python3
"$FS_GEN" mix "$T/m.pcap" --flows 3000 --seed 116 --v6 30 --snap 128 >/dev/null 2>&1 || fail "fsgen mix"
fs meter -r "$T/m.pcap" -w "$T/S/" || fail "meter"
"$FS_GEN" mmdb "$T/country.mmdb" --kind country --table "$T/table.tsv" || fail "fsgen mmdb country"
"$FS_GEN" mmdb "$T/asn.mmdb" --kind asn --record-size 24 || fail "fsgen mmdb asn"
M="--mmdb $T/country.mmdb --mmdb $T/asn.mmdb"
COLS=src,dst,src_cc,dst_cc,src_asn,dst_asn,src_asname,dst_asname
# shellcheck disable=SC2086
fs print -r "$T/S" $M -o "csv:$COLS" >"$T/geo.csv" || fail "print --mmdb csv"
# shellcheck disable=SC2086
fs print -r "$T/S" $M -o "json:$COLS" >"$T/geo.json" || fail "print --mmdb json"

python3 - "$T" >"$T/check" <<'PY' || fail "columns: $(head -5 "$T/check")"
import csv, ipaddress, json, sys
t = sys.argv[1]
rows = list(csv.DictReader(open(t + "/table.tsv"), delimiter="\t"))
def best(addr, has):
    a = ipaddress.ip_address(addr)
    hit = [r for r in rows if has(r) and a in ipaddress.ip_network(r["network"])]
    return max(hit, key=lambda r: ipaddress.ip_network(r["network"]).prefixlen) if hit else None
def want(addr):
    c = best(addr, lambda r: r["cc"] != "-" or r["reg_cc"] != "-")
    s = best(addr, lambda r: r["asn"] != "-")
    cc = c["cc"] if c and c["cc"] != "-" else ""
    asn = s["asn"] if s else ""
    org = s["org"] if s and s["org"] != "-" else ""
    return cc, asn, org
flows = list(csv.DictReader(open(t + "/geo.csv", encoding="utf-8")))
js = [json.loads(l) for l in open(t + "/geo.json", encoding="utf-8")]
bad, seen = [], set()
for r, j in zip(flows, js):
    for side in ("src", "dst"):
        cc, asn, org = want(r[side])
        got = (r[side + "_cc"], r[side + "_asn"], r[side + "_asname"])
        gotj = (j[side + "_cc"], j[side + "_asn"], j[side + "_asname"])
        wantj = (cc or None, int(asn) if asn else None, org or None)
        if got != (cc, asn, org) or gotj != wantj:
            bad.append((r[side], got, gotj, (cc, asn, org)))
        seen.add((cc, asn, org))
for b in bad[:5]:
    print("differs:", b)
orgs = {o for _, _, o in seen}
if bad or len(flows) != len(js) or len(flows) < 2900 or len(seen) < 8 or \
        "Test \"Quoted\" Carrier" not in orgs or "R\u00e9seau Exemple" not in orgs or ("", "", "") not in seen:
    print("flows", len(flows), "json", len(js), "kinds", sorted(seen))
    sys.exit(1)
print(len(flows), len(seen))
PY
read -r n kinds <"$T/check"
echo "ok   (a) $n flows, $kinds (cc, asn, organization) kinds: the generator's table says the same (csv, json)"

if optional "(b) the mmdblookup cross-check" mmdblookup; then
    cut -d, -f1,3,5 "$T/geo.csv" | sed 1d >"$T/pairs"
    cut -d, -f2,4,6 "$T/geo.csv" | sed 1d >>"$T/pairs"
    sort -u "$T/pairs" | awk -F, 'NR % 7 == 1' | head -120 >"$T/sample"
    k=0
    while IFS=, read -r addr cc asn; do
        mc=$(mmdblookup --file "$T/country.mmdb" --ip "$addr" country iso_code 2>/dev/null |
            sed -n 's/^ *"\([A-Z]*\)" <utf8_string>$/\1/p')
        ma=$(mmdblookup --file "$T/asn.mmdb" --ip "$addr" autonomous_system_number 2>/dev/null |
            sed -n 's/^ *\([0-9]*\) <uint32>$/\1/p')
        [ "$mc" = "$cc" ] || fail "$addr: cc '$cc', mmdblookup says '$mc'"
        [ "$ma" = "$asn" ] || fail "$addr: asn '$asn', mmdblookup says '$ma'"
        k=$((k + 1))
    done <"$T/sample"
    [ "$k" -ge 40 ] || fail "only $k addresses cross-checked"
    echo "ok   (b) $k addresses: mmdblookup reads the same country and AS number"
fi

python3 - "$T" >"$T/counts" <<'PY' || fail "counting"
import csv, sys
f = list(csv.DictReader(open(sys.argv[1] + "/geo.csv", encoding="utf-8")))
print(sum(1 for r in f if "DE" in (r["src_cc"], r["dst_cc"])),
      sum(1 for r in f if r["src_cc"] == "NL"),
      sum(1 for r in f if r["dst_asn"] == "4200000001"),
      sum(1 for r in f if r["dst_cc"] != "JP"),
      sum(1 for r in f if r["src_asn"] == "64510" and r["dst_cc"] == "BR"),
      sum(1 for r in f if r["dst_cc"] == "US"))
PY
read -r de nl big notjp v6br us <"$T/counts"
cnt() { # cnt FILTER: flows count prints in its Summary
    # shellcheck disable=SC2086
    fs count -N -r "$T/S" $M "$1" | sed -n 's/^Summary:.*total flows: \([0-9]*\),.*/\1/p'
}
if [ "$de" = 0 ] || [ "$nl" = 0 ] || [ "$big" = 0 ] || [ "$v6br" = 0 ]; then
    fail "empty counts: $de $nl $big $v6br"
fi
[ "$(cnt 'cc de')" = "$de" ] || fail "count 'cc de': $(cnt 'cc de'), want $de"
[ "$(cnt 'src cc NL')" = "$nl" ] || fail "count 'src cc NL'"
[ "$(cnt 'dst asn AS4200000001')" = "$big" ] || fail "count 'dst asn AS4200000001'"
[ "$(cnt 'not dst cc JP')" = "$notjp" ] || fail "count 'not dst cc JP'"
[ "$(cnt 'dst cc != JP')" = "$notjp" ] || fail "count 'dst cc != JP'"
[ "$(cnt 'src asn 64510 and dst cc == BR')" = "$v6br" ] || fail "count 'src asn 64510 and dst cc BR'"
# shellcheck disable=SC2086
fs stats -N -r "$T/S" $M -s proto -o csv 'dst cc US' | awk -F, 'NR > 1 { s += $3 } END { print s }' >"$T/st"
[ "$(cat "$T/st")" = "$us" ] || fail "stats under 'dst cc US': $(cat "$T/st"), want $us"
# stats -A's json rows: the organization escaped, null when unknown
# shellcheck disable=SC2086
fs stats -r "$T/S" $M -A srcip,dstip -o json:src,dst,src_asname,dst_cc 'src asn 64501' >"$T/agg.json" ||
    fail "stats -A json"
python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows and all(r["src_asname"] == "Test \"Quoted\" Carrier" for r in rows), rows[:2]
assert all(r["dst_cc"] is None or len(r["dst_cc"]) == 2 for r in rows), rows[:2]
' "$T/agg.json" || fail "stats -A json rows"
echo "ok   (c) count and stats under cc, src/dst cc, asn AS..., not, !=, and: Python's counts; stats -A json"

# stats -s by the computed keys: the flows per value are what print's columns (checked in
# (a)) give; cc and asn count both ends; -A refuses them (records are rebuilt from keys)
for k in src_cc dst_cc cc src_asn dst_asn asn; do
    # shellcheck disable=SC2086
    fs stats -N -r "$T/S" $M -s "$k" -n 1000 -o csv >"$T/sk.$k" || fail "stats -s $k"
done
python3 - "$T" <<'PY' || fail "stats -s by cc/asn differs from print's columns"
import collections, csv, sys
t = sys.argv[1]
rows = list(csv.DictReader(open(t + "/geo.csv")))
for k, cols in (("src_cc", ["src_cc"]), ("dst_cc", ["dst_cc"]), ("cc", ["src_cc", "dst_cc"]),
                ("src_asn", ["src_asn"]), ("dst_asn", ["dst_asn"]), ("asn", ["src_asn", "dst_asn"])):
    want = collections.Counter(r[c] for r in rows for c in cols)
    got = {r[k]: int(r["flows"]) for r in csv.DictReader(open(t + "/sk." + k))}
    if got != dict(want) or len(want) < 2:
        print(k, "stats", sorted(got.items())[:6], "print", sorted(want.items())[:6])
        sys.exit(1)
PY
# shellcheck disable=SC2086
if fs stats -r "$T/S" $M -A dst_cc >/dev/null 2>"$T/err"; then fail "stats -A dst_cc accepted"; fi
grep -q "is computed per flow: count by it with -s" "$T/err" || fail "-A dst_cc: $(cat "$T/err")"
echo "ok   (c) stats -s src_cc, dst_cc, cc, src_asn, dst_asn, asn: the columns' counts; -A refuses them"

"$FS_GEN" mmdb "$T/c24.mmdb" --kind country --record-size 24 || fail "fsgen mmdb 24"
"$FS_GEN" mmdb "$T/a32.mmdb" --kind asn --record-size 32 || fail "fsgen mmdb 32"
fs print -r "$T/S" --mmdb "$T/a32.mmdb" --mmdb "$T/c24.mmdb" -o "csv:$COLS" >"$T/geo2.csv" ||
    fail "print 24/32"
expect_same "$T/geo.csv" "$T/geo2.csv"
"$FS_GEN" mmdb "$T/c4.mmdb" --kind country --ipv4 || fail "fsgen mmdb --ipv4"
fs print -r "$T/S" --mmdb "$T/c4.mmdb" -o csv:src,src_cc,dst_cc >"$T/v4.csv" || fail "print ipv4 tree"
awk -F, 'NR > 1 && $1 ~ /:/ && ($2 != "" || $3 != "") { bad++ } NR > 1 && $1 !~ /:/ && $2 != "" { v4++ }
    END { exit !(bad == 0 && v4 > 0) }' "$T/v4.csv" || fail "IPv4 tree: IPv6 addresses got a country"
echo "ok   (d) 24- and 32-bit records give the 28-bit columns; an IPv4 tree leaves IPv6 unknown"

expect_usage "cc needs a MaxMind database: --mmdb FILE" print -r "$T/S" 'src cc DE'
expect_usage "asn needs a MaxMind database: --mmdb FILE" count -r "$T/S" 'asn 64500'
expect_usage "dst_asn needs a MaxMind database: --mmdb FILE" print -r "$T/S" -o csv:src,dst_asn
expect_usage "'DEU' is not a two-letter country code" print -r "$T/S" --mmdb "$T/country.mmdb" 'cc DEU'
expect_usage "is not an AS number" print -r "$T/S" --mmdb "$T/asn.mmdb" 'asn 1x'
expect_usage "--mmdb $T/nonexistent: No such file or directory" print -r "$T/S" --mmdb "$T/nonexistent"
expect_usage "not a usable MaxMind DB file" print -r "$T/S" --mmdb "$T/table.tsv"
echo "ok   (e) usage errors named, exit 2"
