#!/usr/bin/env python3
"""Replay the UDP payloads of a pcap capture to 127.0.0.1:PORT at a limited rate.

usage: replay_udp.py CAPTURE.pcap PORT PPS

Used by 075-nfdump-compare.sh to feed nfcapd the very datagrams softflowd exported
(captured with tcpdump on lo): softflowd -r sends as fast as it can, and nfcapd drops
datagrams silently under bursts, so they are sent again here at PPS datagrams per
second. Reads classic pcap (either byte order, us or ns), link types Ethernet,
Linux cooked v1/v2, raw IP and BSD loopback; IPv4 and IPv6; every UDP datagram is
sent, in capture order. Prints the number of datagrams sent.
"""
import socket
import struct
import sys
import time

LINK_HDR = {1: 14, 113: 16, 276: 20, 101: 0, 12: 0, 0: 4}


def datagrams(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        sys.exit("replay_udp.py: %s: not a classic pcap file" % path)
    link = struct.unpack_from(end + "I", data, 20)[0] & 0xFFFF
    if link not in LINK_HDR:
        sys.exit("replay_udp.py: link type %d not supported" % link)
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from(end + "I", data, off + 8)[0]
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        payload = udp_payload(pkt[LINK_HDR[link]:])
        if payload is not None:
            yield payload


def udp_payload(ip):
    if len(ip) < 20:
        return None
    ver = ip[0] >> 4
    if ver == 4:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack_from("!H", ip, 2)[0]
        frag = struct.unpack_from("!H", ip, 6)[0] & 0x3FFF
        if ip[9] != 17 or frag:
            return None
        udp = ip[ihl:total]
    elif ver == 6 and len(ip) >= 40:
        if ip[6] != 17:
            return None
        udp = ip[40:40 + struct.unpack_from("!H", ip, 4)[0]]
    else:
        return None
    if len(udp) < 8:
        return None
    return udp[8:struct.unpack_from("!H", udp, 4)[0]]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    port, pps = int(sys.argv[2]), float(sys.argv[3])
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    n = 0
    for d in datagrams(sys.argv[1]):
        out.sendto(d, ("127.0.0.1", port))
        n += 1
        ahead = t0 + n / pps - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    print(n)


if __name__ == "__main__":
    main()
