#!/bin/sh
# 076: softflowd -v 5 and -v 10 (IPFIX) into flowsleuth collect and into nfcapd: the same
# flows. (075 does -v 9 and the query comparison; this one the other two dialects.)
#
# For each version V (all traffic on 127.0.0.1; the trap stops every process started):
#   - softflowd -r FILE -v V (no -a: LAB-NOTES) exports an fsgen mix of 30000
#     connections (20% IPv6, 8 packets each), ICMP/ICMPv6 echoes (icmp_pcap.py) and
#     every $FS_DATA/pcap/*.pcap; tcpdump on lo captures the datagrams (a capture with
#     kernel drops is made again);
#   - store B: flowsleuth collect -f on that capture;
#   - store A: replay_udp.py sends the same datagrams to nfcapd -B 8 MB at 4000
#     datagrams/s, read with TZ=UTC nfdump -R A.
# Checked, per IP protocol: the multiset of (src, sport, dst, dport, packets, bytes)
# is the same on both sides, so flows, packets and bytes agree per 5-tuple, and the
# record counts equal what collect decoded and, for the mix, the uniflows of `meter`.
#
# What is mapped, each named in README.md ("Differences from nfdump"):
#   V5a IPv6: NetFlow v5 carries IPv4 only. softflowd -v 5 without -6 ignores IPv6
#       packets ("non-IP"); with -6 it meters them and leaves them out of the export.
#       Both collectors then store exactly the IPv4 uniflows: the v5 store equals the
#       IPv4 part of the v10 store, and the IPv6 uniflows left out are counted here.
#       (An earlier run counted 48,138 records "missing" against the v9 total: that
#       was this, not loss.) Loss is separate: softflowd sends its 1601 datagrams in
#       one burst; nfcapd with the system's default receive buffer (212992 bytes)
#       drops ~1000 of them (kernel drops in /proc/net/udp, stored 17310 of 48018),
#       with -B 8388608 none. Here nfcapd gets -B and a paced replay anyway.
#   V5b times: v5 is sysUptime-relative like v9, with 075's D1: softflowd -r without -a
#       writes uptimes that wrap, nfdump puts a firstSwitched above sysUpTime in the
#       future, flowsleuth in the past, so such records differ by exactly 2^32 ms.
#       Compared: the duration and first modulo 2^32 ms, both to the ms.
#   X1  IPFIX times: softflowd sends flowStartSysUpTime (IE 22) and flowEndSysUpTime
#       (IE 21) with systemInitTimeMilliseconds (IE 160) in an options record. RFC 7012
#       (and tshark) define IE 22 as the first packet and IE 21 as the last. nfdump
#       1.7.1 stores IE 21 as its start and IE 22 as its end (a crafted record with
#       22 = 1000 and 21 = 5000 gives ts = init + 5 s, te = init + 1 s, either order in
#       the template), so the duration of every flow longer than 0 ms is negative
#       (printed as 18446744073709552.000) and `duration > 1000` matches 60109 of its
#       60173 records (flowsleuth: 64). Compared here: nfdump's (te, ts) equals
#       flowsleuth's (first, last) to the millisecond; durations are not compared.
#   X2  ICMPv6 type/code (IE 139): nfdump 1.7.1 ignores it (dport 0), flowsleuth
#       decodes it (as 075's D7): dport is not compared for ICMPv6.
#   X3  softflowd 1.1.0 numbers an IPFIX message with the data records sent up to
#       and including it (RFC 7011 10.3.2 and erratum 4396: those before it), so
#       both collectors count sequence errors on this loss-free stream (nfcapd
#       ~1500 "Sequence Errors"); neither count is checked here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"

need softflowd nfcapd nfdump tcpdump python3 ss
[ "$(id -u)" -eq 0 ] || skip "tcpdump on lo needs root"
[ -x "$FS_GEN" ] || skip "fsgen not built ($FS_GEN)"
export TZ=UTC
HERE=$(cd "$(dirname "$0")" && pwd)
P1=$(free_port 1)
P2=$(free_port 2)
[ "$P1" != "$P2" ] || P2=$((P1 + 1))
P3=$(free_port 3)
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

"$FS_GEN" mix "$T/mix.pcap" --flows 30000 --seed 7 --packets-per-flow 8 --snap 128 \
    --rate 300 2>/dev/null
