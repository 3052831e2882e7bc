#!/bin/sh
# 077: every command that reads flows reads nfdump's own files: a single nfcapd file and
# a folder of them (flat, and nfcapd -S 1's year/month/day sub-folders), written by
# Debian's nfcapd 1.7.1 uncompressed and with each codec it writes here (-z LZO, -y LZ4,
# -j bz2; 1.7.1 has no zstd: the unit test covers zstd blocks with a file built by hand).
#
#   - print -r FILE -o csv equals `TZ=UTC nfdump -6 -r FILE -o fmt:...` in every field
#     both print: times to the millisecond, addresses (IPv4 and IPv6), ports, protocol,
#     packets, bytes, reverse packets and bytes, interfaces, AS numbers, tos and the
#     exporter address;
#   - stats -s srcip / dport -n 0 on the folder equal nfdump -R -s (flows, packets,
#     bytes per key), and count's totals equal nfdump's summary;
#   - -t selects: a window after the last flow reads nothing, one around the flows all;
#   - a truncated copy and a copy with a corrupt block are errors or skipped blocks
#     with a message naming the file and offset, never a crash.
# Records reach nfcapd from `flowsleuth meter -e nf9://` at a limited rate on 127.0.0.1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"

need nfcapd nfdump
[ -x "$FS_GEN" ] || skip "fsgen not built ($FS_GEN)"
export TZ=UTC
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$FS_GEN" mix "$T/mix.pcap" --flows 400 --seed 5 --packets-per-flow 4 --rate 100 \
    --snap 128 2>/dev/null

# capture NAME NFCAPD-OPTIONS...: nfcapd into $T/NAME with the meter's export of mix.pcap.
capture() {
    name=$1
    shift
    port=$(free_port "$(printf '%s' "$name" | cksum | cut -c1-3)")
    mkdir -p "$T/$name"
    nfcapd -w "$T/$name" -b 127.0.0.1 -p "$port" -t 3600 "$@" >"$T/$name.log" 2>&1 &
    npid=$!
    pids="$pids $npid"
    wait_udp "$port"
    fs meter -r "$T/mix.pcap" -e "nf9://127.0.0.1:$port" --rate 4000 || fail "meter -e $name"
    wait_drained "$port"
    kill -TERM "$npid"
    wait "$npid" || true
}

# The fields both tools print, in one line per flow, sorted.
NFFMT='fmt:%ts,%te,%sa,%da,%sp,%dp,%pr,%ipkt,%ibyt,%opkt,%obyt,%in,%out,%sas,%das,%ra,%tos'
nf_rows() { # nfdump -r FILE | -R DIR
    nfdump -6 -q -N "$@" -o "$NFFMT" | awk -F, -v OFS=, 'NF > 10 {
        for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i)
        sub(/ /, "T", $1); sub(/ /, "T", $2); print }' | sort
}
fs_rows() { # -r PATH
    fs print "$@" -N -o csv:first,last,src,dst,sport,dport,proto,packets,bytes,rpackets,rbytes,in_if,out_if,src_as,dst_as,exporter,tos |
        tail -n +2 | awk -F, -v OFS=, '{ sub(/Z$/, "", $1); sub(/Z$/, "", $2); print }' | sort
}

for c in none z y j; do
    opt=""
    [ "$c" = none ] || opt="-$c"
    # shellcheck disable=SC2086
    capture "nf-$c" $opt
done
capture nf-tree -y -S 1

for c in none z y j; do
    f=$(find "$T/nf-$c" -name 'nfcapd.2*' | head -1)
    [ -n "$f" ] || fail "nfcapd $c wrote no file: $(cat "$T/nf-$c.log")"
    nf_rows -r "$f" >"$T/nf.$c.txt"
    [ "$(wc -l <"$T/nf.$c.txt")" -ge 700 ] || fail "nfcapd $c stored only $(wc -l <"$T/nf.$c.txt") flows"
    fs_rows -r "$f" >"$T/fs.$c.txt" || fail "print -r $f"
    expect_same "$T/nf.$c.txt" "$T/fs.$c.txt"
    echo "ok   print -r nfcapd file ($c): $(wc -l <"$T/fs.$c.txt") flows, every field as nfdump"
