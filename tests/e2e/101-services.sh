#!/bin/sh
# flowsleuth services on the shared captures (HTTP, SSH and DNS over IPv4 and IPv6),
# against tshark's independent reading of the same packets: the TCP services are the
# (address, port) pairs that sent a SYN+ACK; the UDP services are the DNS servers whose
# responses went back to a query seen in the capture (a response alone, its query not
# captured, is no answer seen). No client port appears; each row's evidence re-run by
# print shows exactly its flows; --authorised marks authorised, unexpected and missing;
# a bad inventory names its file and line.
. "$(dirname "$0")/lib.sh"

need tshark awk
ls "$FS_DATA"/pcap/*.pcap >/dev/null 2>&1 || skip "no captures in $FS_DATA/pcap"
mkdir "$T/st"
for p in "$FS_DATA"/pcap/*.pcap; do
    fs meter -r "$p" -w "$T/st/" 2>/dev/null || fail "meter $p"
done
fs services -r "$T/st" -o csv >"$T/rows.csv" || fail "services"
head -n 1 "$T/rows.csv" | grep -qx 'server,proto,port,clients,flows,bytes,first,last,status,evidence' ||
    fail "columns: $(head -n 1 "$T/rows.csv")"
tail -n +2 "$T/rows.csv" | cut -d, -f1-3 | sort >"$T/got"

# tshark: SYN+ACK senders; DNS servers with a query and its response both captured
for p in "$FS_DATA"/pcap/*.pcap; do
    tshark -r "$p" -Y '(tcp.flags.syn == 1 && tcp.flags.ack == 1) || (udp && dns && !icmp && !icmpv6)' \
        -T fields -e ip.src -e ipv6.src -e tcp.srcport -e udp.srcport -e ip.dst -e ipv6.dst \
        -e udp.dstport -e dns.flags.response 2>/dev/null |
        awk -F'\t' '{ s = ($1 != "" ? $1 : $2); d = ($5 != "" ? $5 : $6)
            if ($3 != "") { print s ",tcp," $3; next }
            if ($8 == "False" || $8 == 0) q[d "," $7 "," s "," $4] = 1
            else r[s "," $4 "," d "," $7] = 1 }
            END { for (k in r) if (k in q) { split(k, f, ","); print f[1] ",udp," f[2] } }'
done | sort -u >"$T/want"
[ "$(grep -c ',tcp,' "$T/want")" -ge 5 ] || fail "tshark found too few SYN+ACKs: $(cat "$T/want")"
[ "$(grep -c ',udp,' "$T/want")" -ge 5 ] || fail "tshark found too few answered DNS servers: $(cat "$T/want")"
expect_same "$T/want" "$T/got"
awk -F, 'NR > 1 && $3 >= 1024 { exit 1 }' "$T/rows.csv" || fail "a client port as a service"

# evidence: print -t FIRST..LAST EVIDENCE shows exactly the row's flows
check_evidence() {
    n=0
    while IFS=, read -r server _p _port _c flows _b first last st ev; do
        [ "$server" = server ] && continue
        [ "$st" = missing ] && continue
        got=$(fs print -r "$T/st" -t "$first..$last" -o csv "$ev" | tail -n +2 | wc -l)
        [ "$got" = "$flows" ] || fail "evidence '$ev' shows $got flows, the row says $flows"
        n=$((n + 1))
    done <"$T/rows.csv"
    [ "$n" -gt 5 ] || fail "only $n rows' evidence checked"
}
check_evidence

# --authorised: a host entry, a prefix entry (two DNS servers), one never seen
cat >"$T/auth.csv" <<'END'
server,proto,port
# the web proxy
192.150.187.43,tcp,80
2001:470::/32,udp,53
10.1.2.3, tcp, 443
END
fs services -r "$T/st" -o csv --authorised "$T/auth.csv" >"$T/rows.csv" || fail "services --authorised"
awk -F, 'NR > 1 { print $1 "," $2 "," $3 "," $9 }' "$T/rows.csv" >"$T/status"
grep -qx '192.150.187.43,tcp,80,authorised' "$T/status" || fail "host entry: $(cat "$T/status")"
grep -qx '2001:470:765b::a25:53,udp,53,authorised' "$T/status" || fail "prefix entry: $(cat "$T/status")"
grep -qx '192.168.0.112,tcp,22,unexpected' "$T/status" || fail "unexpected: $(cat "$T/status")"
[ "$(tail -n 1 "$T/status")" = '10.1.2.3,tcp,443,missing' ] || fail "missing entry last: $(cat "$T/status")"
[ "$(grep -c ',authorised$' "$T/status")" = 2 ] || fail "authorised count: $(cat "$T/status")"
grep -q '^10.1.2.3,tcp,443,0,0,0,,,missing,' "$T/rows.csv" || fail "missing row: $(grep ^10.1.2.3 "$T/rows.csv")"
check_evidence

# --internal: servers inside only
fs services -r "$T/st" -o csv --internal 192.168.0.0/16 | tail -n +2 | cut -d, -f1 | sort -u >"$T/got"
printf '192.168.0.112\n192.168.120.21\n192.168.90.10\n' | sort >"$T/want"
expect_same "$T/want" "$T/got"

# a bad inventory: file and line, exit 2, nothing on stdout
printf 'server,proto,port\n10.0.0.1,tcp,80\n10.0.0.2,icmp,0\n' >"$T/bad.csv"
if fs services -r "$T/st" --authorised "$T/bad.csv" >"$T/out" 2>"$T/err"; then fail "bad inventory accepted"; else rc=$?; fi
[ "$rc" = 2 ] || fail "bad inventory: exit $rc"
grep -q "$T/bad.csv:3: proto 'icmp' is not tcp or udp" "$T/err" || fail "bad inventory: $(cat "$T/err")"
[ -s "$T/out" ] && fail "bad inventory printed rows"
printf '10.0.0.1,tcp,80\n' >"$T/nohead.csv"
fs services -r "$T/st" --authorised "$T/nohead.csv" >/dev/null 2>"$T/err" && fail "inventory without header accepted"
grep -q "nohead.csv:1: the header must be server,proto,port" "$T/err" || fail "no header: $(cat "$T/err")"
exit 0
