#!/bin/sh
# 118: identification from exporters' NetFlow on lossy paths (issue 14), on one real
# run of the lab (tests/data/lab_netflow: softflowd's NetFlow v9 of curl downloads from
# nginx through network namespaces, 1% loss on hop6, MTU 1400 and 3% loss on vpn).
# Bytes and packets cannot say how many bytes were retransmitted, but retransmissions
# are whole segments plus the short segments the server's writes leave, so a learned
# server's overheads fall modulo its segment payload on a few residues (match_types.h).
#   learn -b --model nearest --basis bytes on the training labels finds the path's
#     segment payload: 1448 on hop6, 1348 on vpn (MTU 1400 less 52); the model file is
#     version 2 and names the residues; learn's report says so.
#   eval -b --model-file on the test labels: at least 78 of 100 catalogue downloads
#     right on hop6 and 48 on vpn (a model without residues, the same file with the
#     residues cut off: at most 25 and 5), and never a wrong file nor a foreign download
#     matched (100 foreign test downloads each).
. "$(dirname "$0")/lib.sh"

D="$FS_SRC/tests/data/lab_netflow"
# eval_counts PROFILE MODEL: "right wrong foreign_wrong" of eval's JSON
eval_counts() {
    fs eval -c "$D/catalog.tsv" -r "$D/$1/nf9" -b --labels "$D/$1/test.csv" \
        --model-file "$2" -o json 2>"$T/eval.err" >"$T/eval.json" || fail "eval $1: $(cat "$T/eval.err")"
    python3 -c 'import json,sys
j=json.load(open(sys.argv[1]))
k=j["known_outcomes"]
print(k["right"], k["wrong"], j["foreign_wrong"])' "$T/eval.json"
}

check() { # PROFILE SEG MIN_RIGHT MAX_RIGHT_WITHOUT
    fs learn -c "$D/catalog.tsv" -r "$D/$1/nf9" -b --labels "$D/$1/train.csv" --model nearest \
        --basis bytes -o "$T/$1.model" 2>"$T/learn.err" || fail "learn $1: $(cat "$T/learn.err")"
    grep -q "retransmissions in $2-byte segments, overhead residues 268," "$T/learn.err" ||
        fail "learn $1: no $2-byte segments: $(cat "$T/learn.err")"
    head -1 "$T/$1.model" | grep -qx '#flowsleuth-model 2' || fail "$1: model not version 2"
    grep -Eq "^server 10\.77\.[0-9]+\.1 50 0 -?[0-9]+ [0-9.]+ [0-9.]+ seg=$2 res=268(,[0-9]+)*\$" "$T/$1.model" ||
        fail "$1: server line: $(grep '^server' "$T/$1.model")"
    set -- "$1" "$2" "$3" "$4" $(eval_counts "$1" "$T/$1.model")
    [ "$5" -ge "$3" ] || fail "$1: $5 of 100 right, want >= $3"
    [ "$6" = 0 ] || fail "$1: $6 catalogue downloads named as another file"
    [ "$7" = 0 ] || fail "$1: $7 foreign downloads matched"
    echo "ok: $1: $5 of 100 right, 0 wrong, 0 foreign matched"
    # the same model without its residues (a version-1 line)
    sed -E 's/^(server( [^ ]+){6}) .*/\1/; s/^#flowsleuth-model 2$/#flowsleuth-model 1/' \
        "$T/$1.model" >"$T/$1-v1.model"
    set -- "$1" "$2" "$3" "$4" $(eval_counts "$1" "$T/$1-v1.model")
    [ "$5" -le "$4" ] || fail "$1 without residues: $5 right, expected at most $4"
    echo "ok: $1 without residues: $5 of 100 right"
}

check hop6 1448 78 25
check vpn 1348 48 5
