#!/bin/sh
# meter -> store -> print equals meter -> print, for every codec, for a single file,
# a store folder and a stdin/stdout pipe; -t windows; damaged files are reported with
# their name and block and reading goes on with the next file.
. "$(dirname "$0")/lib.sh"

cap="$FS_SRC/tests/data/http_windowsupdate_cab_5_connections.pcap"
fs meter -r "$cap" -o csv >"$T/direct.csv"
[ "$(wc -l <"$T/direct.csv")" -gt 5 ] || fail "meter printed too few flows"

for z in lz4 zstd none; do
    fs meter -r "$cap" -z "$z" -w "$T/one.$z.fsf"
    fs print -r "$T/one.$z.fsf" -o csv >"$T/file.$z.csv"
    expect_same "$T/direct.csv" "$T/file.$z.csv"
done

# pcapng (libpcap reads it; editcap from wireshark-common converts): same flows.
if optional "the pcapng check" editcap; then
    editcap -F pcapng "$cap" "$T/cap.pcapng"
    fs meter -r "$T/cap.pcapng" -o csv >"$T/ng.csv"
    expect_same "$T/direct.csv" "$T/ng.csv"
fi

# A pipe: meter writes a stream to stdout, print reads stdin.
fs meter -r - -w - <"$cap" | fs print -o csv >"$T/pipe.csv"
expect_same "$T/direct.csv" "$T/pipe.csv"

# A store folder with 60-second bins: several files, read back in time order.
mkdir "$T/store"
fs meter -r "$cap" -b 60 -w "$T/store"
nfiles=$(find "$T/store" -name 'flows.*' | wc -l)
[ "$nfiles" -ge 1 ] || fail "no bin files in the store"
find "$T/store" -name '.*' | grep -q . && fail "temporary files left in the store"
fs print -r "$T/store" -o csv >"$T/store.csv"
# The folder is in bin (last-time) order; compare as sets.
sort "$T/direct.csv" >"$T/a"
sort "$T/store.csv" >"$T/b"
expect_same "$T/a" "$T/b"

# -t: a window that holds nothing, and one that holds everything.
first=$(awk -F, 'NR == 2 { print $1 }' "$T/direct.csv")
fs print -r "$T/store" -t 2001-01-01..2001-01-02 -o csv >"$T/none.csv"
[ "$(wc -l <"$T/none.csv")" -eq 1 ] || fail "-t outside the data printed flows"
fs print -r "$T/one.lz4.fsf" -t "$first.." -o csv >"$T/all.csv"
expect_same "$T/direct.csv" "$T/all.csv"

# Damage: a truncated copy is reported by name, the next file is still read.
size=$(wc -c <"$T/one.lz4.fsf")
head -c $((size - 30)) "$T/one.lz4.fsf" >"$T/cut.fsf"
set +e
fs print -r "$T/cut.fsf" -r "$T/one.zstd.fsf" -o csv >"$T/after.csv" 2>"$T/err.txt"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "damaged input should exit 1, got $rc"
grep -q "cut.fsf" "$T/err.txt" || fail "error does not name the damaged file: $(cat "$T/err.txt")"
tail -n +2 "$T/direct.csv" >"$T/body.csv"
tail -n +2 "$T/after.csv" | tail -n "$(wc -l <"$T/body.csv")" >"$T/tail.csv"
expect_same "$T/body.csv" "$T/tail.csv"

# Not a flow file at all.
set +e
fs print -r "$cap" >/dev/null 2>"$T/err2.txt"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "a pcap given to print should exit 1"
grep -q "http_windowsupdate" "$T/err2.txt" || fail "error does not name the file"

# Usage errors exit 2.
set +e
fs print -o xml </dev/null >/dev/null 2>&1
[ $? -eq 2 ] || fail "bad -o should exit 2"
fs meter >/dev/null 2>&1
[ $? -eq 2 ] || fail "meter without input should exit 2"
set -e
echo "ok"
