#!/bin/sh
# flowsleuth report (issue 18): one self-contained HTML file, loaded in headless
# Chromium; what its DOM shows must be the CLI's answer to the same question:
#  (a) two weeks of fsgen series flows, a one-week window: the page is drawn (three
#      series charts with a point a bin, five top-10 charts, a 7 x 24 heat map, hosts,
#      services, flows); the totals equal count's; every bar of every top-10 equals
#      stats -s KEY/tbytes -n 10 (key, flows, tpackets, tbytes) and "other" is the
#      rest of the total; the heat map's cells add up to the flows; the hosts shown
#      carry flowsleuth hosts' flows and bytes; nothing is loaded from elsewhere;
#  (b) a capture with IPv6 (fsgen mix, metered): addresses whole, as the CLI prints them
#      (RFC 5952), the same top-10s;
#  (c) a bad filter: exit 2 and the CLI's caret message, no file written;
#  (d) -c CAT: the hosts' software, every package as flowsleuth hosts -c names it and
#      outdated (marked) exactly when inventory's column newest names a newer version
#      (the apt capture against a catalogue with newer a2ps and abcmidi, as 096); without
#      -c the page says that no catalogue was given;
#  (e) alerts: scan_pcap.py's and spam_pcap.py's traffic; the alerts table holds every
#      finding of flowsleuth scan and spam (source, flows, evidence), with the report's
#      filter in front of the evidence as the CLI puts it; none in the week (said);
#  (f) top-N by AS: NetFlow v5 records with AS numbers (nf5_as_pcap.py, collect -f):
#      the source and destination AS tables as stats -s srcas/dstas print them, with
#      "other"; the week's flows (a meter's: every AS 0) show no AS table;
#  (g) -b PROFILE (flowsleuth baseline over the two weeks; the report over them with a
#      burst added): the series in the report's data carries the band flowsleuth anomaly
#      -b judges by, equal at every bin anomaly prints (the burst's spikes); the band is
#      drawn behind each series with its legend; --bin 300 gets a note instead; a bad
#      profile: exit 1, its line named, no file.
# Screenshots stay in $FS_TMP/112-web-report/ (report-week.png, report-v6.png,
# report-band.png).
. "$(dirname "$0")/lib.sh"

need python3
optional "the Chromium checks" chromium || exit 0

W=2025-10-13..2025-10-20
"$FS_GEN" series "$T/W/" --weeks 2 --peak 100 >/dev/null 2>&1 || fail "fsgen series"
"$FS_GEN" mix "$T/m.pcap" --flows 2000 --seed 110 --v6 40 --snap 128 >/dev/null 2>&1 || fail "fsgen mix"
fs meter -r "$T/m.pcap" -w "$T/S/" || fail "meter"

# chrome_dom HTML NAME: the DOM after the scripts ran, and a screenshot NAME.png
chrome_dom() {
    chrome --dump-dom "file://$1" >"$T/$2.dom" || fail "chromium --dump-dom $1"
    chrome --screenshot="$T/$2.png" "file://$1" >/dev/null || fail "chromium --screenshot $1"
    [ -s "$T/$2.png" ] || fail "no screenshot $2.png"
    python3 "$FS_SRC/tests/e2e/web_dom.py" "$T/$2.dom" >"$T/$2.facts"
}

# check_tops FACTS -r ... : every top-10 of the page against stats -s, and "other"
# (the AS ones too when AS_SPECS names them).
AS_SPECS=
check_tops() {
    facts=$1
    shift
    total_b=$(fs count "$@" -N | sed -n 's/.*tbytes: \([0-9]*\).*/\1/p')
    for spec in srcip/tbytes dstip/tbytes srcnet/tbytes dport/tbytes proto/tbytes $AS_SPECS; do
        fs stats "$@" -s "$spec" -n 10 -o csv | awk -F, -v s="$spec" 'NR > 1 {
            print "top", s, $2, $3, $5, $7 }' >"$T/cli.top"
        grep "^top $spec " "$facts" | grep -v " other " >"$T/dom.top" || true
        [ -s "$T/cli.top" ] || fail "stats -s $spec printed nothing"
        expect_same "$T/cli.top" "$T/dom.top"
        shown=$(awk '{ s += $6 } END { print s + 0 }' "$T/dom.top")
        other=$(awk -v s="$spec" '$2 == s && $3 == "other" { print $6 }' "$facts")
        [ "$((shown + ${other:-0}))" = "$total_b" ] ||
            fail "$spec: shown $shown + other ${other:-0} != total tbytes $total_b"
    done
}