python3 "$HERE/icmp_pcap.py" "$T/icmp.pcap"
inputs="$T/icmp.pcap"
if [ -d "$FS_DATA/pcap" ]; then
    for p in "$FS_DATA"/pcap/*.pcap; do
        [ -e "$p" ] && inputs="$inputs $p"
    done
fi

# capture_export V [softflowd options]: softflowd's export of every input, captured on
# lo into $T/vV.pcap (the mix to P1, the rest to P2); fails when tcpdump dropped any.
capture_export() {
    v=$1
    shift
    out="$T/v$v.pcap"
    rm -f "$out"
    tcpdump -i lo -n -U -s 0 -B 65536 -w "$out" \
        "udp and dst host 127.0.0.1 and (dst port $P1 or dst port $P2)" 2>"$T/tcpdump.log" &
    TD_PID=$!
    n=0
    until grep -q "listening on" "$T/tcpdump.log"; do
        n=$((n + 1))
        [ "$n" -lt 200 ] || fail "tcpdump did not start: $(cat "$T/tcpdump.log")"
        sleep 0.05
    done
    : >"$T/softflowd-$v.log"
    for p in "$T/mix.pcap" $inputs; do
        port=$P2
        [ "$p" = "$T/mix.pcap" ] && port=$P1
        softflowd -r "$p" -c none -d -v "$v" "$@" -m 1000000 -n "127.0.0.1:$port" \
            >>"$T/softflowd-$v.log" 2>&1 ||
            fail "softflowd -r $p -v $v failed: $(tail -3 "$T/softflowd-$v.log")"
    done
    last=-1
    while :; do # stop tcpdump once its file has stopped growing (LAB-NOTES)
        sleep 0.5
        size=$(wc -c <"$out")
        [ "$size" -eq "$last" ] && break
        last=$size
    done
    kill -TERM "$TD_PID"
    wait "$TD_PID" || true
    TD_PID=""
    grep -q "^0 packets dropped by kernel" "$T/tcpdump.log"
}

# nfcapd_store V: replay $T/vV.pcap to nfcapd into $T/AV; datagrams sent in $T/sent.
nfcapd_store() {
    d="$T/A$1"
    mkdir "$d"
    nfcapd -w "$d" -p "$P3" -b 127.0.0.1 -t 3600 -B 8388608 >"$T/nfcapd-$1.log" 2>&1 &
    NF_PID=$!
    wait_udp "$P3"
    python3 "$HERE/replay_udp.py" "$T/v$1.pcap" "$P3" 4000 >"$T/sent" || fail "replay"
    wait_drained "$P3"
    sleep 0.3
    kill "$NF_PID"
    wait "$NF_PID" 2>/dev/null || true
    NF_PID=""
}

# tuples V PROTO: both sides' "src,sport,dst,dport,packets,bytes[,first,last]" of one
# IP protocol, sorted, into $T/nf.V.PROTO and $T/fs.V.PROTO. Times: nfdump's ts,te in
# ms, ours first,last; for V=10 nfdump's pair is swapped (X1). nfdump prints an ICMP
# dport as TYPE.CODE, flowsleuth as TYPE * 256 + CODE.
tuples() {
    v=$1 pr=$2
    nfdump -R "$T/A$v" -q -N -6 -o "fmt:%sa|%sp|%da|%dp|%pkt|%byt|%ts|%te" "proto $pr" |
        awk -F'|' -v OFS=, -v v="$v" -v pr="$pr" '{
            for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i)
            if ($4 ~ /^[0-9]+\.[0-9]+$/) { split($4, tc, "."); $4 = tc[1] * 256 + tc[2] }
            if (pr == 58 && v == 10) $4 = "-"
            first = $7; last = $8
            if (v == 10) { first = $8; last = $7 }
            print $1, $2, $3, $4, $5, $6, first, last }' | sort >"$T/nf.$v.$pr"
    fs print -r "$T/B$v.fsf" -o csv:src,sport,dst,dport,packets,bytes,first,last \
        "proto $pr" | tail -n +2 |
        awk -F, -v OFS=, -v v="$v" -v pr="$pr" '{
            if (pr == 58 && v == 10) $4 = "-"
            for (i = 7; i <= 8; i++) { sub(/T/, " ", $i); sub(/Z$/, "", $i) }
            print }' | sort >"$T/fs.$v.$pr"
}

# v5_times FILE: first,last -> duration ms, first ms modulo 2^32 (V5b), in place.
v5_times() {
    python3 - "$1" <<'PY'
import calendar, sys, time
def ms(s):
    day, _, frac = s.partition(".")
    return calendar.timegm(time.strptime(day, "%Y-%m-%d %H:%M:%S")) * 1000 + int(frac)
rows = []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split(",")
    a, b = ms(f[6]), ms(f[7])
    rows.append(",".join(f[:6] + [str(b - a), str(a % (1 << 32))]))
open(sys.argv[1], "w").write("".join(r + "\n" for r in sorted(rows)))
PY
}

# compare V: the stores of version V agree per protocol; sets nrec and protos.
compare() {
    v=$1
    nf_all=$(nfdump -R "$T/A$v" -q -N -o csv | wc -l)
    fs_all=$(($(fs print -r "$T/B$v.fsf" -o csv:packets | wc -l) - 1))
    decoded=$(sed -n 's/.*total flows \([0-9]*\);.*/\1/p' "$T/collect-$v.log")
    [ "$nf_all" -eq "$fs_all" ] || fail "v$v: nfdump reads $nf_all records, flowsleuth $fs_all"
    [ "$fs_all" -eq "$decoded" ] || fail "v$v: collect decoded $decoded, store holds $fs_all"
    protos=$(fs print -r "$T/B$v.fsf" -o csv:proto | tail -n +2 | sort -un | tr '\n' ' ')
    sum=0
    for pr in $protos; do
        tuples "$v" "$pr"
        if [ "$v" = 5 ]; then
            v5_times "$T/nf.$v.$pr"
            v5_times "$T/fs.$v.$pr"
        fi
        expect_same "$T/nf.$v.$pr" "$T/fs.$v.$pr"
        sum=$((sum + $(wc -l <"$T/fs.$v.$pr")))
    done
    [ "$sum" -eq "$fs_all" ] || fail "v$v: per-protocol lists hold $sum of $fs_all records"
    nrec=$fs_all
}

