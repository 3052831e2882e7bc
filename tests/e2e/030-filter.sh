#!/bin/sh
# The filter language end to end: the flows of every shared capture metered into one
# store; each filter's count from `print` equals an independent count by awk over the
# unfiltered CSV. Then -f FILE with comments, --dump-filter, and a syntax error that
# shows a caret under the right column and exits 2.
. "$(dirname "$0")/lib.sh"

need awk
ls "$FS_DATA"/pcap/*.pcap >/dev/null 2>&1 || skip "no captures in $FS_DATA/pcap"
mkdir "$T/store"
for p in "$FS_DATA"/pcap/*.pcap; do
    fs meter -r "$p" -w "$T/store" 2>/dev/null || fail "meter $p"
done
fs print -r "$T/store" -o csv >"$T/all.csv"
total=$(($(wc -l <"$T/all.csv") - 1))
[ "$total" -gt 20 ] || fail "too few flows metered: $total"

# awk_count EXPR: rows of all.csv where EXPR holds; columns by header name in c[].
awk_count() {
    awk -F, -v OFS=, '
    function ms(t,   y, m, d, era, yoe, doy, doe, days) {
        # YYYY-MM-DDThh:mm:ss.mmmZ -> ms since the epoch (days_from_civil)
        y = substr(t, 1, 4) + 0; m = substr(t, 6, 2) + 0; d = substr(t, 9, 2) + 0
        if (m <= 2) y--
        era = int(y / 400); yoe = y - era * 400
        doy = int((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1
        doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
        days = era * 146097 + doe - 719468
        return ((days * 24 + substr(t, 12, 2)) * 60 + substr(t, 15, 2)) * 60000 + substr(t, 18, 6) * 1000
    }
    function bit(x, b) { return int(x / b) % 2 }
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { if ('"$1"') n++ }
    END { print n + 0 }' "$T/all.csv"
}

check() { # check FILTER AWK-EXPR
    got=$(fs print -r "$T/store" -o csv "$1" | tail -n +2 | wc -l)
    want=$(awk_count "$2")
    [ "$got" -eq "$want" ] || fail "filter '$1': print gave $got flows, awk counts $want"
    echo "ok $got/$total: $1"
}

check 'proto 17' '$c["proto"] == 17'
check 'proto tcp' '$c["proto"] == 6'
check 'udp and dst port 53' '$c["proto"] == 17 && $c["dport"] == 53'
check 'port 80' '$c["sport"] == 80 || $c["dport"] == 80'
check 'not port 80 and not port 53' '$c["sport"] != 80 && $c["dport"] != 80 && $c["sport"] != 53 && $c["dport"] != 53'
check 'dst port in [53 80 443]' '$c["dport"] == 53 || $c["dport"] == 80 || $c["dport"] == 443'
check 'bytes > 1000' '$c["bytes"] > 1000'
check 'rbytes >= 10k and packets < 20' '$c["rbytes"] >= 10000 && $c["packets"] < 20'
check 'ipv6' '$c["ipver"] == 6'
check 'net 192.168.0.0/16' '$c["ipver"] == 4 && ($c["src"] ~ /^192\.168\./ || $c["dst"] ~ /^192\.168\./)'
check 'src net 10.0.0.0/8 or dst net 10.0.0.0/8' '$c["ipver"] == 4 && ($c["src"] ~ /^10\./ || $c["dst"] ~ /^10\./)'
check 'flags SA and not flags R' 'bit($c["flags"], 2) + bit($c["rflags"], 2) > 0 && bit($c["flags"], 16) + bit($c["rflags"], 16) > 0 && bit($c["flags"], 4) + bit($c["rflags"], 4) == 0'
check 'rflags F' 'bit($c["rflags"], 1)'
check 'duration > 1s' 'ms($c["last"]) - ms($c["first"]) > 1000'
check 'duration <= 100ms or rpackets = 0' 'ms($c["last"]) - ms($c["first"]) <= 100 || $c["rpackets"] == 0'
check 'first >= 2009-11-19T01:52:20' '$c["first"] >= "2009-11-19T01:52:20.000Z"'
check 'vlan > 0 || (tcp && !(rpayload > 1M))' '$c["vlan"] > 0 || ($c["proto"] == 6 && !($c["rpayload"] > 1000000))'
check 'any' '1'

# -f FILE: comments and several lines.
printf '# web servers\nproto tcp   # only TCP\n  and dport 80\n' >"$T/f.txt"
a=$(fs print -r "$T/store" -o csv -f "$T/f.txt" | wc -l)
b=$(fs print -r "$T/store" -o csv 'proto tcp and dport 80' | wc -l)
[ "$a" -eq "$b" ] || fail "-f FILE gave $a lines, the same expression inline $b"

# --dump-filter prints the program, one numbered instruction a line.
fs print --dump-filter 'proto tcp and dport 80' >"$T/dump.txt"
grep -q '^(000) proto == 6(tcp) .*jt 1 .*jf reject' "$T/dump.txt" || fail "dump: $(cat "$T/dump.txt")"
grep -q '^(001) dport == 80 .*jt accept .*jf reject' "$T/dump.txt" || fail "dump: $(cat "$T/dump.txt")"

# A syntax error: exit 2, the expression, a caret under the offending token.
set +e
fs print -r "$T/store" 'port 80 and (' >/dev/null 2>"$T/err.txt"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a bad filter should exit 2, got $rc"
grep -q "expected a filter term" "$T/err.txt" || fail "no message: $(cat "$T/err.txt")"
grep -qx "  port 80 and (" "$T/err.txt" || fail "expression not shown: $(cat "$T/err.txt")"
grep -qx "  $(printf '%13s' '')^" "$T/err.txt" || fail "caret not at column 13: $(cat "$T/err.txt")"
set +e
fs print -r "$T/store" 'rbyte > 1M' >/dev/null 2>"$T/err2.txt"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "an unknown field should exit 2"
grep -q "did you mean 'rbytes'" "$T/err2.txt" || fail "no suggestion: $(cat "$T/err2.txt")"
echo ok
