#!/bin/sh
# Download identification against a real catalogue: every Debian Packages index of
# this machine (/var/lib/apt/lists, filled by apt-get update; about 66,000 entries),
# and the bundled captures of `apt-get download` of five packages (one connection: one
# request, then four pipelined in one burst) and of 30 (apt's default pipelining). A wrong name is worse than none: no
# package may be named (verdict match, or a row of inventory) that was not downloaded,
# and the number named is pinned so that a change of the model shows here.
. "$(dirname "$0")/lib.sh"

D="$FS_SRC/tests/data"
L=${FS_APT_LISTS:-/var/lib/apt/lists}
set --
for f in "$L"/*_Packages "$L"/*_Packages.*; do
    [ -f "$f" ] && set -- "$@" "$f"
done
[ $# -gt 0 ] || skip "no Packages index in $L (run apt-get update)"

# The stanzas, counted without flowsleuth: one 'Package:' line each.
stanzas=0
for f; do
    case $f in
    *.lz4) c=lz4cat ;;
    *.gz) c=zcat ;;
    *.xz) c=xzcat ;;
    *.zst) c=zstdcat ;;
    *.bz2) c=bzcat ;;
    *) c=cat ;;
    esac
    need "$c"
    n=$($c "$f" | grep -c '^Package:' || true)
    stanzas=$((stanzas + n))
done
[ "$stanzas" -gt 0 ] || skip "the Packages indexes in $L are empty"

fs catalog debian --suite bookworm -o "$T/cat.tsv" "$@" 2>"$T/cat.err" ||
    fail "catalog debian failed: $(cat "$T/cat.err")"
# one entry a stanza, less what catalog skips and counts (a suite listed twice in the
# sources gives every stanza twice; none of size 0 or above 1 TiB in a real index)
skipped=$(sed -n 's/.*: \([0-9]*\) entries skipped: .*/\1/p' "$T/cat.err")
want=$((stanzas - ${skipped:-0}))
grep -q ": $want entries written" "$T/cat.err" ||
    fail "expected $want entries ($stanzas stanzas): $(tail -2 "$T/cat.err")"
[ "$(($(wc -l <"$T/cat.tsv") - 2))" -eq "$want" ] || fail "catalogue rows != $want"

fs meter --split -r "$D/apt_download.pcap" -w "$T/flows.fsf" || fail "meter failed"
fs match -c "$T/cat.tsv" -r "$T/flows.fsf" --all -o csv >"$T/match.csv" 2>"$T/match.err" ||
    fail "match failed: $(cat "$T/match.err")"
sort "$D/apt_download.expected" >"$T/want"
awk -F, 'NR > 1 && $8 == "match" { print $11, $12, $13 }' "$T/match.csv" | sort >"$T/named"
comm -13 "$T/want" "$T/named" >"$T/wrong"
[ ! -s "$T/wrong" ] || fail "named but not downloaded: $(cat "$T/wrong")"
# Exchange 1 (fonts-3270) fits several entries of the whole index within the default
# header range, and exchange 2 (four pipelined packages) fits a single entry and many
# sets: neither is defensible, so nothing is named.
named=$(wc -l <"$T/named")
[ "$named" -eq 0 ] || fail "expected 0 packages named, got $named: $(cat "$T/named")"
grep -q '2 flows considered: 0 match, 2 ambiguous' "$T/match.err" ||
    fail "summary: $(cat "$T/match.err")"

# inventory takes only matches: nobody's software is guessed
fs inventory -c "$T/cat.tsv" -r "$T/flows.fsf" -o csv >"$T/inv.csv" || fail "inventory failed"
awk -F, 'NR > 1 { print $3, $4, $5 }' "$T/inv.csv" | sort >"$T/inv"
comm -13 "$T/want" "$T/inv" >"$T/inv.wrong"
[ ! -s "$T/inv.wrong" ] || fail "inventory lists what was not downloaded: $(cat "$T/inv.csv")"

