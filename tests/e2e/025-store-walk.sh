#!/bin/sh
# The store folder walk (src/store/store_walk.c) from the command line (issue 11):
#  (a) a store with a day folder linked to a folder outside it, a bin file linked to one
#      outside and a `loop -> ..` link: readers read each file of the store once and
#      nothing outside it; a store named through a symlink on the command line is read;
#  (b) collect --expire-dry-run removes nothing (not even the start-up cleanup's stale
#      temp files); a real expiry removes the store's files and nothing outside it;
#  (c) a folder without flowsleuth files is an error naming it, with nothing on stdout;
#      an empty but valid store file is not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"

pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

rows() {
    fs print -o csv -N "$@" | tail -n +2 | wc -l
}

"$FS_GEN" mix "$T/a.pcap" --flows 300 --seed 25 --snap 128 >/dev/null 2>&1
"$FS_GEN" mix "$T/b.pcap" --flows 200 --seed 26 --snap 128 --start 1600000000 >/dev/null 2>&1
fs meter -r "$T/a.pcap" -w "$T/S/" || fail "meter -w S/"
fs meter -r "$T/b.pcap" -w "$T/OUT/" || fail "meter -w OUT/"
n_in=$(rows -r "$T/S")
n_out=$(rows -r "$T/OUT")
if [ "$n_in" -eq 0 ] || [ "$n_out" -eq 0 ]; then fail "no flows: $n_in $n_out"; fi

# (a) links inside the store
day=$(dirname "$(find "$T/S" -name 'flows.*' | head -n 1)")
oday=$(dirname "$(find "$T/OUT" -name 'flows.*' | head -n 1)")
ofile=$(find "$T/OUT" -name 'flows.*' | head -n 1)
ln -s "$oday" "$(dirname "$day")/99"
ln -s "$ofile" "$day/flows.209901010000"
ln -s .. "$T/S/loop"
# a stale temp file (pid 2^22+1: no such process) outside and one inside
echo x >"$oday/.flows.209901010005.tmp.4194305.0"
echo x >"$day/.flows.209901010005.tmp.4194305.0"
got=$(rows -r "$T/S")
[ "$got" = "$n_in" ] || fail "print read $got flows through the links, want $n_in"
fs count -r "$T/S" -o csv >"$T/count.csv" || fail "count -r S"
ln -s S "$T/via"
got=$(rows -r "$T/via")
[ "$got" = "$n_in" ] || fail "a store named through a symlink: $got flows, want $n_in"

# (b) expiry: the dry run keeps everything, the real one stays inside the store
find "$T" -path "$T/S/loop" -prune -o -print | sort >"$T/before.txt"
port=$(free_port 1)
start() {
    $FS_EXEC_PREFIX "$FS_BIN" collect -l "127.0.0.1:$port" -w "$T/S/" --expire-size 1 "$@" \
        2>"$T/c.err" &
    cpid=$!
    pids="$pids $cpid"
    wait_udp "$port"
}
wait_grep() {
    n=0
    until grep -q -- "$1" "$2" 2>/dev/null; do
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "timed out waiting for '$1' in $2: $(cat "$2")"
        sleep 0.05
    done
}
start --expire-dry-run
fs meter -r "$T/a.pcap" -e "nf9://127.0.0.1:$port" 2>/dev/null || fail "meter -e"
wait_drained "$port"
kill -HUP "$cpid"
wait_grep "would expire" "$T/c.err"
kill -TERM "$cpid"
wait "$cpid" || fail "collect --expire-dry-run: $(cat "$T/c.err")"
grep -q "would expire.*\.tmp\.4194305" "$T/c.err" || fail "dry run did not name the stale temp file"
find "$T" -path "$T/S/loop" -prune -o -print | sort >"$T/after.txt"
# the collector's own new files may be added; nothing may go
comm -23 "$T/before.txt" "$T/after.txt" >"$T/gone.txt"
[ -s "$T/gone.txt" ] && fail "--expire-dry-run removed: $(cat "$T/gone.txt")"

start
fs meter -r "$T/a.pcap" -e "nf9://127.0.0.1:$port" 2>/dev/null || fail "meter -e"
wait_drained "$port"
kill -HUP "$cpid"
wait_grep "expired" "$T/c.err"
kill -TERM "$cpid"
wait "$cpid" || fail "collect --expire-size: $(cat "$T/c.err")"
[ -e "$day/.flows.209901010005.tmp.4194305.0" ] && fail "stale temp file inside the store kept"
[ -e "$oday/.flows.209901010005.tmp.4194305.0" ] || fail "stale temp file outside removed"
[ -L "$T/S/loop" ] || fail "loop link removed"
got=$(rows -r "$T/OUT")
[ "$got" = "$n_out" ] || fail "expiry reached outside the store: $got flows left of $n_out"
grep "expired" "$T/c.err" | grep -q "$T/OUT" && fail "expiry named a file outside: $(cat "$T/c.err")"

# (c) no flowsleuth files
mkdir -p "$T/nf/2024/01/01"
echo "not ours" >"$T/nf/2024/01/01/nfcapd.202401010000"
for cmd in print count "stats -s src"; do
    # shellcheck disable=SC2086
    fs $cmd -r "$T/nf" >"$T/nf.out" 2>"$T/nf.err" && fail "$cmd of a folder without flows exited 0"
    grep -q "no flowsleuth flow files in $T/nf" "$T/nf.err" || fail "$cmd: $(cat "$T/nf.err")"
    [ -s "$T/nf.out" ] && fail "$cmd wrote to stdout on error: $(cat "$T/nf.out")"
done
fs print -r "$T/nf" >"$T/nf.out" 2>/dev/null || true
[ -s "$T/nf.out" ] && fail "print wrote to stdout on error: $(cat "$T/nf.out")"
fs print -r "$T/missing" >"$T/nf.out" 2>/dev/null && fail "print of a missing path exited 0"
[ -s "$T/nf.out" ] && fail "print of a missing path wrote to stdout: $(cat "$T/nf.out")"
fs meter -r "$T/a.pcap" -w "$T/empty.fsf" "port 1" || fail "meter of no flows"
fs print -r "$T/empty.fsf" >"$T/e.out" || fail "an empty store file is an error"
echo ok
