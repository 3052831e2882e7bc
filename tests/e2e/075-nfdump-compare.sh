#!/bin/sh
# 075: the same NetFlow v9 records queried by flowsleuth and by nfdump give the same
# answers: record counts, 40 filters (count, packet and byte sums), 14 statistics and
# aggregation queries (every key with its flows, packets and bytes, and the top-N
# order), and `print -b` / `stats -b` pairing softflowd's uniflows into the biflows
# that `flowsleuth meter` makes of the same packets.
#
# Setup (all traffic on 127.0.0.1; every process started here is stopped by the trap):
#   - capture: an fsgen mix of 30000 connections with unique 5-tuples (TCP and UDP,
#     20% IPv6, 8 packets each), ICMP/ICMPv6 echoes from icmp_pcap.py, and every
#     $FS_DATA/pcap/*.pcap when present;
#   - softflowd -r FILE -v 9 (no -a: LAB-NOTES) exports each file to 127.0.0.1, the
#     fsgen mix to port P1 and the others to P2; tcpdump on lo captures the datagrams
#     (softflowd sends as fast as it can, a collector would drop some);
#   - store B: flowsleuth collect -f on that capture (all of it), and store M on the
#     P1 datagrams only (the fsgen mix, for the -b check);
#   - store A: replay_udp.py sends the same datagrams to nfcapd at 4000 datagrams/s,
#     read with TZ=UTC nfdump -R A.
#
# Differences between nfdump's semantics and flowsleuth's, each mapped here and named
# in README.md ("Differences from nfdump"):
#   D1 times: softflowd -r without -a writes uptime-relative times that wrap (pcap
#      time minus its start time, modulo 2^32 ms). flowsleuth takes a firstSwitched
#      larger than sysUpTime as from before the wrap (the past), nfdump as the future,
#      so absolute times of most records differ by exactly 2^32 ms; nfdump prints
#      them to the second (CSV). Durations agree to the millisecond: `duration` is
#      compared, `first`/`last` windows are not.
#   D2 `duration`: a bare number is milliseconds in both; flowsleuth also takes units
#      (`duration > 1s`), nfdump does not: the filters below give nfdump milliseconds.
#   D3 `-s ip4/N`: nfdump has no prefix keys for -s (only -A srcip4/24); its
#      `-A srcip4/24` masks IPv6 addresses too (their low 32 bits), flowsleuth leaves
#      IPv6 addresses whole: the prefix queries compare IPv4 flows (filter `ipv4`).
#   D4 bytes/packets: flowsleuth's stats and -A sum bytes + rbytes; NetFlow uniflows
#      have rbytes = 0, so the sums equal nfdump's ibyt (checked on all records).
#   D5 `-A` output: nfdump -A orders records by its hash and has no flows column in
#      CSV (fmt:%fl gives it); both sides are sorted by key here.
#   D6 ties in -s top-N: flowsleuth orders equal values by key, nfdump by its hash:
#      the full key lists (-n 0) are compared as sets, the top-10 by the ordered
#      values and by each row being in the other tool's full list.
#   D7 ICMPv6 type/code: softflowd exports it in IE 139 (icmpTypeCodeIPv6); flowsleuth
#      decodes it into dport (type * 256 + code, as for ICMP and as its meter does),
#      nfdump 1.7.1 ignores IE 139 and stores dport 0 (tshark decodes the type, so
#      the information is in the datagrams). Port keys exclude `proto icmp6`; ICMP
#      (IE 32) agrees and is compared on its own.
. "$(dirname "$0")/lib.sh"

