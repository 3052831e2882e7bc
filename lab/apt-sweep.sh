#!/bin/bash
# apt-sweep.sh CAPTURE EXPECTED WHOLE.tsv: what match names on a real apt capture
# (meter --split) with catalogues of the downloaded packages plus N random others of
# 50-800 kB from WHOLE.tsv (named of the downloaded, wrong), and with catalogues of N
# random others only (every match is wrong). Seeds 1..8 (1..6 for foreign only). Then
# the whole index without the downloaded packages (all foreign) and with them.
#   FS_BIN=build/flowsleuth lab/apt-sweep.sh tests/data/apt_download_30.pcap \
#       tests/data/apt_download_30.expected all.tsv
# CAPTURE may be a store folder instead: connections of one client and server from
# several captures (meter --split -w STORE/ for each), where short connections borrow
# the calibration of the others.
set -eu
B=${FS_BIN:-build/flowsleuth}
cap=$1
want=$2
whole=$3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
if [ -d "$cap" ]; then # a store folder (several captures metered into it)
    cp -r "$cap" "$W/f.fsf"
else
    "$B" meter --split -r "$cap" -w "$W/f.fsf"
fi
sort "$want" >"$W/want"
head -2 "$whole" >"$W/hdr"
awk -F'\t' 'NR == FNR { w[$0] = 1; next } FNR > 2 { print > (w[$2 " " $4 " " $5] ? d : f) }' \
    d="$W/dl" f="$W/all" "$W/want" "$whole"
awk -F'\t' '$1 >= 50000 && $1 <= 800000' "$W/all" >"$W/foreign"
# sample N SEED: N random foreign entries, the same for the same seed
sample() { shuf -n "$1" --random-source=<(yes "$2-$1") "$W/foreign"; }
named() {
    "$B" match -c "$1" -r "$W/f.fsf" -o csv 2>/dev/null |
        awk -F, 'NR > 1 && $8 == "match" { print $11, $12, $13 }' | sort -u
}
for n in 20 70 200 600 2000; do
    lo=999 hi=0 wrong=0
    for seed in 1 2 3 4 5 6 7 8; do
        { cat "$W/hdr" "$W/dl"; sample "$n" "$seed"; } >"$W/c.tsv"
        named "$W/c.tsv" >"$W/named"
        k=$(comm -12 "$W/want" "$W/named" | wc -l)
        wrong=$((wrong + $(comm -13 "$W/want" "$W/named" | wc -l)))
        [ "$k" -lt "$lo" ] && lo=$k
        [ "$k" -gt "$hi" ] && hi=$k
    done
    echo "downloaded + $n others: named $lo-$hi of $(wc -l <"$W/want"), wrong $wrong (8 seeds)"
done
for n in 10 30 100 300 1000; do
    wrong=0
    for seed in 1 2 3 4 5 6; do
        { cat "$W/hdr"; sample "$n" "$seed"; } >"$W/c.tsv"
        wrong=$((wrong + $(named "$W/c.tsv" | wc -l)))
    done
    echo "$n others only: $wrong named (6 seeds)"
done
# the whole index without the downloaded packages: every exchange is foreign
{ cat "$W/hdr" "$W/all"; } >"$W/c.tsv"
echo "whole index without the downloaded ($(wc -l <"$W/all") entries): $(named "$W/c.tsv" | wc -l) named"
{ cat "$W/hdr" "$W/dl" "$W/all"; } >"$W/c.tsv"
k=$(named "$W/c.tsv" >"$W/named"; comm -12 "$W/want" "$W/named" | wc -l)
echo "whole index: named $k of $(wc -l <"$W/want"), wrong $(comm -13 "$W/want" "$W/named" | wc -l)"
