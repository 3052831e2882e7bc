#!/bin/sh
# 060: `flowsleuth meter -i IFACE` live capture, checked against tcpdump on the same interface.
#
# Two network namespaces joined by a veth pair (10.202.X.1 server, 10.202.X.2 client,
# nothing routed outside them), offloads off (wire-sized packets) and IPv6 disabled on
# both ends, so no neighbour discovery / router solicitation / MLD appears and the traffic
# on the link is only what this test sends (plus ARP, which is not IP and never a flow).
# In the server namespace, on the server's veth, at the same time:
#   flowsleuth meter -i VETH -w live.fsf --stats   (background; ready when it holds a
#                                                  packet socket bound to VETH and has its
#                                                  SIGTERM handler installed)
#   tcpdump -w cap.pcap                            (ready when it prints "listening on")
# Traffic, all between the two namespace addresses: ICMP echo requests (python3 raw
# socket; every one answered), a UDP exchange (python3: client sends datagrams of known
# sizes, server echoes each) and three HTTP downloads of different sizes (python3
# http.server, curl, one connection each). Then tcpdump is stopped once its file has stopped
# growing (as in 050), and the meter gets SIGTERM: it must exit 0 within 10 s having
# flushed every flow into a valid store file.
# Checks:
#   - `meter -r cap.pcap` (offline) and the live store, printed with `print -o csv`, give
#     identical flows on src,dst,sport,dport,proto,packets,bytes,rpackets,rbytes,payload,
#     rpayload,rgoodput (columns by header name, lines sorted): both saw the same packets;
#   - each download: one record from the client's port (curl's local_port) to the server,
#     rgoodput = file size + response header bytes (curl -D), as in 050;
#   - UDP: one record, packets/rpackets = datagrams sent/echoed, payload/rpayload = their
#     sizes; ICMP: echo requests (dport 2048) and replies (dport 0) with one packet each per
#     echo; the meter's --stats reports no kernel drops, tcpdump none either.
# The SIGTERM comes after >1 s of silence on the link: with libpcap >= 1.10 in immediate
# mode the read timeout never fires on a quiet interface, and only pcap_breakloop() from
# the signal handler wakes the capture (without it the meter ignored SIGTERM until the
# next packet arrived).
# A second short run checks SIGINT: meter started, one UDP exchange, SIGINT, exit 0 and the
# UDP flow in its store.
# Needs root, ip, ethtool, tcpdump, curl, python3; exit 77 without. Takes ~4 s; every wait
# is bounded (curl --max-time, socket timeouts, polling limits), so it ends by itself in
# well under 60 s, and the EXIT trap removes the namespaces and stops every process.
. "$(dirname "$0")/lib.sh"

need ip ethtool tcpdump curl python3
. "$(dirname "$0")/netns.sh"

PORT=8000     # HTTP
UPORT=9000    # UDP echo
NPING=4       # ICMP echo requests
UDP_SIZES="1 100 1000 1472" # UDP payload sizes (1472 fills a 1500-byte IP packet)
SIZES="1 65537 1048577"     # download sizes: odd ones catch off-by-one errors
srv_pid=""
dump_pid=""
meter_pid=""
any_pid=""
udp_pid=""

cleanup() {
    for p in $meter_pid $dump_pid $any_pid $udp_pid $srv_pid; do
        stop "$p"
    done
    netns_del
}
trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 130' INT TERM HUP

netns_setup L 10.202
IFX_S=$(in_s cat "/sys/class/net/$IF_S/ifindex")

