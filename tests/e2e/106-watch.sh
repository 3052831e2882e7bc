#!/bin/sh
# flowsleuth watch on a live store: a real collector (127.0.0.1, --rotate 60; SIGHUP
# closes the bins at once instead of waiting for the minute) fed by meter -e with
# generated scans (scan_pcap.py), watch following it:
#  (a) each of the four scanners alerted once, as JSON lines with the contract's
#      fields, and no ordinary host; --blocklist puts them in blocklist's state;
#      SIGTERM stops watch with status 0 and its state;
#  (b) the same traffic again (late files NAME.1 in the same bins) after a restart:
#      handled (the state lists them) but nothing repeated; without the state the same
#      files do raise the four alerts;
#  (c) a corrupt state file is set aside as .bad and said so; a missing store fails;
#  (d) a window of more bin files than one read takes: the newest are read;
#  (e) --syslog (root: a mount namespace with a /dev/log of the test's own);
#  (f) --baseline: anomaly's findings on five generated weeks, once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need ss awk python3

pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# wait_lines N FILE: until FILE has N lines (20 s).
wait_lines() {
    n=0
    until [ "$(wc -l <"$2" 2>/dev/null || echo 0)" -ge "$1" ]; do
        n=$((n + 1))
        [ "$n" -gt 400 ] && fail "timed out waiting for $1 lines in $2: $(cat "$2")"
        sleep 0.05
    done
}
# feed: the scans into the collector, then SIGHUP, and wait until the collector says
# every record so far is in a closed bin (a rotation at the minute may come between:
# waiting for the count, not for a rotation number, is what holds then)
total=0
feed() {
    fs meter -r "$T/scan.pcap" -e "ipfix://127.0.0.1:$port" --stats 2>"$T/meter.err" || fail "meter -e"
    sent=$(sed -n 's/.*records sent \([0-9]*\).*/\1/p' "$T/meter.err")
    [ -n "$sent" ] || fail "meter --stats: $(cat "$T/meter.err")"
    total=$((total + sent))
    wait_drained "$port"
    kill -HUP "$cpid"
    n=0
    until grep -q "records stored $total, in open bins 0," "$T/collect.err"; do
        n=$((n + 1))
        [ "$n" -gt 400 ] && fail "$total records not stored: $(tail -n 5 "$T/collect.err")"
        sleep 0.05
    done
}
# srcs FILE: the detector and src of each alert, sorted
srcs() {
    sed -n 's/.*"detector":"\([a-z]*\)".*"src":"\([^"]*\)".*/\1 \2/p' "$1" | sort
}

python3 "$FS_SRC/tests/e2e/scan_pcap.py" "$T/scan.pcap" || fail "scan_pcap.py"
port=$(free_port 1)
mkdir -p "$T/S"
$FS_EXEC_PREFIX "$FS_BIN" collect -l "127.0.0.1:$port" -w "$T/S/" --rotate 60 2>"$T/collect.err" &
cpid=$!
pids="$pids $cpid"
wait_udp "$port"

# (a) watch first, then the traffic: the slow UDP scan (one port a minute) spans 25
# one-minute bins, so a window of 30 bins

$FS_EXEC_PREFIX "$FS_BIN" watch -r "$T/S" --state "$T/st" --window 30 --interval 1 \
    -w "$T/alerts" --blocklist "$T/block.state" 2>"$T/watch.err" &
wpid=$!
pids="$pids $wpid"
wait_for_file "$T/st"
feed
wait_lines 4 "$T/alerts"
cat >"$T/want" <<'END'
scan 198.51.100.20
scan 198.51.100.9
scan 203.0.113.50
scan 203.0.113.7
END
sleep 1.5 # two more looks: nothing may follow
srcs "$T/alerts" >"$T/got"
expect_same "$T/want" "$T/got"
[ "$(wc -l <"$T/alerts")" = 4 ] || fail "alerts: $(cat "$T/alerts")"
grep -q '^{"time":"20[0-9-]*T[0-9:.]*Z","detector":"scan","severity":"\(high\|medium\)","bin":"2023-11-17T' \
    "$T/alerts" || fail "alert fields: $(head -n 1 "$T/alerts")"
