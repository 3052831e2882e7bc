#!/bin/sh
# --label [NAME=]FILE: flows tagged with the address lists their source or destination
# is in, against Python's ipaddress module reading the same lists:
#  (a) the label column (csv, json with null when none) of 5000 generated flows (IPv4
#      and IPv6) over three lists: a Spamhaus DROP-format file, a plain list with
#      comments and single addresses, an IPv6 prefix list named NAME=FILE;
#  (b) the filter term: count 'label NAME', 'not label NAME' and a conjunction equal
#      Python's counts; stats under a label filter sums the same flows;
#  (c) usage errors: label without --label, an unknown list, a bad name, a missing or
#      empty file, each a named error and exit 2.
. "$(dirname "$0")/lib.sh"

need python3
"$FS_GEN" mix "$T/m.pcap" --flows 5000 --seed 115 --v6 30 --snap 128 >/dev/null 2>&1 || fail "fsgen mix"
fs meter -r "$T/m.pcap" -w "$T/S/" || fail "meter"
fs print -r "$T/S" -o csv:src,dst >"$T/flows.csv"

# Lists drawn from the flows' own addresses, so every list hits some flows and misses others.
python3 - "$T" <<'PY' || fail "making the lists"
import csv, ipaddress, sys
t = sys.argv[1]
rows = list(csv.DictReader(open(t + "/flows.csv")))
v4 = sorted({ipaddress.ip_address(a) for r in rows for a in (r["src"], r["dst"]) if ":" not in a})
v6 = sorted({ipaddress.ip_address(a) for r in rows for a in (r["src"], r["dst"]) if ":" in a})
with open(t + "/drop.txt", "w") as f:
    f.write("; Spamhaus DROP List 2026/12/07 - (c) 2026 The Spamhaus Project\n")
    for i, a in enumerate(v4[::97][:20]):
        f.write("%s ; SBL%d\n" % (ipaddress.ip_network("%s/24" % a, strict=False), 1000 + i))
with open(t + "/watch.list", "w") as f:
    f.write("# single hosts and a /30\n\n")
    for a in v4[5::53][:30]:
        f.write("%s   host of interest\n" % a)
    f.write("%s\n" % ipaddress.ip_network("%s/30" % v4[len(v4) // 2], strict=False))
with open(t + "/v6.txt", "w") as f:
    for a in v6[::11][:10]:
        f.write("%s\n" % ipaddress.ip_network("%s/64" % a, strict=False))
PY

fs print -r "$T/S" --label "$T/drop.txt" --label "$T/watch.list" --label "six=$T/v6.txt" \
    -o csv:src,dst,label >"$T/labels.csv" || fail "print --label"
fs print -r "$T/S" --label "$T/drop.txt" --label "$T/watch.list" --label "six=$T/v6.txt" \
    -o json:src,dst,label >"$T/labels.json" || fail "print --label json"
python3 - "$T" >"$T/check" <<'PY' || fail "label column: $(head -5 "$T/check")"
import csv, ipaddress, json, sys
t = sys.argv[1]
def nets(path):
    out = []
    for line in open(path):
        w = line.split("#")[0].split(";")[0].split()
        if w:
            out.append(ipaddress.ip_network(w[0], strict=False))
    return out
lists = [("drop", nets(t + "/drop.txt")), ("watch", nets(t + "/watch.list")), ("six", nets(t + "/v6.txt"))]
def want(r):
    a = [ipaddress.ip_address(r["src"]), ipaddress.ip_address(r["dst"])]
    return "+".join(n for n, ns in lists if any(x in net for x in a for net in ns if x.version == net.version))
rows = list(csv.DictReader(open(t + "/labels.csv")))
js = [json.loads(l) for l in open(t + "/labels.json")]
bad = [(r, want(r)) for r in rows if r["label"] != want(r)]
bad += [(j, want(j)) for j in js if (j["label"] or "") != want(j) or j["label"] == ""]
for b in bad[:5]:
    print("differs:", b)
hits = {n: sum(1 for r in rows if n in want(r).split("+")) for n, _ in lists}
both = sum(1 for r in rows if "drop" in want(r).split("+") and "watch" in want(r).split("+"))
none = sum(1 for r in rows if not want(r))
if bad or len(rows) != len(js) or min(hits.values()) == 0 or none == 0:
    print("rows", len(rows), "json", len(js), "hits", hits, "none", none)
    sys.exit(1)
print(len(rows), hits["drop"], hits["watch"], hits["six"], both, none)
PY
read -r n drop watch six both none <"$T/check"
echo "ok   (a) $n flows: drop $drop, watch $watch, six $six, none $none, as Python's ipaddress says (csv, json)"

L="--label $T/drop.txt --label $T/watch.list --label six=$T/v6.txt"
cnt() { # cnt FILTER: flows count prints in its Summary
    # shellcheck disable=SC2086
    fs count -N -r "$T/S" $L "$1" | sed -n 's/^Summary:.*total flows: \([0-9]*\),.*/\1/p'
}
[ "$(cnt 'label drop')" = "$drop" ] || fail "count 'label drop': $(cnt 'label drop'), want $drop"
[ "$(cnt 'label six')" = "$six" ] || fail "count 'label six'"
[ "$(cnt 'not label watch')" = $((n - watch)) ] || fail "count 'not label watch'"
[ "$(cnt 'label drop and label watch')" = "$both" ] || fail "count drop and watch"
[ "$(cnt 'label = six or label == drop')" -ge "$six" ] || fail "label = / =="
# shellcheck disable=SC2086
fs stats -N -r "$T/S" $L -s proto -o csv 'label drop' | awk -F, 'NR > 1 { s += $3 } END { print s }' >"$T/st"
[ "$(cat "$T/st")" = "$drop" ] || fail "stats under 'label drop': $(cat "$T/st"), want $drop"
# shellcheck disable=SC2086
fs stats -N -r "$T/S" $L -s label -n 100 -o csv >"$T/sl" || fail "stats -s label"
python3 - "$T" <<'PY' || fail "stats -s label differs from the label column"
import collections, csv, sys
t = sys.argv[1]
want = collections.Counter(r["label"] for r in csv.DictReader(open(t + "/labels.csv")))
got = {r["label"]: int(r["flows"]) for r in csv.DictReader(open(t + "/sl"))}
if got != dict(want):
    print(sorted(got.items()), sorted(want.items()))
    sys.exit(1)
PY
echo "ok   (b) count and stats under label NAME, not, and, =: Python's counts; stats -s label"

expect_usage "label needs an address list: --label FILE" print -r "$T/S" 'label drop'
expect_usage "label needs an address list: --label FILE" print -r "$T/S" -o csv:src,label
expect_usage "no --label list is called 'tor'" count -r "$T/S" --label "$T/drop.txt" 'label tor'
expect_usage "'watch list' is no list name" print -r "$T/S" --label "$T/watch list"
expect_usage "No such file or directory" print -r "$T/S" --label "x=$T/nonexistent"
: >"$T/empty.txt"
expect_usage "no address or prefix in the file" print -r "$T/S" --label "$T/empty.txt"
echo "ok   (c) usage errors named, exit 2"
