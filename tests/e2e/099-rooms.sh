#!/bin/sh
# The folders are the architecture (README, Layout): a folder of src/ includes only
# itself and the folders listed above it there, and within a folder no file includes a
# file that includes it back (tsort finds a loop; src/detect/ is held to modules,
# x.c and x.h as one, by 097-detect-module-dag). The order is
# read from the README itself, so the test and the documented layout cannot drift apart.
. "$(dirname "$0")/lib.sh"

need tsort awk
awk '/^## Layout/ { on = 1 } on && /^src\/[a-z]+\// { print substr($0, 5, index($0, "/ ") - 5) }' \
    "$FS_SRC/README.md" >"$T/order"
[ "$(wc -l <"$T/order")" -ge 10 ] || fail "README Layout lists too few src/ folders: $(cat "$T/order")"
bad=0
for d in "$FS_SRC"/src/*/; do
    d=$(basename "$d")
    rank=$(grep -nx "$d" "$T/order" | cut -d: -f1)
    [ -n "$rank" ] || { echo "src/$d is not in README's Layout" >&2; bad=1; continue; }
    for f in "$FS_SRC/src/$d"/*.[ch]; do
        sed -n 's#^\#include "\.\./\([a-z]*\)/.*#\1#p' "$f" | sort -u | while read -r to; do
            r=$(grep -nx "$to" "$T/order" | cut -d: -f1)
            if [ -z "$r" ] || [ "$r" -gt "$rank" ]; then
                echo "src/$d/$(basename "$f") includes src/$to/, listed below src/$d/" >&2
                echo x
            fi
        done
    done
done >"$T/up"
[ "$bad" = 0 ] && [ ! -s "$T/up" ] || fail "includes against the layout's order (above)"
echo "ok   $(wc -l <"$T/order") folders, each including only itself and those above it"

for d in "$FS_SRC"/src/*/; do
    for f in "$d"*.[ch]; do
        sed -n 's/^#include "\([a-z_]*\.h\)".*/\1/p' "$f" | while read -r i; do
            echo "$(basename "$d")/$(basename "$f") $(basename "$d")/$i"
        done
    done
done | sort -u >"$T/edges"
tsort "$T/edges" >/dev/null 2>"$T/err" || fail "include loop: $(cat "$T/err")"
! grep -q loop "$T/err" || fail "include loop: $(cat "$T/err")"
echo "ok   no file includes a file that includes it back ($(wc -l <"$T/edges") includes)"
