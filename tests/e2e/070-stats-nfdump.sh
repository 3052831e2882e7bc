#!/bin/sh
# 070: `stats` (-s top-N, -A aggregation) and `count` agree exactly with the same
# statistics computed independently by awk over `flowsleuth print -o csv`.
#
# Data: an fsgen mix of 20000 flows (IPv4 and IPv6, TCP and UDP, over ~200 s) plus
# every capture of $FS_DATA/pcap when present, each metered into its own file and read
# together with several -r. Checked (tbytes = bytes + rbytes, tpackets = packets +
# rpackets, the totals of both directions that stats and count print and rank by):
#   - -s KEY -n 0 -o csv for srcip, dstip, ip (both ends count), dport, port (both
#     ends), proto, srcip4/24 (IPv4 sources masked to /24, IPv6 unchanged): every key
#     with its flows, packets and bytes equals awk's grouping;
#   - -s srcip/tbytes -n 10 and -s dport/flows -n 10: the top-10 values equal awk's ten
#     largest, and each row is one of awk's keys with those numbers; /bytes and
#     /packets (nfdump's names) rank as /tbytes and /tpackets;
#   - -A srcip,dport -o csv: per (src, dport) flows and the summed bytes, packets,
#     rbytes, rpackets;
#   - count --bin 60 --load start (fsgen flows only): flows, packets and bytes per
#     minute of first packet; count --bin 60 (spread): the per-bin sums add up to the
#     totals;
#   - a tiny --max-mem makes -s approximate, says so on stderr and in the output;
#     stats and count take and refuse the same --max-mem sizes;
#   - table and JSON output forms: the same columns in table, csv, tsv and json (json
#     numbers unquoted); usage errors exit 2;
#   - `bytes` in a filter is the forward direction only.
# nfdump is not needed: the nfdump-facing comparison lives in bench/ (see the issue).
. "$(dirname "$0")/lib.sh"

[ -x "$FS_GEN" ] || skip "fsgen not built ($FS_GEN)"
"$FS_GEN" mix "$T/mix.pcap" --flows 20000 --seed 11 --packets-per-flow 8 --rate 100 \
    --snap 128 2>/dev/null