# run V [softflowd options]: capture, both stores, comparison.
run() {
    v=$1
    tries=0
    until capture_export "$@"; do
        tries=$((tries + 1))
        [ "$tries" -lt 3 ] || fail "tcpdump dropped packets in 3 captures"
        echo "tcpdump dropped packets; capturing again" >&2
    done
    fs collect -f "$T/v$v.pcap" -w "$T/B$v.fsf" --stats 2>"$T/collect-$v.log" ||
        fail "collect v$v failed: $(cat "$T/collect-$v.log")"
    nfcapd_store "$v"
    compare "$v"
    echo "v$v: $nrec records in $(cat "$T/sent") datagrams, equal per 5-tuple (protocols $protos)"
}

run 10
run 5 -6

# V5a: the mix's IPv4 uniflows and only those, in both dialects; the IPv6 ones counted.
fs meter -r "$T/mix.pcap" -o csv:ipver | tail -n +2 | sort | uniq -c >"$T/meter.ipver"
v4=$(awk '$2 == 4 { print $1 * 2 }' "$T/meter.ipver")
v6=$(awk '$2 == 6 { print $1 * 2 }' "$T/meter.ipver")
tcpdump -r "$T/v5.pcap" -w "$T/v5-mix.pcap" "dst port $P1" 2>/dev/null
tcpdump -r "$T/v10.pcap" -w "$T/v10-mix.pcap" "dst port $P1" 2>/dev/null
fs collect -f "$T/v5-mix.pcap" -w "$T/M5.fsf" 2>/dev/null || fail "collect v5 mix"
fs collect -f "$T/v10-mix.pcap" -w "$T/M10.fsf" 2>/dev/null || fail "collect v10 mix"
m5=$(($(fs print -r "$T/M5.fsf" -o csv:packets | wc -l) - 1))
m10v6=$(($(fs print -r "$T/M10.fsf" -o csv:packets ipv6 | wc -l) - 1))
[ "$m5" -eq "$v4" ] || fail "v5 mix: $m5 records, meter has $v4 IPv4 uniflows"
[ "$m10v6" -eq "$v6" ] || fail "v10 mix: $m10v6 IPv6 records, meter has $v6 IPv6 uniflows"
F=src,sport,dst,dport,proto,packets,bytes # times: V5b vs X1, not comparable
fs print -r "$T/B10.fsf" -o "csv:$F" ipv4 | sort >"$T/v10.ipv4"
fs print -r "$T/B5.fsf" -o "csv:$F" | sort >"$T/v5.all"
expect_same "$T/v10.ipv4" "$T/v5.all"
[ "$(fs print -r "$T/B5.fsf" -o csv:src ipv6 | wc -l)" -eq 1 ] || fail "IPv6 in the v5 store"
echo "v5: the IPv4 records of v10 exactly; $v6 IPv6 uniflows of the mix left out ($v4 kept)"
echo "ok"
