#!/bin/sh
# flowsleuth scan on generated traffic (scan_pcap.py: ordinary web/DNS clients and four
# scans of known shape): every scanner found with the expected rule, kind and detection
# delay, no ordinary host; each row's evidence re-run by print shows exactly its flows;
# --allow, --internal, a filter, -o json, a bad allow file and --max-mem.
. "$(dirname "$0")/lib.sh"

need python3
python3 "$FS_SRC/tests/e2e/scan_pcap.py" "$T/scan.pcap" || fail "scan_pcap.py"
fs meter -r "$T/scan.pcap" -w "$T/s.fl" || fail "meter"

# rows SCAN-ARGS...: "src kind method contacts targets ports failed flows", one a line
rows() {
    fs scan -r "$T/s.fl" -o csv "$@" >"$T/rows.csv" || fail "scan $*"
    head -n 1 "$T/rows.csv" | grep -qx 'src,first,last,targets,ports,kind,method,score,contacts,failed,flows,evidence' ||
        fail "columns: $(head -n 1 "$T/rows.csv")"
    tail -n +2 "$T/rows.csv" | awk -F, '{ print $1, $6, $7, $9, $4, $5, $10, $11 }'
}

# Horizontal SYN scan: hosts 1-4 live (3 answer on 80, 3 sends a RST): 3 hits and
# 7 misses decide at contact 10 (4^7 / 4^3 = 256 >= 99). Ping sweep: 4 replies make the
# walk benign (1/256 <= 1/99) and restart it; 4 misses then decide at contact 8.
# Vertical scans see one host: the count rule (98 closed ports of 100; 25 UDP ports,
# one a minute, all in the 1 h window, against 20).
rows >"$T/got"
cat >"$T/want" <<'END'
198.51.100.9 vertical count 0 1 100 98 100
198.51.100.20 vertical count 0 1 25 25 25
203.0.113.7 horizontal trw+count 10 40 1 37 40
203.0.113.50 horizontal trw 8 20 0 16 20
END
expect_same "$T/want" "$T/got"

# evidence: print -t FIRST..LAST EVIDENCE selects exactly the row's flows
check_evidence() {
    n=0
    while IFS=, read -r src first last _t _p _k _m _s _c _f flows ev; do
        [ "$src" = src ] && continue
        fs print -r "$T/s.fl" -t "$first..$last" -o csv "$ev" >"$T/ev.csv" || fail "print $ev"
        got=$(($(wc -l <"$T/ev.csv") - 1))
        [ "$got" = "$flows" ] || fail "evidence '$ev' ($first..$last) shows $got flows, the row says $flows"
        others=$(tail -n +2 "$T/ev.csv" | cut -d, -f3 | grep -cvx "$src" || true)
        [ "$others" = 0 ] || fail "evidence '$ev' shows $others flows of other sources"
        n=$((n + 1))
    done <"$T/rows.csv"
    [ "$n" -gt 0 ] || fail "no rows to check evidence on"
}
fs print -r "$T/s.fl" -o csv -c 1 | head -n 1 | cut -d, -f3 | grep -qx src || fail "print csv: column 3 is not src"
rows >/dev/null
check_evidence

# --allow: a source and a port left out (port 80 is open on 10.9.0.1: a hit less, the
# failures stay 98); the evidence then leaves the port out too
printf '# vulnerability scanner\n203.0.113.7\nport 80   # web probes\n' >"$T/allow"
rows --allow "$T/allow" >"$T/got"
grep -q '^203.0.113.7 ' "$T/got" && fail "--allow: 203.0.113.7 still reported"
grep -q '^198.51.100.9 vertical count 0 1 99 98 99$' "$T/got" || fail "--allow port 80: $(cat "$T/got")"
grep -q 'and not dst port in \[80\]' "$T/rows.csv" || fail "--allow: evidence keeps port 80"
check_evidence

# --internal: 198.51.100.0/24 gets the internal threshold (50): 25 failures no longer count
rows --internal 198.51.100.0/24 >"$T/got"
grep -q '^198.51.100.20 ' "$T/got" && fail "--internal: 198.51.100.20 still reported"
grep -q '^198.51.100.9 vertical count ' "$T/got" || fail "--internal: 198.51.100.9 lost"

# a filter: TCP only; the evidence carries it
rows 'proto tcp' >"$T/got"
[ "$(cut -d' ' -f1 "$T/got" | tr '\n' ' ')" = "198.51.100.9 203.0.113.7 " ] || fail "filter: $(cat "$T/got")"
grep -q ',(proto tcp) and src ip 203.0.113.7$' "$T/rows.csv" || fail "filter not in the evidence"
check_evidence

# json: one object a line, numbers unquoted
fs scan -r "$T/s.fl" -o json >"$T/rows.json" || fail "scan -o json"
[ "$(wc -l <"$T/rows.json")" = 4 ] || fail "json: $(cat "$T/rows.json")"
grep -q '"src":"203.0.113.7".*"targets":40,"ports":1,"kind":"horizontal","method":"trw+count","score":1.85,"contacts":10' \
    "$T/rows.json" || fail "json row: $(grep 203.0.113.7 "$T/rows.json")"

# a bad allow file names file and line: usage error, nothing on stdout
printf '10.0.0.1\n\nnot-an-address\n' >"$T/bad"
if fs scan -r "$T/s.fl" --allow "$T/bad" >"$T/out" 2>"$T/err"; then fail "bad --allow accepted"; else rc=$?; fi
[ "$rc" = 2 ] || fail "bad --allow: exit $rc"
grep -q "$T/bad:3: 'not-an-address' is not an address or prefix" "$T/err" || fail "bad --allow: $(cat "$T/err")"
[ -s "$T/out" ] && fail "bad --allow printed rows"

# --max-mem: too small for the flows is an error, not a partial answer
if fs scan -r "$T/s.fl" --max-mem 8Ki >"$T/out" 2>"$T/err"; then fail "--max-mem 8Ki passed"; else rc=$?; fi
[ "$rc" = 1 ] || fail "--max-mem: exit $rc"
grep -q 'more flows than --max-mem holds' "$T/err" || fail "--max-mem: $(cat "$T/err")"
[ -s "$T/out" ] && fail "--max-mem printed rows"

# TRW parameters out of range are a usage error
if fs scan -r "$T/s.fl" --theta1 0.9 >/dev/null 2>"$T/err"; then fail "theta1 > theta0 accepted"; else rc=$?; fi
[ "$rc" = 2 ] || fail "--theta1 0.9: exit $rc"
exit 0