# (a)
fs report -r "$T/W" -t "$W" --title "week 42" -o "$T/week.html" || fail "report"
if grep -Eiq '(src|href)="(https?:)?//|@import|url\(' "$T/week.html"; then
    fail "the report loads something from elsewhere"
fi
chrome_dom "$T/week.html" report-week
F=$T/report-week.facts
grep -qx "drawn 1" "$F" || fail "the page was not drawn: $(head -3 "$F")"
! grep -q "^error" "$F" || fail "the page shows an error: $(grep '^error' "$F")"
fs count -r "$T/W" -t "$W" -N | sed -n 's/^Summary: \([0-9]*\) bins.*flows: \([0-9]*\), tbytes: \([0-9]*\), tpackets: \([0-9]*\)$/\1 \2 \3 \4/p' >"$T/sum"
read -r bins flows bytes packets <"$T/sum"
[ -n "$flows" ] && [ "$flows" -gt 1000 ] || fail "count: $(cat "$T/sum")"
grep -qx "total flows $flows" "$F" || fail "flows: $(grep '^total' "$F") vs $flows"
grep -qx "total bytes $bytes" "$F" || fail "tbytes: $(grep '^total' "$F") vs $bytes"
grep -qx "total packets $packets" "$F" || fail "tpackets: $(grep '^total' "$F") vs $packets"
for m in flows bytes packets; do
    grep -qx "series series-$m $bins $bins" "$F" || fail "series $m: $(grep "series-$m" "$F"), $bins bins"
done
grep -qx "heat 168 $flows 168" "$F" || fail "heat map: $(grep '^heat' "$F") (168 cells, $flows flows)"
check_tops "$F" -r "$T/W" -t "$W"
[ "$(grep -c '^top ' "$F")" -ge 20 ] || fail "too few bars"
fs hosts -r "$T/W" -t "$W" -o csv | awk -F, 'NR > 1 { print $1, $4, $7 }' | sort >"$T/cli.hosts"
grep '^host ' "$F" | cut -d' ' -f2- | sort >"$T/dom.hosts"
[ "$(wc -l <"$T/dom.hosts")" = 50 ] || fail "hosts shown: $(wc -l <"$T/dom.hosts")"
comm -13 "$T/cli.hosts" "$T/dom.hosts" >"$T/odd.hosts"
[ ! -s "$T/odd.hosts" ] || fail "hosts unlike flowsleuth hosts': $(head -3 "$T/odd.hosts")"
[ "$(grep -c '^flow ' "$F")" = 100 ] || fail "flow table: $(grep -c '^flow ' "$F") rows"
echo "ok   (a) $flows flows in $bins bins; totals, $(grep -c '^top ' "$F") bars, heat map and 50 hosts as the CLI's"

# (b)
fs report -r "$T/S" -o "$T/v6.html" || fail "report v6"
chrome_dom "$T/v6.html" report-v6
grep -qx "drawn 1" "$T/report-v6.facts" || fail "v6 page not drawn"
grep -q '^top srcip/tbytes [0-9a-f]*:[0-9a-f:]* ' "$T/report-v6.facts" || fail "no IPv6 source in the top 10"
check_tops "$T/report-v6.facts" -r "$T/S"
echo "ok   (b) IPv6 addresses whole, the top-10s as stats -s prints them"

# (c)
if fs report -r "$T/S" -o "$T/bad.html" 'src ip 10.0.0.300' 2>"$T/err"; then
    fail "a bad filter made a report"
fi
grep -q "^flowsleuth report: bad filter" "$T/err" || fail "no filter message: $(cat "$T/err")"
grep -q '^ *\^$' "$T/err" || fail "no caret: $(cat "$T/err")"
[ ! -e "$T/bad.html" ] || fail "a bad filter left a file"
echo "ok   (c) a bad filter: the CLI's caret message, no file"

# (d)
D="$FS_SRC/tests/data"
grep -qx "hosts-legend 0 0 .*no catalogue given (-c CAT): software not shown" "$F" ||
    fail "without -c: $(grep '^hosts-legend' "$F")"
! grep -q '^pkg ' "$F" || fail "software without a catalogue"
printf 'Package: a2ps\nVersion: 1:4.14-8+deb12u1\nArchitecture: amd64\nFilename: pool/a/a2ps.deb\nSize: 9000001\n\n' >"$T/sec_Packages"
printf 'Package: abcmidi\nVersion: 20230208+ds1-1.1\nArchitecture: amd64\nFilename: pool/a/abcmidi.deb\nSize: 9000011\n\n' >"$T/bw_Packages"
fs catalog debian --suite bookworm -o "$T/c1.tsv" "$D/apt_Packages" "$T/bw_Packages" 2>/dev/null || fail "catalog"
fs catalog debian --suite bookworm-security --append "$T/c1.tsv" -o "$T/cat.tsv" "$T/sec_Packages" \
    2>/dev/null || fail "catalog security"
