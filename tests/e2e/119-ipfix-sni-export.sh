#!/bin/sh
# meter -e ipfix:// --export-fields sni,cid: the server name and the Community ID as
# flowsleuth's string IEs (PEN 32473, 5 and 6), on 127.0.0.1 only.
#  (a) a capture written here (python): TLS ClientHellos with a short name, a 70-byte
#      name (the meter keeps its first 64 bytes), an IPv6 one, a name with a space (the
#      meter keeps none), an HTTP Host with a port, a UDP flow without a name;
#  (b) meter -e into `flowsleuth collect -l`: print -o csv:src,dst,sport,dport,sni of
#      the collected store is the meter's own (-w), and so is every other field but the
#      exporter;
#  (c) the datagrams (tcpdump on lo): tshark decodes them without a malformed packet
#      and shows the PEN 32473 fields 5 and 6 (cflow.enterprise_private_entry, in hex)
#      holding the names and `print --cid-seed 7 -o csv:cid` of the store; python reads
#      the records from the bytes and finds the same per flow, empty names included;
#  (d) without --export-fields the templates are 256/257 and no name is sent;
#      usage errors for an unknown field and for no ipfix -e.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need python3 ss awk sort

pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# (a) the capture.
python3 - "$T/sni.pcap" <<'EOF'
import struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def ip4(a):
    return bytes(int(x) for x in a.split("."))