fs meter -r "$T/mix.pcap" -w "$T/mix.fsf"
set -- -r "$T/mix.fsf"
if [ -d "$FS_DATA/pcap" ]; then
    for p in "$FS_DATA"/pcap/*.pcap; do
        [ -e "$p" ] || continue
        n=$(basename "$p" .pcap)
        fs meter -r "$p" -w "$T/$n.fsf" 2>/dev/null && set -- "$@" -r "$T/$n.fsf"
    done
fi
fs print "$@" -o csv >"$T/all.csv"
nflows=$(($(wc -l <"$T/all.csv") - 1))
[ "$nflows" -ge 20000 ] || fail "only $nflows flows metered"

# group KEYEXPR: "key,flows,packets,bytes" per key, sorted. KEYEXPR is awk code that
# calls add(key) once per key the flow counts for (twice for ip/port).
group() {
    awk -F, -v OFS=, '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        function add(k) { fl[k]++; pk[k] += p; by[k] += b }
        function mask24(a,   q) {
            if (a ~ /:/) return a
            split(a, q, ".")
            return q[1] "." q[2] "." q[3] ".0/24"
        }
        { p = $c["packets"] + $c["rpackets"]; b = $c["bytes"] + $c["rbytes"]; '"$1"' }
        END { for (k in fl) print k, fl[k], pk[k], by[k] }' "$T/all.csv" | sort
}

# check NAME AWKEXPR STATKEY: every key of -s STATKEY -n 0 with flows, packets, bytes.
check() {
    group "$2" >"$T/$1.awk"
    fs stats $ARGS -s "$3" -n 0 -o csv | awk -F, -v OFS=, 'NR > 1 { print $2, $3, $5, $7 }' |
        sort >"$T/$1.ours"
    [ -s "$T/$1.awk" ] || fail "$1: awk found nothing"
    expect_same "$T/$1.awk" "$T/$1.ours"
}
ARGS="$*"

check srcip 'add($c["src"])' srcip
check dstip 'add($c["dst"])' dstip/bytes
check ip 'add($c["src"]); add($c["dst"])' ip
check dport 'add($c["dport"])' dport
check port 'add($c["sport"]); add($c["dport"])' port/tpackets
check proto 'add($c["proto"])' proto
check net24 'add(mask24($c["src"]))' srcip4/24

# Top 10: the values are awk's ten largest, and every row matches awk's numbers.
top10() { # name stat-key sort-column(2=flows,4=bytes)
    sort -t, -k"$3","$3"nr "$T/$1.awk" | head -10 | cut -d, -f"$3" >"$T/$1.top.awk"
    fs stats $ARGS -s "$2" -n 10 -o csv | awk -F, -v OFS=, 'NR > 1 { print $2, $3, $5, $7 }' \
        >"$T/$1.top.rows"
    cut -d, -f"$3" "$T/$1.top.rows" >"$T/$1.top.ours"
    expect_same "$T/$1.top.awk" "$T/$1.top.ours"
    while IFS= read -r row; do
        grep -qxF "$row" "$T/$1.awk" || fail "$1 top-10 row '$row' is not awk's"
    done <"$T/$1.top.rows"
}
top10 srcip srcip/tbytes 4
top10 dport dport/flows 2

# -A srcip,dport: flows and the summed counters per combination.
awk -F, -v OFS=, '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { k = $c["src"] OFS $c["dport"]; f[k]++; b[k] += $c["bytes"]; p[k] += $c["packets"]
      rb[k] += $c["rbytes"]; rp[k] += $c["rpackets"] }
    END { for (k in f) print k, f[k], b[k], p[k], rb[k], rp[k] }' "$T/all.csv" |
    sort >"$T/agg.awk"
fs stats $ARGS -A srcip,dport -o csv:src,dport,bytes,packets,rbytes,rpackets |
    awk -F, -v OFS=, 'NR > 1 { print $2, $3, $1, $4, $5, $6, $7 }' | sort >"$T/agg.ours"
expect_same "$T/agg.awk" "$T/agg.ours"

# count --bin 60 --load start: per minute of the first packet (ISO text up to minutes),
# over the fsgen flows only (the shared captures span years of empty minutes).
fs print -r "$T/mix.fsf" -o csv >"$T/mix.csv"
awk -F, -v OFS=, '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { k = substr($c["first"], 1, 16); f[k]++; p[k] += $c["packets"] + $c["rpackets"]
      b[k] += $c["bytes"] + $c["rbytes"] }
    END { for (k in f) print k, f[k], p[k], b[k] }' "$T/mix.csv" | sort >"$T/count.awk"
fs count -r "$T/mix.fsf" --bin 60 --load start -o csv >"$T/count.csv"
awk -F, -v OFS=, 'NR > 1 && $2 > 0 { print substr($1, 1, 16), $2, $3, $4 }' "$T/count.csv" |
    sort >"$T/count.ours"
expect_same "$T/count.awk" "$T/count.ours"
head -1 "$T/count.csv" | grep -qx 'start,flows,tpackets,tbytes,bps,pps' || fail "count csv header"
# spread: same totals, shares only move between bins
fs count -r "$T/mix.fsf" --bin 60 -o csv | awk -F, 'NR > 1 { f += $2; p += $3; b += $4 }
    END { print f "," p "," b }' >"$T/spread.sum"
awk -F, '{ f += $2; p += $3; b += $4 } END { print f "," p "," b }' "$T/count.awk" \
    >"$T/start.sum"
expect_same "$T/start.sum" "$T/spread.sum"

# Bounded memory: a 64 KB budget cannot hold 20000 sources.
fs stats $ARGS -s srcip/bytes --max-mem 64K -o csv >"$T/approx.csv" 2>"$T/approx.err" ||
    fail "approximate stats failed"
grep -q "approximate top-N (Space-Saving" "$T/approx.err" || fail "no approximate notice"
[ "$(wc -l <"$T/approx.csv")" -eq 11 ] || fail "approximate top-10 has not 10 rows"
awk -F, 'NR > 1 && $NF > 0 { e = 1 } END { exit !e }' "$T/approx.csv" ||
    fail "approximate rows carry no error bound"
fs stats $ARGS -s srcip/bytes --max-mem 64K 2>/dev/null | head -1 | grep -q "approximate" ||
    fail "table does not say approximate"

# Output forms: table header line, JSON objects, summary.
fs stats $ARGS -s dstport/tbytes -s proto -n 3 >"$T/table.txt"
grep -q '^Top 3 dstport ordered by tbytes:$' "$T/table.txt" || fail "table header"
grep -q '^Top 3 proto ordered by flows:$' "$T/table.txt" || fail "second table"
grep -q "^Summary: total flows: " "$T/table.txt" || fail "summary"
[ "$(fs stats $ARGS -s ip -n 5 -o json | grep -c '^{"rank":[1-5],"ip":".*}$')" -eq 5 ] || fail "json"
fs count $ARGS --bin 300 -o json | grep -q '^{"start":"' || fail "count json"

# nfdump's order names: /bytes and /packets rank by the totals, as nfdump 1.7.1 ranks
# -s KEY/bytes by in + out bytes; the table says the order's own name.
for o in bytes packets; do
    fs stats $ARGS -s srcip/t$o -n 10 -o csv >"$T/t$o.csv"
    fs stats $ARGS -s srcip/$o -n 10 -o csv >"$T/$o.csv"
    expect_same "$T/t$o.csv" "$T/$o.csv"
    fs stats $ARGS -s srcip/$o -n 1 | head -1 | grep -qx "Top 1 srcip ordered by t$o:" ||
        fail "-s srcip/$o: not ordered by t$o"
done

# One column set in every format: the names of the table's header line, of csv and tsv
# and of every json object are the same, in the same order; json numbers unquoted.
cols_same() { # what: the files $T/$1.{table,csv,tsv,json}, table header on line $2
    sed -n "$2p" "$T/$1.table" | tr -s ' ' '\n' | grep . >"$T/$1.cols.table"
    head -1 "$T/$1.csv" | tr ',' '\n' >"$T/$1.cols.csv"
    head -1 "$T/$1.tsv" | tr '\t' '\n' >"$T/$1.cols.tsv"
    head -1 "$T/$1.json" | tr -d '{}' | tr ',' '\n' | sed 's/^"\([^"]*\)":.*/\1/' \
        >"$T/$1.cols.json"
    expect_same "$T/$1.cols.csv" "$T/$1.cols.table"
    expect_same "$T/$1.cols.csv" "$T/$1.cols.tsv"
    expect_same "$T/$1.cols.csv" "$T/$1.cols.json"
}
for f in table csv tsv json; do
    fs stats $ARGS -s dport/tbytes -n 5 -o "$f" >"$T/st.$f"
    fs count -r "$T/mix.fsf" --bin 60 -o "$f" >"$T/ct.$f"