fs meter --split -r "$D/apt_download.pcap" -w "$T/A/" || fail "meter apt"
fs report -r "$T/A" -c "$T/cat.tsv" -o "$T/sw.html" || fail "report -c"
chrome_dom "$T/sw.html" report-sw
fs hosts -r "$T/A" -c "$T/cat.tsv" -o json >"$T/h.json" || fail "hosts -c"
fs inventory -r "$T/A" -c "$T/cat.tsv" -o csv >"$T/inv.csv" 2>/dev/null || fail "inventory"
python3 "$FS_SRC/tests/e2e/web_sw.py" "$T/h.json" "$T/inv.csv" | sort >"$T/cli.pkg"
grep '^pkg ' "$T/report-sw.facts" | sort >"$T/dom.pkg"
[ "$(grep -c ' 1$' "$T/cli.pkg")" = 2 ] || fail "the catalogue should make two packages outdated"
expect_same "$T/cli.pkg" "$T/dom.pkg"
grep -qx "hosts-legend 1 2 .*2 outdated packages shown.*" "$T/report-sw.facts" ||
    fail "legend: $(grep '^hosts-legend' "$T/report-sw.facts")"
rc=0
fs report -r "$T/A" -c "$T/nonexistent.tsv" -o "$T/nocat.html" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && [ ! -e "$T/nocat.html" ] && grep -q 'nonexistent.tsv' "$T/err" ||
    fail "a catalogue that does not load: $rc $(cat "$T/err")"
echo "ok   (d) -c: $(wc -l <"$T/dom.pkg") packages as hosts -c names them, the 2 inventory finds newer marked outdated; without -c, said"

# (e)
grep -qx "alerts-legend 0" "$F" || fail "week alerts: $(grep '^alerts-legend' "$F")"
python3 "$FS_SRC/tests/e2e/scan_pcap.py" "$T/scan.pcap" >/dev/null || fail "scan_pcap.py"
python3 "$FS_SRC/tests/e2e/spam_pcap.py" "$T/mail.pcap" >/dev/null || fail "spam_pcap.py"
fs meter -r "$T/scan.pcap" -w "$T/AL/" || fail "meter scan"
fs meter -r "$T/mail.pcap" -w "$T/AL/" || fail "meter mail"
for filter in "" "not proto udp"; do
    fs report -r "$T/AL" -o "$T/al.html" $filter || fail "report alerts $filter"
    chrome_dom "$T/al.html" report-alerts
    { fs scan -r "$T/AL" -o json $filter | sed 's/^/scan /'
      fs spam -r "$T/AL" -o json $filter | sed 's/^/spam /'; } | python3 -c 'import json,sys
for l in sys.stdin:
    d, j = l.split(" ", 1)
    r = json.loads(j)
    print("alert", d, r["src"], r["flows"], r["evidence"])' | sort >"$T/cli.alerts"
    grep -q '^alert scan ' "$T/cli.alerts" && grep -q '^alert spam ' "$T/cli.alerts" || fail "CLI: no scanner or spammer"
    grep '^alert ' "$T/report-alerts.facts" | sort >"$T/dom.alerts"
    expect_same "$T/cli.alerts" "$T/dom.alerts"
    grep -qx "alerts-legend $(wc -l <"$T/cli.alerts")" "$T/report-alerts.facts" || fail "alerts legend"
done
grep -q ' (not proto udp) and src ip ' "$T/dom.alerts" || fail "the filter is not in front of the evidence"
echo "ok   (e) the $(wc -l <"$T/dom.alerts") alerts as scan and spam print them, with the filter too; none in the week"

# (f)
grep -qx "top-hidden srcas/tbytes" "$F" && grep -qx "top-hidden dstas/tbytes" "$F" ||
    fail "AS tables of flows without AS numbers: $(grep -c '^top [sd][rs][ct]as' "$F") bars"
