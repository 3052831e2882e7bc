#!/bin/sh
# print -w writes what it would print, as nfdump -r ... -w out 'filter' does (issue 12),
# -b -w writes paired records (issue 14), --anon anonymises on print and on -w:
#  (a) -w FILE with a filter and a window: read back, equal to print FILTER of the source;
#  (b) -w - into a pipe: the same rows;
#  (c) -w STORE/ --bin 60: bin files by time, read back the same rows (in bin order);
#      not into the store being read;
#  (d) a filter that matches nothing writes an empty file; inputs that do not open write
#      none; -w with -o is a usage error; a -w path that cannot be made says so;
#  (e) --anon: the same rows on print and through -w, other addresses, one key in its
#      two forms (text, hex) and from a file; a bad key is exit 2 and says why; the
#      IPv4 addresses nfanon writes for an nfcapd file of the same flows;
#  (f) NetFlow v9 uniflows from softflowd and nProbe, -b -w to a file and a store folder:
#      the paired records, as print -b shows them.
. "$(dirname "$0")/lib.sh"

csv() {
    fs print -o csv -N "$@"
}

"$FS_GEN" mix "$T/a.pcap" --flows 300 --seed 27 --snap 128 >/dev/null 2>&1
fs meter -r "$T/a.pcap" -w "$T/a.fsf" || fail "meter -w"
filter='proto tcp and bytes > 2000'
win='2023-11-14T22:13:20.050..2023-11-14T23:00'

# (a) a file
csv -r "$T/a.fsf" -t "$win" "$filter" >"$T/want.csv"
all=$(csv -r "$T/a.fsf" | wc -l)
sub=$(wc -l <"$T/want.csv")
[ "$sub" -gt 10 ] && [ "$sub" -lt "$all" ] || fail "the filter keeps $sub of $all rows"
fs print -r "$T/a.fsf" -t "$win" -w "$T/sub.fsf" "$filter" >"$T/sub.out" || fail "print -w FILE"
[ -s "$T/sub.out" ] && fail "print -w printed: $(head -3 "$T/sub.out")"
csv -r "$T/sub.fsf" >"$T/got.csv"
expect_same "$T/want.csv" "$T/got.csv"

# (b) a pipe, zstd
fs print -r "$T/a.fsf" -t "$win" -w - -z zstd "$filter" | csv >"$T/pipe.csv" ||
    fail "print -w - | print"
expect_same "$T/want.csv" "$T/pipe.csv"

# (c) a store folder, one-minute bins: the rows span two of them
fs print -r "$T/a.fsf" -t "$win" -w "$T/st/" --bin 60 "$filter" || fail "print -w STORE/"
nbins=$(find "$T/st" -type f -name 'flows.*' | wc -l)
[ "$nbins" -ge 2 ] || fail "store folder: $nbins bin files, want 2 or more"
csv -r "$T/st" >"$T/st.csv"
sort "$T/want.csv" >"$T/want.sorted"
sort "$T/st.csv" >"$T/st.sorted"
expect_same "$T/want.sorted" "$T/st.sorted"
# into the store it reads (or a folder of it): every record would be there twice
for w in "$T/st" "$T/st/2023/"; do
    fs print -r "$T/st" -w "$w" 2>"$T/self.err" && fail "print -r STORE -w $w exited 0"
    grep -q "store folder the input reads" "$T/self.err" || fail "-w $w: $(cat "$T/self.err")"
done
[ "$(csv -r "$T/st" | wc -l)" = "$(wc -l <"$T/want.csv")" ] || fail "the store changed"

# (d) empty results, failures
fs print -r "$T/a.fsf" -w "$T/none.fsf" 'proto 99' || fail "print -w of no match"
[ "$(csv -r "$T/none.fsf" | wc -l)" = 1 ] || fail "no match: not an empty flow file"
fs print -r "$T/missing.fsf" -w "$T/never.fsf" 2>/dev/null && fail "a missing input exited 0"
[ -e "$T/never.fsf" ] && fail "a missing input left an output file"
fs print -r "$T/a.fsf" -w "$T/x.fsf" -o csv 2>"$T/o.err" && fail "-w with -o exited 0"
grep -q -- "-w writes" "$T/o.err" || fail "-w with -o: $(cat "$T/o.err")"
fs print -r "$T/a.fsf" -w "$T/nodir/x.fsf" 2>"$T/nodir.err" && fail "-w into a missing folder exited 0"
grep -q "$T/nodir/x.fsf: create: " "$T/nodir.err" || fail "create error: $(cat "$T/nodir.err")"

