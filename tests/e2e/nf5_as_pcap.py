#!/usr/bin/env python3
"""Write a pcap of NetFlow v5 datagrams whose records carry AS numbers, for the web
tests' top-N by AS (112, 113): flowsleuth collect -f reads it into a store.

usage: nf5_as_pcap.py OUT.pcap
60 flows from 10.0.S.H to 192.0.2.D, src_as one of 64500..64512 (more than a top 10
holds: "other") and dst_as one of 65010..65012, a fifth and a sixth of them 0 (AS
unknown); bytes growing with the flow's number squared, so that the sums differ; 20
records a datagram, exporter 127.0.0.1.
"""
import struct
import sys

BASE = 1760000000  # unix seconds of the export


def record(i):
    src = bytes([10, 0, i % 4, 1 + i % 7])
    dst = bytes([192, 0, 2, 1 + i % 9])
    src_as = 0 if i % 5 == 0 else 64500 + i % 13
    dst_as = 0 if i % 6 == 0 else 65010 + i % 3
    pkts, octets = 2 + i % 5, 1000 + 37 * i * i
    first, last = 10000 + 1000 * i, 10500 + 1000 * i  # sysuptime ms
    return struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", src, dst, b"\0\0\0\0", 1, 2, pkts, octets,
                       first, last, 40000 + i, 443, 0, 0x18, 6, 0, src_as, dst_as, 24, 24, 0)


def datagram(seq, recs):
    hdr = struct.pack("!HHIIIIBBH", 5, len(recs), 100000, BASE, 0, seq, 0, 0, 0)
    return hdr + b"".join(recs)


def frame(payload, n):
    udp = struct.pack("!HHHH", 2055, 2055, 8 + len(payload), 0) + payload
    tot = 20 + len(udp)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, n, 0, 64, 17, 0, bytes([127, 0, 0, 1]),
                     bytes([127, 0, 0, 1]))
    s = sum(struct.unpack("!10H", ip))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xFFFF) + ip[12:]
    eth = b"\0\1\2\3\4\5" + b"\0\1\2\3\4\6" + b"\x08\x00"
    return eth + ip + udp


with open(sys.argv[1], "wb") as out:
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    recs = [record(i) for i in range(60)]
    for n, k in enumerate(range(0, 60, 20)):
        pkt = frame(datagram(k, recs[k:k + 20]), n)
        out.write(struct.pack("<IIII", BASE + n, 0, len(pkt), len(pkt)) + pkt)
