#!/bin/sh
# apt-split.sh CAPTURE EXPECTED CATALOGUE...: how well `meter --split` finds the
# response boundaries of a real apt capture and what `match` then names. The truth
# is read from the packets with tshark: a server segment whose payload starts with
# "HTTP/1.1" starts a response (the bundled captures keep the first 128 bytes of
# each payload). Prints, per catalogue: exchanges, cuts at a response start, and the
# verdicts (named = a match of a downloaded package, wrong = a match of another).
#   FS_BIN=build/flowsleuth lab/apt-split.sh tests/data/apt_download_30.pcap \
#       tests/data/apt_download_30.expected all.tsv small.tsv
set -eu
B=${FS_BIN:-build/flowsleuth}
cap=$1
want=$2
shift 2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

tshark -r "$cap" -Y 'tcp.srcport == 80 && tcp.len > 0' -T fields -e tcp.seq -e tcp.payload |
    awk 'substr($2, 1, 16) == "485454502f312e31" { print $1 - 1 }' | sort -un >"$W/starts"
"$B" meter --split -r "$cap" -w "$W/f.fsf"
# exchange k > 1 starts at the rgoodput of the ones before it (no loss in the capture)
"$B" print -r "$W/f.fsf" -o csv | awk -F, 'NR > 1 { print $32, $15 }' | sort -n |
    awk 'NR > 1 { print s } { s += $2 }' >"$W/cuts"
n=$(($(wc -l <"$W/cuts") + 1))
hit=$(grep -cxFf "$W/starts" "$W/cuts" || true)
echo "$(basename "$cap"): $(wc -l <"$W/starts") responses, $n exchanges, $hit of $((n - 1)) cuts at a response start"
sort "$want" >"$W/want"
# Each response's payload from the truth; the ceiling of sizes alone: responses whose
# window holds one entry of the catalogue when each is an exchange of its own and the
# header is known to the sizes the mirror sent (HDRS, exact) or to their range (one
# package listed in several indexes, same size and version, counts once).
total=$("$B" print -r "$W/f.fsf" -o csv | awk -F, 'NR > 1 { s += $15 } END { print s }')
awk -v t="$total" 'NR > 1 { print $1 - p } { p = $1 } END { print t - p }' "$W/starts" >"$W/resp"
HDRS=${HDRS:-124 132 133}
ceiling() {
    awk -F'\t' -v hdrs="$HDRS" 'NR == FNR { p[++n] = $1; next }
        FNR > 2 && !seen[$1, $2, $4]++ { sz[$1]++ }
        END {
            k = split(hdrs, h, " "); lo = h[1]; hi = h[1]
            for (i = 1; i <= k; i++) { if (h[i] < lo) lo = h[i]; if (h[i] > hi) hi = h[i] }
            for (r = 1; r <= n; r++) {
                e = 0; w = 0
                for (i = 1; i <= k; i++) e += sz[p[r] - h[i]]
                for (x = p[r] - hi; x <= p[r] - lo; x++) w += sz[x]
                ae += e == 1; aw += w == 1
            }
            printf "%d at the exact header sizes, %d in their range", ae, aw
        }' "$W/resp" "$1"
}
for cat; do
    "$B" match -c "$cat" -r "$W/f.fsf" -o csv >"$W/m.csv" 2>"$W/m.err"
    awk -F, 'NR > 1 && $8 == "match" { print $11, $12, $13 }' "$W/m.csv" | sort -u >"$W/named"
    echo "  $(basename "$cat"): named $(comm -12 "$W/want" "$W/named" | wc -l) of" \
        "$(wc -l <"$W/want"), wrong $(comm -13 "$W/want" "$W/named" | wc -l);" \
        "$(sed -n 's/.*flows considered: //p' "$W/m.err");" \
        "alone, one response an exchange: $(ceiling "$cat")"
done