# (e) --anon (the unit test holds the published vectors)
key=abcdefghijklmnopqrstuvwxyz012345
hex=0x6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435
printf '%s\n' "$key" >"$T/key"
csv -r "$T/a.fsf" --anon "$key" "$filter" >"$T/anon.csv" || fail "print --anon"
csv -r "$T/a.fsf" --anon "$hex" "$filter" >"$T/anon.hex.csv" || fail "print --anon 0x..."
expect_same "$T/anon.csv" "$T/anon.hex.csv"
fs print -r "$T/a.fsf" --anon "$T/key" -w "$T/anon.fsf" "$filter" || fail "print --anon KEYFILE -w"
csv -r "$T/anon.fsf" >"$T/anon.w.csv"
expect_same "$T/anon.csv" "$T/anon.w.csv"
csv -r "$T/a.fsf" "$filter" >"$T/plain.csv"
cut -d, -f3,4 "$T/plain.csv" | tail -n +2 | sort -u >"$T/plain.addr"
cut -d, -f3,4 "$T/anon.csv" | tail -n +2 | sort -u >"$T/anon.addr"
[ "$(comm -12 "$T/plain.addr" "$T/anon.addr" | wc -l)" = 0 ] || fail "--anon left address pairs as they were"
[ "$(wc -l <"$T/plain.addr")" = "$(wc -l <"$T/anon.addr")" ] || fail "--anon merged addresses"
# everything but the addresses (and the AS numbers, zero here) is unchanged
cut -d, -f1,2,5- "$T/plain.csv" >"$T/plain.rest"
cut -d, -f1,2,5- "$T/anon.csv" >"$T/anon.rest"
expect_same "$T/plain.rest" "$T/anon.rest"
fs print -r "$T/a.fsf" --anon short 2>"$T/bad.err" && fail "a short key exited 0"
grep -q "32 characters or 0x and 64 hex digits" "$T/bad.err" || fail "bad key: $(cat "$T/bad.err")"
grep -q short "$T/bad.err" && fail "the error repeats the key"
fs print -r "$T/a.fsf" --anon 0x6162636465666768696a6b6c6d6e6f707172737475767778797a3031323334zz \
    2>"$T/badhex.err" && fail "a bad hex key exited 0"
grep -q "hex digits" "$T/badhex.err" || fail "bad hex key: $(cat "$T/badhex.err")"
# (e2) the same addresses as nfanon gives: an nfcapd file (nfpcapd from a capture, IPv4),
# through nfanon -K, read by nfdump; and read by print --anon
if optional "the nfanon comparison" nfpcapd nfanon nfdump; then
    "$FS_GEN" mix "$T/v4.pcap" --flows 200 --seed 3 --v6 0 --snap 128 >/dev/null 2>&1
    mkdir "$T/nfp"
    nfpcapd -r "$T/v4.pcap" -l "$T/nfp" >"$T/nfpcapd.log" 2>&1 || fail "nfpcapd: $(tail -3 "$T/nfpcapd.log")"
    nf=$(find "$T/nfp" -type f -name 'nfcapd.*' | head -1)
    [ -n "$nf" ] || fail "nfpcapd wrote no file"
    nfanon -K "$key" -r "$nf" -w "$T/nfanon.nf" >/dev/null 2>&1 || fail "nfanon"
    TZ=UTC nfdump -q -N -r "$T/nfanon.nf" -o 'fmt:%sa,%da,%sp,%dp,%pkt,%byt' | tr -d ' ' |
        sort >"$T/nfanon.txt"
    [ "$(wc -l <"$T/nfanon.txt")" -gt 100 ] || fail "nfanon: $(wc -l <"$T/nfanon.txt") records"
    fs print -r "$nf" --anon "$key" -o csv:src,dst,sport,dport,packets,bytes | tail -n +2 |
        sort >"$T/ours.txt"
    expect_same "$T/nfanon.txt" "$T/ours.txt"
fi

# (f) softflowd's NetFlow v9 uniflows, paired and written
v9="$FS_DATA/netflow/v9_softflowd.pcap"
[ -f "$v9" ] || skip "no $v9"
fs collect -f "$v9" -w "$T/v9.fsf" || fail "collect -f v9_softflowd"
csv -r "$T/v9.fsf" -b >"$T/v9.b.csv"
fs print -r "$T/v9.fsf" -b -w "$T/v9b.fsf" || fail "print -b -w"
csv -r "$T/v9b.fsf" >"$T/v9b.csv"
expect_same "$T/v9.b.csv" "$T/v9b.csv"
uni=$(csv -r "$T/v9.fsf" | tail -n +2 | wc -l)
bi=$(tail -n +2 "$T/v9b.csv" | wc -l)
[ "$uni" = 7 ] && [ "$bi" = 4 ] || fail "softflowd v9: $uni uniflows, $bi after -b (want 7, 4)"
# the three NTP exchanges became biflows with both directions' bytes
[ "$(csv -r "$T/v9b.fsf" 'rbytes > 0' | tail -n +2 | wc -l)" = 3 ] || fail "pairs: $(cat "$T/v9b.csv")"

# nProbe's NetFlow v9 (892 uniflows), paired into a store folder: the same biflows
np="$FS_DATA/netflow/v9_nprobe_72pkts.pcap"
fs collect -f "$np" -w "$T/np.fsf" || fail "collect -f v9_nprobe_72pkts"
csv -r "$T/np.fsf" -b | tail -n +2 | sort >"$T/np.b"
fs print -r "$T/np.fsf" -b -w "$T/npst/" || fail "print -b -w STORE/"
csv -r "$T/npst" | tail -n +2 | sort >"$T/np.w"
expect_same "$T/np.b" "$T/np.w"
uni=$(csv -r "$T/np.fsf" | tail -n +2 | wc -l)
bi=$(wc -l <"$T/np.w")
[ "$bi" -lt "$uni" ] && [ "$bi" -gt $((uni / 3)) ] || fail "nprobe v9: $uni uniflows, $bi after -b"
echo ok