def ip6(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed

def frame(src, dst, proto, l4):
    if ":" in src:
        hdr = struct.pack("!IHBB", 6 << 28, len(l4), proto, 64) + ip6(src) + ip6(dst)
        return b"\x02" * 6 + b"\x04" * 6 + b"\x86\xdd" + hdr + l4
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, ip4(src), ip4(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + h + l4

def tcp(src, dst, sp, dp, seq, ack, flags, data=b""):
    t = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    fam = ip6 if ":" in src else ip4
    ph = fam(src) + fam(dst) + struct.pack("!HH", 6, len(t)) if ":" not in src else \
        fam(src) + fam(dst) + struct.pack("!IxxxB", len(t), 6)
    return frame(src, dst, 6, t[:16] + struct.pack("!H", csum(ph + t)) + t[18:])

def hello(name):
    n = name.encode()
    sni = struct.pack("!HBH", len(n) + 3, 0, len(n)) + n
    ext = struct.pack("!HH", 0, len(sni)) + sni
    body = b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(ext)) + ext
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs

long_name = "x" * 60 + ".example.com"  # 72 bytes: the meter keeps the first 64
conns = [
    ("10.0.0.1", "10.0.0.2", 40001, 443, hello("tls1.example.com")),
    ("10.0.0.1", "10.0.0.2", 40002, 443, hello(long_name)),
    ("2001:db8::1", "2001:db8::2", 40003, 443, hello("v6.Example.net")),
    ("10.0.0.1", "10.0.0.3", 40004, 8080,
     b"GET / HTTP/1.1\r\nHost: web.example:8080\r\nUser-Agent: t\r\n\r\n"),
    ("10.0.0.1", "10.0.0.2", 40005, 443, hello("bad name.example")),
]
pkts = []
t = 1700000000.0
for i, (c, s, sp, dp, data) in enumerate(conns):
    t += 0.5
    pkts.append((t, tcp(c, s, sp, dp, 1000, 0, 0x02)))
    pkts.append((t + 0.01, tcp(s, c, dp, sp, 5000, 1001, 0x12)))
    pkts.append((t + 0.02, tcp(c, s, sp, dp, 1001, 5001, 0x10)))
    pkts.append((t + 0.03, tcp(c, s, sp, dp, 1001, 5001, 0x18, data)))
    pkts.append((t + 0.04, tcp(s, c, dp, sp, 5001, 1001 + len(data), 0x18, b"y" * 100)))
udp = struct.pack("!HHHH", 5353, 53, 8 + 12, 0) + b"\x12\x34" + b"\0" * 10
pkts.append((t + 1, frame("10.0.0.1", "10.0.0.4", 17, udp)))
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for ts, p in pkts:
        f.write(struct.pack("<IIII", int(ts), int(ts % 1 * 1e6), len(p), len(p)) + p)
EOF

fs meter -r "$T/sni.pcap" -w "$T/A.fsf" || fail "meter -w"
fs print -r "$T/A.fsf" -o csv:src,dst,sport,dport,sni | tail -n +2 | sort >"$T/A.sni"
long64=$(printf "%060d" 0 | tr 0 x).exa
cat >"$T/want.sni" <<EOF
10.0.0.1,10.0.0.2,40001,443,tls1.example.com
10.0.0.1,10.0.0.2,40002,443,$long64
10.0.0.1,10.0.0.2,40005,443,
10.0.0.1,10.0.0.3,40004,8080,web.example
10.0.0.1,10.0.0.4,5353,53,
2001:db8::1,2001:db8::2,40003,443,v6.Example.net
EOF
sort -o "$T/want.sni" "$T/want.sni"
expect_same "$T/want.sni" "$T/A.sni"
echo "ok   (a) the meter's names: $(awk -F, '$5 != ""' "$T/A.sni" | wc -l) of 6 flows"

have_tcpdump=0
if optional "(c) the datagrams on lo" tcpdump root; then
    have_tcpdump=1
fi

# export ARGS...: meter -r the capture -e into a collector on a free port; the store in
# $T/B.fsf, the datagrams in $T/B.cap (with tcpdump), the port in $port.
export_to_collect() {
    port=$(free_port "$1")
    shift
    rm -rf "$T/B.fsf" "$T/B.cap"
    $FS_EXEC_PREFIX "$FS_BIN" collect -l "127.0.0.1:$port" -w "$T/B.fsf" 2>"$T/collect.err" &
    cpid=$!
    pids="$pids $cpid"
    wait_udp "$port"
    tpid=
    if [ "$have_tcpdump" = 1 ]; then
        tcpdump -i lo -U -n -w "$T/B.cap" "udp and dst port $port" 2>"$T/tcpdump.err" &
        tpid=$!
        pids="$pids $tpid"
        wait_for_file "$T/B.cap"
        sleep 0.5 # tcpdump opens the file before its filter is live
    fi
    fs meter -r "$T/sni.pcap" -e "ipfix://127.0.0.1:$port" "$@" || fail "meter -e $*"
    if [ -n "$tpid" ]; then
        sleep 1
        kill -INT "$tpid"
        wait "$tpid" || true
    fi
    wait_drained "$port"
    kill -TERM "$cpid"
    wait "$cpid" || fail "collect exited non-zero: $(cat "$T/collect.err")"
}

# (b) sni and cid out, the names back.
export_to_collect 0 --export-fields sni,cid --cid-seed 7
fs print -r "$T/B.fsf" -o csv:src,dst,sport,dport,sni | tail -n +2 | sort >"$T/B.sni"
expect_same "$T/A.sni" "$T/B.sni"
# every field of print -o csv but the exporter (25)
fs print -r "$T/A.fsf" -o csv -N | tail -n +2 | cut -d, -f1-24,26- | sort >"$T/A.all"
fs print -r "$T/B.fsf" -o csv -N | tail -n +2 | cut -d, -f1-24,26- | sort >"$T/B.all"
expect_same "$T/A.all" "$T/B.all"
echo "ok   (b) collect gives back the meter's names and every other field"

# (c) the datagrams: tshark, then the strings from the bytes.
if [ "$have_tcpdump" = 1 ]; then
    if optional "(c) tshark's decoding" tshark; then
        tshark -r "$T/B.cap" -d "udp.port==$port,cflow" -Y _ws.malformed >"$T/malformed.txt" \
            2>/dev/null || fail "tshark failed"
        [ -s "$T/malformed.txt" ] && { cat "$T/malformed.txt" >&2; fail "tshark: malformed"; }
        # tshark 4.0 names PEN 32473 "Example Enterprise Number for Documentation Use"
        # and shows an element it does not know as cflow.enterprise_private_entry,
        # "Type N: Value (hex bytes)" (the value attribute of -T pdml has every byte).
        tshark -r "$T/B.cap" -d "udp.port==$port,cflow" -T pdml 2>/dev/null >"$T/tshark.xml"
        grep -c 'Type: 5 \[pen: Example Enterprise Number for Documentation Use\]' \
            "$T/tshark.xml" >/dev/null || fail "tshark shows no template field 5 of PEN 32473"
        for ty in 5 6; do
            sed -n "s/.*name=\"cflow.enterprise_private_entry\".*Type $ty: Value.* value=\"\([0-9a-f]*\)\".*/\1/p" \
                "$T/tshark.xml" | python3 -c 'import sys
for l in sys.stdin: print(bytes.fromhex(l.strip()).decode())' | sort >"$T/tshark.$ty"
        done
        # tshark leaves out the empty strings: the two flows without a name
        awk -F, '$5 != "" { print $5 }' "$T/A.sni" | sort >"$T/want.5"
        expect_same "$T/want.5" "$T/tshark.5"
        fs print -r "$T/A.fsf" --cid-seed 7 -o csv:cid | tail -n +2 | sort >"$T/want.6"
        expect_same "$T/want.6" "$T/tshark.6"
        echo "ok   (c) tshark: no malformed packet; PEN 32473 fields 5 and 6 hold the names and cids"
    fi
    # The records from the bytes (python): template 258/259, the strings after the
    # fixed part; src port, name and cid as text.
    python3 - "$T/B.cap" >"$T/wire.txt" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, tmpl = 24, {}
linktype = struct.unpack("<I", d[20:24])[0]
while off + 16 <= len(d):
    _, _, cl, _ = struct.unpack("<IIII", d[off:off + 16])
    p = d[off + 16:off + 16 + cl]
    off += 16 + cl
    l2 = 14 if linktype == 1 else 16 if linktype == 113 else 4
    ip = p[l2:]
    ihl = (ip[0] & 15) * 4 if ip[0] >> 4 == 4 else 40
    m = ip[ihl + 8:]
    at = 16
    while at + 4 <= len(m):
        sid, sl = struct.unpack("!HH", m[at:at + 4])
        body, at = m[at + 4:at + sl], at + sl
        if sid == 2:
            q = 0
            while q + 4 <= len(body):
                tid, n = struct.unpack("!HH", body[q:q + 4])
                q += 4
                fl = []
                for _ in range(n):
                    i, ln = struct.unpack("!HH", body[q:q + 4])
                    q += 4
                    pen = 0
                    if i & 0x8000:
                        pen = struct.unpack("!I", body[q:q + 4])[0]
                        q += 4
                    fl.append((pen, i & 0x7FFF, ln))
                tmpl[tid] = fl
        elif sid in tmpl:
            q = 0
            while q < len(body):
                out = {}
                for pen, i, ln in tmpl[sid]:
                    if ln == 65535:
                        ln = body[q]
                        q += 1
                        if ln == 255:
                            ln = struct.unpack("!H", body[q:q + 2])[0]
                            q += 2
                    out[(pen, i)] = body[q:q + ln]
                    q += ln
                print("%d,%s,%s" % (struct.unpack("!H", out[(0, 7)])[0],
                                    out.get((32473, 5), b"-").decode(),
                                    out.get((32473, 6), b"-").decode()))
        else:
            sys.exit("data set %d before its template" % sid)
    sys.stdout.flush()
if sorted(tmpl) != [258, 259]:
    sys.exit("templates %s, not 258 and 259" % sorted(tmpl))
EOF
    fs print -r "$T/A.fsf" --cid-seed 7 -o csv:sport,sni,cid | tail -n +2 | sort >"$T/want.wire"
    sort -o "$T/wire.txt" "$T/wire.txt"
    expect_same "$T/want.wire" "$T/wire.txt"
    echo "ok   (c) the strings on the wire: the names and the cid of --cid-seed 7"
fi

# (d) the default export sends no name; usage errors.
export_to_collect 1
fs print -r "$T/B.fsf" -o csv:sni | tail -n +2 | sort -u >"$T/B.default"
printf '\n' >"$T/want.default"
expect_same "$T/want.default" "$T/B.default"
if [ "$have_tcpdump" = 1 ]; then
    python3 - "$T/B.cap" <<'EOF' || fail "default export: templates not 256/257, or a name sent"
import sys
d = open(sys.argv[1], "rb").read()
sys.exit(0 if b"\x01\x00\x00\x1e" in d and b"tls1.example.com" not in d else 1)
EOF
fi
expect_usage "--export-fields takes sni and cid, not 'host'" meter -r "$T/sni.pcap" \
    -e ipfix://127.0.0.1:9 --export-fields sni,host
expect_usage "--export-fields needs an ipfix:// or ipfix+tcp:// -e" meter -r "$T/sni.pcap" \
    -e nf9://127.0.0.1:9 --export-fields sni
echo "ok   (d) the default export sends no name; usage errors"
