#!/bin/sh
# Bad catalogues (issue 13, "Bad input"): entries of size 0, above 1 TiB and exact
# duplicates are a counted, named skip, never a silent wrong verdict. A size-0 entry
# used to make every single that fits ambiguous (the pair of it and the zero fits the
# same payload with two headers); a duplicate makes a catalogue bigger than its index.
. "$(dirname "$0")/lib.sh"

[ -x "$FS_GEN" ] || fail "fsgen not built"
# import: 2 kept (a.deb and its copy from another url), 4 skipped
printf '%s\n' 'size,name,version,url' '150000,a,1,pool/a.deb' '0,zero,1,pool/z.deb' \
    '150000,a,1,mirror/a.deb' '150000,a,1,pool/a.deb' '2000000000000,huge,1,pool/h.deb' \
    '150000,a,1,pool/a.deb' >"$T/bad.csv"
fs catalog import -o "$T/bad.tsv" "$T/bad.csv" 2>"$T/imp.err" || fail "import: $(cat "$T/imp.err")"
grep -q 'catalog: 4 entries skipped: 1 of size 0, 1 above 1 TiB, 2 duplicates of an entry kept' \
    "$T/imp.err" || fail "import: $(cat "$T/imp.err")"
grep -q ': 2 entries written' "$T/imp.err" || fail "import: $(cat "$T/imp.err")"
[ "$(tail -n +3 "$T/bad.tsv" | cut -f1 | sort -u)" = 150000 ] || fail "written: $(cat "$T/bad.tsv")"

# Packages: a stanza listed twice (a suite twice in sources.list) and a size-0 one
printf 'Package: p\nVersion: 2\nArchitecture: all\nSize: 160000\nFilename: pool/p.deb\n\n' >"$T/one"
printf 'Package: z\nVersion: 1\nArchitecture: all\nSize: 0\nFilename: pool/z.deb\n' >>"$T/one"
cat "$T/one" >"$T/x_Packages"
printf '\n' >>"$T/x_Packages"
cat "$T/one" >>"$T/x_Packages"
fs catalog debian -o "$T/deb.tsv" "$T/x_Packages" 2>"$T/deb.err" || fail "debian: $(cat "$T/deb.err")"
grep -q 'catalog: 3 entries skipped: 2 of size 0, 0 above 1 TiB, 1 duplicates' "$T/deb.err" ||
    fail "debian: $(cat "$T/deb.err")"
grep -q ': 1 entries written' "$T/deb.err" || fail "debian: $(cat "$T/deb.err")"

# A catalogue written by hand (or an older build) with a size-0 entry: match skips it,
# says so, and gives the verdict the clean catalogue gives (not ambiguous). fsgen
# sends 150,000 payload bytes: the entry of 149,800 with a 200-byte header.
"$FS_GEN" download "$T/d.pcap" --size 150000 --seed 7 2>/dev/null || fail "fsgen"
fs meter -r "$T/d.pcap" -w "$T/d.fsf" || fail "meter"
{
    printf '#flowsleuth-catalog 1\nsize\tname\tproduct\tversion\tarch\tos\turl\tdigest\tsource\tspread\n'
    printf '0\tzero\tzero\t1\t\t\t\t\timport\t0\n'
    printf '149800\ta\ta\t1\t\t\tpool/a.deb\t\timport\t0\n'
} >"$T/hand.tsv"
tail -1 "$T/hand.tsv" | sed '1i #flowsleuth-catalog 1\nsize\tname\tproduct\tversion\tarch\tos\turl\tdigest\tsource\tspread' \
    >"$T/clean.tsv"
fs match -c "$T/hand.tsv" -r "$T/d.fsf" --all -o csv >"$T/hand.csv" 2>"$T/hand.err" ||
    fail "match: $(cat "$T/hand.err")"
fs match -c "$T/clean.tsv" -r "$T/d.fsf" --all -o csv >"$T/clean.csv" 2>/dev/null || fail "match clean"
grep -q "match: $T/hand.tsv: 1 entries skipped: 1 of size 0" "$T/hand.err" ||
    fail "not named: $(cat "$T/hand.err")"
expect_same "$T/clean.csv" "$T/hand.csv"
! grep -q ',ambiguous,' "$T/hand.csv" || fail "ambiguous: $(cat "$T/hand.csv")"
grep -q ',a,1,' "$T/hand.csv" || fail "entry a not found: $(cat "$T/hand.csv")"
echo ok