need softflowd nfcapd nfdump tcpdump python3
[ "$(id -u)" -eq 0 ] || skip "tcpdump on lo needs root"
[ -x "$FS_GEN" ] || skip "fsgen not built ($FS_GEN)"
export TZ=UTC
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=$((29700 + ($$ % 60) * 4))
P1=$BASE
P2=$((BASE + 1))
P3=$((BASE + 2))
TD_PID=""
NF_PID=""
cleanup() {
    for p in $TD_PID $NF_PID; do
        kill "$p" 2>/dev/null || true
    done
    for p in $TD_PID $NF_PID; do
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------- the records
"$FS_GEN" mix "$T/mix.pcap" --flows 30000 --seed 7 --packets-per-flow 8 --snap 128 \
    --rate 300 2>/dev/null
python3 "$HERE/icmp_pcap.py" "$T/icmp.pcap"
# capture_export: softflowd's export of every input, captured on lo. softflowd sends as
# fast as it can; on a loaded machine tcpdump may still drop a few datagrams even with a
# 64 MB buffer, so a capture with drops is made again (up to 3 times), never used.
capture_export() {
    rm -f "$T/export.pcap" "$T/softflowd.log"
    tcpdump -i lo -n -U -s 0 -B 65536 -w "$T/export.pcap" \
        "udp and dst host 127.0.0.1 and (dst port $P1 or dst port $P2)" 2>"$T/tcpdump.log" &
    TD_PID=$!
    n=0
    until grep -q "listening on" "$T/tcpdump.log"; do
        n=$((n + 1))
        [ "$n" -lt 200 ] || fail "tcpdump did not start: $(cat "$T/tcpdump.log")"
        sleep 0.05
    done
    sf() { # PCAP PORT
        softflowd -r "$1" -c none -d -v 9 -m 1000000 -n "127.0.0.1:$2" >>"$T/softflowd.log" 2>&1 ||
            fail "softflowd -r $1 failed: $(tail -3 "$T/softflowd.log")"
    }
    sf "$T/mix.pcap" "$P1"
    sf "$T/icmp.pcap" "$P2"
    if [ -d "$FS_DATA/pcap" ]; then
        for p in "$FS_DATA"/pcap/*.pcap; do
            [ -e "$p" ] && sf "$p" "$P2"
        done
    fi
    # stop tcpdump once its file has stopped growing (LAB-NOTES)
    last=-1
    while :; do
        sleep 0.5
        size=$(wc -c <"$T/export.pcap")
        [ "$size" -eq "$last" ] && break
        last=$size
    done
    kill -TERM "$TD_PID"
    wait "$TD_PID" || true
    TD_PID=""
    grep -q "^0 packets dropped by kernel" "$T/tcpdump.log"
}
tries=0
until capture_export; do
    tries=$((tries + 1))
    [ "$tries" -lt 3 ] || fail "tcpdump dropped packets in 3 captures: $(cat "$T/tcpdump.log")"
    echo "tcpdump dropped packets; capturing again" >&2
done

fs collect -f "$T/export.pcap" -w "$T/B/" --stats 2>"$T/collect.log" ||
    fail "collect failed: $(cat "$T/collect.log")"
tcpdump -r "$T/export.pcap" -w "$T/export-mix.pcap" "dst port $P1" 2>/dev/null
fs collect -f "$T/export-mix.pcap" -w "$T/M.fsf" 2>/dev/null || fail "collect mix failed"

mkdir "$T/A"
nfcapd -w "$T/A" -p "$P3" -b 127.0.0.1 -t 3600 -B 4194304 >"$T/nfcapd.log" 2>&1 &
NF_PID=$!
hexport=$(printf ':%04X' "$P3")
n=0
until awk -v p="$hexport" 'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/udp; do
    n=$((n + 1))
    [ "$n" -lt 200 ] || fail "nfcapd did not bind: $(cat "$T/nfcapd.log")"
    sleep 0.05
done
sent=$(python3 "$HERE/replay_udp.py" "$T/export.pcap" "$P3" 4000)
n=0 # let nfcapd empty its socket, then stop it (it closes its file on SIGTERM)
while awk -v p="$hexport" 'substr($2, length($2) - 4) == p { split($5, q, ":");
    if (q[2] != "00000000") f = 1 } END { exit !f }' /proc/net/udp && [ "$n" -lt 100 ]; do
    n=$((n + 1))
    sleep 0.1
done
sleep 0.3
kill "$NF_PID"
wait "$NF_PID" 2>/dev/null || true
NF_PID=""

# Same records stored: nfdump's count = flowsleuth's = what collect decoded.
nf_all=$(nfdump -R "$T/A" -q -N -o csv | wc -l)
fs_all=$(($(fs print -r "$T/B" -o csv:packets | wc -l) - 1))
decoded=$(sed -n 's/.*total flows \([0-9]*\);.*/\1/p' "$T/collect.log")
[ "$nf_all" -gt 60000 ] || fail "nfcapd stored only $nf_all records ($sent datagrams sent)"
[ "$nf_all" -eq "$fs_all" ] || fail "nfdump reads $nf_all records, flowsleuth $fs_all"
[ "$fs_all" -eq "$decoded" ] || fail "collect decoded $decoded, store holds $fs_all"

# ---------------------------------------------------------------- filters
# cmp_filter NFDUMP_FILTER [FLOWSLEUTH_FILTER]: record count, packet and byte sums.
nfilters=0
nonzero=0
cmp_filter() {
    nf=$(nfdump -R "$T/A" -q -N -o csv "$1" |
        awk -F, 'NF > 10 { n++; p += $12; b += $13 } END { printf "%d %d %d\n", n, p, b }')
    ours=$(fs print -r "$T/B" -o csv:packets,bytes "${2:-$1}" |
        awk -F, 'NR > 1 { n++; p += $1; b += $2 } END { printf "%d %d %d\n", n, p, b }')
    [ "$nf" = "$ours" ] || fail "filter '$1': nfdump (flows packets bytes) $nf, flowsleuth $ours"
    nfilters=$((nfilters + 1))
    case $nf in 0\ *) ;; *) nonzero=$((nonzero + 1)) ;; esac
    printf '  %-58s %s\n' "$1" "$nf"
}
echo "filters (flows packets bytes):"
cmp_filter 'any'
cmp_filter 'src ip 198.18.2.55'
cmp_filter 'dst ip 192.168.120.22'
cmp_filter 'ip 198.18.0.190'
cmp_filter 'host 10.1.0.2'
cmp_filter 'src net 10.1.0.0/16'
cmp_filter 'dst net 198.18.0.0/15'
cmp_filter 'net 192.168.0.0/16'
cmp_filter 'src net 2001:db8:5::/48'
cmp_filter 'net 2001:db8::/32'
cmp_filter 'dst net 2001:db8:c1::/64'
cmp_filter 'port 443'
cmp_filter 'src port 80'
cmp_filter 'dst port 8943'
cmp_filter 'src port < 1024'
cmp_filter 'dst port > 50000'
cmp_filter 'proto tcp'
cmp_filter 'proto udp'
cmp_filter 'proto icmp'
cmp_filter 'proto icmp6'
cmp_filter 'proto icmp and dst port 2048'
cmp_filter 'flags S'
cmp_filter 'flags SAF'
cmp_filter 'flags S and not flags A'
cmp_filter 'flags R'
cmp_filter 'bytes > 1000'
cmp_filter 'bytes > 10k'
cmp_filter 'packets < 3'
cmp_filter 'packets > 5 and bytes < 2000'
cmp_filter 'duration > 1000' 'duration > 1s' # D2
cmp_filter 'duration < 50' 'duration < 50ms'
cmp_filter 'duration > 250 and proto udp' 'duration > 0.25s and proto udp'
cmp_filter 'proto udp and (port 53 or port 443)'
cmp_filter 'not proto tcp'
cmp_filter 'src net 10.1.0.0/16 and not dst port 443'
cmp_filter 'ip in [198.18.2.55 192.168.120.22 10.1.0.2]'
cmp_filter 'port in [22 80 8080]'
cmp_filter 'dst port in [443 8943] and inet6'
cmp_filter 'ipv4 and proto udp'
cmp_filter '(proto tcp or proto icmp) and not (src port 443 or dst port 443)'
cmp_filter 'src ip 172.16.9.1 or dst net 172.16.8.0/24'
# Nearly every filter must select something, so the comparison is not of empty sets.
# Seven filters name hosts, nets and sizes found only in the shared captures; without
# ../shared/data (a clone on its own) they select nothing on both sides.
need_nonzero=$((nfilters - 2))
[ -d "$FS_DATA/pcap" ] || need_nonzero=$((nfilters - 9))
[ "$nonzero" -ge "$need_nonzero" ] ||
    fail "only $nonzero of $nfilters filters match records (need $need_nonzero)"

