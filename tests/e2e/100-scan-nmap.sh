#!/bin/sh
# flowsleuth scan against real nmap runs, in network namespaces. Three namespaces: the
# server namespace S routes between a client namespace C and a scanner namespace X and
# holds the "server network" NET.1-3 on its loopback (nothing lives at NET.4 and up:
# probes there get no answer). S runs real listeners (python: HTTP on .1:80, a
# banner service on .3:22, a DNS-like UDP responder on .2:53); C is an ordinary client
# doing web, DNS-like and banner requests throughout (and one connection to a closed
# port); X runs nmap three times, each from its own address (the route's source hint):
#   X1  -sS -F over NET.1-20       (fast SYN scan: horizontal and vertical)
#   X2  -sT with --scan-delay over NET.2-3 ports 1-30   (slow connect scan)
#   X3  -sU over NET.2 ports 40-80  (UDP; S answers closed ports with ICMP unreachable)
# Everything is captured by tcpdump -i any in S, metered, and scanned: every scanner
# reported, the client and the servers not. The contacts column (TRW's detection
# delay) is printed for README.
. "$(dirname "$0")/lib.sh"
need ip ethtool tcpdump python3 nmap
. "$(dirname "$0")/netns.sh"

NS_X=""
srv_pid=""
cli_pid=""
dump_pid=""
cleanup() {
    for p in $cli_pid $dump_pid $srv_pid; do stop "$p"; done
    [ -n "$NS_X" ] && ip netns del "$NS_X" 2>/dev/null
    netns_del
}
trap cleanup EXIT INT TERM

netns_setup sc 10.77
k=$(($$ % 250))
NET=10.79.$k
NS_X="fs-e2e-scx-$$"
IF_XS="fsscXS$$"
IF_X="fsscX$$"
ip netns add "$NS_X" || fail "ip netns add $NS_X"
ip link add "$IF_XS" netns "$NS_S" type veth peer name "$IF_X" netns "$NS_X" || fail "veth to X"
in_s ip addr add "10.78.$k.1/24" dev "$IF_XS"
for h in 2 3 4; do ip netns exec "$NS_X" ip addr add "10.78.$k.$h/24" dev "$IF_X"; done
link_up "$NS_S" "$IF_XS"
link_up "$NS_X" "$IF_X"
for h in 1 2 3; do in_s ip addr add "$NET.$h/32" dev lo; done
# Packets to NET.4 and up meet a blackhole route: dropped without a word, as for hosts
# that do not exist (a blackhole drops silently only where forwarding is on; without
# it S would answer host-unreachable). Closed UDP ports answer at once, not one a
# second (the default ICMP rate limit would stretch -sU to a minute).
in_s sysctl -qw net.ipv4.ip_forward=1
in_s ip route add blackhole "$NET.0/24"
in_s sysctl -qw net.ipv4.icmp_ratelimit=0
in_c ip route add "$NET.0/24" via "$SRV"
ip netns exec "$NS_X" ip route add "$NET.0/24" via "10.78.$k.1" src "10.78.$k.2"

cat >"$T/srv.py" <<'END'
import http.server, socket, sys, threading
net = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"x" * 2000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
web = http.server.ThreadingHTTPServer((net + ".1", 80), H)
threading.Thread(target=web.serve_forever, daemon=True).start()
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind((net + ".2", 53))
def answer():
    while True:
        q, a = dns.recvfrom(2048)
        dns.sendto(q + b"answer", a)
threading.Thread(target=answer, daemon=True).start()
ban = socket.socket()
ban.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ban.bind((net + ".3", 22))
ban.listen(64)
print("ready", flush=True)
while True:
    c, _ = ban.accept()
    try:  # scanners reset the connection before the banner goes out
        c.sendall(b"SSH-2.0-test\r\n")
    except OSError:
        pass
    c.close()
END
cat >"$T/cli.py" <<'END'
import socket, sys, time, urllib.request
net, stop = sys.argv[1], sys.argv[2]
n = 0
while True:
    urllib.request.urlopen("http://%s.1/" % net, timeout=5).read()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    u.sendto(b"query%d" % n, (net + ".2", 53))
    u.recvfrom(2048)
    u.close()
    s = socket.create_connection((net + ".3", 22), timeout=5)
    s.recv(100)
    s.close()
    if n == 3:
        try:
            socket.create_connection((net + ".3", 80), timeout=5)
        except OSError:
            pass
    n += 1
    try:
        open(stop).close()
        if n >= 5:
            break
    except OSError:
        pass
    time.sleep(0.2)
print(n, flush=True)
END

ip netns exec "$NS_S" python3 "$T/srv.py" "$NET" >"$T/srv.log" 2>&1 &
srv_pid=$!
n=0
until grep -q ready "$T/srv.log"; do
    kill -0 "$srv_pid" 2>/dev/null || fail "servers died: $(cat "$T/srv.log")"
    n=$((n + 1))
    [ "$n" -gt 200 ] && fail "servers not ready after 10 s"
    sleep 0.05
