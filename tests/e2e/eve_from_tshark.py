#!/usr/bin/env python3
"""Write Suricata EVE alerts for a capture from tshark's per-packet fields (105-eve-*).

Usage: eve_from_tshark.py PKTS.csv OUT.eve WANT.txt

PKTS.csv: tshark -T fields -E separator=, with frame.time_epoch, ip.src, ipv6.src,
ip.dst, ipv6.dst, ip.proto, ipv6.nxt, tcp.srcport, udp.srcport, tcp.dstport,
udp.dstport, tcp.len, communityid. The alerts are the ones these rules would give:
  alert tcp any any -> any 80 (first payload packet of a connection; severity 2)
  alert udp any any -> any 53 (every packet; severity 3)
  alert tcp any any -> any 22 (first payload packet, two rules: severity 3 and 1)
in Suricata 6's alert shape, community_id from tshark (not from flowsleuth).
WANT.txt: one line per alerted connection, src,sport,dst,dport,proto,count,severity,sid
of its most severe alert (the first on a tie)."""
import datetime
import json
import sys

RULES = {  # (proto, dport): [(sid, severity, signature, category, every_packet)]
    (6, 80): [(1000080, 2, "LOCAL HTTP request to port 80", "Potentially Bad Traffic", False)],
    (17, 53): [(1000053, 3, "LOCAL DNS query", "Misc activity", True)],
    (6, 22): [(1000022, 3, "LOCAL SSH payload", "Misc activity", False),
              (1000023, 1, "LOCAL SSH to a server", "Attempted Administrator Privilege Gain", False)],
}


def main():
    pkts, out, want = sys.argv[1:4]
    conns = {}
    lines = []
    for line in open(pkts):
        f = line.rstrip("\n").split(",")
        if len(f) < 13 or not f[12]:
            continue
        t = float(f[0])
        src, dst = f[1] or f[2], f[3] or f[4]
        proto = int(f[5] or f[6])
        sport, dport = int(f[7] or f[8] or 0), int(f[9] or f[10] or 0)
        payload = proto != 6 or int(f[11] or 0) > 0
        rules = RULES.get((proto, dport))
        if not rules or not payload:
            continue
        key = (src, sport, dst, dport, proto)
        seen = key in conns
        ts = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
        for sid, sev, sig, cat, every in rules:
            if seen and not every:
                continue
            ev = {"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000",
                  "flow_id": 1000000 + len(lines), "in_iface": "eth0",
                  "event_type": "alert", "src_ip": src, "src_port": sport,
                  "dest_ip": dst, "dest_port": dport, "proto": "TCP" if proto == 6 else "UDP",
                  "community_id": f[12],
                  "alert": {"action": "allowed", "gid": 1, "signature_id": sid, "rev": 1,
                            "signature": sig, "category": cat, "severity": sev}}
            lines.append(json.dumps(ev, separators=(",", ":")))
            c = conns.setdefault(key, [0, None])
            c[0] += 1
            if c[1] is None or sev < c[1][0]:
                c[1] = (sev, sid)
    with open(out, "w") as fp:
        fp.write("\n".join(lines) + "\n")
    with open(want, "w") as fp:
        for (src, sport, dst, dport, proto), (n, (sev, sid)) in conns.items():
            fp.write("%s,%d,%s,%d,%d,%d,%d,%d\n" % (src, sport, dst, dport, proto, n, sev, sid))


main()