grep -q '"src":"203.0.113.7".*"targets":40,"ports":1,"kind":"horizontal","method":"trw+count".*"evidence":"src ip 203.0.113.7"}$' \
    "$T/alerts" || fail "alert columns: $(grep 203.0.113.7 "$T/alerts")"
kill -TERM "$wpid"
wait "$wpid" || fail "watch exited $? on SIGTERM: $(cat "$T/watch.err")"
grep -q "stopped; state saved" "$T/watch.err" || fail "watch.err: $(cat "$T/watch.err")"
head -n 1 "$T/st" | grep -qx 'flowsleuth-watch 1' || fail "state: $(head -n 1 "$T/st")"
[ "$(grep -c '^alert .* scan ' "$T/st")" = 4 ] || fail "state alerts: $(cat "$T/st")"
# --blocklist: the four scanners in blocklist's state, which blocklist then lists
awk '$5 == "scan" { print $1 }' "$T/block.state" | sort >"$T/got"
sed 's/^scan //' "$T/want" | sort >"$T/want.block"
expect_same "$T/want.block" "$T/got"
fs blocklist --state "$T/block.state" </dev/null 2>/dev/null | sort >"$T/got" || fail "blocklist"
expect_same "$T/want.block" "$T/got"
echo "ok   (a) four scanners alerted once each and in the block list; SIGTERM: status 0, state saved"

# (b) while watch is down the same scans arrive again: late files in the same bins
feed
nlate=$(find "$T/S" -name 'flows.*.1' | wc -l)
[ "$nlate" -gt 0 ] || fail "no late files NAME.1: $(find "$T/S" -type f)"
fs watch -r "$T/S" --state "$T/st" --window 30 --once -w "$T/alerts" 2>"$T/once.err" ||
    fail "watch --once: $(cat "$T/once.err")"
[ "$(wc -l <"$T/alerts")" = 4 ] || fail "repeated after a restart: $(tail -n +5 "$T/alerts")"
[ "$(grep -c '^file .*flows\.[0-9]*\.1$' "$T/st")" = "$nlate" ] ||
    fail "the late files are not handled: $(cat "$T/st")"
fs watch -r "$T/S" --state "$T/fresh" --window 30 --once --from-start >"$T/fresh.out" ||
    fail "watch --from-start"
srcs "$T/fresh.out" >"$T/got"
expect_same "$T/want" "$T/got"
echo "ok   (b) restarted: $nlate late files handled, nothing repeated (without the state: 4 alerts)"

# services: with an inventory (port 80 on 10.9.0.0/24 authorised), each unexpected
# service alerted once, with the contract's columns
printf 'server,proto,port\n10.9.0.0/24,tcp,80\n' >"$T/auth.csv"
fs watch -r "$T/S" --window 30 --once --from-start --detectors services \
    --authorised "$T/auth.csv" --internal 10.9.0.0/24 >"$T/svc.out" || fail "watch services"
sed -n 's/.*"detector":"services".*"server":"\([^"]*\)","proto":"\([a-z]*\)","port":\([0-9]*\),.*"status":"unexpected".*/\1 \2 \3/p' \
    "$T/svc.out" | sort >"$T/got"
printf '10.9.0.1 tcp 22\n10.9.0.2 udp 53\n10.9.0.3 tcp 443\n' >"$T/want.svc"
expect_same "$T/want.svc" "$T/got"
[ "$(wc -l <"$T/svc.out")" = 3 ] || fail "services alerts: $(cat "$T/svc.out")"
# --allow's ports are left out of scan's evidence as scan leaves them (port 80: the
# horizontal scan of port 80 is no scan then)
printf 'port 80\n' >"$T/allow"
fs watch -r "$T/S" --window 30 --once --from-start --allow "$T/allow" >"$T/allow.out" ||
    fail "watch --allow"
[ "$(wc -l <"$T/allow.out")" = 3 ] || fail "--allow: $(cat "$T/allow.out")"
grep -q '"src":"203.0.113.7"' "$T/allow.out" && fail "--allow: the port 80 scan still alerted"
[ "$(grep -c '"evidence":"src ip [0-9.]* and not dst port in \[80\]"}$' "$T/allow.out")" = 3 ] ||
    fail "--allow evidence: $(cat "$T/allow.out")"
echo "ok   (b) services: the three unexpected services once each"

