#!/bin/sh
# 011: the meter reads classic pcap files itself (capture/pcap_file.h, the file mapped,
# no copy); it must give exactly what libpcap gives. Every capture in tests/data and
# $FS_DATA (NetFlow, IPFIX, sFlow, general captures; pcapng among them goes to libpcap
# either way) is metered twice, with the own reader and with libpcap
# (FS_PCAP_READER=libpcap, a switch for this test), and `meter -o csv` output, stderr
# and exit status must be the same byte for byte.
#
# The general captures (tests/data and $FS_DATA/pcap; the NetFlow/IPFIX/sFlow ones add
# nothing new at the file level) are also rewritten into the variants the own reader
# has to handle, and each variant compared the same way:
#   be      big-endian file (header and records byte-swapped)
#   ns      nanosecond magic, fractions * 1000 (little-endian), and be+ns
#   raw     Ethernet stripped, link type 101 (raw IP; libpcap reports DLT_RAW 12)
#   snap    file snap length 60 while records keep their length: libpcap cuts each
#           record to 60 bytes and skips the rest
#   cut     the file cut inside its last record: an error after the packets before
# plus a BPF filter (tcp) on the original, and --split on the original.
. "$(dirname "$0")/lib.sh"

need python3

# variants IN OUTDIR: write OUTDIR/{be,ns,bens,raw,snap,cut}.pcap (those that apply)
variants() {
    python3 - "$1" "$2" <<'EOF'
import struct, sys
src, out = sys.argv[1], sys.argv[2]
b = open(src, 'rb').read()
if len(b) < 24:
    sys.exit(0)
m = b[:4]
if m == b'\xd4\xc3\xb2\xa1':
    e = '<'
elif m == b'\xa1\xb2\xc3\xd4':
    e = '>'
else:
    sys.exit(0)  # pcapng, nanosecond or other: variants of classic us files only
magic, major, minor, zone, sig, snap, lt = struct.unpack(e + 'IHHiiII', b[:24])
recs = []
pos = 24
while pos + 16 <= len(b):
    sec, frac, cap, wire = struct.unpack(e + 'IIII', b[pos:pos + 16])
    if pos + 16 + cap > len(b):
        break
    recs.append((sec, frac, cap, wire, b[pos + 16:pos + 16 + cap]))
    pos += 16 + cap

def write(name, o, hdr_magic, snaplen, linktype, rs):
    with open(out + '/' + name + '.pcap', 'wb') as f:
        f.write(struct.pack(o + 'IHHiiII', hdr_magic, 2, 4, 0, 0, snaplen, linktype))
        for sec, frac, cap, wire, data in rs:
            f.write(struct.pack(o + 'IIII', sec, frac, cap, wire) + data)

write('be', '>', 0xa1b2c3d4, snap, lt, recs)
ns = [(s, f * 1000, c, w, d) for s, f, c, w, d in recs]
write('ns', '<', 0xa1b23c4d, snap, lt, ns)
write('bens', '>', 0xa1b23c4d, snap, lt, ns)
write('snap', '<', 0xa1b2c3d4, 60, lt, recs)
if lt == 1:
    raw = [(s, f, c - 14, w - 14, d[14:]) for s, f, c, w, d in recs
           if c > 14 and d[12:14] in (b'\x08\x00', b'\x86\xdd')]
    write('raw', '<', 0xa1b2c3d4, snap, 101, raw)
whole = open(src, 'rb').read()[:pos]
if len(recs) > 1:
    last = recs[-1]
    open(out + '/cut.pcap', 'wb').write(whole[:pos - max(1, last[2] // 2)])
EOF
}

# compare PCAP NAME [ARGS...]: meter PCAP with both readers; fail on any difference
compare() {
    _p=$1
    _n=$2
    shift 2
    _rc1=0
    _rc2=0
    # A classic file must go to the own reader ("own" refuses it otherwise), or the
    # comparison would pass with libpcap on both sides; pcapng goes to libpcap.
    _force=own
    [ "$(od -An -tx1 -N4 "$_p" | tr -d ' ')" = 0a0d0d0a ] && _force=
    FS_PCAP_READER=$_force fs meter -r "$_p" -o csv "$@" >"$T/$_n.own.csv" \
        2>"$T/$_n.own.err" || _rc1=$?
    FS_PCAP_READER=libpcap fs meter -r "$_p" -o csv "$@" >"$T/$_n.lib.csv" \
        2>"$T/$_n.lib.err" || _rc2=$?
    [ "$_rc1" = "$_rc2" ] || fail "$_n: exit $_rc1 with the own reader, $_rc2 with libpcap"
    expect_same "$T/$_n.lib.csv" "$T/$_n.own.csv"
    expect_same "$T/$_n.lib.err" "$T/$_n.own.err"
    compared=$((compared + 1))
    [ "$_rc1" = 0 ] || errors=$((errors + 1))
    [ "$(wc -l <"$T/$_n.own.csv")" -gt 1 ] && flows=$((flows + 1))
    return 0
}

compared=0
errors=0
flows=0
i=0
for p in "$FS_SRC"/tests/data/*.pcap "$FS_DATA"/*/*.pcap "$FS_DATA"/*/*.pcapng; do
    [ -f "$p" ] || continue
    i=$((i + 1))
    n=$i-$(basename "$p" | sed 's/\.pcap.*//')
    compare "$p" "$n"
    case $p in
    "$FS_SRC"/tests/data/* | "$FS_DATA"/pcap/*) ;;
    *) continue ;;
    esac
    mkdir -p "$T/v$i"
    variants "$p" "$T/v$i"
    for v in "$T/v$i"/*.pcap; do
        [ -f "$v" ] || continue
        compare "$v" "$n-$(basename "$v" .pcap)"
    done
    rm -rf "$T/v$i"
done
[ "$i" -gt 0 ] || fail "no captures found"
[ -d "$FS_DATA" ] || skip "no $FS_DATA: only tests/data compared ($compared runs)"

# A filter and the exchange split on the captures of tests/data.
for p in "$FS_SRC"/tests/data/*.pcap; do
    n=$(basename "$p" .pcap)
    compare "$p" "$n-bpf" tcp and not port 22
    compare "$p" "$n-split" --split
done

[ "$compared" -gt 150 ] || fail "only $compared comparisons"
[ "$errors" -gt 0 ] || fail "no cut file ended with an error: variants not made?"
echo "011: $compared runs compared ($errors ending in an error, $flows with flows)"
