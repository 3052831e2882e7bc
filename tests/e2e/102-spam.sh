#!/bin/sh
# flowsleuth spam on spam_pcap.py's mail traffic: the spam bot found with its exact
# distinct-server count and peak; the relay only without --mail-servers, the outside
# prober only without --internal; the slow sender and the small sender only when the
# window or the count is widened to them; web fan-out never. Each row's evidence re-run
# by print shows exactly its flows.
. "$(dirname "$0")/lib.sh"

need python3
python3 "$FS_SRC/tests/e2e/spam_pcap.py" "$T/mail.pcap" || fail "spam_pcap.py"
fs meter -r "$T/mail.pcap" -w "$T/m.fl" || fail "meter"

# rows SPAM-ARGS...: "src servers peak flows", one a line; rows.csv kept for evidence
rows() {
    fs spam -r "$T/m.fl" -o csv "$@" >"$T/rows.csv" || fail "spam $*"
    head -n 1 "$T/rows.csv" | grep -qx 'src,first,last,servers,peak,flows,evidence' ||
        fail "columns: $(head -n 1 "$T/rows.csv")"
    tail -n +2 "$T/rows.csv" | awk -F, '{ print $1, $4, $5, $6 }'
}
check_evidence() {
    n=0
    while IFS=, read -r src first last _s _p flows ev; do
        [ "$src" = src ] && continue
        got=$(fs print -r "$T/m.fl" -t "$first..$last" -o csv "$ev" | tail -n +2 | wc -l)
        [ "$got" = "$flows" ] || fail "evidence '$ev' shows $got flows, the row says $flows"
        n=$((n + 1))
    done <"$T/rows.csv"
    [ "$n" -gt 0 ] || fail "no rows to check evidence on"
}

# defaults: 10 servers in 1 h; the bot's second connections to 5 servers are 5 more
# flows, no more servers
rows >"$T/got"
cat >"$T/want" <<'END'
10.1.0.25 30 30 30
10.1.0.66 40 40 45
203.0.113.50 20 20 20
END
expect_same "$T/want" "$T/got"
check_evidence

rows --internal 10.1.0.0/16 --mail-servers 10.1.0.25 >"$T/got"
echo '10.1.0.66 40 40 45' >"$T/want"
expect_same "$T/want" "$T/got"
grep -q ',src ip 10.1.0.66 and proto tcp and dst port in \[25 465 587\] and not dst ip in \[10.1.0.25\]$' \
    "$T/rows.csv" || fail "evidence: $(cat "$T/rows.csv")"
check_evidence

# the slow sender (12 servers, one every 70 min) in a day's window; the small one (8) at --count 8
rows --internal 10.1.0.0/16 --mail-servers 10.1.0.0/27 --window 1d --count 8 >"$T/got"
cat >"$T/want" <<'END'
10.1.0.66 40 40 45
10.1.0.77 12 12 12
10.1.0.88 8 8 8
END
expect_same "$T/want" "$T/got"
check_evidence

# --ports: only 465 leaves 10.1.0.88's 4 servers on it
rows --ports 465 --count 4 >"$T/got"
echo '10.1.0.88 4 4 4' >"$T/want"
expect_same "$T/want" "$T/got"

# a filter narrows the flows and goes into the evidence
rows --count 30 'dst net 198.51.100.0/25' >"$T/got"
echo '10.1.0.25 30 30 30' >"$T/want"
expect_same "$T/want" "$T/got"
grep -q ',(dst net 198.51.100.0/25) and src ip 10.1.0.25 and' "$T/rows.csv" || fail "filter not in the evidence"
check_evidence

# bad values: usage errors
for bad in "--count 0" "--window 0" "--ports 25,x" "--ports 1,2,3,4,5,6,7,8,9" "--mail-servers 10.1.0.0/40"; do
    # shellcheck disable=SC2086
    if fs spam -r "$T/m.fl" $bad >/dev/null 2>"$T/err"; then fail "spam $bad accepted"; else rc=$?; fi
    [ "$rc" = 2 ] || fail "spam $bad: exit $rc"
done
if fs spam -r "$T/m.fl" --max-mem 1Ki >/dev/null 2>"$T/err"; then fail "--max-mem 1Ki passed"; else rc=$?; fi
[ "$rc" = 1 ] && grep -q 'more mail flows than --max-mem holds' "$T/err" || fail "--max-mem: $rc $(cat "$T/err")"
exit 0