done
grep -q ':' "$T/fs.y.txt" || fail "no IPv6 flow in the capture"

# A folder with nfcapd's year/month/day sub-folders.
[ -n "$(find "$T/nf-tree" -mindepth 3 -name 'nfcapd.2*')" ] || fail "nfcapd -S 1 wrote no tree"
nf_rows -R "$T/nf-tree" >"$T/nf.tree.txt"
fs_rows -r "$T/nf-tree" >"$T/fs.tree.txt"
expect_same "$T/nf.tree.txt" "$T/fs.tree.txt"
echo "ok   print -r nfcapd folder (year/month/day): $(wc -l <"$T/fs.tree.txt") flows"

# stats -s on a folder equals nfdump -s (flows, packets, bytes per key).
for key in srcip dstport proto; do
    fkey=$key
    [ "$key" = dstport ] && fkey=dport
    nfdump -6 -q -N -R "$T/nf-y" -s "$key" -n 0 -o csv | awk -F, 'NF > 8 && $1 != "ts" {
        print $5, $6, $8, $10 }' | sort >"$T/nfs.$key.txt"
    fs stats -r "$T/nf-y" -s "$fkey" -n 0 -o csv -N | tail -n +2 |
        awk -F, '{ print $2, $3, $5, $7 }' | sort >"$T/fss.$key.txt"
    [ -s "$T/nfs.$key.txt" ] || fail "nfdump -s $key printed nothing"
    expect_same "$T/nfs.$key.txt" "$T/fss.$key.txt"
done
echo "ok   stats -s srcip/dport/proto on the folder: same keys, flows, packets, bytes as nfdump -s"

# count's totals equal nfdump's summary line.
nfsum=$(nfdump -N -R "$T/nf-y" -o csv | awk -F, '$1 == "flows" { getline; print $1, $3, $2 }')
fssum=$(fs count -r "$T/nf-y" --bin 3600 -o csv -N | tail -n +2 |
    awk -F, '{ f += $2; p += $3; b += $4 } END { printf "%d %d %d\n", f, p, b }')
[ -n "$nfsum" ] || fail "no nfdump summary"
[ "$nfsum" = "$fssum" ] || fail "count totals: nfdump (flows packets bytes) $nfsum, flowsleuth $fssum"
echo "ok   count on the folder: flows, packets, bytes $fssum as nfdump's summary"

# -t: after the last flow nothing, around them everything.
last=$(fs print -r "$T/nf-y" -o csv:last -N | tail -n +2 | sort | tail -1)
n=$(fs print -r "$T/nf-y" -t "2099-01-01T00:00.." -o csv:packets --stats 2>"$T/t.err" | wc -l)
[ "$n" -eq 1 ] || fail "-t after the flows printed $((n - 1)) flows"
grep -q 'skipped by time 1' "$T/t.err" || fail "-t did not skip the file by its stat record: $(cat "$T/t.err")"
n=$(fs print -r "$T/nf-y" -t "2000-01-01T00:00..2099-01-01T00:00" -o csv:packets | wc -l)
[ "$n" -eq $(($(wc -l <"$T/fs.y.txt") + 1)) ] || fail "-t around the flows printed $((n - 1))"
echo "ok   -t selects nfcapd files by their stat record (last flow $last)"

# A reader that stops early leaves the converter threads blocked, never hung or killed.
n=$(timeout 20 "$FS_BIN" print -r "$T/nf-y" -r "$T/nf-z" -r "$T/nf-tree" -c 1 -o csv:packets | wc -l)
[ "$n" -eq 2 ] || fail "print -c 1 over three nfcapd folders printed $((n - 1)) flows"
{
    timeout 20 "$FS_BIN" print -r "$T/nf-y" -r "$T/nf-z" -o csv:packets 2>/dev/null
    echo $? >"$T/closed.rc"
} | head -1 >/dev/null
[ "$(cat "$T/closed.rc")" -ne 124 ] || fail "print into a closed pipe did not end"
echo "ok   print -c 1 and a closed output over nfcapd folders end at once"