python3 "$FS_SRC/tests/e2e/nf5_as_pcap.py" "$T/nf5.pcap" || fail "nf5_as_pcap.py"
fs collect -f "$T/nf5.pcap" -w "$T/AS/" || fail "collect -f"
fs report -r "$T/AS" -o "$T/as.html" || fail "report AS"
chrome_dom "$T/as.html" report-as
! grep -q '^top-hidden' "$T/report-as.facts" || fail "an AS table hidden: $(grep '^top-hidden' "$T/report-as.facts")"
AS_SPECS="srcas/tbytes dstas/tbytes"
check_tops "$T/report-as.facts" -r "$T/AS"
grep -q '^top dstas/tbytes 0 ' "$T/report-as.facts" || fail "AS 0 (unknown) is a bar of its own"
echo "ok   (f) source and destination AS as stats -s srcas/dstas prints them; none for flows without AS"

# (g)
BW=2025-10-06..2025-10-20
fs baseline -r "$T/W" -t "$BW" --min-weeks 2 -w "$T/prof.txt" 2>/dev/null || fail "baseline"
cp -r "$T/W" "$T/WB"
"$FS_GEN" mix "$T/burst.pcap" --flows 300 --seed 1121 --start 1760522400 --rate 1 --snap 128 >/dev/null 2>&1 || fail "fsgen burst"
fs meter -r "$T/burst.pcap" -w "$T/WB/" || fail "meter burst"
fs report -r "$T/WB" -t "$BW" -b "$T/prof.txt" -o "$T/band.html" || fail "report -b"
# the report's band, "bin metric value expected low high" a bin, as anomaly -o csv prints them
python3 -c 'import datetime, json, math, re, sys
html = open(sys.argv[1]).read()
s = json.loads(re.search(r"<script type=\"application/json\" id=\"fs-data\">(.*?)</script>", html, re.S).group(1))["series"]
def num(v):
    return "%.0f" % v if v == math.floor(v) and abs(v) < 1e15 else "%.1f" % v
for m, name in (("flows", "flows"), ("bytes", "tbytes"), ("packets", "tpackets")):
    b = s["band"][m]
    for i, t in enumerate(s["start"]):
        at = datetime.datetime.fromtimestamp(t // 1000, datetime.timezone.utc)
        print(at.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (t % 1000), name, s[m][i],
              num(b["expected"][i]), num(b["low"][i]), num(b["high"][i]))' "$T/band.html" | sort >"$T/rep.band" ||
    fail "no band in the report's data"
[ "$(wc -l <"$T/rep.band")" = 1008 ] || fail "band: $(wc -l <"$T/rep.band") rows for 336 bins"
fs anomaly -r "$T/WB" -t "$BW" -b "$T/prof.txt" -o csv | awk -F, 'NR > 1 { print $1, $3, $4, $5, $6, $7 }' |
    sort >"$T/cli.band"
[ "$(wc -l <"$T/cli.band")" -ge 3 ] || fail "anomaly found no spike in the burst: $(cat "$T/cli.band")"
comm -23 "$T/cli.band" "$T/rep.band" >"$T/odd.band"
[ ! -s "$T/odd.band" ] || fail "anomaly's rows unlike the report's band: $(head -3 "$T/odd.band")"
chrome_dom "$T/band.html" report-band
for m in flows bytes packets; do
    grep -q "<path class=\"band\" id=\"band-$m\" data-points=\"336\" d=\"M[0-9]" "$T/report-band.dom" ||
        fail "no band drawn for $m"
done
[ "$(grep -o 'baseline band (anomaly -k 4, UTC)' "$T/report-band.dom" | wc -l)" = 3 ] || fail "band legend"
fs report -r "$T/WB" -t "$BW" -b "$T/prof.txt" --bin 300 -o "$T/band300.html" || fail "report -b --bin 300"
chrome_dom "$T/band300.html" report-band300
grep -q 'id="band-note"[^>]*>no baseline band: the baseline.s bins are 3600 s and these 300 s' "$T/report-band300.dom" ||
    fail "no note for 300-second bins"
! grep -q '<path class="band"' "$T/report-band300.dom" || fail "a band drawn over 300-second bins"
printf 'flowsleuth-baseline 1\nbin 3600x\n' >"$T/bad-prof.txt"
rc=0
fs report -r "$T/WB" -b "$T/bad-prof.txt" -o "$T/badprof.html" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && [ ! -e "$T/badprof.html" ] && grep -qF "bad-prof.txt:2: field 2: bad value '3600x'" "$T/err" ||
    fail "a bad profile: exit $rc, $(cat "$T/err")"
echo "ok   (g) -b: the report's band as anomaly prints it ($(wc -l <"$T/cli.band") spikes), drawn with its legend; --bin 300 says why not; a bad profile refused"