# --- the traffic generators (python3; no ping or netcat needed) ---
cat >"$T/icmp.py" <<'EOF'
# icmp.py DST N: N ICMP echo requests over a raw socket, each answered within 3 s.
import os, socket, struct, sys
dst, n = sys.argv[1], int(sys.argv[2])
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(3)
ident = os.getpid() & 0xFFFF
for seq in range(n):
    body = b"flowsleuth-060-%02d" % seq + bytes(32)
    c = csum(struct.pack("!BBHHH", 8, 0, 0, ident, seq) + body)
    s.sendto(struct.pack("!BBHHH", 8, 0, c, ident, seq) + body, (dst, 0))
    while True:
        data, _ = s.recvfrom(4096)
        ihl = (data[0] & 15) * 4
        t, _, _, i, q = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if t == 0 and i == ident and q == seq:
            break
EOF
cat >"$T/udp.py" <<'EOF'
# udp.py server ADDR PORT N: echo N datagrams, then exit (10 s limit).
# udp.py client ADDR PORT SIZE...: send one datagram per size, wait for each echo (3 s).
import socket, sys
mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if mode == "server":
    s.bind((addr, port))
    s.settimeout(10)
    for _ in range(int(sys.argv[4])):
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)
else:
    s.settimeout(3)
    s.connect((addr, port))
    for size in sys.argv[4:]:
        msg = bytes((i * 7) & 0xFF for i in range(int(size)))
        s.send(msg)
        if s.recv(65535) != msg:
            sys.exit("echo differs")
EOF

# wait_until TEXT TRIES CMD...: poll CMD every 50 ms, up to TRIES times.
wait_until() {
    what=$1
    tries=$2
    shift 2
    n=0
    until "$@"; do
        n=$((n + 1))
        [ "$n" -gt "$tries" ] && fail "timed out waiting for $what"
        sleep 0.05
    done
}

