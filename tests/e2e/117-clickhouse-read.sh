#!/bin/sh
# -r clickhouse://... on the reading commands, against a private ClickHouse server
# (Debian's 18.16 on loopback, tests/e2e/clickhouse.sh): a store (fsgen mix through
# meter) inserted with `clickhouse insert`, then for every filter below print -o csv
# (sorted), count (a GROUP BY of the bins) and stats -s srcip give the same answers from the store and from the
# server; --stats tells the rows the server sent, which must be what the local filter
# keeps whenever the filter went into the WHERE (the SQL alone selects the same rows);
# filters with a computed term (cid) leave the WHERE to the time window and still
# answer the same; hosts, services and scan agree; a cluster's Distributed table reads
# the same. A wrong password is one message without the password; a server that is
# down, a missing database or a SELECT the server stops is an error and exit status 1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
. "$(dirname "$0")/clickhouse.sh"
need ss awk curl sort
command -v clickhouse-server >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
need clickhouse-server
[ -x "$FS_GEN" ] || skip "no fsgen"

trap 'ch_stop "$T/ch"' EXIT INT TERM
ch_start "$T/ch"
URL="clickhouse://127.0.0.1:$CH_HTTP/fsr"

"$FS_GEN" mix "$T/mix.pcap" --flows 3000 --seed 117 --snap 128 --rate 20 --v6 30 >/dev/null
fs meter -r "$T/mix.pcap" -w "$T/S/" || fail "meter"
fs clickhouse schema --apply "$URL" 2>/dev/null || fail "schema"
fs clickhouse insert -r "$T/S" --sink "$URL" --sink-spool "$T/spool" 2>/dev/null || fail "insert"

# The time window's edges: inside the data (2023-11-14T22:13:20 .. 22:16:15).
W1=2023-11-14T22:14:00..2023-11-14T22:15:00
W2=@1700000030..
W3=..2023-11-14T22:13:50.5

nf=0
pushed=0
# check WINDOW FILTER...: the same answers from the store and the server.
check() {
    w=$1
    shift
    nf=$((nf + 1))
    set -- ${w:+-t "$w"} "$@"
    fs print -r "$T/S" -o csv "$@" >"$T/a.raw" || fail "print store: $*"
    fs print -r "$URL" -o csv --stats "$@" >"$T/b.raw" 2>"$T/b.err" ||
        fail "print clickhouse: $* ($(cat "$T/b.err"))"
    sort "$T/a.raw" >"$T/a.csv"
    sort "$T/b.raw" >"$T/b.csv"
    expect_same "$T/a.csv" "$T/b.csv"
    fs count -r "$T/S" "$@" >"$T/a.cnt" || fail "count store: $*"
    fs count -r "$URL" "$@" >"$T/b.cnt" || fail "count clickhouse: $*"
    expect_same "$T/a.cnt" "$T/b.cnt"
    fs stats -r "$T/S" -s srcip -n 20 "$@" >"$T/a.st" || fail "stats store: $*"
    fs stats -r "$URL" -s srcip -n 20 "$@" >"$T/b.st" || fail "stats clickhouse: $*"
    expect_same "$T/a.st" "$T/b.st"
    kept=$(($(wc -l <"$T/a.csv") - 1))
    got=$(sed -n 's/.*rows received \([0-9]*\),.*/\1/p' "$T/b.err")
    [ -n "$got" ] || fail "--stats said no rows received: $(cat "$T/b.err")"
    if grep -q "WHERE: time window and filter" "$T/b.err"; then
        [ "$got" -eq "$kept" ] || fail "the WHERE of '$*' selected $got rows, the filter keeps $kept"
        pushed=$((pushed + 1))
    else
        [ "$got" -ge "$kept" ] || fail "'$*': $got rows received, fewer than the $kept kept"
    fi
    [ "$kept" -gt 0 ] || [ -n "${EMPTY_OK:-}" ] || fail "'$*' keeps no row: a useless case"
}

