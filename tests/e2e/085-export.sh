#!/bin/sh
# meter -e: IPFIX, NetFlow v9 and v5 export over UDP on 127.0.0.1 (never elsewhere).
#  (a) meter -r PCAP -e URL into `flowsleuth collect -l` gives the flows of
#      meter -r PCAP -w A: IPFIX every field (print -o csv; exporter aside: 127.0.0.1
#      vs none), v9 every field v9 carries with each biflow as its uniflow pair (built
#      from A with awk), v5 the same for IPv4 minus VLAN and packet sizes; v5 counts
#      the IPv6 flows as left out. With `print -b` (if built) the v9 store pairs back
#      into A's biflows per 5-tuple.
#      The same IPFIX again with --export-size 8960 (ipfix9k): same flows.
#  (b) tcpdump on lo during (a), tshark decodes it (-d udp.port==PORT,cflow): no
#      malformed packet and as many data records as we sent; no message above the
#      size asked for (1400 by default), and ipfix9k has messages above 1400 bytes.
#  (c) nfcapd (if installed) receives meter -e nf9:// --rate (nfcapd drops bursts,
#      LAB-NOTES) and nfdump -R shows the same packets/bytes per 5-tuple as A.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need ss awk sort
[ -x "$FS_GEN" ] || skip "no fsgen"

pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# wait_stable FILE: until FILE stops growing for about a second (tcpdump buffers).
wait_stable() {
    last=-1
    same=0
    while [ "$same" -lt 10 ]; do
        s=$(wc -c <"$1")
        if [ "$s" = "$last" ]; then same=$((same + 1)); else same=0; fi
        last=$s
        sleep 0.1
    done
}

"$FS_GEN" mix "$T/mix.pcap" --flows 1500 --seed 85 --snap 128 >/dev/null
inputs="$T/mix.pcap"
for f in http_browse_13_connections dns_ipv4_ipv6_udp_tcp tcp_ssh_retransmissions; do
    [ -f "$FS_DATA/pcap/$f.pcap" ] && inputs="$inputs $FS_DATA/pcap/$f.pcap"
done

have_tcpdump=0
if optional "the tshark check of the export" tcpdump tshark root; then
    have_tcpdump=1
fi

# csv STORE: the flows as CSV rows without the header, sorted.
csv() {
    fs print -r "$1" -o csv -N | tail -n +2 | sort
}

# Columns of print -o csv: 1 first 2 last 3 src 4 dst 5 sport 6 dport 7 proto 8 bytes
# 9 packets 10 rbytes 11 rpackets 12 payload 13 rpayload 14 goodput 15 rgoodput 16 flags
# 17 rflags 18 retrans 19 rretrans 20 minlen 21 maxlen 22 rminlen 23 rmaxlen 24 ipver
# 25 exporter 26 in_if 27 out_if 28 src_as 29 dst_as 30 vlan 31 tos 32 exchange.
# uniflows DIALECT: A's biflows as the uniflows v9 (or v5: IPv4, no vlan/sizes) sends.
uniflows() {
    awk -F, -v OFS=, -v d="$1" '
    function out(a, b, sp, dp, by, pk, fl, mn, mx, ii, oi, sa, da) {
        if (d == "nf5") { mn = 0; mx = 0; vl = 0 } else vl = $30
        print $1, $2, a, b, sp, dp, $7, by, pk, fl, mn, mx, $24, ii, oi, sa, da, vl, $31
    }
    d == "nf5" && $24 != 4 { next }
    {
        out($3, $4, $5, $6, $8, $9, $16, $20, $21, $26, $27, $28, $29)
        icmp = ($7 == 1 || $7 == 58)
        if ($11 > 0)
            out($4, $3, icmp ? $5 : $6, icmp ? $6 : $5, $10, $11, $17, $22, $23, $27, $26, $29, $28)
    }' | sort
}

# carried: the same columns from a store of uniflows.
carried() {
    awk -F, -v OFS=, '{ print $1, $2, $3, $4, $5, $6, $7, $8, $9, $16, $20, $21, $24, $26, $27,
        $28, $29, $30, $31 }' | sort
}

# tshark_check CAP PORT: data records tshark decodes (one srcaddr per record) and
# malformed packets.
tshark_check() {
    tshark -r "$1" -d "udp.port==$2,cflow" -o cflow.max_template_fields:1000 -Y _ws.malformed \
        >"$T/malformed.txt" 2>"$T/tshark.err" || fail "tshark failed on $1"
    [ -s "$T/malformed.txt" ] && { cat "$T/malformed.txt" >&2; fail "tshark: malformed in $1"; }
    tshark -r "$1" -d "udp.port==$2,cflow" -o cflow.max_template_fields:1000 -T fields \
        -e cflow.srcaddr -e cflow.srcaddrv6 2>/dev/null |
        tr "\t," "\n\n" | grep -c . || true
}