# meter_ready PID: PID holds a packet socket bound to the server veth and has installed
# its SIGTERM handler (cmd_meter does that once the capture is open).
meter_ready() {
    kill -0 "$1" 2>/dev/null || fail "live meter died: $(cat "$T/$2.log")"
    inodes=$(ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p' | tr '\n' ' ')
    [ -n "$inodes" ] || return 1
    awk -v ifx="$IFX_S" -v inodes=" $inodes" \
        'NR > 1 && $5 == ifx && index(inodes, " " $9 " ") { ok = 1 } END { exit !ok }' \
        "/proc/$1/net/packet" || return 1
    sig=$(awk '$1 == "SigCgt:" { print $2 }' "/proc/$1/status")
    [ $((0x${sig#"${sig%????}"} & 0x4000)) != 0 ]
}

# start_meter TAG: live meter on the server veth into $T/TAG.fsf, pid in meter_pid.
# Started directly (ip netns exec execs the binary) so that $! is the meter itself.
start_meter() {
    tag=$1
    shift
    # shellcheck disable=SC2086
    ip netns exec "$NS_S" $FS_EXEC_PREFIX "$FS_BIN" meter -i "$IF_S" -w "$T/$tag.fsf" --stats "$@" \
        >"$T/$tag.out" 2>"$T/$tag.log" &
    meter_pid=$!
    wait_until "the live meter ($tag) to open $IF_S" 200 meter_ready "$meter_pid" "$tag"
}

# stop_meter SIG TAG: send SIG, wait up to 10 s; the meter must exit with status 0.
stop_meter() {
    kill "-$1" "$meter_pid" || fail "cannot signal the meter"
    n=0
    while kill -0 "$meter_pid" 2>/dev/null; do
        n=$((n + 1))
        if [ "$n" -gt 200 ]; then
            cat "$T/$2.log" >&2
            fail "live meter still running 10 s after SIG$1 (left for cleanup)"
        fi
        sleep 0.05
    done
    rc=0
    wait "$meter_pid" || rc=$?
    meter_pid=""
    sed 's/^/  live: /' "$T/$2.log"
    [ "$rc" = 0 ] || fail "live meter exited with status $rc after SIG$1: $(cat "$T/$2.log")"
    grep -q 'kernel received [0-9]*, dropped 0$' "$T/$2.log" ||
        fail "live meter --stats reports kernel drops (or no packets): $(cat "$T/$2.log")"
}

# udp_exchange SIZE...: a UDP echo server in the server namespace, the client sends.
udp_exchange() {
    in_s python3 "$T/udp.py" server "$SRV" "$UPORT" "$#" >"$T/udp-server.log" 2>&1 &
    udp_pid=$!
    wait_until "the UDP echo server" 200 sh -c \
        "ip netns exec $NS_S ss -Hlun 'sport = :$UPORT' | grep -q ."
    in_c python3 "$T/udp.py" client "$SRV" "$UPORT" "$@" 2>"$T/udp-client.log" ||
        fail "UDP exchange failed: $(cat "$T/udp-client.log")"
    rc=0
    wait "$udp_pid" || rc=$?
    udp_pid=""
    [ "$rc" = 0 ] || fail "UDP echo server failed: $(cat "$T/udp-server.log")"
}

# --- HTTP server ---
mkdir -p "$T/www"
for sz in $SIZES; do
    head -c "$sz" /dev/urandom >"$T/www/f$sz.bin"
done
start_http "$T/www" "$PORT"

# --- run 1: live meter and tcpdump side by side, stopped with SIGTERM ---
start_meter live
# -U: write every packet at once; -Z root: Debian's tcpdump drops to user tcpdump, which
# may not write into $T; -B 65536: a 64 MB buffer, so a busy machine drops nothing. No
# filter: it must see exactly what the meter sees.
ip netns exec "$NS_S" tcpdump -i "$IF_S" -n -U -Z root -B 65536 -w "$T/cap.pcap" 2>"$T/tcpdump.log" &
dump_pid=$!
# A second capture, `tcpdump -i any` on the client side: Linux cooked (SLL2) link
# headers, the same packets; metered offline it must give the same flows.
ip netns exec "$NS_C" tcpdump -i any -n -U -Z root -B 65536 -w "$T/any.pcap" 2>"$T/tcpdump-any.log" &
any_pid=$!
for log in tcpdump tcpdump-any; do
    n=0
    until grep -q "listening on" "$T/$log.log" 2>/dev/null; do
        kill -0 "$dump_pid" 2>/dev/null || fail "tcpdump died: $(cat "$T/tcpdump.log")"
        kill -0 "$any_pid" 2>/dev/null || fail "tcpdump -i any died: $(cat "$T/tcpdump-any.log")"
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "$log not ready after 10 s"
        sleep 0.05
    done
done

in_c python3 "$T/icmp.py" "$SRV" "$NPING" 2>"$T/icmp.log" || fail "ICMP echo failed: $(cat "$T/icmp.log")"
# shellcheck disable=SC2086
udp_exchange $UDP_SIZES
for sz in $SIZES; do
    in_c curl -sS --noproxy '*' --http1.1 --max-time 10 -w '%{local_port}\n' \
        -D "$T/f$sz.headers" -o "$T/f$sz.body" "http://$SRV:$PORT/f$sz.bin" \
        >"$T/f$sz.port" 2>"$T/f$sz.curl.err" || fail "curl failed: $(cat "$T/f$sz.curl.err")"
    cmp -s "$T/www/f$sz.bin" "$T/f$sz.body" || fail "downloaded f$sz.bin differs from the served one"
done

# Stop tcpdump only when its file has not grown for 1 s (LAB-NOTES).
last=-1
same=0
n=0
while [ "$same" -lt 5 ]; do
    n=$((n + 1))
    [ "$n" -gt 50 ] && fail "tcpdump's capture file still growing after 10 s (unexpected traffic?)"
    sz=$(wc -c <"$T/cap.pcap")
    if [ "$sz" = "$last" ]; then same=$((same + 1)); else same=0; fi
    last=$sz
    sleep 0.2
done
# SIGTERM, not SIGINT: a background job of a non-interactive shell ignores SIGINT.
stop "$dump_pid"
dump_pid=""
stop "$any_pid"
any_pid=""
grep -E 'captured|dropped by kernel' "$T/tcpdump.log" | tr '\n' ' '
echo
grep -q '^0 packets dropped by kernel' "$T/tcpdump.log" \
    || fail "tcpdump lost packets: $(cat "$T/tcpdump.log")"
stop_meter TERM live

# --- compare: live store vs the tcpdump capture metered offline ---
fs meter -r "$T/cap.pcap" -w "$T/off.fsf" || fail "meter -r failed on $T/cap.pcap"
fs print -r "$T/off.fsf" -o csv >"$T/off.csv" || fail "print failed on off.fsf"
fs print -r "$T/live.fsf" -o csv >"$T/live.csv" || fail "print failed on the live store live.fsf"
# cols CSV: the compared columns, by header name, header first, then the sorted lines.
cols() {
    awk -F, 'NR == 1 {
            n = split("src dst sport dport proto packets bytes rpackets rbytes payload rpayload rgoodput", want, " ")
            for (i = 1; i <= NF; i++) c[$i] = i
            for (k = 1; k <= n; k++) if (!(want[k] in c)) { print "no column " want[k] > "/dev/stderr"; exit 1 }
            for (k = 1; k <= n; k++) printf "%s%s", want[k], (k < n ? "," : "\n")
            next
        }
        { for (k = 1; k <= n; k++) printf "%s%s", $c[want[k]], (k < n ? "," : "\n") | "LC_ALL=C sort" }' "$1"
}
cols "$T/off.csv" >"$T/off.flows" || fail "cannot select columns from off.csv"
cols "$T/live.csv" >"$T/live.flows" || fail "cannot select columns from live.csv"
tcpdump -r "$T/any.pcap" -c 1 2>&1 >/dev/null | grep -q LINUX_SLL ||
    fail "tcpdump -i any did not write a Linux cooked capture"
fs meter -r "$T/any.pcap" -o csv >"$T/any.csv" || fail "meter -r failed on the cooked capture"
cols "$T/any.csv" >"$T/any.flows" || fail "cannot select columns from any.csv"
expect_same "$T/off.flows" "$T/any.flows"
echo "ok: the Linux cooked capture (tcpdump -i any) gives the same flows"
nflows=$(($(wc -l <"$T/live.flows") - 1))
echo "live: $nflows flows; offline from tcpdump's capture: $(($(wc -l <"$T/off.flows") - 1)) flows"
expect_same "$T/off.flows" "$T/live.flows"
# For information: do the timestamps agree too (same skb time stamp for both sockets)?
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { print $c["first"], $c["last"], $c["src"], $c["sport"], $c["dst"], $c["dport"], $c["proto"] }' \
    "$T/off.csv" | LC_ALL=C sort >"$T/off.times"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { print $c["first"], $c["last"], $c["src"], $c["sport"], $c["dst"], $c["dport"], $c["proto"] }' \
    "$T/live.csv" | LC_ALL=C sort >"$T/live.times"
echo "first/last identical in $(LC_ALL=C comm -12 "$T/off.times" "$T/live.times" | wc -l) of $nflows flows (info only)"

# --- the flows themselves (on the live store; identical to the offline one) ---
# sel FIELD=VALUE...: the live flows matching every condition, as name=value lines.
sel() {
    awk -F, -v conds="$*" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; nc = split(conds, cd, " "); next }
        { for (k = 1; k <= nc; k++) { split(cd[k], kv, "="); if ($c[kv[1]] != kv[2]) next }
          printf "packets=%s rpackets=%s payload=%s rpayload=%s rgoodput=%s\n",
              $c["packets"], $c["rpackets"], $c["payload"], $c["rpayload"], $c["rgoodput"] }' "$T/live.csv"
}
for sz in $SIZES; do
    port=$(cat "$T/f$sz.port")
    sel proto=6 src="$CLI" sport="$port" dst="$SRV" dport="$PORT" >"$T/f$sz.rec"
    [ "$(wc -l <"$T/f$sz.rec")" = 1 ] || fail "expected one flow for the download of f$sz.bin from port $port: $(cat "$T/f$sz.rec")"
    rgood=$(sed 's/.*rgoodput=//' "$T/f$sz.rec")
    hdr=$(wc -c <"$T/f$sz.headers")
    clen=$(tr -d '\r' <"$T/f$sz.headers" | awk -F': *' 'tolower($1) == "content-length" { print $2 }')
    [ "$clen" = "$sz" ] || fail "Content-Length $clen, expected $sz"
    echo "download f$sz.bin from $CLI:$port: $(cat "$T/f$sz.rec"); response $((sz + hdr)) = $sz + $hdr header bytes"
    [ "$rgood" = "$((sz + hdr))" ] || fail "f$sz.bin: rgoodput $rgood != response size $((sz + hdr)) ($sz + $hdr header bytes)"
done
[ "$(sel proto=6 | wc -l)" = 3 ] || fail "expected 3 TCP flows, got: $(sel proto=6)"

nudp=0
usum=0
for s in $UDP_SIZES; do nudp=$((nudp + 1)); usum=$((usum + s)); done
sel proto=17 src="$CLI" dst="$SRV" dport="$UPORT" >"$T/udp.rec"
echo "UDP $CLI -> $SRV:$UPORT: $(cat "$T/udp.rec")"
[ "$(sel proto=17 | wc -l)" -ge 1 ] || fail "no UDP flow"
case "$(cat "$T/udp.rec")" in
"packets=$nudp rpackets=$nudp payload=$usum rpayload=$usum "*) ;;
*) fail "UDP flow: expected packets=$nudp rpackets=$nudp payload=$usum rpayload=$usum, got: $(cat "$T/udp.rec")" ;;
esac

sel proto=1 src="$CLI" dst="$SRV" dport=2048 >"$T/icmp-req.rec"
sel proto=1 src="$SRV" dst="$CLI" dport=0 >"$T/icmp-rep.rec"
echo "ICMP echo requests: $(cat "$T/icmp-req.rec"); replies: $(cat "$T/icmp-rep.rec")"
[ "$(sel proto=1 | wc -l)" -ge 1 ] || fail "no ICMP flow"
case "$(cat "$T/icmp-req.rec") $(cat "$T/icmp-rep.rec")" in
"packets=$NPING rpackets=0 "*" packets=$NPING rpackets=0 "*) ;;
*) fail "ICMP: expected $NPING echo requests and $NPING replies, one flow each" ;;
esac