done
cols_same st 2
cols_same ct 1
head -1 "$T/st.csv" | grep -qx 'rank,dport,flows,flows_pct,tpackets,tpackets_pct,tbytes,tbytes_pct,pps,bps,bpp,first,last,error' ||
    fail "stats csv header: $(head -1 "$T/st.csv")"
grep -q '^{"rank":1,"dport":[0-9]*,"flows":[0-9]*,"flows_pct":[0-9.]*,"tpackets":[0-9]*,.*"tbytes":[0-9]*,.*"error":0}$' \
    "$T/st.json" || fail "stats json: $(head -1 "$T/st.json")"
grep -q '^{"start":"[^"]*","flows":[0-9]*,"tpackets":[0-9]*,"tbytes":[0-9]*,"bps":[0-9]*,"pps":[0-9]*}$' \
    "$T/ct.json" || fail "count json: $(head -1 "$T/ct.json")"
# the tables' rows line up under their header (numbers right-aligned to its end; the
# rows are printed as they come, in widths from a first pass)
aligned() { # file header-line
    awk -v h="$2" 'NR == h { n = index($0, " tbytes ") + 6 }
        NR > h && NF > 3 && $1 != "Summary:" && substr($0, n, 1) == " " { bad = 1 }
        END { exit bad }' "$1"
}
aligned "$T/ct.table" 1 || fail "count table not aligned: $(cat "$T/ct.table")"
aligned "$T/st.table" 2 || fail "stats table not aligned: $(cat "$T/st.table")"

