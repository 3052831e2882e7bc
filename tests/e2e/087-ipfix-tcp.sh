#!/bin/sh
# IPFIX over TCP (RFC 7011 10.4) on 127.0.0.1 only:
#  (a) meter -r PCAP -e ipfix+tcp://127.0.0.1:PORT into `collect -l tcp:127.0.0.1:PORT`
#      gives the flows of meter -r PCAP -w A in every field (exporter aside).
#  (b) several connections at once: two meters export the same capture at the same
#      time; the store holds both copies; --status counts 2 more connections.
#  (c) framing faults (python3): a message length below 16 and a version other than 10
#      each close only their connection, counted by reason in --status; the collector
#      keeps serving (a meter afterwards is stored whole).
#  (d) no collector: meter -e ipfix+tcp:// exits 0 and counts every record as a send
#      error, 0 connections (the backoff keeps it from spinning).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need ss awk sort python3
[ -x "$FS_GEN" ] || skip "no fsgen"

pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_tcp() {
    n=0
    until ss -Hltn "sport = :$1" | grep -q .; do
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "nothing listens on tcp $1"
        sleep 0.05
    done
}
# wait_grep PATTERN CMD...: until the output of CMD holds PATTERN (10 s).
wait_status() {
    n=0
    until fs collect --status -w "$T/B/" 2>/dev/null | grep -q -- "$1"; do
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "timed out waiting for '$1' in --status"
        sleep 0.05
    done
}
csv() {
    fs print -r "$1" -o csv -N | tail -n +2 | sort
}

"$FS_GEN" mix "$T/mix.pcap" --flows 3000 --seed 87 --snap 128 >/dev/null
fs meter -r "$T/mix.pcap" -w "$T/A" || fail "meter -w"
csv "$T/A" | cut -d, -f1-24,26- >"$T/want.csv"
nflows=$(wc -l <"$T/want.csv")

port=$(free_port 1)
mkdir -p "$T/B"
$FS_EXEC_PREFIX "$FS_BIN" collect -l "tcp:127.0.0.1:$port" -w "$T/B/" 2>"$T/collect.err" &
cpid=$!
pids="$pids $cpid"
wait_tcp "$port"
wait_for_file "$T/B/.flowsleuth-collect.sock"

# (a) one meter, every field
fs meter -r "$T/mix.pcap" -e "ipfix+tcp://127.0.0.1:$port" --stats 2>"$T/a.stats" ||
    fail "meter -e ipfix+tcp"
grep -q "records sent $nflows,.*send errors 0 .*connections 1" "$T/a.stats" ||
    fail "meter stats: $(cat "$T/a.stats")"
wait_status "flows $nflows,"
kill -HUP "$cpid" # close the bin files so print sees every flow
wait_status "records stored $nflows,"
csv "$T/B" | cut -d, -f1-24,26- >"$T/got.csv"
expect_same "$T/want.csv" "$T/got.csv"
echo "ok   (a) ipfix+tcp: $nflows flows equal to meter -w in every field"

# (b) two connections at once
fs meter -r "$T/mix.pcap" -e "ipfix+tcp://127.0.0.1:$port" 2>"$T/b1.err" &
m1=$!
fs meter -r "$T/mix.pcap" -e "ipfix+tcp://127.0.0.1:$port" 2>"$T/b2.err" &
m2=$!
wait "$m1" || fail "meter 1"
wait "$m2" || fail "meter 2"
wait_status "flows $((nflows * 3)),"
wait_status "connections accepted 3,"
echo "ok   (b) two meters at once over two connections: $((nflows * 2)) flows"

# (c) framing faults close only their connection
python3 - "$port" <<'PY' || fail "python sender"
import socket, struct, sys, time
port = int(sys.argv[1])
for hdr in (struct.pack("!HHIII", 10, 8, 0, 0, 0), struct.pack("!HHIII", 9, 40, 0, 0, 0)):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(hdr + b"\0" * 24)
    s.settimeout(5)
    assert s.recv(1) == b"", "the collector did not close the connection"
    s.close()
PY
wait_status "closed on bad length 1, not IPFIX 1,"
fs meter -r "$T/mix.pcap" -e "ipfix+tcp://127.0.0.1:$port" || fail "meter after faults"
wait_status "flows $((nflows * 4)),"
echo "ok   (c) bad length and not-IPFIX connections closed and counted; collector serves on"

kill -TERM "$cpid"
wait "$cpid" || fail "collect exited non-zero: $(cat "$T/collect.err")"
[ "$(fs print -r "$T/B" -o csv -N | tail -n +2 | wc -l)" = $((nflows * 4)) ] ||
    fail "store after SIGTERM does not hold $((nflows * 4)) flows"
[ -e "$T/B/.flowsleuth-collect.sock" ] && fail "control socket left behind"

# (d) nobody listens
fs meter -r "$T/mix.pcap" -e "ipfix+tcp://127.0.0.1:$port" --stats 2>"$T/d.stats" ||
    fail "meter without collector exited non-zero"
grep -q "records sent 0,.*send errors [1-9][0-9]* ($nflows records), connections 0" \
    "$T/d.stats" || fail "no-collector stats: $(cat "$T/d.stats")"
echo "ok   (d) no collector: every record counted as a send error, meter exits 0"