# ---------------------------------------------------------------- statistics
# cmp_stat NFKEY FSKEY [FILTER]: -s KEY/ORDER: every key's flows, packets, bytes (-n 0,
# as sets), then the top 10: the ordered values equal, each row in the other's list (D6).
nstats=0
cmp_stat() {
    order=${1##*/}
    nfdump -R "$T/A" -q -N -s "$1" -n 0 -o csv ${3:+"$3"} |
        awk -F, 'NR > 1 && NF > 10 { gsub(/ /, ""); print $5 "," $6 "," $8 "," $10 }' |
        sort >"$T/s.nf"
    fs stats -r "$T/B" -s "$2" -n 0 -o csv ${3:+"$3"} |
        awk -F, 'NR > 1 { print $2 "," $3 "," $5 "," $7 }' | sort >"$T/s.fs"
    [ -s "$T/s.nf" ] || fail "-s $1: nfdump printed nothing"
    expect_same "$T/s.nf" "$T/s.fs"
    col=2
    [ "$order" = packets ] && col=3
    [ "$order" = bytes ] && col=4
    nfdump -R "$T/A" -q -N -s "$1" -n 10 -o csv ${3:+"$3"} |
        awk -F, 'NR > 1 && NF > 10 { gsub(/ /, ""); print $5 "," $6 "," $8 "," $10 }' \
            >"$T/t.nf"
    fs stats -r "$T/B" -s "$2" -n 10 -o csv ${3:+"$3"} |
        awk -F, 'NR > 1 { print $2 "," $3 "," $5 "," $7 }' >"$T/t.fs"
    cut -d, -f"$col" "$T/t.nf" >"$T/t.nf.v"
    cut -d, -f"$col" "$T/t.fs" >"$T/t.fs.v"
    expect_same "$T/t.nf.v" "$T/t.fs.v"
    grep -qvxFf "$T/s.nf" "$T/t.fs" && fail "-s $2: a top-10 row is not in nfdump's list"
    grep -qvxFf "$T/s.fs" "$T/t.nf" && fail "-s $1: a top-10 row is not in flowsleuth's list"
    nstats=$((nstats + 1))
    echo "  -s $1 ${3:+'$3' }($(wc -l <"$T/s.nf") keys, top: $(head -1 "$T/t.fs"))"
}
# cmp_agg NFKEYS NFFMT FSKEYS FSFIELDS [FILTER]: -A, every record's key, flows, packets,
# bytes (D5).
cmp_agg() {
    nfdump -R "$T/A" -q -N -6 -A "$1" -o "fmt:$2,%fl,%pkt,%byt" ${5:+"$5"} | tr -d ' ' |
        sort >"$T/a.nf"
    fs stats -r "$T/B" -A "$3" -o "csv:$4,packets,bytes" ${5:+"$5"} |
        awk -F, -v OFS=, 'NR > 1 { f = $1; $1 = ""; sub(/^,/, ""); n = split($0, v, ",")
            s = v[1]; for (i = 2; i <= n - 2; i++) s = s "," v[i]
            print s, f, v[n - 1], v[n] }' | sort >"$T/a.fs"
    [ -s "$T/a.nf" ] || fail "-A $1: nfdump printed nothing"
    expect_same "$T/a.nf" "$T/a.fs"
    nstats=$((nstats + 1))
    echo "  -A $1 ${5:+'$5' }($(wc -l <"$T/a.nf") records)"
}
echo "statistics:"
cmp_stat srcip/bytes srcip/bytes
cmp_stat dstip/packets dstip/packets
cmp_stat ip/bytes ip/bytes
cmp_stat ip/flows ip
cmp_stat dstport/flows dstport 'not proto icmp6' # D7
cmp_stat srcport/bytes srcport/bytes
cmp_stat port/packets port/packets 'not proto icmp6'
cmp_stat dstport/flows dstport 'proto icmp'
cmp_stat srcip/flows srcip 'proto icmp6'

