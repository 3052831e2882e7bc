#!/bin/sh
# 120: identification over HTTPS from a real CDN (issue 13), on 40 real downloads from
# https://deb.debian.org (tests/data/https_cdn, NOTICE.md). The CDN sends 0-5 TLS
# records more than a file needs, so its overhead beyond 22 bytes a record is no single
# constant but one on a grid of 22 (match_types.h).
#   learn --model nearest on 15 training downloads finds the grid: "rec=22
#     oh=2452..2562 step=22" in the model (3 extra records seen, 2 more taken), and
#     says so.
#   eval --model-file on 15 test downloads and 10 uncatalogued ones: all 15 right, none
#     wrong, no foreign download matched. Without a model the same: the matcher finds
#     the grid from the server's own 40 flows (match_tls.h); with the test files taken
#     out of the catalogue (all 25 foreign), none is matched.
#   A denser catalogue: beside every test file a decoy 11 bytes smaller (its constant
#     11 bytes off the grid, inside the range). The grid still names all 15; the same
#     model with its grid cut off (one constant range 2452..2562) names at most 1 (the
#     decoy of the download at the range's top falls outside it).
#   A second capture a day later (flows2.fsf: 38 other packages, never used to build
#     or tune the method; the CDN's constants were 2430..2496 that day): without a
#     model 38 of 38 right against their catalogue, 0 of 38 matched against the first
#     capture's; the model learned on the first day names at most 30 (its grid starts
#     at 2452: a learned constant goes stale, the server's own flows do not).
. "$(dirname "$0")/lib.sh"

D="$FS_SRC/tests/data/https_cdn"
# outcomes MODEL_ARGS...: "right wrong ambiguous foreign_wrong" of eval's JSON
CAT=$D/catalog.tsv
outcomes() {
    fs eval -c "$CAT" -r "$D/flows.fsf" --labels "$D/test.csv" "$@" -o json \
        2>"$T/eval.err" >"$T/eval.json" || fail "eval $*: $(cat "$T/eval.err")"
    python3 -c 'import json,sys
j=json.load(open(sys.argv[1]))
k=j["known_outcomes"]
print(k["right"], k["wrong"], k["ambiguous"], j["foreign_wrong"])' "$T/eval.json"
}

fs learn -c "$D/catalog.tsv" -r "$D/flows.fsf" --labels "$D/train.csv" --model nearest \
    -o "$T/m.model" 2>"$T/learn.err" || fail "learn: $(cat "$T/learn.err")"
grep -q 'TLS records of 22 bytes each beyond 2452..2562 B in steps of 22' "$T/learn.err" ||
    fail "learn found no grid: $(cat "$T/learn.err")"
grep -Eq '^server 203\.0\.113\.80 15 1 [0-9]+ [0-9.]+ [0-9.]+ rec=22 oh=2452\.\.2562 step=22$' "$T/m.model" ||
    fail "server line: $(grep '^server' "$T/m.model")"

set -- $(outcomes --model-file "$T/m.model")
[ "$1 $2 $4" = "15 0 0" ] || fail "with the grid: right $1 wrong $2 foreign $4, want 15 0 0"
echo "ok: with the grid 15 of 15 right, 0 wrong, 0 of 10 foreign matched"

set -- $(outcomes)
[ "$1 $2 $4" = "15 0 0" ] || fail "without a model: right $1 wrong $2 foreign $4, want 15 0 0"
echo "ok: without a model (the server's own grid) 15 of 15 right, 0 of 10 foreign matched"

cut -d, -f6 "$D/test.csv" | grep -v -e '^entry_name$' -e '^-$' >"$T/names"
awk -F'\t' -v OFS='\t' 'NR == FNR { t[$1] = 1; next } { print }
    FNR > 2 && ($2 in t) { $1 -= 11; $2 = "decoy-" $2; print }' "$T/names" "$D/catalog.tsv" >"$T/dense.tsv"
[ "$(grep -c '	decoy-' "$T/dense.tsv")" = 15 ] || fail "decoys: $(grep -c decoy- "$T/dense.tsv")"
awk -F'\t' 'NR == FNR { t[$1] = 1; next } FNR <= 2 || !($2 in t)' "$T/names" "$D/catalog.tsv" >"$T/minus.tsv"
awk -F, -v OFS=, 'NR == 1 { print; next } { $6 = "-"; print }' "$D/test.csv" >"$T/foreign.csv"
fs eval -c "$T/minus.tsv" -r "$D/flows.fsf" --labels "$T/foreign.csv" -o json >"$T/f.json" 2>"$T/eval.err" ||
    fail "eval, the test files out: $(cat "$T/eval.err")"
set -- $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["foreign_wrong"], j["foreign"])' "$T/f.json")
[ "$1 $2" = "0 25" ] || fail "the test files out of the catalogue: $1 of $2 foreign matched"
echo "ok: without a model, the test files out of the catalogue: 0 of 25 matched"

CAT=$T/dense.tsv
set -- $(outcomes --model-file "$T/m.model")
[ "$1 $2 $4" = "15 0 0" ] || fail "decoys, grid: right $1 wrong $2 foreign $4, want 15 0 0"
echo "ok: beside 15 decoys off the grid, 15 of 15 right"
sed 's/ step=22$//' "$T/m.model" >"$T/range.model"
set -- $(outcomes --model-file "$T/range.model")
[ "$2 $4" = "0 0" ] || fail "decoys, one range: wrong $2 foreign $4"
[ "$1" -le 1 ] || fail "decoys, one range: $1 right, want at most 1"
echo "ok: the same model as one constant range: $1 of 15 right, $3 ambiguous"

CAT=$D/catalog2.tsv
set -- $(fs eval -c "$CAT" -r "$D/flows2.fsf" --labels "$D/labels2.csv" -o json 2>"$T/eval.err" |
    python3 -c 'import json,sys; j=json.load(sys.stdin); k=j["known_outcomes"]; print(k["right"], k["wrong"], j["known"])')
[ "$1 $2 $3" = "38 0 38" ] || fail "second day, no model: right $1 wrong $2 of $3, want 38 0 38"
awk -F, -v OFS=, 'NR == 1 { print; next } { $6 = "-"; print }' "$D/labels2.csv" >"$T/foreign2.csv"
set -- $(fs eval -c "$D/catalog.tsv" -r "$D/flows2.fsf" --labels "$T/foreign2.csv" -o json 2>>"$T/eval.err" |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["foreign_wrong"], j["foreign"])')
[ "$1 $2" = "0 38" ] || fail "second day against the first day's catalogue: $1 of $2 matched"
set -- $(fs eval -c "$CAT" -r "$D/flows2.fsf" --labels "$D/labels2.csv" --model-file "$T/m.model" -o json 2>>"$T/eval.err" |
    python3 -c 'import json,sys; j=json.load(sys.stdin); k=j["known_outcomes"]; print(k["right"], k["wrong"])')
[ "$2" = 0 ] && [ "$1" -le 30 ] || fail "second day, first day's model: right $1 wrong $2, want <= 30 and 0"
echo "ok: second day: 38 of 38 without a model, 0 of 38 foreign; the first day's model $1 of 38"