# Real exporters: every NetFlow v5 / v9 / IPFIX capture of $FS_DATA replayed into nfcapd
# (interfaces, AS numbers, tos, IPv6, ICMP from routers, firewalls and probes). nfdump
# prints an ICMP port as TYPE.CODE: compared as TYPE*256+CODE. Records holding both an
# IPv4 and an IPv6 address element: nfdump prints whichever it expanded last, as IPv6
# (`::`, `::192.0.2.17`); flowsleuth takes the one that is not zero (README): for
# those rows every field but the addresses is compared.
if [ -d "$FS_DATA/netflow" ] && command -v python3 >/dev/null; then
    port=$(free_port 77)
    mkdir -p "$T/nf-real"
    nfcapd -w "$T/nf-real" -b 127.0.0.1 -p "$port" -t 3600 -y -B 8388608 >"$T/real.log" 2>&1 &
    npid=$!
    pids="$pids $npid"
    wait_udp "$port"
    # The ASA NSEL and NAT-event captures are compared in 108 (d) instead: their events
    # carry no flow times, nfdump's CSV prints 1970 there and flowsleuth the event time.
    for p in "$FS_DATA"/netflow/*.pcap "$FS_DATA"/ipfix/*.pcap; do
        case $p in *asa_nsel* | *nat_events*) continue ;; esac
        [ -e "$p" ] && python3 "$(dirname "$0")/replay_udp.py" "$p" "$port" 3000 >/dev/null
    done
    wait_drained "$port"
    kill -TERM "$npid"
    wait "$npid" || true
    f=$(find "$T/nf-real" -name 'nfcapd.2*' | head -1)
    nf_rows -r "$f" | awk -F, -v OFS=, '$6 ~ /\./ { split($6, t, "."); $6 = t[1] * 256 + t[2] }
        { print }' | sort >"$T/nf.real.txt"
    fs_rows -r "$f" >"$T/fs.real.txt"
    [ "$(wc -l <"$T/nf.real.txt")" -ge 1000 ] || fail "nfcapd stored $(wc -l <"$T/nf.real.txt") real records"
    noaddr() { cut -d, -f1,2,5- "$1" | sort; }
    noaddr "$T/nf.real.txt" >"$T/nf.real.na"
    noaddr "$T/fs.real.txt" >"$T/fs.real.na"
    expect_same "$T/nf.real.na" "$T/fs.real.na"
    grep -Ev '^[^,]*,[^,]*,::([0-9.]+)?,|^[^,]*,[^,]*,[^,]*,::([0-9.]+)?,' "$T/nf.real.txt" >"$T/nf.real.plain"
    comm -23 "$T/nf.real.plain" "$T/fs.real.txt" >"$T/real.missing"
    [ ! -s "$T/real.missing" ] || fail "rows of nfdump not printed by flowsleuth: $(head -3 "$T/real.missing")"
    echo "ok   real exporters: $(wc -l <"$T/fs.real.txt") records equal in every field" \
        "($(($(wc -l <"$T/nf.real.txt") - $(wc -l <"$T/nf.real.plain"))) dual-family rows: all but addresses)"
fi

# Hostile copies: cut short, and a block whose payload is garbage.
f=$(find "$T/nf-y" -name 'nfcapd.2*' | head -1)
head -c 300 "$f" >"$T/cut.nf"
fs print -r "$T/cut.nf" -o csv:packets >"$T/cut.out" 2>"$T/cut.err" && fail "print of a cut file exited 0"
grep -q "cut.nf: block at offset 40: .*ends" "$T/cut.err" || fail "truncation not reported: $(cat "$T/cut.err")"
cp "$f" "$T/bad.nf"
printf '\377\377\377\377\377\377\377\377' | dd of="$T/bad.nf" bs=1 seek=60 conv=notrunc 2>/dev/null
for cmd in print 'stats -s srcip' count; do
    rc=0
    # shellcheck disable=SC2086
    fs $cmd -r "$T/bad.nf" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
    [ "$rc" -eq 1 ] || fail "$cmd of a corrupt block: exit $rc, want 1"
    grep -q "bad.nf: block at offset 40" "$T/bad.err" || fail "$cmd: bad block not reported: $(cat "$T/bad.err")"
done
echo "ok   a truncated file and a corrupt block are reported with file and offset"
