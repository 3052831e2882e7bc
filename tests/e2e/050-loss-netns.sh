#!/bin/sh
# 050: a real HTTP download with injected loss, metered from the server-side capture.
#
# Two network namespaces joined by a veth pair (10.201.X.1 server, 10.201.X.2 client,
# nothing routed outside them), offloads off so the capture holds wire-sized packets.
# A python3 http.server serves a random file of known size; tcpdump captures on the
# server's veth; nftables in the CLIENT's input chain drops ~2% of the server's packets
# AFTER the capture point, so the server really retransmits and the capture holds both
# the originals and the retransmissions. curl downloads the file over one connection.
# Then `flowsleuth meter` + `print -o csv` must give, for the connection to the server:
#   rgoodput == HTTP response size (file size + response header bytes from curl -D)
#   rpayload == rgoodput + rretrans
#   rretrans > 0  (none at 2%: rerun once at 6%, then fail)
# plus forward/reverse sanity (one record, server is dport, the body arrived intact).
# tshark, when installed, only adds an informational count of the retransmissions it
# flags. Needs root, ip, nft, ethtool, tcpdump, curl, python3, taskset; exit 77 without.
# LAB-NOTES: server and client pinned to CPU 0 and tcp_early_retrans=0 in the server
# namespace (no spurious retransmissions on the ~50 us veth RTT); tcpdump is stopped
# only after its file has stopped growing.
. "$(dirname "$0")/lib.sh"

need ip nft ethtool tcpdump curl python3 taskset
. "$(dirname "$0")/netns.sh"

PORT=8000
SIZE=3145729 # 3 MiB + 1: an odd size catches off-by-one errors
srv_pid=""
dump_pid=""

cleanup() {
    for p in $dump_pid $srv_pid; do
        stop "$p"
    done
    netns_del
}
trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 130' INT TERM HUP

netns_setup "" 10.201
if command -v sysctl >/dev/null 2>&1; then
    in_s sysctl -qw net.ipv4.tcp_early_retrans=0 || fail "sysctl tcp_early_retrans failed"
else
    in_s sh -c 'echo 0 >/proc/sys/net/ipv4/tcp_early_retrans' || fail "cannot set tcp_early_retrans"
fi

mkdir -p "$T/www"
head -c "$SIZE" /dev/urandom >"$T/www/blob.bin"
# HTTP/1.0 (http.server), so one response per connection.
start_http "$T/www" "$PORT" pin

# download LOSS_PERCENT TAG: capture one download at that loss into $T/TAG.pcap.
download() {
    pct=$1
    tag=$2
    in_c nft flush ruleset
    in_c nft add table inet fsloss
    in_c nft add chain inet fsloss input '{ type filter hook input priority 0; policy accept; }'
    in_c nft add rule inet fsloss input ip saddr "$SRV" tcp sport "$PORT" \
        numgen random mod 100 '<' "$pct" counter drop \
        || fail "nft rule failed"

    # -U: write every packet at once; -Z root: Debian's tcpdump drops to user tcpdump,
    # which may not write into $T; -s 128 -B 65536 (a 64 MB buffer): on a busy machine
    # (CI) the default 2 MB buffer overflowed (926 of 2,321 packets dropped); the meter
    # takes lengths from the IP headers, so 128 bytes a packet are enough.
    # Started directly (not through a shell function) so that $! is tcpdump itself.
    ip netns exec "$NS_S" tcpdump -i "$IF_S" -n -U -Z root -s 128 -B 65536 \
        -w "$T/$tag.pcap" "tcp port $PORT" 2>"$T/$tag.tcpdump.log" &
    dump_pid=$!
    n=0
    until grep -q "listening on" "$T/$tag.tcpdump.log" 2>/dev/null; do
        kill -0 "$dump_pid" 2>/dev/null || fail "tcpdump died: $(cat "$T/$tag.tcpdump.log")"
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "tcpdump not ready after 10 s"
        sleep 0.05
    done

    rm -f "$T/$tag.headers" "$T/$tag.body"
    t0=$(date +%s)
    in_c taskset -c 0 curl -sS --noproxy '*' --http1.1 --max-time 40 \
        -D "$T/$tag.headers" -o "$T/$tag.body" "http://$SRV:$PORT/blob.bin" \
        2>"$T/$tag.curl.err" || fail "curl failed: $(cat "$T/$tag.curl.err")"
    echo "download at $pct% loss took $(($(date +%s) - t0)) s;" \
        "nft dropped: $(in_c nft list chain inet fsloss input | grep -o 'packets [0-9]*')"
    cmp -s "$T/www/blob.bin" "$T/$tag.body" || fail "downloaded file differs from the served one"

    # Stop tcpdump only when its file has not grown for 1 s (LAB-NOTES).
    last=-1
    same=0
    while [ "$same" -lt 5 ]; do
        sz=$(wc -c <"$T/$tag.pcap")
        if [ "$sz" = "$last" ]; then same=$((same + 1)); else same=0; fi
        last=$sz
        sleep 0.2
    done
    # SIGTERM, not SIGINT: a background job of a non-interactive shell ignores SIGINT.
    # tcpdump flushes and prints its statistics on either.
    stop "$dump_pid"
    dump_pid=""
    grep -E 'captured|dropped by kernel' "$T/$tag.tcpdump.log" | tr '\n' ' '
    echo
    grep -q '^0 packets dropped by kernel' "$T/$tag.tcpdump.log" && return 0
    echo "tcpdump lost packets (a busy machine): $(cat "$T/$tag.tcpdump.log")"
    return 1
}

