#!/usr/bin/env python3
"""Write a small Ethernet pcap of ICMP and ICMPv6 echo requests and replies.

usage: icmp_pcap.py OUT.pcap

075-nfdump-compare.sh adds it to the capture metered by softflowd, because fsgen
writes TCP and UDP only: 12 IPv4 hosts each ping 172.16.9.1 (1..12 echoes of 84 bytes,
replies too) and 3 IPv6 hosts ping 2001:db8:99::1 (2 echoes of 104 bytes), one echo a
second from 1700100000 (UTC).
"""
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def v4(src, dst, typ, seq):
    icmp = struct.pack("!BBHHH", typ, 0, 0, 7, seq) + b"x" * 56
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0,
                      bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return b"\x08\x00", hdr + icmp


def v6(src, dst, typ, seq):
    body = struct.pack("!BBHHH", typ, 0, 0, 7, seq) + b"y" * 56
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]
    hdr = struct.pack("!IHBB", 0x60000000, len(body), 58, 64) + src + dst
    return b"\x86\xdd", hdr + body


def main():
    pkts = []
    t = 1700100000
    srv4 = [172, 16, 9, 1]
    for h in range(12):
        cli = [172, 16, 8, 10 + h]
        for seq in range(h + 1):
            pkts.append((t, v4(cli, srv4, 8, seq)))
            pkts.append((t, v4(srv4, cli, 0, seq)))
            t += 1
    srv6 = bytes.fromhex("20010db8009900000000000000000001")
    for h in range(3):
        cli = bytes.fromhex("20010db80098000000000000000000%02x" % (16 + h))
        for seq in range(2):
            pkts.append((t, v6(cli, srv6, 128, seq)))
            pkts.append((t, v6(srv6, cli, 129, seq)))
            t += 1
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, (sec, (etype, ip)) in enumerate(pkts):
            frame = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + etype + ip
            f.write(struct.pack("<IIII", sec, (i % 2) * 1000, len(frame), len(frame)))
            f.write(frame)


if __name__ == "__main__":
    main()