cmp_stat proto/packets proto/packets
cmp_stat srcip/flows srcip 'proto udp'
cmp_agg srcip,dstip %sa,%da srcip,dstip src,dst
cmp_agg proto %pr proto proto
cmp_agg dstport %dp dstport dport 'not proto icmp6' # D7
cmp_agg srcip4/24 %sa srcip4/24 src ipv4 # D3
cmp_agg srcip4/16,dstport %sa,%dp srcip4/16,dport src,dport 'ipv4 and proto tcp'
# -s srcip4/24/bytes (flowsleuth only, D3) equals nfdump's -A srcip4/24 summed the same
fs stats -r "$T/B" -s srcip4/24/bytes -n 0 -o csv ipv4 |
    awk -F, 'NR > 1 { sub(/\/24$/, "", $2); print $2 "," $3 "," $5 "," $7 }' | sort >"$T/p.fs"
nfdump -R "$T/A" -q -N -6 -A srcip4/24 -o "fmt:%sa,%fl,%pkt,%byt" ipv4 | tr -d ' ' | sort >"$T/p.nf"
expect_same "$T/p.nf" "$T/p.fs"
nstats=$((nstats + 1))

# ---------------------------------------------------------------- -b
# softflowd's uniflows of the fsgen mix, paired, equal flowsleuth meter's biflows of
# the same packets (unique 5-tuples, so softflowd's no-expiry-by-time agrees with the
# meter's timeouts): the same connections, initiators, bytes/packets both ways.
F=src,dst,sport,dport,proto,bytes,packets,rbytes,rpackets
fs meter -r "$T/mix.pcap" -o "csv:$F" | tail -n +2 | sort >"$T/b.meter"
fs print -r "$T/M.fsf" -b -o "csv:$F" | tail -n +2 | sort >"$T/b.print"
fs stats -r "$T/M.fsf" -b -o "csv:$F" | tail -n +2 | sort >"$T/b.stats"
[ "$(wc -l <"$T/b.meter")" -eq 30000 ] || fail "meter made $(wc -l <"$T/b.meter") biflows"
expect_same "$T/b.meter" "$T/b.print"
expect_same "$T/b.meter" "$T/b.stats"
fs stats -r "$T/M.fsf" -b -A proto -o csv:proto,bytes,rbytes >"$T/b.agg"
fs meter -r "$T/mix.pcap" -w "$T/meter.fsf"
fs stats -r "$T/meter.fsf" -A proto -o csv:proto,bytes,rbytes >"$T/b.agg.meter"
expect_same "$T/b.agg.meter" "$T/b.agg"
echo "ok ($fs_all records; $nfilters filters, $nstats statistics queries; -b: 30000 biflows)"
