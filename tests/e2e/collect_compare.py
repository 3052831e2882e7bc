#!/usr/bin/env python3
"""Compare `flowsleuth collect -f X -o json --sampling 1` with tshark's X.records.jsonl.

Usage: collect_compare.py REFERENCE.records.jsonl OURS.jsonl [--extra-ok]

Every tshark data record of a flow template (options data excluded) must equal, in
order, a record of ours in every field both decode. Records of ours that tshark did not
decode are allowed only with --extra-ok (the documented known limits where we decode
more); they are reported either way. Exit 0 on a match, 1 otherwise.
"""
import datetime
import ipaddress
import json
import re
import sys


def num(v):
    if isinstance(v, list):
        v = v[0]
    return int(v, 16) if v.startswith("0x") else int(v)


def first(v):
    return v[0] if isinstance(v, list) else v


def ms_of_secs(s):
    whole, _, frac = s.partition(".")
    return int(whole) * 1000 + int((frac + "000")[:3])


def abs_ms(s):
    # "Dec 25, 2016 12:58:35.818000000 UTC"
    s = " ".join(s.replace(" UTC", "").split())
    main, _, frac = s.partition(".")
    t = datetime.datetime.strptime(main, "%b %d, %Y %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000 + int((frac + "000")[:3])


def uptime_ms(rec, rel):
    """v5/v9 sysUptime-relative time -> epoch ms, as RFC 3954 defines it."""
    up = ms_of_secs(rec["sysuptime"])
    exp = rec["export_time"] * 1000
    if rec["version"] == 5:
        exp += int(rec.get("unix_nsecs", "0")) // 1000000
    d = (up - rel) & 0xffffffff
    if d >= 1 << 31:
        d -= 1 << 32
    return exp - d


def expected(rec, sysinit):
    """Fields of our record that tshark's record determines: {name: value}.

    sysinit: the last IPFIX systemInitTimeMilliseconds tshark showed for the domain.
    """
    f = rec["fields"]
    e = {}
    for k4, k6, ours in (("cflow.srcaddr", "cflow.srcaddrv6", "src"),
                         ("cflow.dstaddr", "cflow.dstaddrv6", "dst")):
        keys = list(f)
        v6 = k6 in f and (k4 not in f or keys.index(k6) < keys.index(k4))
        if "cflow.ip_version" in f and k4 in f and k6 in f:
            v6 = num(f["cflow.ip_version"]) == 6
        if v6:
            e[ours] = str(ipaddress.ip_address(first(f[k6])))
        elif k4 in f:
            e[ours] = first(f[k4])
    for key, ours in (("cflow.srcport", "sport"), ("cflow.dstport", "dport"),
                      ("cflow.protocol", "proto"), ("cflow.inputint", "in_if"),
                      ("cflow.outputint", "out_if"), ("cflow.srcas", "src_as"),
                      ("cflow.dstas", "dst_as"), ("cflow.tos", "tos")):
        if key in f:
            e[ours] = num(f[key])
    if "cflow.tcpflags" in f:
        e["flags"] = num(f["cflow.tcpflags"]) & 0xff
    # Firewall and NAT (NSEL, NAT events): tshark names Cisco 40001-40005 as the IANA
    # elements 225-228 and 233 they became.
    for key, ours in (("cflow.post_natsource_ipv4_address", "xsrc"),
                      ("cflow.post_natdestination_ipv4_address", "xdst"),
                      ("cflow.post_natsource_ipv6_address", "xsrc"),
                      ("cflow.post_natdestination_ipv6_address", "xdst")):
        if key in f:
            e[ours] = str(ipaddress.ip_address(first(f[key])))
    for key, ours in (("cflow.post_naptsource_transport_port", "xsport"),
                      ("cflow.post_naptdestination_transport_port", "xdport"),
                      ("cflow.firewall_event", "fw_event"), ("cflow.fw_ext_event", "fw_ext_event"),
                      ("cflow.nat_event", "nat_event")):
        if key in f:
            e[ours] = num(f[key])
    for key, ours in (("cflow.ingress_acl_id", "ingress_acl"), ("cflow.egress_acl_id", "egress_acl")):
        if key in f:
            b = bytes.fromhex(first(f[key]).replace(":", ""))
            e[ours] = "0" if not any(b[:8]) else "%s:%s" % (b[:4].hex(), b[4:8].hex())
    for keys, ours in ((("cflow.octets", "cflow.permanent_octets", "cflow.initiator_octets",
                         "cflow.post_octets"), "bytes"),
                       (("cflow.packets", "cflow.permanent_packets", "cflow.post_packets"),
                        "packets")):
        for k in keys:
            if k in f:
                e[ours] = num(f[k])
                if isinstance(f[k], list) and len(f[k]) == 2 and k != "cflow.post_octets":
                    e["r" + ours] = int(f[k][1])  # RFC 5103 reverse: same name, 2nd value
                break
    if "cflow.responder_octets" in f and "rbytes" not in e:
        e["rbytes"] = num(f["cflow.responder_octets"])
    icmp = f.get("cflow.icmp_type_code_ipv4")
    if icmp is not None and e.get("proto") == 1 and not e.get("sport") and not e.get("dport"):
        e["dport"] = num(icmp)
    for key, ours in (("cflow.abstimestart", "first"), ("cflow.abstimeend", "last")):
        if key in f:
            e[ours] = abs_ms(first(f[key]))
    # tshark 4.0 quirk: when FIRST_SWITCHED (22) follows LAST_SWITCHED (21) in a v9
    # template it prints an uptime of 0 ms as the absolute time 0 ("Jan 1, 1970"); the
    # wire value is an uptime, so resolve it as one.
    for k in ("first", "last"):
        if e.get(k) == 0 and rec["version"] == 9:
            e[k] = uptime_ms(rec, 0)
        elif e.get(k) == 0 and sysinit is not None:
            e[k] = sysinit
    # observationTimeMilliseconds (NSEL, NAT events): the event's time, taken for an end
    # the record does not carry
    obs = f.get("cflow.observation_time_milliseconds")
    timed = any(k in f for k in ("cflow.abstimestart", "cflow.abstimeend", "cflow.timestart",
                                 "cflow.timeend"))
    if obs is not None and not timed:
        e["first"] = e["last"] = abs_ms(first(obs))
    elif obs is not None and "cflow.abstimeend" not in f and "cflow.timeend" not in f:
        e["last"] = abs_ms(first(obs))
    for key, ours in (("cflow.timestart", "first"), ("cflow.timeend", "last")):
        if key in f and ours not in e:
            rel = ms_of_secs(first(f[key]))
            if rec["version"] in (5, 9):
                e[ours] = uptime_ms(rec, rel)
            elif sysinit is not None:
                e[ours] = sysinit + rel
    return e


def ours_value(o, k):
    v = o[k]
    if k in ("first", "last"):
        t = datetime.datetime.strptime(v, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc)
        return int(round(t.timestamp() * 1000))
    if k in ("src", "dst", "xsrc", "xdst"):
        return str(ipaddress.ip_address(v))
    return v


def diff(e, o):
    return [(k, v, ours_value(o, k)) for k, v in e.items() if ours_value(o, k) != v]


def sflow_want(path):
    """Flow samples of an sFlow tshark -V text: src, dst of the first IP header in the
    sampled packet and the sampling rate (our packets: one sampled packet, scaled);
    from an extended gateway record (1003) src_as ("AS Source") and dst_as, the last
    "AS Destination" of the path (tshark 4.0 labels the communities that follow
    "Gateway Communities" "AS Destination" too: those are not the path)."""
    want, cur = [], None
    ip = re.compile(r"Internet Protocol Version [46], Src: (\S+), Dst: (\S+)")
    rate = re.compile(r"Sampling rate: 1 out of (\d+) packets")
    in_path = False
    for line in open(path, errors="replace"):
        if re.match(r"^    (Flow sample|Expanded flow sample)", line):
            cur = {}
            want.append(cur)
            in_path = False
        elif re.match(r"^    \S", line) or line.startswith("Frame "):
            cur = None
        elif cur is not None and "Format: Extended gateway data" in line:
            cur["src_as"] = cur["dst_as"] = 0
        elif cur is not None and re.match(r"^ +AS Source: \d+$", line):
            cur["src_as"] = int(line.split()[-1])
        elif cur is not None and re.match(r"^ +AS Destinations: \d+$", line):
            in_path = True
        elif cur is not None and "Gateway Communities" in line:
            in_path = False
        elif cur is not None and in_path and re.match(r"^ +AS Destination: \d+$", line):
            cur["dst_as"] = int(line.split()[-1])
        elif cur is not None:
            m = ip.search(line)
            if m and "src" not in cur:
                cur["src"] = str(ipaddress.ip_address(m.group(1)))
                cur["dst"] = str(ipaddress.ip_address(m.group(2)))
            m = rate.search(line)
            if m:
                cur["packets"] = int(m.group(1))
    return [(w, None) for w in want]


def main():
    ref, ours_path = sys.argv[1], sys.argv[2]
    extra_ok = "--extra-ok" in sys.argv[3:]
    if ref.endswith(".tshark.txt"):
        return compare(sflow_want(ref), ours_path, extra_ok, lambda r, init: r)
    kinds = {}
    sysinit = {}
    want = []
    for line in open(ref):
        r = json.loads(line)
        key = (r["version"], r.get("domain"), r.get("template_id"))
        if r["kind"] in ("template", "options_template"):
            kinds[key] = r["kind"]
        elif r["kind"] == "data":
            k = kinds.get((r["version"], r.get("domain"), r.get("set_id")), "template")
            init = r["fields"].get("cflow.sys_init_time")
            if init is not None:
                sysinit[r.get("domain")] = abs_ms(first(init))
            if k == "template":
                want.append((r, sysinit.get(r.get("domain"))))
    return compare(want, ours_path, extra_ok, expected)


def compare(want, ours_path, extra_ok, expect):
    ours = [json.loads(line) for line in open(ours_path)]
    i = 0
    extra = 0
    for n, (r, init) in enumerate(want):
        e = expect(r, init)
        j = i
        while j < len(ours) and diff(e, ours[j]):
            j += 1
        if j == len(ours):
            at = ours[i] if i < len(ours) else None
            print("record %d (%s): no match; vs our next: %s"
                  % (n + 1, "frame %s %s" % (r["frame"], r["record"]) if "frame" in r else r,
                     diff(e, at) if at else "none left"))
            return 1
        extra += j - i
        i = j + 1
    extra += len(ours) - i
    print("tshark %d flow records, ours %d: %d matched in order, %d more of ours"
          % (len(want), len(ours), len(want), extra))
    if extra and not extra_ok:
        print("FAIL: we decoded records tshark did not, and this capture is not a known limit")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
