#!/bin/sh
# services -w PROFILE and --since PROFILE on scan_pcap.py's traffic (web and DNS
# servers answering from the start, ssh on 10.9.0.1 answering the vertical scan at
# 05:53): a profile of the traffic before 05:50 lacks only the ssh service, which
# --since marks new while the others carry the profile's first time; --since P -w P
# rolls the profile on, after which nothing is new; the profile text; a damaged,
# future or missing profile named with file and line (exit 2), an unwritable -w (exit 1).
. "$(dirname "$0")/lib.sh"

need python3
python3 "$FS_SRC/tests/e2e/scan_pcap.py" "$T/scan.pcap" || fail "scan_pcap.py"
fs meter -r "$T/scan.pcap" -w "$T/s.fl" || fail "meter"

fs services -r "$T/s.fl" -t ..2023-11-17T05:50 -w "$T/P" -o csv >"$T/early.csv" ||
    fail "services -w"
head -n 1 "$T/early.csv" | grep -qx 'server,proto,port,clients,flows,bytes,first,last,status,evidence' ||
    fail "-w changed the columns: $(head -n 1 "$T/early.csv")"
head -n 1 "$T/P" | grep -qx 'flowsleuth-services-profile 1' || fail "profile: $(head -n 1 "$T/P")"
[ "$(grep -vc '^#' "$T/P")" = 6 ] || fail "profile rows: $(cat "$T/P")"
grep -qx '10.9.0.2 17 53 1700200001000 1700200164001 10 60 8760' "$T/P" ||
    fail "profile DNS row: $(cat "$T/P")"

fs services -r "$T/s.fl" --since "$T/P" -o csv >"$T/since.csv" || fail "services --since"
head -n 1 "$T/since.csv" | grep -qx 'server,proto,port,clients,flows,bytes,first,last,status,since,evidence' ||
    fail "columns: $(head -n 1 "$T/since.csv")"
cut -d, -f1-3,10 "$T/since.csv" >"$T/got"
cat >"$T/want" <<'END'
server,proto,port,since
10.9.0.1,tcp,22,new
10.9.0.1,tcp,80,2023-11-17T05:46:40.000Z
10.9.0.2,tcp,80,2023-11-17T05:46:47.000Z
10.9.0.2,udp,53,2023-11-17T05:46:41.000Z
10.9.0.3,tcp,443,2023-11-17T05:46:54.000Z
10.9.0.4,tcp,80,2023-11-17T05:47:01.000Z
END
expect_same "$T/want" "$T/got"
fs services -r "$T/s.fl" --since "$T/P" -o json | grep -q '"port":22,.*"status":"unexpected","since":"new","evidence"' ||
    fail "json since"
echo "ok   --since: ssh new, the others since the profile's first time"

# rolling: --since P -w P adds ssh, keeps the earliest first; then nothing is new
fs services -r "$T/s.fl" --since "$T/P" -w "$T/P" >/dev/null || fail "--since P -w P"
grep -q '^10.9.0.1 6 22 ' "$T/P" || fail "ssh not added: $(cat "$T/P")"
grep -q '^10.9.0.1 6 80 1700200000000 1700200400802 12 47 ' "$T/P" || fail "merge: $(cat "$T/P")"
fs services -r "$T/s.fl" --since "$T/P" -o csv | cut -d, -f10 | grep -qx new && fail "new after rolling"
echo "ok   --since P -w P rolls the profile on"

# bad profiles: file and line, exit 2, nothing on stdout
bad() { # NAME CONTENT EXPECTED-MESSAGE
    printf '%b' "$2" >"$T/$1"
    if fs services -r "$T/s.fl" --since "$T/$1" >"$T/out" 2>"$T/err"; then fail "$1 accepted"; else rc=$?; fi
    [ "$rc" = 2 ] || fail "$1: exit $rc"
    [ ! -s "$T/out" ] || fail "$1: output: $(cat "$T/out")"
    grep -q -- "$3" "$T/err" || fail "$1: $(cat "$T/err")"
}
bad cut 'flowsleuth-services-profile 1\n10.9.0.1 6 80 1 2 3 4 5' "cut:2: cut short"
bad word 'flowsleuth-services-profile 1\n# c\n10.9.0.1 tcp 80 1 2 3 4 5\n' "word:3: not 'server proto port"
bad port 'flowsleuth-services-profile 1\n10.9.0.1 6 65536 1 2 3 4 5\n' "port:2: not"
bad neg 'flowsleuth-services-profile 1\n10.9.0.1 6 80 -1 2 3 4 5\n' "neg:2: not"
bad future 'flowsleuth-services-profile 2\n' "future:1: version 2"
bad other 'flowsleuth-watch 1\n' "other:1: not a services profile"
if fs services -r "$T/s.fl" --since "$T/nowhere" 2>"$T/err" >/dev/null; then fail "missing profile"; fi
grep -q "nowhere: No such file" "$T/err" || fail "missing: $(cat "$T/err")"
mkdir "$T/ro"
if fs services -r "$T/s.fl" -w "$T/ro/no/P" >/dev/null 2>"$T/err"; then fail "-w to a missing folder"; else rc=$?; fi
[ "$rc" = 1 ] || fail "-w unwritable: exit $rc"
grep -q "ro/no/P" "$T/err" || fail "-w: $(cat "$T/err")"
echo "ok   bad profiles named with file and line"
