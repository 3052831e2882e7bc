#!/bin/sh
# 091: the collector on IPv6 listeners (loopback only).
#  (a) `collect -l [::1]:PORT` fed by `meter -e ipfix://[::1]:PORT`: every flow of
#      `meter -w` in every field, the exporter is ::1.
#  (b) `collect -l tcp:[::1]:PORT` fed by `meter -e ipfix+tcp://[::1]:PORT`: the same.
#  (c) one dual-stack `-l [::]:PORT`: an IPv4 exporter (127.0.0.1) and an IPv6 one (::1,
#      NetFlow v9) both stored; the IPv4 exporter reads as 127.0.0.1, not as the
#      v4-mapped ::ffff:127.0.0.1, so `exporter 127.0.0.1` selects its flows.
#  (d) `--allow ::1` on a dual-stack listener: the IPv4 exporter is counted as not
#      allowed and stores nothing, the IPv6 one is stored.
#  (e) a listening collector's stderr lines are log lines stamped with the time (RFC
#      3339, UTC, ms); with --syslog nothing goes to stderr.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need ss awk sort
[ -x "$FS_GEN" ] || skip "no fsgen"
[ -e /proc/net/if_inet6 ] || skip "no IPv6 in this kernel"

pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# csv STORE: every field but the exporter (column 25), sorted.
csv() {
    fs print -r "$1" -o csv -N | tail -n +2 | cut -d, -f1-24,26- | sort
}
# start STORE LISTEN...: a collector writing STORE, ready on its control socket.
start() {
    s=$1
    shift
    mkdir -p "$s"
    $FS_EXEC_PREFIX "$FS_BIN" collect "$@" -w "$s/" 2>"$s.err" &
    cpid=$!
    pids="$pids $cpid"
    wait_for_file "$s/.flowsleuth-collect.sock"
}
# stop: SIGTERM the last collector; it stores what it received and exits 0.
stop() {
    kill -TERM "$cpid"
    wait "$cpid" || fail "collector exited $?: $(cat "$1.err")"
}

"$FS_GEN" mix "$T/mix.pcap" --flows 500 --seed 91 --snap 128 >/dev/null
fs meter -r "$T/mix.pcap" -w "$T/A" || fail "meter -w"
csv "$T/A" >"$T/want.csv"
nflows=$(wc -l <"$T/want.csv")
[ "$nflows" -gt 400 ] || fail "only $nflows flows metered"

# (a) UDP on ::1
port=$(free_port 1)
start "$T/B" -l "[::1]:$port" --stats
fs meter -r "$T/mix.pcap" -e "ipfix://[::1]:$port" || fail "meter -e ipfix://[::1]"
wait_drained "$port"
stop "$T/B"
csv "$T/B" >"$T/b.csv"
expect_same "$T/want.csv" "$T/b.csv"
[ "$(fs print -r "$T/B" -o csv:exporter | tail -n +2 | sort -u)" = "::1" ] ||
    fail "(a) exporter is not ::1"
echo "ok   (a) udp [::1]: $nflows flows, every field, exporter ::1"

# (b) IPFIX over TCP on ::1
port=$(free_port 2)
start "$T/C" -l "tcp:[::1]:$port"
fs meter -r "$T/mix.pcap" -e "ipfix+tcp://[::1]:$port" || fail "meter -e ipfix+tcp://[::1]"
# The meter has closed its connection: the collector has read the whole stream once
# its status shows every flow.
k=0
until fs collect --status -w "$T/C/" 2>/dev/null | grep -q "total flows $nflows;"; do
    k=$((k + 1))
    [ "$k" -gt 200 ] && fail "(b) the collector did not get $nflows flows: $(fs collect --status -w "$T/C/")"
    sleep 0.05
done
stop "$T/C"
csv "$T/C" >"$T/c.csv"
expect_same "$T/want.csv" "$T/c.csv"
echo "ok   (b) tcp [::1]: $nflows flows, every field"

# (c) dual stack: IPv4 and IPv6 exporters on one [::] socket
port=$(free_port 3)
start "$T/D" -l "[::]:$port"
fs meter -r "$T/mix.pcap" -e "ipfix://127.0.0.1:$port" || fail "meter -e to 127.0.0.1"
fs meter -r "$T/mix.pcap" -e "nf9://[::1]:$port" || fail "meter -e nf9 to ::1"
wait_drained "$port"
stop "$T/D"
fs print -r "$T/D" -o csv:exporter | tail -n +2 | sort | uniq -c | awk '{ print $2, $1 }' >"$T/d.ex"
v4=$(awk '$1 == "127.0.0.1" { print $2 }' "$T/d.ex")
v6=$(awk '$1 == "::1" { print $2 }' "$T/d.ex")
[ "$v4" = "$nflows" ] || fail "(c) IPv4 exporter: ${v4:-0} flows of $nflows: $(cat "$T/d.ex")"
# NetFlow v9 has one record per direction: a biflow with answers gives two.
[ "${v6:-0}" -ge "$nflows" ] || fail "(c) IPv6 exporter: ${v6:-0} records for $nflows flows"
[ "$(wc -l <"$T/d.ex")" = 2 ] || fail "(c) exporters: $(cat "$T/d.ex")"
sel=$(fs print -r "$T/D" -o csv:exporter 'exporter 127.0.0.1' | tail -n +2 | wc -l)
[ "$sel" = "$nflows" ] || fail "(c) 'exporter 127.0.0.1' selects $sel flows, not $nflows"
echo "ok   (c) dual stack [::]: 127.0.0.1 $v4 flows (not v4-mapped), ::1 $v6 records"

# (d) --allow ::1 on the dual-stack socket
port=$(free_port 4)
start "$T/E" -l "[::]:$port" --allow ::1
fs meter -r "$T/mix.pcap" -e "ipfix://127.0.0.1:$port" || fail "meter -e to 127.0.0.1"
fs meter -r "$T/mix.pcap" -e "ipfix://[::1]:$port" || fail "meter -e to ::1"
wait_drained "$port"
fs collect --status -w "$T/E/" >"$T/e.status" 2>&1 || fail "--status: $(cat "$T/e.status")"
stop "$T/E"
grep -Eq "not allowed [1-9]" "$T/e.status" || fail "(d) nothing counted as not allowed: $(cat "$T/e.status")"
[ "$(fs print -r "$T/E" -o csv:exporter | tail -n +2 | sort -u)" = "::1" ] ||
    fail "(d) stored exporters: $(fs print -r "$T/E" -o csv:exporter | tail -n +2 | sort -u)"
csv "$T/E" >"$T/e.csv"
expect_same "$T/want.csv" "$T/e.csv"
echo "ok   (d) --allow ::1: the IPv4 exporter refused and counted, the IPv6 one stored"

# (e) log lines: every stderr line of (a) stamped; --syslog leaves stderr empty
[ -s "$T/B.err" ] || fail "(e) collect --stats wrote nothing to stderr"
bad=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z flowsleuth collect: ' "$T/B.err" || true)
[ "$bad" = 0 ] || fail "(e) $bad log lines without an RFC 3339 stamp: $(cat "$T/B.err")"
port=$(free_port 5)
start "$T/F" -l "[::1]:$port" --stats --syslog
fs meter -r "$T/mix.pcap" -e "ipfix://[::1]:$port" || fail "meter -e to ::1"
wait_drained "$port"
stop "$T/F"
[ -s "$T/F.err" ] && fail "(e) --syslog wrote to stderr: $(cat "$T/F.err")"
echo "ok   (e) $(wc -l <"$T/B.err") stderr lines stamped (RFC 3339); --syslog: stderr empty"
