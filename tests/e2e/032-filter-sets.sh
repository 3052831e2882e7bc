#!/bin/sh
# Address sets from files (`in @FILE`) at the size of real block lists: a set of a
# third of the flows' sources, hidden among 500,000 other addresses and 2,000 prefixes
# of the reserved 240.0.0.0/4 (so no flow's address), in Spamhaus DROP's line format.
# print's count with `src ip in @FILE` and `not ip in @FILE` equals awk's over the
# unfiltered CSV; an unreadable or malformed file is a usage error naming file and line.
. "$(dirname "$0")/lib.sh"

need awk python3
"$FS_GEN" mix "$T/mix.pcap" --flows 600 --seed 32 --snap 128 >/dev/null || fail "fsgen"
fs meter -r "$T/mix.pcap" -w "$T/mix.fs" || fail "meter"
fs print -r "$T/mix.fs" -o csv:src,dst -N | tail -n +2 >"$T/all.csv"
awk -F, 'NR % 3 == 0 { print $1 " ; SBL" NR }' "$T/all.csv" | sort -u >"$T/picked.txt"
python3 - "$T/picked.txt" "$T/set.txt" <<'PY'
import random, sys
rnd = random.Random(32)
picked = open(sys.argv[1]).read().splitlines()
lines = ["; flowsleuth test set, DROP format", ""] + picked
lines += ["%d.%d.%d.%d" % (rnd.randint(240, 255), rnd.randint(0, 255), rnd.randint(0, 255),
                           rnd.randint(0, 255)) for _ in range(500000)]
lines += ["%d.%d.%d.0/24 ; SBL9" % (rnd.randint(240, 255), rnd.randint(0, 255),
                                     rnd.randint(0, 255)) for _ in range(2000)]
rnd.shuffle(lines)
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
cut -d' ' -f1 "$T/picked.txt" >"$T/picked.addr"
want=$(awk -F, 'NR == FNR { s[$1] = 1; next } ($1 in s)' "$T/picked.addr" "$T/all.csv" | wc -l)
got=$(fs print -r "$T/mix.fs" -o csv:src -N "src ip in @$T/set.txt" | tail -n +2 | wc -l)
[ "$want" -gt 100 ] || fail "too few picked flows: $want"
[ "$got" = "$want" ] || fail "src ip in @set: $got flows, want $want"
want=$(awk -F, 'NR == FNR { s[$1] = 1; next } !($1 in s) && !($2 in s)' "$T/picked.addr" "$T/all.csv" | wc -l)
got=$(fs print -r "$T/mix.fs" -o csv:src -N "not ip in @$T/set.txt" | tail -n +2 | wc -l)
[ "$got" = "$want" ] || fail "not ip in @set: $got flows, want $want"
echo "ok   a set of $(wc -l <"$T/set.txt") lines selects the $want flows awk finds"

printf '192.0.2.1\n192.0.2.0/40\n' >"$T/bad.txt"
if fs print -r "$T/mix.fs" "src ip in @$T/bad.txt" >/dev/null 2>"$T/bad.err"; then
    fail "a malformed set file was accepted"
fi
grep -q "bad.txt:2: '192.0.2.0/40' is not" "$T/bad.err" || fail "no file:line: $(cat "$T/bad.err")"
if fs print -r "$T/mix.fs" "src ip in @$T/none.txt" >/dev/null 2>"$T/none.err"; then
    fail "a missing set file was accepted"
fi
grep -q "none.txt: No such file" "$T/none.err" || fail "missing file not named: $(cat "$T/none.err")"
echo "ok   a malformed or missing set file is named with its line"
