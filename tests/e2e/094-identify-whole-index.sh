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

# The 30-package pipelined capture (094-identify-apt-pipelined.sh): --split makes one
# exchange per response but the last two, yet against the whole index every exchange
# fits several entries within the default header range and pairs of entries too, so
# no server is calibrated, no single is alone, and nothing is named.
fs meter --split -r "$D/apt_download_30.pcap" -w "$T/f30.fsf" || fail "meter 30"
fs match -c "$T/cat.tsv" -r "$T/f30.fsf" -o csv >"$T/m30.csv" 2>"$T/m30.err" ||
    fail "match 30: $(cat "$T/m30.err")"
sort "$D/apt_download_30.expected" >"$T/want30"
awk -F, 'NR > 1 && $8 == "match" { print $11, $12, $13 }' "$T/m30.csv" | sort -u >"$T/named30"
comm -13 "$T/want30" "$T/named30" >"$T/wrong30"
[ ! -s "$T/wrong30" ] || fail "30: named but not downloaded: $(cat "$T/wrong30")"
[ ! -s "$T/named30" ] || fail "30: expected none named: $(cat "$T/named30")"
echo ok
