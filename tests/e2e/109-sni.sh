#!/bin/sh
# The server name (sni) the meter records, against tshark's
# tls.handshake.extensions_server_name and http.host (the port cut) of the first
# ClientHello or request of each TCP connection (tshark reassembling segments):
#  (a) a capture made here in a private network namespace (unshare -n: its own
#      loopback, MTU 300 and offloads off, so ClientHellos of 436-728 bytes span two or
#      three segments): openssl s_client with -servername twice, curl over TLS with
#      --resolve, curl over HTTP with a Host with a port and with an address;
#  (b) every capture in tests/data and $FS_DATA/pcap (HTTP only: the shared captures
#      have no TLS);
#  (c) print shows it, the filter selects by glob, and it survives the store.
. "$(dirname "$0")/lib.sh"
need tshark openssl curl python3 tcpdump
[ "$(id -u)" = 0 ] || skip "needs root (a private network namespace)"
unshare -n true 2>/dev/null || skip "cannot make a network namespace"

cmp_sni() { # PCAP: the (src,sport,dst,dport,name) sets of tshark and of the meter
    tshark -r "$1" -o tcp.desegment_tcp_streams:TRUE \
        -Y 'tcp and (tls.handshake.type == 1 or http.request)' -T fields -E separator=, \
        -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
        -e tls.handshake.extensions_server_name -e http.host 2>/dev/null |
        awk -F, '!seen[$1]++ { n = $8 != "" ? $8 : $9; sub(/:[0-9]+$/, "", n);
            if (n != "") print $2 $3 "," $4 "," $5 $6 "," $7 "," n }' | sort -u >"$T/ts.txt"
    fs meter -r "$1" -o csv:src,sport,dst,dport,sni | tail -n +2 | awk -F, '$5 != ""' |
        sort -u >"$T/fs.txt" || fail "meter -r $1"
    if ! cmp -s "$T/ts.txt" "$T/fs.txt"; then
        diff "$T/ts.txt" "$T/fs.txt" | head -8 >&2
        fail "$(basename "$1"): sni differs from tshark"
    fi
    echo "ok   $(basename "$1"): $(wc -l <"$T/ts.txt") names, as tshark"
}

# (a) the capture, made inside a namespace of its own (nothing leaves it).
cat >"$T/inner.sh" <<'INNER'
set -e
cd "$1"
ip link set lo up
ip link set lo mtu 300
ethtool -K lo tso off gso off >/dev/null 2>&1 || true
openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem -days 2 -subj /CN=test \
    >/dev/null 2>&1
# --immediate-mode: without it libpcap hands packets over a block at a time (up to a
# second later), and the kill at the end lost ClientHellos still in the ring under load
tcpdump -i lo -w cap.pcap -U --immediate-mode -s 0 tcp 2>/dev/null &
td=$!
openssl s_server -accept 127.0.0.1:8443 -cert c.pem -key k.pem -www -quiet >/dev/null 2>&1 &
ss=$!
python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1 &
hs=$!
i=0
until ss -Hltn 'sport = :8080' | grep -q . && ss -Hltn 'sport = :8443' | grep -q .; do
    i=$((i + 1)); [ "$i" -lt 100 ] || exit 3; sleep 0.1
done
i=0 # tcpdump writes the file's header once its socket is open; a fixed 0.5 s was too
until [ "$(stat -c %s cap.pcap 2>/dev/null || echo 0)" -ge 24 ]; do # short under load
    i=$((i + 1)); [ "$i" -lt 200 ] || exit 3; sleep 0.05
done
sleep 0.2
echo | openssl s_client -connect 127.0.0.1:8443 -servername tls1.example.com >/dev/null 2>&1 || true
echo | openssl s_client -connect 127.0.0.1:8443 -servername Big.Example.org \
    -groups x25519:secp256r1:secp384r1:secp521r1:ffdhe2048:ffdhe3072 >/dev/null 2>&1 || true
curl --noproxy '*' -sk --resolve curl.example.net:8443:127.0.0.1 https://curl.example.net:8443/ >/dev/null || true
curl --noproxy '*' -s -H 'Host: web.example:8080' http://127.0.0.1:8080/ >/dev/null || true
curl --noproxy '*' -s http://127.0.0.1:8080/ >/dev/null || true
sleep 0.5
kill "$ss" "$hs"
last=-1 # until the file stops growing (every packet written), 10 s at most
i=0
while [ "$(stat -c %s cap.pcap)" != "$last" ] && [ "$i" -lt 40 ]; do
    last=$(stat -c %s cap.pcap)
    i=$((i + 1))
    sleep 0.25
done
kill "$td"
wait "$td" 2>/dev/null || true
INNER
unshare -n sh "$T/inner.sh" "$T" || fail "the capture in a namespace failed"
split=$(tshark -r "$T/cap.pcap" -Y 'tls.handshake.type == 1 and tcp.segment.count >= 2' \
    2>/dev/null | wc -l)
[ "$split" -eq 3 ] || fail "expected 3 ClientHellos over several segments, tshark shows $split"
cmp_sni "$T/cap.pcap"
[ "$(wc -l <"$T/fs.txt")" -eq 5 ] || fail "expected 5 names, got $(wc -l <"$T/fs.txt")"

# (b) the bundled and shared captures.
for p in "$FS_SRC"/tests/data/*.pcap "$FS_DATA"/pcap/*.pcap; do
    [ -f "$p" ] && cmp_sni "$p"
done

# (c) the store, print and the filter.
fs meter -r "$T/cap.pcap" -w "$T/cap.fsf" || fail "meter -w"
fs print -r "$T/cap.fsf" -o csv:dport,sni 'sni *.example.org or sni web.*' | tail -n +2 |
    sort >"$T/sel.txt"
printf '443,Big.Example.org\n8080,web.example\n' | sed 's/^443/8443/' | sort >"$T/want.txt"
expect_same "$T/want.txt" "$T/sel.txt"
n=$(fs print -r "$T/cap.fsf" -o csv:sni 'sni ?*' | tail -n +2 | wc -l)
[ "$n" -eq 5 ] || fail "sni ?* selected $n flows, not 5"
fs print -r "$T/cap.fsf" -o json:sni 'sni curl.*' | grep -qx '{"sni":"curl.example.net"}' ||
    fail "json sni"
if fs print -r "$T/cap.fsf" 'sni > a' >/dev/null 2>"$T/err"; then
    fail "sni > a was taken"
fi
grep -q "compares with = or != only" "$T/err" || fail "sni > a: $(cat "$T/err")"
echo "ok   store, print and glob filter"
