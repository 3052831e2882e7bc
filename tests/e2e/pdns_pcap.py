#!/usr/bin/env python3
"""A capture for 114-pdns-names.sh: DNS answers and the connections that follow them.

  t0        10.0.0.53 -> 10.0.0.5 UDP 53: www.example.com CNAME cdn.example.net,
            cdn.example.net A 198.51.100.7, v6.example.com AAAA 2001:db8::7
  t0+1      10.0.0.5:40001 -> 198.51.100.7:443 (SYN, SYN+ACK)
  t0+2      [2001:db8::5]:40002 -> [2001:db8::7]:443
  t0+7200   10.0.0.5:40003 -> 198.51.100.7:443 (the answer is 2 hours old: no name)
  t0+10000  10.0.0.53 -> 10.0.0.5 TCP 53 (length prefix, the message in two
            segments): other.example.org A 198.51.100.7
  t0+10001  10.0.0.5:40004 -> 198.51.100.7:443

usage: pdns_pcap.py OUT.pcap
"""
import socket
import struct
import sys

T0 = 1700000000


def name(s):
    return b"".join(bytes([len(p)]) + p.encode() for p in s.split(".")) + b"\0"


def rr(owner, typ, rdata):
    return owner + struct.pack(">HHIH", typ, 1, 300, len(rdata)) + rdata


def response(qname, answers):
    hdr = struct.pack(">HHHHHH", 0x4242, 0x8180, 1, len(answers), 0, 0)
    return hdr + name(qname) + struct.pack(">HH", 1, 1) + b"".join(answers)


def ip4(src, dst, proto, payload):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return b"\x08\x00", h + payload


def ip6(src, dst, proto, payload):
    h = struct.pack(">IHBB16s16s", 0x60000000, len(payload), proto, 64,
                    socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))
    return b"\x86\xdd", h + payload


def udp(sport, dport, data):
    return struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport, seq, flags, data=b""):
    return struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + data


def main():
    pkts = []

    def add(t, l3):
        etype, ip = l3
        frame = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + etype + ip
        pkts.append(struct.pack("<IIII", int(t), int(round((t % 1) * 1e6)), len(frame),
                                len(frame)) + frame)

    msg = response("www.example.com", [
        rr(b"\xc0\x0c", 5, name("cdn.example.net")),
        rr(name("cdn.example.net"), 1, socket.inet_aton("198.51.100.7")),
        rr(name("v6.example.com"), 28, socket.inet_pton(socket.AF_INET6, "2001:db8::7")),
    ])
    add(T0, ip4("10.0.0.53", "10.0.0.5", 17, udp(53, 35000, msg)))
    for i, (t, port) in enumerate([(T0 + 1, 40001), (T0 + 7200, 40003), (T0 + 10001, 40004)]):
        add(t, ip4("10.0.0.5", "198.51.100.7", 6, tcp(port, 443, 1000, 0x02)))
        add(t + 0.01, ip4("198.51.100.7", "10.0.0.5", 6, tcp(443, port, 5000, 0x12)))
    add(T0 + 2, ip6("2001:db8::5", "2001:db8::7", 6, tcp(40002, 443, 1000, 0x02)))
    add(T0 + 2.01, ip6("2001:db8::7", "2001:db8::5", 6, tcp(443, 40002, 5000, 0x12)))
    msg = response("other.example.org", [rr(b"\xc0\x0c", 1, socket.inet_aton("198.51.100.7"))])
    stream = struct.pack(">H", len(msg)) + msg
    add(T0 + 9999.9, ip4("10.0.0.5", "10.0.0.53", 6, tcp(36000, 53, 700, 0x02)))
    add(T0 + 9999.91, ip4("10.0.0.53", "10.0.0.5", 6, tcp(53, 36000, 9000, 0x12)))
    add(T0 + 10000, ip4("10.0.0.53", "10.0.0.5", 6, tcp(53, 36000, 9001, 0x18, stream[:9])))
    add(T0 + 10000.01, ip4("10.0.0.53", "10.0.0.5", 6, tcp(53, 36000, 9010, 0x18, stream[9:])))
    pkts.sort(key=lambda p: struct.unpack("<II", p[:8]))
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        f.write(b"".join(pkts))


main()