check "" ""
check "" port 443
check "" dst port 53
check "" src port 1024 and dst port 80
check "" not port 443
check "" port in [22 123 8080]
check "" dport in [53, 80] and not proto tcp
check "" proto udp
check "" proto tcp and flags S
check "" flags SA
check "" not flags F
check "" ipv6
check "" ipv4 and bytes '>' 10000
check "" src net 10.1.0.0/24
check "" dst net 198.18.0.0/21
check "" dst net 198.18.6.0/23 or dst net 198.18.10.0/24
check "" ip 10.1.0.2
check "" dst ip in [198.18.6.229 198.18.0.126 198.18.11.117]
check "" src net 2001:db8::/32
check "" dst net 2001:db8:5::/112
check "" net 2001:db8:c1::/48 and dport 443
check "" packets '>=' 20
check "" packets '<' 5 or rbytes '>' 100000
check "" bytes '>' 1k and bytes '<=' 2k
check "" rpackets = 4
check "" duration '>' 1s
check "" bpp '<' 200
check "" minlen != 52
check "" maxlen = 1500 and rmaxlen = 1500
check "" 'not (port 443 or port 80)'
check "" '(proto udp or flags R) and not ipv6'
check "$W1" ""
check "$W2" port 80
check "$W3" dst net 198.18.0.0/16 and packets '>' 10
check "$W1" 'not ipv4 or dport 22'
EMPTY_OK=1 check "" port 9 and port 10
check "" any
[ "$pushed" -ge 30 ] || fail "only $pushed filters went into the WHERE"
echo "ok   $nf filters (+ windows) give the same print, count and stats from the store and clickhouse://; $pushed of them in the WHERE with as many rows received as kept"

# stats -s as a GROUP BY on the server (clickhouse/group.c): keys that are columns, one-
# and two-sided, every order, filters and windows; byte for byte the store's output, and
# --stats says the server grouped. A prefix key or a computed filter term reads the rows.
ng=0
gcheck() {
    w=$1
    shift
    set -- ${w:+-t "$w"} "$@"
    fs stats -r "$T/S" "$@" >"$T/a.gs" || fail "stats store: $*"
    fs stats -r "$URL" --stats "$@" >"$T/b.gs" 2>"$T/b.gerr" ||
        fail "stats clickhouse: $* ($(cat "$T/b.gerr"))"
    expect_same "$T/a.gs" "$T/b.gs"
    grep -q "GROUP BY on the server" "$T/b.gerr" || fail "no GROUP BY for '$*': $(cat "$T/b.gerr")"
    ng=$((ng + 1))
}
gcheck "" -s srcip -n 15
gcheck "" -s dstip/tbytes -n 12
gcheck "" -s ip/tpackets -n 25 proto tcp
gcheck "" -s port -n 30 ipv6 or dport 53
gcheck "" -s srcport/bps -n 10
gcheck "" -s dstport/pps -n 10 not proto udp
gcheck "" -s proto/bpp -n 5
gcheck "" -s srcas -s dstas/tbytes -n 5
gcheck "" -s as -n 0 -o csv
gcheck "" -s dport -s srcip/flows -s sport/tpackets -n 8 -o json dst net 198.18.0.0/16
gcheck "" -s tos -N -n 0
gcheck "" -s dstip/bps -n 40 -o tsv bytes '>' 1k
gcheck "$W1" -s srcip/tbytes -n 10
gcheck "$W3" -s port -n 10 packets '>' 10
gcheck "" -s exporter -n 3
gcheck "" -s srcip port 9 and port 10
fs stats -r "$URL" --stats -s srcip4/24 -n 5 >"$T/b.gs" 2>"$T/b.gerr" || fail "stats srcip4/24"
grep -q "rows received" "$T/b.gerr" || fail "srcip4/24 did not read the rows: $(cat "$T/b.gerr")"
fs stats -r "$T/S" -s srcip4/24 -n 5 >"$T/a.gs" || fail "stats store srcip4/24"
expect_same "$T/a.gs" "$T/b.gs"
# Two servers (here the same one twice): every key comes over and is summed here.
fs stats -r "$T/S" -r "$T/S" -s ip/tbytes -n 10 >"$T/a.gs" || fail "stats store twice"
fs stats -r "$URL" -r "$URL" --stats -s ip/tbytes -n 10 >"$T/b.gs" 2>"$T/b.gerr" ||
    fail "stats two URLs: $(cat "$T/b.gerr")"