n=0
for pcap in $inputs; do
    name=$(basename "$pcap" .pcap)
    fs meter -r "$pcap" -w "$T/$name.A" || fail "meter -w $name"
    csv "$T/$name.A" >"$T/$name.A.csv"
    nflows=$(wc -l <"$T/$name.A.csv")
    nv6=$(awk -F, '$24 == 6' "$T/$name.A.csv" | wc -l)
    for d in ipfix nf9 nf5 ipfix9k; do
        # ipfix9k: IPFIX in messages of up to 8960 bytes (meter --export-size).
        scheme=${d%9k} size=
        [ "$d" = ipfix9k ] && size="--export-size 8960"
        port=$(free_port $n)
        n=$((n + 1))
        # Not through fs(): a function in the background is a subshell, and $! would
        # be the subshell, not the collector that SIGTERM must reach.
        $FS_EXEC_PREFIX "$FS_BIN" collect -l "127.0.0.1:$port" -w "$T/$name.$d.B" \
            2>"$T/$name.$d.collect.err" &
        cpid=$!
        pids="$pids $cpid"
        wait_udp "$port"
        cap="$T/$name.$d.cap"
        tpid=
        if [ "$have_tcpdump" = 1 ]; then
            tcpdump -i lo -U -n -w "$cap" "udp and dst port $port" 2>"$T/tcpdump.err" &
            tpid=$!
            pids="$pids $tpid"
            wait_for_file "$cap"
            sleep 0.5 # tcpdump opens the file before its filter is live
        fi
        # shellcheck disable=SC2086
        fs meter -r "$pcap" -e "$scheme://127.0.0.1:$port" $size --stats 2>"$T/$name.$d.stats" \
            >"$T/$name.$d.out" ||
            fail "meter -e $d $name"
        [ -s "$T/$name.$d.out" ] && fail "meter -e alone printed flows"
        sent=$(sed -n 's/.*records sent \([0-9]*\).*/\1/p' "$T/$name.$d.stats")
        left=$(sed -n 's/.*left out \([0-9]*\).*/\1/p' "$T/$name.$d.stats")
        if [ -n "$tpid" ]; then
            wait_stable "$cap"
            kill -INT "$tpid"
            wait "$tpid" || true
        fi
        # SIGTERM makes the collector read what is queued and close the store.
        wait_drained "$port"
        kill -TERM "$cpid"
        wait "$cpid" || fail "collect exited non-zero ($name $d)"
        case $d in
        ipfix | ipfix9k)
            [ "$sent" = "$nflows" ] || fail "$name $d: sent $sent records of $nflows flows"
            # not the exporter (25), nor sni (42): the default IPFIX export leaves it out (--export-fields sni, e2e 119)
            csv "$T/$name.$d.B" | cut -d, -f1-24,26-41 | sort >"$T/got.csv"
            cut -d, -f1-24,26-41 "$T/$name.A.csv" | sort >"$T/want.csv"
            expect_same "$T/want.csv" "$T/got.csv"
            ;;
        nf9 | nf5)
            uniflows $d <"$T/$name.A.csv" >"$T/want.csv"
            csv "$T/$name.$d.B" | carried >"$T/got.csv"
            expect_same "$T/want.csv" "$T/got.csv"
            [ "$sent" = "$(wc -l <"$T/want.csv")" ] || fail "$name $d: sent $sent"
            if [ $d = nf5 ]; then
                [ "$left" = "$nv6" ] || fail "$name nf5: left out $left, IPv6 flows $nv6"
            fi
            ;;
        esac
        if [ -n "$tpid" ]; then
            got=$(tshark_check "$cap" "$port")
            [ "$got" = "$sent" ] || fail "$name $d: tshark decodes $got records, we sent $sent"
            # The largest UDP payload: at most the message size asked for (1400 by
            # default), and above 1400 with --export-size 8960 when there is enough.
            big=$(tshark -r "$cap" -T fields -e udp.length 2>/dev/null | sort -n | tail -1)
            max=1400
            [ "$d" = ipfix9k ] && max=8960
            [ "$((big - 8))" -le "$max" ] || fail "$name $d: a $((big - 8))-byte message, cap $max"
            if [ "$d" = ipfix9k ] && [ "$nflows" -gt 1000 ] && [ "$((big - 8))" -le 1400 ]; then
                fail "$name ipfix9k: no message above 1400 bytes"
            fi
        fi
        echo "ok   $name $d: $nflows flows, $sent records${tpid:+, tshark agrees}"
    done
done

# print -b pairs the v9 uniflows back into A's biflows per 5-tuple.
{
    key='{ print $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
    fs print -r "$T/mix.nf9.B" -b -o csv -N | tail -n +2 | awk -F, "$key" | sort >"$T/b.txt"
    awk -F, "$key" "$T/mix.A.csv" | sort >"$T/a.txt"
    expect_same "$T/a.txt" "$T/b.txt"
    echo "ok   print -b pairs the nf9 uniflows into the metered biflows"
}

# (c) nfcapd + nfdump: same packets and bytes per 5-tuple as our own store.
optional "(c) nfcapd" nfcapd nfdump || exit 0
port=$(free_port 99)
mkdir -p "$T/nfcapd"
nfcapd -w "$T/nfcapd" -b 127.0.0.1 -p "$port" >"$T/nfcapd.log" 2>&1 &
npid=$!
pids="$pids $npid"
wait_udp "$port"
fs meter -r "$T/mix.pcap" -e "nf9://127.0.0.1:$port" --rate 5000 || fail "meter -e nfcapd"
wait_drained "$port"
kill -TERM "$npid"
wait "$npid" || true
TZ=UTC nfdump -R "$T/nfcapd" -q -o csv >"$T/nfdump.csv" 2>"$T/nfdump.err" || fail "nfdump -R"
# nfdump csv: ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,... ; proto by name.
awk -F, 'NF > 12 && $4 != "sa" {
    p = $8; if (p == "TCP") p = 6; else if (p == "UDP") p = 17; else if (p == "ICMP") p = 1;
    else if (p == "ICMP6") p = 58;
    print $4, $5, $6, $7, p, $12, $13 }' "$T/nfdump.csv" | sort >"$T/nfdump.txt"
uniflows nf9 <"$T/mix.A.csv" | awk -F, '{ print $3, $4, $5, $6, $7, $9, $8 }' | sort >"$T/own.txt"
expect_same "$T/own.txt" "$T/nfdump.txt"
echo "ok   nfcapd/nfdump: $(wc -l <"$T/own.txt") uniflows, same packets and bytes per 5-tuple"