# `bytes` is the forward direction in a filter, as in print: not bytes + rbytes.
want=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["bytes"] > 2000 { n++ } END { print n + 0 }' "$T/all.csv")
got=$(fs count $ARGS --bin 1000000000 -o csv 'bytes > 2000' | awk -F, 'NR > 1 { n += $2 }
    END { print n + 0 }')
[ "$want" = "$got" ] || fail "filter bytes > 2000: $got flows, awk on the forward bytes $want"
tot=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["bytes"] + $c["rbytes"] > 2000 { n++ } END { print n + 0 }' "$T/all.csv")
[ "$tot" != "$want" ] || fail "the data cannot tell forward bytes from totals"

# --max-mem: one parser (core/units) for stats and count: the same sizes taken (a plain
# number is MiB), the same refused with exit 2 and the same words.
for v in 512 1Gi 2G 64MiB 1.5; do
    fs stats -r "$T/mix.fsf" -s proto --max-mem "$v" -o csv >/dev/null ||
        fail "stats --max-mem $v refused"
    fs count -r "$T/mix.fsf" --max-mem "$v" -o csv >/dev/null || fail "count --max-mem $v refused"
done
for v in x 0 -1 10Q; do
    for c in "stats -s proto" count; do
        st=0
        # shellcheck disable=SC2086 # split on purpose
        fs $c -r "$T/mix.fsf" --max-mem "$v" >/dev/null 2>"$T/mm.err" || st=$?
        [ "$st" = 2 ] || fail "$c --max-mem $v: exit $st, want 2"
        grep -q -- "--max-mem needs a size such as 512Mi or 2G, not '$v'" "$T/mm.err" ||
            fail "$c --max-mem $v: $(cat "$T/mm.err")"
    done
done

# Usage errors exit 2 with a message.
for bad in "-s bogus" "-s srcip/bogus" "-s srcip/24" "-A ip" "-s srcip -A srcip" \
    "-s srcip --max-mem x" "-s srcip -o xml" ""; do
    set +e
    # shellcheck disable=SC2086 # split on purpose
    fs stats $ARGS $bad >/dev/null 2>"$T/err.txt"
    rc=$?
    set -e
    [ "$rc" -eq 2 ] || fail "stats $bad: exit $rc, want 2"
    [ -s "$T/err.txt" ] || fail "stats $bad: no message"
done
set +e
fs count $ARGS --bin 0 >/dev/null 2>&1
[ $? -eq 2 ] || fail "count --bin 0 should exit 2"
fs count $ARGS --load middle >/dev/null 2>&1
[ $? -eq 2 ] || fail "count --load middle should exit 2"
set -e
# -o tsv: the rows of -o csv with tabs (the keys and times hold no comma or tab)
fs stats $ARGS -s srcip/bytes -s dport -n 0 -o csv | tr ',' '\t' >"$T/s.csv.tsv"
fs stats $ARGS -s srcip/bytes -s dport -n 0 -o tsv >"$T/s.tsv"
expect_same "$T/s.csv.tsv" "$T/s.tsv"
fs count $ARGS --bin 60 -o csv | tr ',' '\t' >"$T/c.csv.tsv"
fs count $ARGS --bin 60 -o tsv >"$T/c.tsv"
expect_same "$T/c.csv.tsv" "$T/c.tsv"
# -A with -O and -c: the aggregate's rows sorted by the field (largest first, ties in
# the table's order), cut to N; -O flows by the flows column
fs stats $ARGS -A srcip,dport -o csv >"$T/agg.csv"
for o in bytes flows; do
    col=$(head -1 "$T/agg.csv" | tr ',' '\n' | grep -nx "$o" | cut -d: -f1)
    tail -n +2 "$T/agg.csv" | sort -t, -s -k"$col,$col"nr | head -5 >"$T/agg.$o.want"
    fs stats $ARGS -A srcip,dport -O "$o" -c 5 -o csv | tail -n +2 >"$T/agg.$o.got"
    expect_same "$T/agg.$o.want" "$T/agg.$o.got"
done
fs stats $ARGS -s srcip -O bytes >/dev/null 2>&1 && fail "-O without -A should be refused"
echo "ok ($nflows flows)"
