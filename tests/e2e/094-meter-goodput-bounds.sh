#!/bin/sh
# A property of every record the meter writes: goodput (unique TCP payload bytes) never
# exceeds the payload the meter saw, in either direction, with and without --split,
# over every capture of the suite (tests/data) and of ../shared/data/pcap (real
# captures with packets the capture missed, and a reused client port). Counting the
# sequence span instead once gave rgoodput 55,545 for rpayload 48,305 on a browsing
# capture that missed segments, and 21 MB for 5.8 MB on a port reused with a new ISN.
. "$(dirname "$0")/lib.sh"

set --
for f in "$FS_SRC"/tests/data/*.pcap "$FS_DATA"/pcap/*.pcap "$FS_DATA"/pcap/*.pcapng; do
    [ -f "$f" ] && set -- "$@" "$f"
done
[ $# -gt 0 ] || fail "no captures found"

# A reused port without FIN/RST: fsgen's first download cut short after 60 packets, then
# another on the same 5-tuple (new ISNs) 5 s later. Two records, the second exact.
need editcap mergecap
[ -x "$FS_GEN" ] || fail "fsgen not built"
"$FS_GEN" download "$T/a.pcap" --size 300000 --seed 1 2>/dev/null || fail "fsgen a"
"$FS_GEN" download "$T/b.pcap" --size 200000 --seed 2 --start 1700000005 2>/dev/null ||
    fail "fsgen b"
editcap -F pcap -r "$T/a.pcap" "$T/a60.pcap" 1-60 || fail "editcap"
# fsgen picks the client port from the seed: give b's connection a's port
need python3
python3 - "$T/a60.pcap" "$T/b.pcap" "$T/b2.pcap" <<'PY' || fail "port rewrite"
import struct, sys
def recs(path):
    d = open(path, "rb").read()
    assert struct.unpack("<I", d[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D) and struct.unpack("<I", d[20:24])[0] == 1
    off = 24
    while off < len(d):
        n = struct.unpack("<I", d[off + 8:off + 12])[0]
        yield d[:24], d[off:off + 16], bytearray(d[off + 16:off + 16 + n])
        off += 16 + n
def ports(pkt):  # Ethernet, IPv4
    t = 14 + (pkt[14] & 15) * 4
    return t, struct.unpack(">HH", pkt[t:t + 4])
_, _, first = next(recs(sys.argv[1]))
want = ports(first)[1][0]
out = open(sys.argv[3], "wb")
cport = None
for gh, rh, pkt in recs(sys.argv[2]):
    if out.tell() == 0:
        out.write(gh)
    t, (sp, dp) = ports(pkt)
    cport = cport or sp
    if sp == cport:
        pkt[t:t + 2] = struct.pack(">H", want)
    elif dp == cport:
        pkt[t + 2:t + 4] = struct.pack(">H", want)
    out.write(rh + bytes(pkt))
PY
mergecap -F pcap -a -w "$T/reuse.pcap" "$T/a60.pcap" "$T/b2.pcap" || fail "mergecap"
rm -f "$T/a.pcap" "$T/b.pcap" "$T/b2.pcap" "$T/a60.pcap"
fs meter -r "$T/reuse.pcap" -w "$T/reuse.fsf" || fail "meter reuse"
fs print -r "$T/reuse.fsf" -o csv >"$T/reuse.csv" || fail "print reuse"
[ "$(awk -F, 'NR > 1' "$T/reuse.csv" | wc -l)" -eq 2 ] ||
    fail "port reuse: expected 2 records: $(cat "$T/reuse.csv")"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { print $c["rgoodput"] }' "$T/reuse.csv" | tail -1 | grep -qx 200000 ||
    fail "port reuse: second connection's rgoodput: $(cat "$T/reuse.csv")"
set -- "$@" "$T/reuse.pcap"

n=0
for f; do
    for split in "" --split; do
        # shellcheck disable=SC2086
        fs meter $split -r "$f" -w "$T/m.fsf" 2>/dev/null || fail "meter $split $f"
        fs print -r "$T/m.fsf" -o csv >"$T/m.csv" || fail "print $f"
        awk -F, -v f="$f" -v s="$split" '
            NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
            $c["goodput"] + 0 > $c["payload"] + 0 || $c["rgoodput"] + 0 > $c["rpayload"] + 0 {
                print f, s ": goodput " $c["goodput"] " payload " $c["payload"] \
                    " rgoodput " $c["rgoodput"] " rpayload " $c["rpayload"]; bad = 1 }
            END { exit bad }' "$T/m.csv" >"$T/bad" || fail "$(cat "$T/bad")"
        n=$((n + $(wc -l <"$T/m.csv") - 1))
    done
done
[ "$n" -gt 0 ] || fail "no records"
echo "ok: $# captures, $n records"