expect_same "$T/a.gs" "$T/b.gs"
grep -q "inputs 2; GROUP BY on the server" "$T/b.gerr" || fail "two URLs: $(cat "$T/b.gerr")"
gdead=$(free_port 25)
if fs stats -r "clickhouse://127.0.0.1:$gdead/fsr" -s srcip >"$T/gd.out" 2>"$T/gd.err"; then
    fail "stats from a server that is down succeeded"
fi
grep -q "clickhouse://127.0.0.1:$gdead/fsr" "$T/gd.err" || fail "stats down: $(cat "$T/gd.err")"
[ ! -s "$T/gd.out" ] || fail "stats from a server that is down printed: $(cat "$T/gd.out")"
echo "ok   $ng stats -s runs as a GROUP BY on the server give the store's output; srcip4/24 reads the rows"

# count as a GROUP BY of the bins on the server (clickhouse/series.c): bins from 1 s to
# a day (7 and 13 s: aligned to the epoch, not to the minute), both loads, every
# format, filters and windows; byte for byte the store's output, and --stats says the
# server grouped. With --load spread the flows over several bins come as rows.
nc=0
ccheck() {
    w=$1
    shift
    set -- ${w:+-t "$w"} "$@"
    fs count -r "$T/S" "$@" >"$T/a.cs" || fail "count store: $*"
    fs count -r "$URL" --stats "$@" >"$T/b.cs" 2>"$T/b.cerr" ||
        fail "count clickhouse: $* ($(cat "$T/b.cerr"))"
    expect_same "$T/a.cs" "$T/b.cs"
    grep -q "GROUP BY bin on the server" "$T/b.cerr" || fail "no GROUP BY for '$*': $(cat "$T/b.cerr")"
    nc=$((nc + 1))
}
ccheck "" --bin 60
ccheck "" --bin 1 proto tcp
grep -q "spread over bins received [1-9]" "$T/b.cerr" || fail "--bin 1: no flow over several bins: $(cat "$T/b.cerr")"
ccheck "" --bin 7 --load start port 443
ccheck "" --bin 13 duration '>' 1s
ccheck "" --bin 10 -o csv dst net 198.18.0.0/16
ccheck "" --bin 300 -o json ipv6 or dport 53
ccheck "" --bin 3600 -N
ccheck "" --bin 86400 --load start -o tsv
ccheck "" -N bytes '>' 1k
ccheck "$W1" --bin 5
ccheck "$W2" --bin 2 --load start not proto udp
ccheck "$W3" --bin 1 -o csv packets '>' 10
ccheck "" --bin 30 port 9 and port 10
# Two servers (here the same one twice): their bins are summed here.
fs count -r "$T/S" -r "$T/S" --bin 20 >"$T/a.cs" || fail "count store twice"
fs count -r "$URL" -r "$URL" --bin 20 --stats >"$T/b.cs" 2>"$T/b.cerr" ||
    fail "count two URLs: $(cat "$T/b.cerr")"