# --- run 2: idle expiry on a quiet interface; SIGINT also flushes and exits 0 ---
# --idle 1: the UDP flow must end by its idle timeout while nothing arrives (the live
# capture polls with its own timeout), not at the signal.
start_meter live2 --idle 1
udp_exchange 10 20
sleep 2
stop_meter INT live2
grep -q 'idle 1,' "$T/live2.log" || fail "quiet interface: the flow did not expire by --idle 1: $(cat "$T/live2.log")"
fs print -r "$T/live2.fsf" -o csv >"$T/live2.csv" || fail "print failed on live2.fsf"
awk -F, -v cli="$CLI" -v srv="$SRV" -v up="$UPORT" '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["proto"] == 17 && $c["src"] == cli && $c["dst"] == srv && $c["dport"] == up &&
        $c["packets"] == 2 && $c["rpackets"] == 2 && $c["payload"] == 30 && $c["rpayload"] == 30 { ok = 1 }
    END { exit !ok }' "$T/live2.csv" || fail "SIGINT run: UDP flow (2+2 packets, 30+30 bytes) missing: $(cat "$T/live2.csv")"
echo "ok: live meter = tcpdump capture metered offline ($nflows flows), rgoodput = response sizes, UDP and ICMP exact, SIGTERM and SIGINT exit 0"
