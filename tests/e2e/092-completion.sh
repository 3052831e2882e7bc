#!/bin/sh
# 092: the bash completion (contrib/flowsleuth.bash-completion) completes every command
# of `flowsleuth help`, every option of each command's --help, and field names after
# -O, from the binary under test (not from a list that could drift).
. "$(dirname "$0")/lib.sh"
need bash
mkdir -p "$T/bin"
ln -sf "$FS_BIN" "$T/bin/flowsleuth"
# complete WORDS...: what the completion offers for the last word.
cat >"$T/complete.sh" <<'SH'
. "$1"
shift
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
_flowsleuth
printf '%s\n' "${COMPREPLY[@]}"
SH
complete_words() {
    PATH="$T/bin:$PATH" bash "$T/complete.sh" "$FS_SRC/contrib/flowsleuth.bash-completion" "$@"
}
cmds=$(fs help 2>&1 | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
[ -n "$cmds" ] || fail "flowsleuth help lists no commands"
got=$(complete_words flowsleuth "" | sort | tr '\n' ' ')
for c in $cmds; do
    case " $got " in *" $c "*) ;; *) fail "command $c not completed: $got" ;; esac
done
[ "$(complete_words flowsleuth pri)" = print ] || fail "'pri' does not complete to print"
n=0
for c in $cmds; do
    opts=$(fs "$c" --help 2>&1 | grep -oE '^ +(-[A-Za-z0-9], )?--[a-z][a-z0-9-]*' | sed 's/.*--/--/' | sort -u)
    got=$(complete_words flowsleuth "$c" -- | sort -u | tr '\n' ' ')
    for o in $opts; do
        case " $got " in *" $o "*) n=$((n + 1)) ;; *) fail "$c: option $o not completed" ;; esac
    done
done
[ "$n" -gt 30 ] || fail "only $n long options checked"
[ "$(complete_words flowsleuth print -O rbyt)" = rbytes ] || fail "-O rbyt does not complete to rbytes"
echo "ok   $(echo "$cmds" | wc -w) commands, $n long options, field names after -O"
