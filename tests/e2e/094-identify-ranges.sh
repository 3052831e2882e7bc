#!/bin/sh
# Range requests: pieces of one file fetched over several connections are matched as
# one download. The bundled Windows Update capture fetches a 39,618-byte cab in 5
# range requests over 5 connections (goodput 5,789..12,113 bytes each, 320 bytes of
# 206 headers each); no piece fits the catalogue alone, the 5 together do. Then the
# guard against summing unrelated objects: fsgen pieces with different request sizes
# (different URLs) are not combined, with equal ones they are.
. "$(dirname "$0")/lib.sh"

D="$FS_SRC/tests/data"
# the cab and 40 installers of 200 kB - 50 MB: a group is named only where the
# catalogue is sparse (its window is 5 x 760 bytes wide; among 40 entries of 5-60 kB
# the cab would only be possible, and small files would make sets of the pieces)
awk 'BEGIN { srand(94); print "size,name,product,version,os,url";
  print "39618,authrootstc.cab,windows-update,2009-11,windows,/msdownload/update/v3/static/trustedr/en/authrootstc.cab";
  for (n = 0; n < 40; n++)
    printf "%d,setup%02d.exe,other,1,windows,/f/setup%02d.exe\n", 200000 + int(rand() * 49800000), n, n }' \
    >"$T/cat.csv"
fs catalog import -o "$T/cat.tsv" "$T/cat.csv" 2>/dev/null || fail "catalog import"
fs meter --split -r "$D/http_windowsupdate_cab_5_connections.pcap" -w "$T/cab.fsf" || fail "meter"
fs match -c "$T/cat.tsv" -r "$T/cab.fsf" -o csv >"$T/m.csv" 2>"$T/m.err" || fail "match"
awk -F, 'NR > 1 && $8 == "match" { print $6, $11, $16 }' "$T/m.csv" >"$T/named"
[ "$(cat "$T/named")" = "41218 authrootstc.cab 1600" ] ||
    fail "cab not matched from its 5 pieces: $(cat "$T/m.csv" "$T/m.err")"
grep -q 'of them 1 range groups (5 flows' "$T/m.err" || fail "summary: $(cat "$T/m.err")"
fs inventory -c "$T/cat.tsv" -r "$T/cab.fsf" -o csv >"$T/inv.csv" || fail "inventory"
grep -q '^192.168.1.105,windows,authrootstc.cab,2009-11,' "$T/inv.csv" ||
    fail "inventory: $(cat "$T/inv.csv")"
# off: nothing is named
fs match -c "$T/cat.tsv" -r "$T/cab.fsf" --ranges 0 -o csv >"$T/off.csv" 2>/dev/null
! awk -F, 'NR > 1 && $8 == "match"' "$T/off.csv" | grep -q . || fail "--ranges 0: $(cat "$T/off.csv")"

# fsgen: two 6,000-byte responses 2 s apart from one server to one client (two
# connections); a catalogue entry of 11,800 bytes fits their sum with 2 headers.
[ -x "$FS_GEN" ] || fail "fsgen not built"
printf 'size,name\n11800,joined.bin\n' >"$T/j.csv"
fs catalog import -o "$T/j.tsv" "$T/j.csv" 2>/dev/null || fail "import j"
piece() { # OUT SEED START REQUEST
    "$FS_GEN" download "$T/$1.pcap" --size 6000 --seed "$2" --start "$3" --request "$4" \
        2>/dev/null || fail "fsgen $1"
    fs meter -r "$T/$1.pcap" -w "$T/$1.fsf" || fail "meter $1"
}
piece a 1 1700000000 200
piece b 2 1700000002 200
piece c 3 1700000002 260
fs match -c "$T/j.tsv" -r "$T/a.fsf" -r "$T/b.fsf" -o csv >"$T/ab.csv" 2>/dev/null
awk -F, 'NR > 1 && $8 == "match" { print $11 }' "$T/ab.csv" | grep -qx joined.bin ||
    fail "same request bytes: not combined: $(cat "$T/ab.csv")"
fs match -c "$T/j.tsv" -r "$T/a.fsf" -r "$T/c.fsf" --all -o csv >"$T/ac.csv" 2>/dev/null
! awk -F, 'NR > 1 && $8 == "match"' "$T/ac.csv" | grep -q . ||
    fail "request bytes 200 and 260 combined: $(cat "$T/ac.csv")"
echo ok
