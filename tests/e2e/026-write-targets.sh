#!/bin/sh
# Where flows are written to, and what a failed write says (issue 11):
#  (a) meter -w FIFO writes into the FIFO (a reader gets every flow) and leaves it a FIFO;
#  (b) meter -w /dev/null leaves /dev/null a character device (a temp file renamed over
#      it would replace the machine's /dev/null when run as root);
#  (c) /dev/full: meter -w, and meter, print, count and stats to stdout, fail with exit 1 and
#      a message naming the path and the write; the device is still a device;
#  (c2) match and inventory print nothing when their catalogue does not load, and
#      say so when stdout is full;
#  (d) an error creating the output names the user's path, not the hidden temp file.
. "$(dirname "$0")/lib.sh"
need timeout mkfifo

rows() {
    fs print -o csv -N "$@" | tail -n +2 | wc -l
}

"$FS_GEN" mix "$T/a.pcap" --flows 200 --seed 26 --snap 128 >/dev/null 2>&1
fs meter -r "$T/a.pcap" -w "$T/a.fsf" || fail "meter -w file"
want=$(rows -r "$T/a.fsf")
[ "$want" -gt 0 ] || fail "no flows"

# (a) a FIFO: the reader sees the flows, the FIFO stays
mkfifo "$T/fifo"
timeout 20 "$FS_BIN" print -r "$T/fifo" -o csv -N >"$T/fifo.csv" 2>"$T/fifo.err" &
rpid=$!
timeout 20 "$FS_BIN" meter -r "$T/a.pcap" -w "$T/fifo" 2>"$T/m.err" || fail "meter -w FIFO: $(cat "$T/m.err")"
wait "$rpid" || fail "print -r FIFO: $(cat "$T/fifo.err")"
[ -p "$T/fifo" ] || fail "meter -w replaced the FIFO with a file"
got=$(tail -n +2 "$T/fifo.csv" | wc -l)
[ "$got" = "$want" ] || fail "through the FIFO: $got flows, want $want"
for f in "$T"/.*.tmp.*; do if [ -e "$f" ]; then fail "temp file left: $f"; fi; done

# (b) /dev/null stays a device
if [ -w /dev/null ]; then
    fs meter -r "$T/a.pcap" -w /dev/null || fail "meter -w /dev/null"
    [ -c /dev/null ] || fail "/dev/null is no longer a character device"
    for f in /dev/.null.tmp.*; do if [ -e "$f" ]; then fail "temp file left: $f"; fi; done
fi

# (c) /dev/full
if [ -w /dev/full ]; then
    fs meter -r "$T/a.pcap" -w /dev/full 2>"$T/full.err" && fail "meter -w /dev/full exited 0"
    grep -q "/dev/full: .*No space left on device" "$T/full.err" ||
        fail "meter -w /dev/full: $(cat "$T/full.err")"
    [ -c /dev/full ] || fail "/dev/full is no longer a character device"
    fs print -r "$T/a.fsf" -o csv >/dev/full 2>"$T/pfull.err" && fail "print >/dev/full exited 0"
    grep -q "stdout: write: No space left on device" "$T/pfull.err" ||
        fail "print >/dev/full: '$(cat "$T/pfull.err")'"
    fs meter -r "$T/a.pcap" -o csv >/dev/full 2>"$T/mfull.err" && fail "meter >/dev/full exited 0"
    grep -q "stdout: write: No space left on device" "$T/mfull.err" ||
        fail "meter >/dev/full: '$(cat "$T/mfull.err")'"
    for cmd in count "stats -s srcip"; do
        # shellcheck disable=SC2086
        fs $cmd -r "$T/a.fsf" >/dev/full 2>"$T/cfull.err" && fail "$cmd >/dev/full exited 0"
        grep -q "stdout: write: No space left on device" "$T/cfull.err" ||
            fail "$cmd >/dev/full: '$(cat "$T/cfull.err")'"
    done
fi

# (c2) match and inventory: a catalogue that does not load prints nothing on stdout;
# a full stdout is said
fs catalog debian --suite bookworm -o "$T/cat.tsv" "$FS_SRC/tests/data/apt_Packages" 2>/dev/null ||
    fail "catalog debian"
fs meter --split -r "$FS_SRC/tests/data/apt_download.pcap" -w "$T/apt.fsf" || fail "meter apt"
for cmd in match inventory; do
    fs $cmd -c "$T/no-such.tsv" -r "$T/apt.fsf" >"$T/$cmd.out" 2>/dev/null && fail "$cmd of a missing catalogue exited 0"
    [ -s "$T/$cmd.out" ] && fail "$cmd wrote to stdout on error: $(cat "$T/$cmd.out")"
    if [ -w /dev/full ]; then
        fs $cmd -c "$T/cat.tsv" -r "$T/apt.fsf" -o csv >/dev/full 2>"$T/$cmd.full" &&
            fail "$cmd >/dev/full exited 0"
        grep -q "stdout: write: No space left on device" "$T/$cmd.full" ||
            fail "$cmd >/dev/full: '$(cat "$T/$cmd.full")'"
    fi
done

# (d) the user's path in a create error, not the temp file's
fs meter -r "$T/a.pcap" -w "$T/nodir/x.fsf" 2>"$T/nodir.err" && fail "meter -w into a missing folder"
grep -q "$T/nodir/x.fsf: create: " "$T/nodir.err" || fail "create error: $(cat "$T/nodir.err")"
grep -q '\.tmp\.' "$T/nodir.err" && fail "the error names the temp file: $(cat "$T/nodir.err")"
echo ok
