#!/bin/sh
# Readers of a live store (issue 11): a collector receives a stream of NetFlow v9
# (meter -e --rate), closes its bins every 0.2 s (SIGHUP, as --rotate does at each
# boundary) and expires by size (--expire-size) at every rotation, while `count` and
# `print` read the store in a loop. No reader may fail (a file expired between the
# listing and its open is not an error), a bin file once seen never changes (never a
# half-written file), and a bin's count goes down only by the files expiry removed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"

pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# 6000 two-packet flows over 12 s across a bin boundary (1700000100): two bins.
"$FS_GEN" mix "$T/a.pcap" --flows 6000 --packets-per-flow 2 --snap 128 --rate 500 \
    --start 1700000095 >/dev/null 2>&1
port=$(free_port 1)
$FS_EXEC_PREFIX "$FS_BIN" collect -l "127.0.0.1:$port" -w "$T/S/" --expire-size 40K \
    2>"$T/c.err" &
cpid=$!
pids="$pids $cpid"
wait_udp "$port"
fs meter -r "$T/a.pcap" -e "nf9://127.0.0.1:$port" --rate 1500 2>"$T/m.err" &
mpid=$!
pids="$pids $mpid"
(while kill -0 "$cpid" 2>/dev/null; do
    kill -HUP "$cpid" 2>/dev/null || true
    sleep 0.2
done) &
pids="$pids $!"

n=0
until find "$T/S" -name 'flows.*' -type f | grep -q .; do
    n=$((n + 1))
    [ "$n" -gt 200 ] && fail "no bin file after 10 s: $(cat "$T/c.err")"
    sleep 0.05
done

# seen: "PATH:INODE:CTIME COUNT" of every file read so far; bins: "BIN COUNT" of the last round.
: >"$T/seen"
: >"$T/bins"
round=0
while kill -0 "$mpid" 2>/dev/null || [ "$round" -lt 5 ]; do
    round=$((round + 1))
    fs count -r "$T/S" -o csv >/dev/null 2>"$T/r.err" || fail "count: $(cat "$T/r.err")"
    [ -s "$T/r.err" ] && fail "count warned: $(cat "$T/r.err")"
    fs print -r "$T/S" -o csv:first -N >/dev/null 2>"$T/r.err" || fail "print: $(cat "$T/r.err")"
    [ -s "$T/r.err" ] && fail "print warned: $(cat "$T/r.err")"
    : >"$T/now"
    for f in $(find "$T/S" -name 'flows.*' -type f | sort); do
        # A name freed by expiry is taken again by a later file of its bin: a file is
        # its path, inode and ctime, taken before and after the read.
        id=$(stat -c '%i:%.9Z' "$f" 2>/dev/null) || continue
        if ! fs print -r "$f" -o csv:first -N >"$T/one" 2>"$T/r.err"; then
            # named on the command line and expired meanwhile: fine, anything else not
            [ ! -e "$f" ] && grep -q "No such file" "$T/r.err" && continue
            fail "print -r $f: $(cat "$T/r.err")"
        fi
        [ "$(stat -c '%i:%.9Z' "$f" 2>/dev/null)" = "$id" ] || continue
        echo "$f:$id $(($(wc -l <"$T/one") - 1))" >>"$T/now"
    done
    # a file never changes once it is visible
    awk 'FILENAME == ARGV[1] { seen[$1] = $2; next }
         ($1 in seen) && seen[$1] != $2 { print $1 ": " seen[$1] " then " $2; bad = 1 }
         END { exit bad }' "$T/seen" "$T/now" >"$T/diff" || fail "a file changed: $(cat "$T/diff")"
    # a bin loses only what its vanished files held
    awk 'function bin(p) { sub(/:.*/, "", p); sub(/.*\//, "", p); sub(/\.[0-9]+$/, "", p); return p }
         FILENAME == ARGV[1] { seen[$1] = $2; next }
         FILENAME == ARGV[2] { before[$1] = $2; next }
         { now[bin($1)] += $2; here[$1] = 1 }
         END {
             for (f in seen) if (!(f in here)) gone[bin(f)] += seen[f]
             for (b in before) if (now[b] + 0 < before[b] - gone[b]) {
                 print b ": " before[b] " then " now[b] + 0 " (expired " gone[b] + 0 ")"; bad = 1
             }
             exit bad
         }' "$T/seen" "$T/bins" "$T/now" >"$T/diff" || fail "a bin lost flows: $(cat "$T/diff")"
    awk 'function bin(p) { sub(/:.*/, "", p); sub(/.*\//, "", p); sub(/\.[0-9]+$/, "", p); return p }
         { c[bin($1)] += $2 } END { for (b in c) print b, c[b] }' "$T/now" >"$T/bins"
    cat "$T/now" "$T/seen" | sort -u -k1,1 >"$T/seen.new"
    mv "$T/seen.new" "$T/seen"
done
wait "$mpid" || fail "meter -e: $(cat "$T/m.err")"
kill -TERM "$cpid"
wait "$cpid" || fail "collect: $(cat "$T/c.err")"
grep -q "expired" "$T/c.err" || fail "no expiry ran: $(cat "$T/c.err")"
[ "$(wc -l <"$T/seen")" -gt 3 ] || fail "too few files seen: $(cat "$T/seen")"
[ "$round" -ge 5 ] || fail "only $round rounds"
echo "ok: $round rounds, $(wc -l <"$T/seen") files"
