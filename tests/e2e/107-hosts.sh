#!/bin/sh
# flowsleuth hosts on scan_pcap.py's traffic (web/DNS servers and clients, scans and a
# ping sweep of addresses nobody holds) and the bundled Windows Update capture, metered
# into one store, against tshark's reading of the same packets: the hosts are exactly
# the internal addresses that sent a packet (the scans' dead targets are none), with
# the bytes of every packet to or from them and the times of their first and last
# packet; services as flowsleuth services finds them; every row's evidence re-run by
# print gives its flows; --internal, json, a filter, --max-mem, usage errors.
. "$(dirname "$0")/lib.sh"

need tshark python3
python3 "$FS_SRC/tests/e2e/scan_pcap.py" "$T/scan.pcap" || fail "scan_pcap.py"
wu="$FS_SRC/tests/data/http_windowsupdate_cab_5_connections.pcap"
mkdir "$T/st"
fs meter -r "$T/scan.pcap" -w "$T/st/" || fail "meter scan"
fs meter -r "$wu" -w "$T/st/" || fail "meter wu"
NETS="--internal 10.9.0.0/16 --internal 192.168.0.0/16"

# shellcheck disable=SC2086
fs hosts -r "$T/st" $NETS -o csv >"$T/rows.csv" || fail "hosts"
head -n 1 "$T/rows.csv" | grep -qx 'host,first,last,flows,initiated,answered,bytes,services,evidence' ||
    fail "columns: $(head -n 1 "$T/rows.csv")"
tail -n +2 "$T/rows.csv" | cut -d, -f1-3,7 | sort >"$T/got"

# tshark: internal addresses that sent a packet (the outer header: an ICMP error's
# quoted header is not a packet of its own); bytes of every packet to or from them;
# first packet, and one millisecond past the last
for p in "$T/scan.pcap" "$wu"; do
    tshark -r "$p" -T fields -E occurrence=f -e frame.time_epoch -e ip.src -e ip.dst -e ip.len 2>/dev/null
done | python3 -c '
import sys, datetime
def ours(a): return a.startswith("10.9.") or a.startswith("192.168.")
def iso(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)
seen, b, lo, hi = set(), {}, {}, {}
for line in sys.stdin:
    t, s, d, n = line.rstrip("\n").split("\t")
    if not s: continue
    s_, d_ = s, d
    ms = int(t.split(".")[0]) * 1000 + int((t.split(".")[1] + "000")[:3])
    if ours(s): seen.add(s)
    for h in {s, d}:
        if not ours(h): continue
        b[h] = b.get(h, 0) + int(n)
        lo[h] = min(lo.get(h, ms), ms)
        hi[h] = max(hi.get(h, ms), ms)
for h in sorted(seen):
    print("%s,%s,%s,%d" % (h, iso(lo[h]), iso(hi[h] + 1), b[h]))
' | sort >"$T/want"
[ "$(wc -l <"$T/want")" -ge 10 ] || fail "tshark found too few hosts: $(cat "$T/want")"
expect_same "$T/want" "$T/got"
grep -q '^10\.9\.0\.[5-9],' "$T/got" && fail "a scanned address nobody holds is a host"
echo "ok   $(wc -l <"$T/got") hosts, their bytes and times as tshark counts them"

# services: the same as flowsleuth services on the same flows
# shellcheck disable=SC2086
fs services -r "$T/st" $NETS -o csv | tail -n +2 |
    awk -F, '{ s[$1] = s[$1] (s[$1] == "" ? "" : " ") $2 "/" $3 } END { for (h in s) print h "," s[h] }' |
    sort >"$T/want"
tail -n +2 "$T/rows.csv" | awk -F, '$8 != "" { print $1 "," $8 }' | sort >"$T/got"
expect_same "$T/want" "$T/got"
grep -q '^10\.9\.0\.1,.*,tcp/22 tcp/80,ip 10\.9\.0\.1$' "$T/rows.csv" || fail "10.9.0.1's services"

# evidence: print -t FIRST..LAST EVIDENCE gives the row's flows
n=0
while IFS=, read -r host first last flows _i _a _b _s ev; do
    [ "$host" = host ] && continue
    got=$(fs print -r "$T/st" -t "$first..$last" -o csv "$ev" | tail -n +2 | wc -l)
    [ "$got" = "$flows" ] || fail "evidence '$ev' shows $got flows, the row says $flows"
    n=$((n + 1))
done <"$T/rows.csv"
echo "ok   services as flowsleuth services finds them; $n rows' evidence re-run"

# without --internal: every address that sent something (the scanners too, not their
# dead targets); a filter goes into the evidence; json
fs hosts -r "$T/st" -o csv | cut -d, -f1 | grep -qx 203.0.113.7 || fail "no scanner without --internal"
fs hosts -r "$T/st" -o csv | cut -d, -f1 | grep -q '^10\.9\.0\.[5-9]$' && fail "a dead target without --internal"
fs hosts -r "$T/st" --internal 10.9.0.0/16 -o json 'proto tcp' >"$T/rows.json" || fail "hosts json"
[ "$(wc -l <"$T/rows.json")" = 4 ] || fail "json: $(cat "$T/rows.json")"
grep -q '^{"host":"10.9.0.3",.*"services":"tcp/443","evidence":"(proto tcp) and ip 10.9.0.3"}$' "$T/rows.json" ||
    fail "json row: $(grep 10.9.0.3 "$T/rows.json")"

# --max-mem too small: exit 1, nothing on stdout; usage errors: exit 2
if fs hosts -r "$T/st" --max-mem 1k >"$T/out" 2>"$T/err"; then fail "--max-mem 1k"; else rc=$?; fi
[ "$rc" = 1 ] && [ ! -s "$T/out" ] && grep -q "more flows than --max-mem" "$T/err" || fail "--max-mem: $rc $(cat "$T/err")"
if fs hosts -r "$T/st" --internal 10.9.0.0/33 2>"$T/err"; then fail "bad --internal"; else rc=$?; fi
[ "$rc" = 2 ] || fail "bad --internal: exit $rc"
echo "ok   without --internal, json, a filter, --max-mem, usage errors"