done

ip netns exec "$NS_S" tcpdump -i any -n -U -Z root -B 65536 -w "$T/cap.pcap" 2>"$T/tcpdump.log" &
dump_pid=$!
n=0
until grep -q "listening on" "$T/tcpdump.log" 2>/dev/null; do
    kill -0 "$dump_pid" 2>/dev/null || fail "tcpdump died: $(cat "$T/tcpdump.log")"
    n=$((n + 1))
    [ "$n" -gt 200 ] && fail "tcpdump not ready after 10 s"
    sleep 0.05
done

in_c python3 "$T/cli.py" "$NET" "$T/cli.stop" >"$T/cli.log" 2>&1 &
cli_pid=$!

# scanner ADDR: X's packets to NET leave from ADDR
scanner() {
    ip netns exec "$NS_X" ip route replace "$NET.0/24" via "10.78.$k.1" src "$1"
}
X1=10.78.$k.2
X2=10.78.$k.3
X3=10.78.$k.4
in_x() { ip netns exec "$NS_X" "$@"; }
scanner "$X1"
in_x nmap -n -Pn -sS -F -T4 --max-retries 1 -S "$X1" -e "$IF_X" "$NET.1-20" >"$T/nmap-sS.log" 2>&1 ||
    fail "nmap -sS: $(cat "$T/nmap-sS.log")"
scanner "$X2"
in_x nmap -n -Pn -sT -p 1-30 --scan-delay 50ms "$NET.2-3" >"$T/nmap-sT.log" 2>&1 ||
    fail "nmap -sT: $(cat "$T/nmap-sT.log")"
scanner "$X3"
in_x nmap -n -Pn -sU -p 40-80 --max-retries 1 -S "$X3" -e "$IF_X" "$NET.2" >"$T/nmap-sU.log" 2>&1 ||
    fail "nmap -sU: $(cat "$T/nmap-sU.log")"
grep -q '^80/tcp *open' "$T/nmap-sS.log" || fail "nmap -sS found no open 80: $(cat "$T/nmap-sS.log")"
grep -q '^22/tcp *open' "$T/nmap-sT.log" || fail "nmap -sT found no open 22: $(cat "$T/nmap-sT.log")"
grep -q '^53/udp *open' "$T/nmap-sU.log" || fail "nmap -sU found no open 53: $(cat "$T/nmap-sU.log")"

: >"$T/cli.stop"
wait "$cli_pid" || fail "client failed: $(cat "$T/cli.log")"
cli_pid=""
# Stop tcpdump once its file has not grown for 1 s (LAB-NOTES).
last=-1
same=0
n=0
while [ "$same" -lt 5 ]; do
    n=$((n + 1))
    [ "$n" -gt 100 ] && fail "capture file still growing after 20 s"
    sz=$(wc -c <"$T/cap.pcap")
    if [ "$sz" = "$last" ]; then same=$((same + 1)); else same=0; fi
    last=$sz
    sleep 0.2
done
stop "$dump_pid"
dump_pid=""

fs meter -r "$T/cap.pcap" -w "$T/s.fl" || fail "meter"
fs scan -r "$T/s.fl" -o csv >"$T/rows.csv" || fail "scan"
cat "$T/rows.csv"
tail -n +2 "$T/rows.csv" | cut -d, -f1 | sort >"$T/got"
printf '%s\n' "$X1" "$X2" "$X3" | sort >"$T/want"
expect_same "$T/want" "$T/got"
# The fast SYN scan meets 17 silent hosts: TRW decides it within a few contacts.
c=$(awk -F, -v s="$X1" '$1 == s { print $7 " " $9 }' "$T/rows.csv")
case $c in
trw*) ;;
*) fail "nmap -sS not decided by TRW: $c" ;;
esac
[ "${c#* }" -ge 4 ] && [ "${c#* }" -le 12 ] || fail "nmap -sS: TRW decided after ${c#* } contacts"
echo "detection delay (contacts until decided), nmap -sS -F over 20 hosts: ${c#* }"
# each row's evidence shows exactly its flows
while IFS=, read -r src first last _t _p _k _m _s _c _f flows ev; do
    [ "$src" = src ] && continue
    got=$(fs print -r "$T/s.fl" -t "$first..$last" -o csv "$ev" | tail -n +2 | wc -l)
    [ "$got" = "$flows" ] || fail "evidence '$ev' shows $got flows, the row says $flows"
done <"$T/rows.csv"
awk -F, -v s="$X1" '$1 == s && $6 != "block" { exit 1 }' "$T/rows.csv" || fail "nmap -sS -F over 20 hosts is no block scan"
# the ordinary client and the servers are no scanners
grep -q "^$CLI," "$T/rows.csv" && fail "the ordinary client $CLI reported"
grep -q "^$NET\." "$T/rows.csv" && fail "a server reported"
grep -q "^10\.78\.$k\.1," "$T/rows.csv" && fail "the router reported"
exit 0