# capture LOSS_PERCENT TAG: download until tcpdump saw every packet (3 tries).
capture() {
    for try in 1 2 3; do
        download "$1" "$2" && return 0
        echo "capture $2: try $try of 3 lost packets in tcpdump"
    done
    fail "tcpdump lost packets in 3 tries; see $T"
}

# check TAG: meter $T/TAG.pcap and check the connection's counters. Sets rretrans.
check() {
    tag=$1
    fs meter -r "$T/$tag.pcap" -w "$T/$tag.fsf" --idle 100000 || fail "meter failed on $T/$tag.pcap"
    fs print -r "$T/$tag.fsf" -o csv >"$T/$tag.csv" || fail "print failed"
    # Columns by header name. One line: the record(s) of the connection to the server.
    awk -F, -v srv="$SRV" -v port="$PORT" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["proto"] == 6 && $c["dst"] == srv && $c["dport"] == port {
            n++
            line = $c["src"] " " $c["sport"] " " $c["packets"] " " $c["rpackets"] " " \
                $c["payload"] " " $c["rpayload"] " " $c["rgoodput"] " " $c["rretrans"] " " \
                $c["goodput"] " " $c["retrans"] " " $c["rbytes"]
        }
        END { print n + 0, line }' "$T/$tag.csv" >"$T/$tag.rec"
    read -r nrec src sport pk rpk pl rpl rgood rretrans good retrans rbytes <"$T/$tag.rec"
    [ "$nrec" = 1 ] || fail "expected one record for the connection to $SRV:$PORT, got $nrec ($T/$tag.csv)"
    [ "$src" = "$CLI" ] || fail "initiator is $src, expected the client $CLI"

    # The response as the client received it: the header block (status line, headers and
    # the blank line, CRLFs included, exactly as curl -D stores them) plus the body.
    hdr=$(wc -c <"$T/$tag.headers")
    clen=$(tr -d '\r' <"$T/$tag.headers" | awk -F': *' 'tolower($1) == "content-length" { print $2 }')
    [ "$clen" = "$SIZE" ] || fail "Content-Length $clen, expected $SIZE"
    resp=$((SIZE + hdr))
    echo "connection $src:$sport -> $SRV:$PORT: packets $pk/$rpk payload $pl/$rpl" \
        "goodput $good/$rgood retrans $retrans/$rretrans; response $resp = $SIZE body + $hdr header bytes"
    if optional "tshark's retransmission count" tshark; then
        tshark -r "$T/$tag.pcap" -Y "ip.src == $SRV && (tcp.analysis.retransmission ||
            tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission ||
            tcp.analysis.out_of_order)" -T fields -e tcp.len 2>/dev/null |
            awk '{ n++; b += $1 } END { printf "tshark flags %d server segments as retransmitted/out-of-order, %d payload bytes (info only)\n", n, b }'
    fi
    [ "$rgood" = "$resp" ] || fail "rgoodput $rgood != HTTP response size $resp ($SIZE + $hdr header bytes)"
    [ "$rpl" = "$((rgood + rretrans))" ] || fail "rpayload $rpl != rgoodput $rgood + rretrans $rretrans"
    [ "$retrans" = 0 ] || fail "forward retrans $retrans, expected 0: nothing drops the client's packets"
    [ "$pl" = "$good" ] || fail "forward payload $pl != goodput $good with no client loss"
    [ "$rbytes" -gt "$rpl" ] || fail "rbytes $rbytes not above rpayload $rpl"
}

# FS_E2E_LOSS overrides the first loss rate (0 exercises the rerun, and shows whether
# the machine still sends spurious retransmissions).
loss=${FS_E2E_LOSS:-2}
capture "$loss" "loss$loss"
check "loss$loss"
if [ "$rretrans" = 0 ]; then
    echo "no retransmission at $loss% loss: rerunning at 6%"
    capture 6 loss6
    check loss6
    [ "$rretrans" -gt 0 ] || fail "no retransmitted bytes counted (rretrans 0) at $loss% and 6% loss; see $T"
fi
echo "ok: rgoodput = response size, rpayload = rgoodput + rretrans, rretrans $rretrans > 0"
