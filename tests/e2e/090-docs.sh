#!/bin/sh
# Every command has --help and a man page with an EXIT STATUS, flowsleuth(1) names it,
# and every long option of its --help is in the man page (docs are part of the change);
# a bad option gets exit 2 and a few lines pointing to --help, not the whole help.
. "$(dirname "$0")/lib.sh"

cmds=$(fs help | awk '/^commands:/ { on = 1; next } on && !NF { exit } on { print $1 }')
[ -n "$cmds" ] || fail "flowsleuth help lists no commands"
[ -f "$FS_SRC/man/flowsleuth.1" ] || fail "man/flowsleuth.1 missing"
for c in $cmds; do
    page="$FS_SRC/man/flowsleuth-$c.1"
    [ -f "$page" ] || fail "no man page for $c"
    grep -qxF ".B $c" "$FS_SRC/man/flowsleuth.1" || fail "flowsleuth.1 does not list $c"
    grep -qxF ".SH EXIT STATUS" "$page" || fail "$(basename "$page") has no EXIT STATUS"
    fs "$c" --help >"$T/$c.help" || fail "$c --help failed"
    # A bad option: exit 2, what was wrong and the synopsis, not the whole help.
    st=0
    fs "$c" --no-such-option >"$T/$c.bad" 2>&1 || st=$?
    [ "$st" = 2 ] || fail "$c --no-such-option: exit $st, not 2"
    grep -q -- "--help" "$T/$c.bad" || fail "$c --no-such-option does not point to --help"
    [ "$(wc -l <"$T/$c.bad")" -le 8 ] || fail "$c --no-such-option prints $(wc -l <"$T/$c.bad") lines"
    fs help "$c" >"$T/$c.help2" || fail "help $c failed"
    expect_same "$T/$c.help" "$T/$c.help2"
    for opt in $(grep -oE -- '--[a-z][a-z-]+' "$T/$c.help" | sort -u); do
        [ "$opt" = --help ] && continue
        # troff escapes the dashes: \-\-idle
        esc=$(printf '%s' "$opt" | sed 's/-/\\-/g')
        grep -qF -- "$esc" "$page" || fail "$c: option $opt is not in $(basename "$page")"
    done
done
echo ok