# spam: spam_pcap.py's bot (40 servers in 15 minutes) alerted once, when its bin
# closes; the evidence is spam's (the relays left out) and print re-runs it
python3 "$FS_SRC/tests/e2e/spam_pcap.py" "$T/m.pcap" || fail "spam_pcap.py"
fs meter -r "$T/m.pcap" -w "$T/M/" || fail "meter m.pcap"
fs watch -r "$T/M" --window 12 --once --from-start --detectors spam --internal 10.1.0.0/16 \
    --mail-servers 10.1.0.25 >"$T/spam.out" || fail "watch spam"
[ "$(wc -l <"$T/spam.out")" = 1 ] || fail "spam alerts: $(cat "$T/spam.out")"
grep -q '"detector":"spam",.*"src":"10.1.0.66",.*"evidence":"src ip 10.1.0.66 and proto tcp and dst port in \[25 465 587\] and not dst ip in \[10.1.0.25\]"}$' \
    "$T/spam.out" || fail "spam alert: $(cat "$T/spam.out")"
first=$(sed 's/.*"first":"\([^"]*\)".*/\1/' "$T/spam.out")
last=$(sed 's/.*"last":"\([^"]*\)".*/\1/' "$T/spam.out")
flows=$(sed 's/.*"flows":\([0-9]*\).*/\1/' "$T/spam.out")
ev=$(sed 's/.*"evidence":"\([^"]*\)".*/\1/' "$T/spam.out")
got=$(fs print -r "$T/M" -t "$first..$last" -o csv "$ev" | tail -n +2 | wc -l)
[ "$got" = "$flows" ] || fail "spam evidence shows $got flows, the alert says $flows"
echo "ok   (b) spam: the bot once, its evidence re-run ($flows flows)"

# (c) a corrupt state: set aside, said so, a new one written
printf 'flowsleuth-watch 1\nlast 1700200\nfile x\n' >"$T/st"
fs watch -r "$T/S" --state "$T/st" --once -w "$T/alerts" 2>"$T/bad.err" ||
    fail "watch with a corrupt state: $(cat "$T/bad.err")"
grep -q "st:3: not a state line; set aside as .*st.bad" "$T/bad.err" ||
    fail "corrupt state: $(cat "$T/bad.err")"
[ -f "$T/st.bad" ] && grep -q '^file x$' "$T/st.bad" || fail "no st.bad"
head -n 1 "$T/st" | grep -qx 'flowsleuth-watch 1' || fail "no new state"
[ "$(wc -l <"$T/alerts")" = 4 ] || fail "alerts after a corrupt state: $(tail -n +5 "$T/alerts")"
fs watch -r "$T/nowhere" --once 2>"$T/none.err" && fail "a missing store accepted"
grep -q "nowhere" "$T/none.err" || fail "missing store: $(cat "$T/none.err")"
fs watch -r "$T/S" --detectors services --once 2>/dev/null && fail "services without --authorised"
echo "ok   (c) corrupt state set aside: $(cat "$T/bad.err")"

# (d) a window of more files than one read takes (256): the newest ones are read. 45
# weeks of a quiet series (fsgen: a bin file a day, 2.6 MB) taken as handled, then the
# scans four days after it: their windows reach back over the 315 day files
"$FS_GEN" series "$T/W/" --weeks 45 --peak 5 --start 1672617600 --seed 3 >/dev/null 2>&1 ||
    fail "fsgen series"
nfiles=$(find "$T/W" -name 'flows.*' | wc -l)
[ "$nfiles" -gt 300 ] || fail "fsgen series made $nfiles files"
fs watch -r "$T/W" --state "$T/wst" --once 2>/dev/null || fail "watch on the series"
fs meter -r "$T/scan.pcap" -w "$T/W/" || fail "meter into the series"
fs watch -r "$T/W" --state "$T/wst" --once --window 400 >"$T/wide" 2>"$T/wide.err" ||
    fail "watch --window 400: $(cat "$T/wide.err")"
srcs "$T/wide" >"$T/got"
expect_same "$T/want" "$T/got"
grep -q "a window of 400 bins holds [0-9]* files; the detectors read the newest 256" "$T/wide.err" ||
    fail "no word on the cut window: $(cat "$T/wide.err")"
echo "ok   (d) a window of $nfiles files: the newest 256 read, the four scanners found"

