#!/bin/sh
# src/detect/: the includes between its modules (x.c and x.h taken as one module) go
# one way (issue 12: learn.c and match.c depended on each other, match applying the
# learned windows and learn computing P as the matcher does). tsort finds any loop.
. "$(dirname "$0")/lib.sh"

need tsort
for f in "$FS_SRC"/src/detect/*.[ch]; do
    m=$(basename "$f")
    m=${m%.*}
    sed -n 's/^#include "\([a-z_]*\)\.h".*/\1/p' "$f" | while read -r i; do
        [ "$i" = "$m" ] || echo "$m $i"
    done
done | sort -u >"$T/edges"
[ -s "$T/edges" ] || fail "no includes found under $FS_SRC/src/detect"
tsort "$T/edges" >"$T/order" 2>"$T/err" || fail "include loop in src/detect: $(cat "$T/err")"
! grep -q loop "$T/err" || fail "include loop in src/detect: $(cat "$T/err")"
# the matcher includes nothing of learning
! grep -q '^match[a-z_]* learn$' "$T/edges" || fail "match includes learn.h: $(cat "$T/edges")"
echo ok
