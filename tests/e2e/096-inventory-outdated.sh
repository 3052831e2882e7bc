#!/bin/sh
# inventory's newest column (issue 14, "outdated software"): the bundled apt capture
# (five packages) against its trimmed bookworm index plus stanzas of other versions:
#   bookworm-security  a2ps 1:4.14-8+deb12u1       newer: a2ps is outdated
#                      abcde 2.9.3-1~deb12u0       older ('~' sorts first): not
#                      64tass 1.59-1, i386         another architecture: not
#   bookworm-backports fonts-3270 3.0.2-1~bpo12+1   backports, a release of its own: not
#   bookworm           abcmidi 20230208+ds1-1.1 and 20230208+ds1-1+b1 (the newest)
# Expected: a2ps -> 1:4.14-8+deb12u1, abcmidi -> 20230208+ds1-1.1, the other three
# empty; dpkg --compare-versions agrees with each newest named (the independent order).
. "$(dirname "$0")/lib.sh"

D="$FS_SRC/tests/data"
# stanza SUITE PACKAGE VERSION ARCH SIZE: a Packages stanza into $T/SUITE_Packages
stanza() {
    printf 'Package: %s\nVersion: %s\nArchitecture: %s\nFilename: pool/x/%s_%s.deb\nSize: %s\n\n' \
        "$2" "$3" "$4" "$2" "$3" "$5" >>"$T/$1_Packages"
}
stanza bookworm-security a2ps '1:4.14-8+deb12u1' amd64 9000001
stanza bookworm-security abcde '2.9.3-1~deb12u0' all 9000003
stanza bookworm-security 64tass '1.59-1' i386 9000005
stanza bookworm-backports fonts-3270 '3.0.2-1~bpo12+1' all 9000007
stanza bookworm abcmidi '20230208+ds1-1+b1' amd64 9000009
stanza bookworm abcmidi '20230208+ds1-1.1' amd64 9000011
fs catalog debian --suite bookworm -o "$T/c1.tsv" "$D/apt_Packages" "$T/bookworm_Packages" \
    2>/dev/null || fail "catalog debian"
fs catalog debian --suite bookworm-security --append "$T/c1.tsv" -o "$T/c2.tsv" \
    "$T/bookworm-security_Packages" 2>/dev/null || fail "catalog debian security"
fs catalog debian --suite bookworm-backports --append "$T/c2.tsv" -o "$T/cat.tsv" \
    "$T/bookworm-backports_Packages" 2>/dev/null || fail "catalog debian backports"
fs meter --split -r "$D/apt_download.pcap" -w "$T/flows.fsf" || fail "meter"
fs inventory -c "$T/cat.tsv" -r "$T/flows.fsf" -o csv >"$T/inv.csv" 2>"$T/inv.err" ||
    fail "inventory: $(cat "$T/inv.err")"
head -1 "$T/inv.csv" | grep -qx 'client,platform,name,version,arch,flows,first,last,newest' ||
    fail "header: $(head -1 "$T/inv.csv")"
awk -F, 'NR > 1 { print $3, $4, $9 }' "$T/inv.csv" | sort >"$T/got"
cat >"$T/want" <<'W'
64tass 1.58.2974-1 
a2ps 1:4.14-8 1:4.14-8+deb12u1
abcde 2.9.3-1 
abcmidi 20230208+ds1-1 20230208+ds1-1.1
fonts-3270 3.0.1-1 
W
expect_same "$T/want" "$T/got"
grep -q '2 of 5 packages downloaded have a newer version in the catalogue' "$T/inv.err" ||
    fail "summary: $(cat "$T/inv.err")"
if optional "dpkg's order" dpkg; then
    while read -r name ver newest; do
        [ -n "$newest" ] || continue
        dpkg --compare-versions "$ver" lt "$newest" || fail "dpkg: $name $ver is not older than $newest"
    done <"$T/got"
    dpkg --compare-versions '20230208+ds1-1+b1' lt '20230208+ds1-1.1' || fail "dpkg: +b1 vs .1"
    dpkg --compare-versions '2.9.3-1~deb12u0' lt '2.9.3-1' || fail "dpkg: ~"
fi
# json carries the column too
fs inventory -c "$T/cat.tsv" -r "$T/flows.fsf" -o json 2>/dev/null |
    grep -q '"name":"a2ps","version":"1:4.14-8",.*"newest":"1:4.14-8+deb12u1"' || fail "json"
echo ok