# (f) anomaly: --baseline over five generated weeks with injected hours (103's): each
# hour judged once the store has moved past it, the same findings as flowsleuth anomaly
# (the last day's hours wait for a later bin: none of them is anomalous), once; restarted,
# nothing is judged again
"$FS_GEN" series "$T/A/" --weeks 5 --seed 7 --spike 276 --spike 706 --drop 734 --gap 753 \
    --spike 805 >/dev/null 2>&1 || fail "fsgen series"
fs baseline -r "$T/A" -w "$T/AP" 2>/dev/null || fail "baseline"
fs anomaly -r "$T/A" -b "$T/AP" -o csv | tail -n +2 | cut -d, -f1-3,9 | sort >"$T/want.an"
[ "$(wc -l <"$T/want.an")" = 13 ] || fail "anomaly: $(cat "$T/want.an")"
fs watch -r "$T/A" --once --from-start --baseline "$T/AP" --state "$T/ast" >"$T/an.out" ||
    fail "watch --baseline"
sed 's/.*"detector":"anomaly","severity":"[a-z]*","bin":"\([^"]*\)","key":"\([^"]*\)","metric":"\([^"]*\)".*"kind":"\([a-z]*\)".*/\1,\2,\3,\4/' \
    "$T/an.out" | sort >"$T/got.an"
expect_same "$T/want.an" "$T/got.an"
grep -q '"kind":"gap","first":"2025-11-06T09:00:00.000Z","last":"2025-11-06T10:00:00.000Z","evidence":"first >= 2025-11-06T09:00:00.000Z and first < 2025-11-06T10:00:00.000Z"}$' \
    "$T/an.out" || fail "the gap's alert: $(grep gap "$T/an.out")"
grep -q '^judged ' "$T/ast" || fail "no judged line: $(head -n 3 "$T/ast")"
fs watch -r "$T/A" --once --baseline "$T/AP" --state "$T/ast" >"$T/an2.out" || fail "watch again"
[ ! -s "$T/an2.out" ] || fail "judged again: $(cat "$T/an2.out")"
fs watch -r "$T/A" --once --detectors anomaly 2>/dev/null && fail "anomaly without --baseline"
echo "ok   (f) --baseline: the 13 findings of flowsleuth anomaly, once"

# (e) --syslog: the alerts as syslog messages (facility daemon, level warning: <28>,
# ident flowsleuth-watch), in a mount namespace whose /dev/log is a socket of ours
if optional "(e) --syslog" root unshare; then
    cat >"$T/ns.sh" <<'END'
set -eu
D=$1
shift
mkdir -p "$D/olddev"
mount --rbind /dev "$D/olddev"
mount -t tmpfs tmpfs /dev
touch /dev/null
mount --bind "$D/olddev/null" /dev/null
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1] + "/ready", "w").close()
s.settimeout(20)
with open(sys.argv[1] + "/syslog.txt", "wb") as f:
    while True:
        m = s.recv(65536)
        if m == b"done":
            break
        f.write(m + b"\n")
' "$D" &
n=0
while [ ! -e "$D/ready" ]; do
    n=$((n + 1))
    [ "$n" -gt 200 ] && exit 1
    sleep 0.05
done
st=0
"$@" || st=$?
python3 -c 'import socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"done", "/dev/log")'
wait
exit "$st"
END
    mkdir "$T/ns"
    # shellcheck disable=SC2086
    unshare -m sh "$T/ns.sh" "$T/ns" $FS_EXEC_PREFIX "$FS_BIN" watch -r "$T/S" --once --from-start \
        --window 30 --syslog 2>"$T/sys.err" || fail "watch --syslog: $(cat "$T/sys.err")"
    [ ! -s "$T/sys.err" ] || fail "--syslog wrote to stderr: $(cat "$T/sys.err")"
    sed -n 's/^<28>.* flowsleuth-watch\[[0-9]*\]: //p' "$T/ns/syslog.txt" >"$T/sys.alerts"
    srcs "$T/sys.alerts" >"$T/got"
    expect_same "$T/want" "$T/got"
    echo "ok   (e) --syslog: the four alerts as daemon.warning messages, nothing on stderr"
fi
kill -TERM "$cpid"
wait "$cpid" || fail "collect exited non-zero"