# The pipelined captures: against the whole index every exchange fits several entries
# within the default header range and pairs of entries too; what names them is the
# request sequence (each response's size with the server's header AND its URL with
# the client's request constant, both calibrated from the connection). In the
# 36-package capture every request was counted (the client's segments are whole): all
# 36 named; the same in another run of 45 other packages, captured and cut the
# same way (45 named). And 40 small packages (8-40 kB, where the index is dense: chance
# (header, request constant) pairs got votes from 33-35 of the 40 exchanges, and the
# index without the 40 named 13 foreign packages before votes needed a neighbour's
# support): 32 named (twins of the same size and URL length stay ambiguous), none
# from the index without them. In the 30-package one (snapped: the burst of 10 is one unit) the burst is
# solved as a sum of its URL lengths between the runs before and after it (two of its
# responses with a header variant no vote had): 29 of 30, the one not named is next to
# another such variant (18 before the sum).
# Then the same with the downloaded packages taken out of the index: every exchange
# is foreign, nothing may be named.
# apt CAPTURE N: N of the capture's packages named against the whole index, none wrong
apt() {
    fs meter --split -r "$D/apt_download_$1.pcap" -w "$T/f$1.fsf" || fail "meter $1"
    sort "$D/apt_download_$1.expected" >"$T/want$1"
    fs match -c "$T/cat.tsv" -r "$T/f$1.fsf" -o csv >"$T/m$1.csv" 2>"$T/m$1.err" ||
        fail "match $1: $(cat "$T/m$1.err")"
    awk -F, 'NR > 1 && $8 == "match" { print $11, $12, $13 }' "$T/m$1.csv" | sort -u >"$T/named$1"
    comm -13 "$T/want$1" "$T/named$1" >"$T/wrong$1"
    [ ! -s "$T/wrong$1" ] || fail "$1: named but not downloaded: $(cat "$T/wrong$1")"
    [ "$(wc -l <"$T/named$1")" -eq "$2" ] ||
        fail "$1: expected $2 named, got $(wc -l <"$T/named$1"): $(cat "$T/m$1.err")"
    fs inventory -c "$T/cat.tsv" -r "$T/f$1.fsf" -o csv >"$T/inv$1.csv" || fail "inventory $1"
    awk -F, 'NR > 1 { print $3, $4, $5 }' "$T/inv$1.csv" | sort >"$T/inv$1"
    [ -z "$(comm -13 "$T/want$1" "$T/inv$1")" ] || fail "$1: inventory: $(cat "$T/inv$1.csv")"
    [ "$(wc -l <"$T/inv$1")" -eq "$2" ] || fail "$1: inventory rows: $(cat "$T/inv$1.csv")"
    # the index without the downloaded packages
    awk -F'\t' 'NR == FNR { w[$0] = 1; next } FNR <= 2 || !w[$2 " " $4 " " $5]' \
        "$T/want$1" "$T/cat.tsv" >"$T/foreign.tsv"
    fs match -c "$T/foreign.tsv" -r "$T/f$1.fsf" -o csv 2>/dev/null |
        awk -F, 'NR > 1 && $8 == "match"' >"$T/fm$1"
    [ ! -s "$T/fm$1" ] || fail "$1: named from an index without them: $(cat "$T/fm$1")"
}
apt 36 36
apt 45 45
apt small_40 32
apt 30 29

# The three captures metered into one store: one client and one server, three
# connections. apt_download.pcap's (two exchanges) cannot calibrate alone; the other
# two calibrate to the same header and request constant, so it borrows theirs and its
# first exchange (fonts-3270, one response answering its own request) is named; the
# second (four responses) is not. 65 of the 70 distinct packages, none wrong; none
# from the index without them.
mkdir "$T/store"
for f in apt_download apt_download_30 apt_download_36; do
    fs meter --split -r "$D/$f.pcap" -w "$T/store/" || fail "meter $f into a store"
done
sort -u "$D/apt_download.expected" "$D/apt_download_30.expected" \
    "$D/apt_download_36.expected" >"$T/wantS"
fs match -c "$T/cat.tsv" -r "$T/store/" -o csv >"$T/mS.csv" 2>"$T/mS.err" ||
    fail "match store: $(cat "$T/mS.err")"
awk -F, 'NR > 1 && $8 == "match" { print $11, $12, $13 }' "$T/mS.csv" | sort -u >"$T/namedS"
comm -13 "$T/wantS" "$T/namedS" >"$T/wrongS"
[ ! -s "$T/wrongS" ] || fail "store: named but not downloaded: $(cat "$T/wrongS")"
[ "$(wc -l <"$T/namedS")" -eq 65 ] ||
    fail "store: expected 65 named, got $(wc -l <"$T/namedS"): $(cat "$T/mS.err")"
short=$(awk -F, '$1 ~ /^2026-11-26/ && $8 == "match" { print $5, $11 }' "$T/mS.csv")
[ "$short" = "1 fonts-3270" ] || fail "store: the short connection named: '$short'"
awk -F'\t' 'NR == FNR { w[$0] = 1; next } FNR <= 2 || !w[$2 " " $4 " " $5]' \
    "$T/wantS" "$T/cat.tsv" >"$T/foreignS.tsv"
fs match -c "$T/foreignS.tsv" -r "$T/store/" -o csv 2>/dev/null |
    awk -F, 'NR > 1 && $8 == "match"' >"$T/fmS"
[ ! -s "$T/fmS" ] || fail "store: named from an index without them: $(cat "$T/fmS")"
echo ok