expect_same "$T/a.cs" "$T/b.cs"
grep -q "inputs 2; GROUP BY bin on the server" "$T/b.cerr" || fail "two URLs: $(cat "$T/b.cerr")"
# More bins than --max-mem holds: the same message and status either way.
fs count -r "$T/S" --bin 1 --max-mem 1k >/dev/null 2>"$T/a.full" && fail "count store fit in 1k"
fs count -r "$URL" --bin 1 --max-mem 1k >"$T/b.full.out" 2>"$T/b.full" && fail "count clickhouse fit in 1k"
expect_same "$T/a.full" "$T/b.full"
[ ! -s "$T/b.full.out" ] || fail "count over --max-mem printed: $(cat "$T/b.full.out")"
# A computed term (cid) cannot go into the WHERE: the rows come, counted here, the same.
cidc=$(fs print -r "$T/S" -o fmt:cid -N | sed -n 2p)
fs count -r "$T/S" --bin 10 cid "$cidc" or port 22 >"$T/a.cs" || fail "count store cid"
fs count -r "$URL" --bin 10 --stats cid "$cidc" or port 22 >"$T/b.cs" 2>"$T/b.cerr" ||
    fail "count clickhouse cid: $(cat "$T/b.cerr")"
expect_same "$T/a.cs" "$T/b.cs"
grep -q "rows received .*WHERE: time window (filter run here)" "$T/b.cerr" ||
    fail "count cid did not read the rows: $(cat "$T/b.cerr")"
! grep -q "GROUP BY" "$T/b.cerr" || fail "count cid grouped on the server: $(cat "$T/b.cerr")"
echo "ok   $nc count runs as a GROUP BY of the bins on the server give the store's output; a cid filter reads the rows, the same"

# A computed term (cid) stays local: the WHERE is the window alone, the answers equal.
cid=$(fs print -r "$T/S" -o fmt:cid -N | sed -n 2p)
check "" cid "$cid" or port 22
grep -q "WHERE: time window (filter run here)" "$T/b.err" || fail "cid went into the WHERE: $(cat "$T/b.err")"
echo "ok   a cid filter runs here: $(grep clickhouse "$T/b.err")"

# The other readers (the detectors, through the same input layer) take the URL too.
for c in hosts services scan; do
    fs $c -r "$T/S" >"$T/a.$c" || fail "$c store"
    fs $c -r "$URL" >"$T/b.$c" || fail "$c clickhouse"
    expect_same "$T/a.$c" "$T/b.$c"
done
echo "ok   hosts, services and scan from clickhouse:// equal to the store's ($(wc -l <"$T/b.hosts") hosts)"

# Errors: a wrong password (never printed), a server that is not there.
if fs count -r "clickhouse://fs:wr0ngpass@127.0.0.1:$CH_HTTP/fsr" >/dev/null 2>"$T/pw.err"; then
    fail "a wrong password read rows"
fi
grep -q "Wrong password" "$T/pw.err" || fail "password: $(cat "$T/pw.err")"
! grep -q wr0ngpass "$T/pw.err" || fail "the password was printed: $(cat "$T/pw.err")"
fs count -r "$T/S" >"$T/a.cnt" || fail "count store"
fs count -r "clickhouse://fs:s3cret@127.0.0.1:$CH_HTTP/fsr" >"$T/c.cnt" || fail "user fs"
expect_same "$T/a.cnt" "$T/c.cnt"
dead=$(free_port 24)
if fs count -r "clickhouse://127.0.0.1:$dead/fsr" >/dev/null 2>"$T/down.err"; then
    fail "a server that is down read as empty"
fi
grep -q "clickhouse://127.0.0.1:$dead/fsr" "$T/down.err" || fail "down: $(cat "$T/down.err")"
if fs count -r "clickhouse://127.0.0.1:$CH_HTTP/nosuchdb" >/dev/null 2>"$T/db.err"; then
    fail "a missing database read as empty"
fi
echo "ok   errors: $(head -1 "$T/pw.err"); $(head -1 "$T/down.err"); $(head -1 "$T/db.err")"

