#!/bin/sh
# https-cdn.sh [INDEX.tsv]: identification over HTTPS from a real CDN against a whole
# Debian index, on the bundled downloads from https://deb.debian.org
# (tests/data/https_cdn: 40 packages, one connection each, 15 to train on).
# INDEX.tsv: a catalogue of the whole index (default: made from this machine's
# /var/lib/apt/lists with `catalog debian`; its sizes must be those of the bookworm
# packages the capture fetched, which the script checks). Prints learn's line for the
# server, then eval's outcomes for the 25 other downloads (a) with the index as the
# catalogue and (b) with their packages taken out of it (every one foreign then), each
# with the learned model and without one.
#   FS_BIN=build/flowsleuth lab/https-cdn.sh
set -eu
B=${FS_BIN:-build/flowsleuth}
D=$(dirname "$0")/../tests/data/https_cdn
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

if [ $# -ge 1 ]; then
    cp "$1" "$W/index.tsv"
else
    "$B" catalog debian -o "$W/index.tsv" /var/lib/apt/lists/*_Packages* 2>"$W/cat.err"
fi
echo "index: $(grep -c '^[0-9]' "$W/index.tsv") entries"
# The 25 not trained on, named (labels.csv names every download).
awk -F, 'NR == FNR { tr[$3] = 1; next } FNR == 1 || !($3 in tr)' "$D/train.csv" "$D/labels.csv" >"$W/test.csv"
cut -d, -f6 "$W/test.csv" | tail -n +2 >"$W/names"
# the bundled catalogue's 30 entries at the same sizes: the index is the one fetched from
same=$(awk -F'\t' 'NR == FNR { s[$1 "\t" $2] = 1; next } FNR > 2 && (($1 "\t" $2) in s) { n++ }
    END { print n + 0 }' "$W/index.tsv" "$D/catalog.tsv")
echo "packages of the capture the index holds at the same size: $same of 30 catalogued"
"$B" learn -c "$W/index.tsv" -r "$D/flows.fsf" --labels "$D/train.csv" --model nearest \
    -o "$W/m.model" 2>&1 | grep 'server'
awk -F'\t' -v OFS='\t' 'NR == FNR { t[$1] = 1; next } FNR <= 2 || !($2 in t)' "$W/names" "$W/index.tsv" >"$W/minus.tsv"
awk -F, -v OFS=, 'NR == 1 { print; next } { $6 = "-"; print }' "$W/test.csv" >"$W/foreign.csv"
for m in model none; do
    set --
    [ $m = model ] && set -- --model-file "$W/m.model"
    echo "(a) index, $m: $("$B" eval -c "$W/index.tsv" -r "$D/flows.fsf" --labels "$W/test.csv" "$@" 2>/dev/null | grep '^catalogue outcomes')"
    echo "(b) index less the 25, $m: $("$B" eval -c "$W/minus.tsv" -r "$D/flows.fsf" --labels "$W/foreign.csv" "$@" 2>/dev/null | grep '^foreign outcomes')"
done
