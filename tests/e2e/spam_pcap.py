#!/usr/bin/env python3
"""Write an Ethernet pcap of mail traffic for 102-spam.sh (packet helpers: scan_pcap.py).

usage: spam_pcap.py OUT.pcap

Our network 10.1.0.0/16, the relay 10.1.0.25. From 1700300000 (UTC):
  10.1.0.10-14   submit mail to the relay on 587 (3 times each) and browse 30 web
                 servers on 443 (fan-out, but no mail)
  10.1.0.25      the relay: delivers to 30 outside mail servers on 25 in 20 minutes
  10.1.0.66      a spam bot: 40 outside mail servers on 25 in 15 minutes (half answer
                 with a banner, a quarter reset, a quarter never answer), a second
                 connection to 5 of them
  10.1.0.77      12 outside mail servers, one every 70 minutes (slow)
  10.1.0.88      8 outside mail servers on 25 and 465 in one hour
  203.0.113.9    delivers inbound mail to the relay (4 connections)
  203.0.113.50   probes port 25 of 20 of our hosts
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_pcap as g  # noqa: E402

SYN, ACK, FIN, RST, PSH = g.SYN, g.ACK, g.FIN, g.RST, g.PSH


def smtp(t, cli, srv, sport, dport, how="ok"):
    g.tcp(t, cli, srv, sport, dport, SYN)
    if how == "silent":
        g.tcp(t + 1, cli, srv, sport, dport, SYN)
        return
    if how == "rst":
        g.tcp(t + 0.001, srv, cli, dport, sport, RST | ACK)
        return
    g.tcp(t + 0.001, srv, cli, dport, sport, SYN | ACK)
    g.tcp(t + 0.002, cli, srv, sport, dport, ACK)
    g.tcp(t + 0.010, srv, cli, dport, sport, PSH | ACK, pay=b"220 mx ESMTP\r\n")
    g.tcp(t + 0.020, cli, srv, sport, dport, PSH | ACK, pay=b"EHLO x\r\n" + b"m" * 400)
    g.tcp(t + 0.030, srv, cli, dport, sport, PSH | ACK, pay=b"250 ok\r\n")
    g.tcp(t + 0.040, cli, srv, sport, dport, FIN | ACK)
    g.tcp(t + 0.041, srv, cli, dport, sport, FIN | ACK)
    g.tcp(t + 0.042, cli, srv, sport, dport, ACK)


def main():
    t0 = 1700300000
    relay = "10.1.0.25"
    for c in range(5):
        cli = "10.1.0.%d" % (10 + c)
        for k in range(3):
            smtp(t0 + c * 30 + k * 400, cli, relay, 41000 + c * 10 + k, 587)
        for k in range(30):
            g.web(t0 + 2000 + c * 60 + k, cli, "192.0.2.%d" % (k + 1), 42000 + c * 100 + k, 443)
    for k in range(30):
        smtp(t0 + 100 + k * 40, relay, "198.51.100.%d" % (k + 1), 43000 + k, 25)
    for k in range(40):
        how = "ok" if k % 2 == 0 else ("rst" if k % 4 == 1 else "silent")
        smtp(t0 + 3000 + k * 22, "10.1.0.66", "198.51.100.%d" % (100 + k), 44000 + k, 25, how)
    for k in range(5):
        smtp(t0 + 3900 + k * 5, "10.1.0.66", "198.51.100.%d" % (100 + 2 * k), 44100 + k, 25)
    for k in range(12):
        smtp(t0 + k * 4200, "10.1.0.77", "198.51.100.%d" % (150 + k), 45000 + k, 25)
    for k in range(8):
        smtp(t0 + 6000 + k * 400, "10.1.0.88", "198.51.100.%d" % (170 + k), 46000 + k,
             465 if k % 2 else 25)
    for k in range(4):
        smtp(t0 + 500 + k * 300, "203.0.113.9", relay, 47000 + k, 25)
    for k in range(20):
        smtp(t0 + 7000 + k * 0.01, "203.0.113.50", "10.1.0.%d" % (30 + k), 48000 + k, 25,
             "rst")
    g.pkts.sort(key=lambda p: p[0])
    eth = b"\x00\x00\x5e\x00\x53\x02\x00\x00\x5e\x00\x53\x01\x08\x00"
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, p in g.pkts:
            sec, usec = int(t), int(round((t - int(t)) * 1e6))
            frame = eth + p
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


main()
