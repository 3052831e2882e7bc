#!/usr/bin/env python3
"""Write an Ethernet pcap of ordinary traffic and four kinds of scan, for 100-scan.sh.

usage: scan_pcap.py OUT.pcap

Servers 10.9.0.1-10.9.0.4 (tcp 22, 80, 443 open on some; udp 53 on 10.9.0.2); nothing
lives at 10.9.0.5-10.9.0.254. From 1700200000 (UTC):
  ordinary  192.168.1.10-19: web (handshake, request, response, FIN) and DNS with replies
            to the live servers; 192.168.1.10 also tries one dead host (a single miss);
            192.168.1.11 makes 30 connections to one server (repeat contacts are no new
            destinations)
  203.0.113.7    horizontal SYN scan of port 80 over 10.9.0.1-40 (fast)
  198.51.100.9   vertical SYN scan of 10.9.0.1 ports 1-100 (RST from closed ports)
  198.51.100.20  slow vertical UDP scan of 10.9.0.3, 25 ports one a minute; the host
                 answers each with ICMP port unreachable (flows of its own)
  203.0.113.50   ping sweep of 10.9.0.1-20 (echo replies from the live ones)
"""
import struct
import sys

LIVE = {1: {22, 80}, 2: {53, 80}, 3: {443}, 4: {80}}
pkts = []


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ip(a):
    return bytes(int(x) for x in a.split("."))


def ip4(src, dst, proto, l4, ident=[0]):
    ident[0] = (ident[0] + 1) & 0xFFFF
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident[0], 0, 64, proto, 0,
                      ip(src), ip(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + l4


def tcp(t, src, dst, sp, dp, flags, seq=1, ack=0, pay=b""):
    l4 = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 0x50, flags, 65535, 0, 0) + pay
    pkts.append((t, ip4(src, dst, 6, l4)))


def udp(t, src, dst, sp, dp, pay):
    pkts.append((t, ip4(src, dst, 17, struct.pack("!HHHH", sp, dp, 8 + len(pay), 0) + pay)))


def icmp(t, src, dst, typ, code, body):
    m = struct.pack("!BBHI", typ, code, 0, 0x00070001) + body
    m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
    pkts.append((t, ip4(src, dst, 1, m)))


SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08


def web(t, cli, srv, sport, dport):
    tcp(t, cli, srv, sport, dport, SYN)
    tcp(t + 0.001, srv, cli, dport, sport, SYN | ACK)
    tcp(t + 0.002, cli, srv, sport, dport, ACK)
    tcp(t + 0.003, cli, srv, sport, dport, PSH | ACK, pay=b"GET / HTTP/1.1\r\n\r\n")
    tcp(t + 0.010, srv, cli, dport, sport, PSH | ACK, pay=b"x" * 900)
    tcp(t + 0.011, cli, srv, sport, dport, FIN | ACK)
    tcp(t + 0.012, srv, cli, dport, sport, FIN | ACK)
    tcp(t + 0.013, cli, srv, sport, dport, ACK)


def probe(t, src, dst, sport, dport):
    """A SYN probe as nmap -sS sends it, answered as the host would."""
    tcp(t, src, dst, sport, dport, SYN)
    h = int(dst.split(".")[3])
    if h in LIVE and dport in LIVE[h]:
        tcp(t + 0.001, dst, src, dport, sport, SYN | ACK)
        tcp(t + 0.002, src, dst, sport, dport, RST)
    elif h in LIVE:
        tcp(t + 0.001, dst, src, dport, sport, RST | ACK)


def ordinary(t0):
    for c in range(10):
        cli = "192.168.1.%d" % (10 + c)
        for k in range(6):
            t = t0 + c * 7 + k * 20
            srv = "10.9.0.%d" % (1 + (c + k) % 4)
            port = 80 if srv != "10.9.0.3" else 443
            web(t, cli, srv, 40000 + c * 100 + k, port)
            udp(t + 1, cli, "10.9.0.2", 50000 + c * 100 + k, 53, b"q" * 30)
            udp(t + 1.001, "10.9.0.2", cli, 53, 50000 + c * 100 + k, b"a" * 60)
    tcp(t0 + 50, "192.168.1.10", "10.9.0.77", 41999, 80, SYN)
    tcp(t0 + 51, "192.168.1.10", "10.9.0.77", 41999, 80, SYN)
    for k in range(30):
        web(t0 + 200 + k * 3, "192.168.1.11", "10.9.0.1", 42000 + k, 80)


def scans(t0):
    for h in range(1, 41):
        probe(t0 + 300 + h * 0.01, "203.0.113.7", "10.9.0.%d" % h, 61000, 80)
    for p in range(1, 101):
        probe(t0 + 400 + p * 0.01, "198.51.100.9", "10.9.0.1", 62000, p)
    for p in range(25):
        t = t0 + 500 + p * 60
        udp(t, "198.51.100.20", "10.9.0.3", 63000, 1000 + p, b"")
        quote = ip4("198.51.100.20", "10.9.0.3", 17, struct.pack("!HHHH", 63000, 1000 + p, 8, 0))
        icmp(t + 0.001, "10.9.0.3", "198.51.100.20", 3, 3, quote)
    for h in range(1, 21):
        icmp(t0 + 700 + h * 0.01, "203.0.113.50", "10.9.0.%d" % h, 8, 0, b"p" * 56)
        if h in LIVE:
            icmp(t0 + 700 + h * 0.01 + 0.001, "10.9.0.%d" % h, "203.0.113.50", 0, 0, b"p" * 56)


def main():
    t0 = 1700200000
    ordinary(t0)
    scans(t0)
    pkts.sort(key=lambda p: p[0])
    eth = b"\x00\x00\x5e\x00\x53\x02\x00\x00\x5e\x00\x53\x01\x08\x00"
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, p in pkts:
            sec, usec = int(t), int(round((t - int(t)) * 1e6))
            frame = eth + p
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


if __name__ == "__main__":
    main()
