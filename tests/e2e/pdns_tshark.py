#!/usr/bin/env python3
"""The passive DNS table of a capture as tshark decodes it, for 108-pdns.sh: the
answer-section A, AAAA and CNAME records (class IN) of every DNS response sent from
port 53, aggregated per (rrname, rrtype, rdata) as meter --pdns-out writes them (names
lowered, times in whole seconds, count = responses carrying the record). IP fragments
are not reassembled (-o ip.defragment:FALSE), as the meter does not; TCP streams are.

usage: pdns_tshark.py CAPTURE > table.jsonl
"""
import json
import subprocess
import sys

TYPES = {"1": ("A", "dns.a"), "28": ("AAAA", "dns.aaaa"), "5": ("CNAME", "dns.cname")}


def as_list(v):
    return v if isinstance(v, list) else [v]


def main():
    out = subprocess.run(
        ["tshark", "-r", sys.argv[1], "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
         "-T", "json", "-J", "frame udp tcp dns", "--no-duplicate-keys",
         "-Y", "dns.flags.response == 1 && (udp.srcport == 53 || tcp.srcport == 53) && !_ws.malformed"],
        check=True, capture_output=True, text=True).stdout
    table = {}
    for pkt in json.loads(out):
        layers = pkt["_source"]["layers"]
        t = int(float(layers["frame"]["frame.time_epoch"]))
        for dns in as_list(layers.get("dns", [])):
            if not isinstance(dns, dict) or dns.get("dns.flags_tree", {}).get("dns.flags.opcode") != "0":
                continue
            for ans in as_list(dns.get("Answers", {})):
                if not isinstance(ans, dict):
                    continue
                for rr in (r for v in ans.values() for r in as_list(v)):
                    typ = TYPES.get(rr.get("dns.resp.type"))
                    if not typ or int(rr.get("dns.resp.class", "0"), 16) & 0x7FFF != 1:
                        continue
                    key = (rr["dns.resp.name"].lower(), typ[0], rr[typ[1]].lower())
                    e = table.setdefault(key, [t, t, 0])
                    e[0], e[1], e[2] = min(e[0], t), max(e[1], t), e[2] + 1
    order = {"A": 1, "CNAME": 5, "AAAA": 28}
    for (name, typ, rdata), (first, last, count) in sorted(
            table.items(), key=lambda kv: (kv[0][0].encode(), order[kv[0][1]], kv[0][2].encode())):
        print(json.dumps({"rrname": name, "rrtype": typ, "rdata": rdata, "time_first": first,
                          "time_last": last, "count": count}, separators=(",", ":")))


main()