# Through a Distributed table (the cluster fs_one: this server as its one shard), as a
# cluster is read: the WHERE goes to the shards, the answers are the same.
fs clickhouse schema --cluster fs_one --apply "clickhouse://127.0.0.1:$CH_HTTP/fsc" 2>/dev/null ||
    fail "cluster schema"
fs clickhouse insert -r "$T/S" --sink "clickhouse://127.0.0.1:$CH_HTTP/fsc?table=flows_local" \
    --sink-spool "$T/spc" 2>/dev/null || fail "insert into flows_local"
for f in "" "dst net 198.18.0.0/21 and dport in [53 80]" "src net 2001:db8::/32 and flags S"; do
    fs print -r "$T/S" -o csv $f >"$T/a.raw" || fail "print store: $f"
    fs print -r "clickhouse://127.0.0.1:$CH_HTTP/fsc" -o csv --stats $f >"$T/d.raw" 2>"$T/d.err" ||
        fail "print Distributed: $f ($(cat "$T/d.err"))"
    sort "$T/a.raw" >"$T/a.csv"
    sort "$T/d.raw" >"$T/d.csv"
    expect_same "$T/a.csv" "$T/d.csv"
    got=$(sed -n 's/.*rows received \([0-9]*\),.*/\1/p' "$T/d.err")
    [ "$got" -eq $(($(wc -l <"$T/a.csv") - 1)) ] || fail "Distributed '$f': $got rows received"
done
echo "ok   the Distributed table of a cluster reads the same ($(wc -l <"$T/d.csv") lines for the last filter)"

# A server that stops the SELECT (a user whose profile caps the result rows): its text,
# exit status 1 (print: count would ask for a row a bin, under the cap). (An error after the first megabyte of rows comes with status 200 and
# its text after the rows; read.c says that text too, checked by hand on 200,000 rows.)
ch_stop "$T/ch"
sed -i 's|</profiles>|<lim><max_threads>2</max_threads><max_result_rows>1000</max_result_rows><result_overflow_mode>throw</result_overflow_mode></lim></profiles>|; s|</users>|<lim><password></password><networks><ip>127.0.0.1</ip></networks><profile>lim</profile><quota>default</quota></lim></users>|' "$T/ch/users.xml"
ch_start "$T/ch"
if fs print -r "clickhouse://lim@127.0.0.1:$CH_HTTP/fsr" >/dev/null 2>"$T/lim.err"; then
    fail "a SELECT the server stopped read as complete"
fi
grep -q "clickhouse://lim@127.0.0.1:$CH_HTTP/fsr: .*Limit for result exceeded" "$T/lim.err" ||
    fail "limit: $(cat "$T/lim.err")"
# count's GROUP BY sends a row a bin, under the cap; with 1-second bins the flows over
# several bins come as rows, past it: the same text, nothing printed.
fs count -r "clickhouse://lim@127.0.0.1:$CH_HTTP/fsr" --bin 300 --load start >"$T/lim.cnt" ||
    fail "count's GROUP BY as lim"
fs count -r "$T/S" --bin 300 --load start >"$T/a.cnt" || fail "count store, --load start"
expect_same "$T/a.cnt" "$T/lim.cnt"
if fs count -r "clickhouse://lim@127.0.0.1:$CH_HTTP/fsr" --bin 1 >"$T/lim.cnt" 2>"$T/limc.err"; then
    fail "count's rows past the cap read as complete"
fi
grep -q "clickhouse://lim@127.0.0.1:$CH_HTTP/fsr: .*Limit for result exceeded" "$T/limc.err" ||
    fail "count limit: $(cat "$T/limc.err")"
[ ! -s "$T/lim.cnt" ] || fail "count past the cap printed: $(cat "$T/lim.cnt")"
fs count -r "$URL" port 53 >"$T/after.cnt" || fail "count after the restart"
echo "ok   a stopped SELECT: $(head -1 "$T/lim.err")"
