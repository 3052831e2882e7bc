#!/usr/bin/env python3
"""The benchmarks' relay (bench/read.sh, bench/query.sh): receive NetFlow v9 datagrams on
LPORT until SIGUSR1 and the socket is empty, then replay them paced at PPS to DPORT, so
nfcapd gets softflowd's export without loss; prints "datagrams records drops".
Usage: relay.py LPORT DPORT PPS READY_FILE"""
import signal, socket, struct, sys, time
lport, dport, pps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.setsockopt(socket.SOL_SOCKET, 33, 1 << 28)  # SO_RCVBUFFORCE (root)
except OSError:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 28)
s.bind(("127.0.0.1", lport))
open(sys.argv[4], "w").close()  # ready
stop = False
def on_usr1(*_):
    global stop
    stop = True
signal.signal(signal.SIGUSR1, on_usr1)
s.settimeout(0.2)
dgrams = []
while True:
    try:
        dgrams.append(s.recv(65535))
    except socket.timeout:
        if stop:
            break
    except InterruptedError:
        pass
drops = 0
with open("/proc/net/udp") as f:
    for line in f:
        p = line.split()
        if len(p) > 12 and p[1].endswith(":%04X" % lport):
            drops = int(p[-1])
# NetFlow v9: count data records with the templates' record lengths
tmpl, records = {}, 0
for d in dgrams:
    if len(d) < 20 or struct.unpack_from("!H", d)[0] != 9:
        continue
    off = 20
    while off + 4 <= len(d):
        fid, flen = struct.unpack_from("!HH", d, off)
        if flen < 4:
            break
        body = d[off + 4:off + flen]
        if fid == 0:
            o = 0
            while o + 4 <= len(body):
                tid, cnt = struct.unpack_from("!HH", body, o)
                tmpl[tid] = sum(struct.unpack_from("!HH", body, o + 4 + 4 * i)[1]
                                for i in range(cnt))
                o += 4 + 4 * cnt
        elif fid >= 256 and tmpl.get(fid):
            records += len(body) // tmpl[fid]
        off += flen
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic()
for i, d in enumerate(dgrams):
    out.sendto(d, ("127.0.0.1", dport))
    ahead = t0 + (i + 1) / pps - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
print(len(dgrams), records, drops, flush=True)
