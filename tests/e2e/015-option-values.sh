#!/bin/sh
# Numeric option values of meter and collect go through one parser (src/cmd/args.c):
# out of range, not a number, negative or past 32 bits is a usage error (status 2)
# naming the option, its range and the value; a value in range is taken.
. "$(dirname "$0")/lib.sh"

# bad CMD OPTION VALUE RANGE [ARGS...]: status 2 and "OPTION needs RANGE, not 'VALUE'"
bad() {
    cmd=$1 opt=$2 val=$3 range=$4
    shift 4
    st=0
    fs "$cmd" "$opt" "$val" "$@" >/dev/null 2>"$T/err" || st=$?
    [ "$st" = 2 ] || fail "$cmd $opt $val: status $st, want 2"
    grep -qF "flowsleuth $cmd: $opt needs $range, not '$val'" "$T/err" ||
        fail "$cmd $opt $val: $(head -1 "$T/err")"
}
bad meter --export-size 511 512..65535 -r /dev/null
bad meter --export-size 65536 512..65535 -r /dev/null
bad meter --export-size 1400x 512..65535 -r /dev/null
bad meter -b 4294967396 1..86400 -r /dev/null # wrapped to 100 before the shared parser
bad meter -b "" 1..86400 -r /dev/null
bad meter --max-flows 0 1..100000000 -r /dev/null
bad collect --rotate -60 60..86400 -f /dev/null
bad collect --sampling 0 1..1073741824 -f /dev/null
bad collect --max-templates 99999999999 1..16777216 -f /dev/null

# In range: taken (an empty capture gives an empty store and status 0).
python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,1))' >"$T/empty.pcap"
fs meter -r "$T/empty.pcap" -b 60 --max-flows 1000 --export-size 8960 -w "$T/m.fsf" 2>"$T/err" ||
    fail "meter with values in range: $(cat "$T/err")"
fs collect -f "$T/empty.pcap" --rotate 120 --sampling 1 --max-templates 16 -w "$T/c.fsf" \
    2>"$T/err" || fail "collect with values in range: $(cat "$T/err")"
echo "ok   option values: 9 bad ones refused by name and range, good ones taken"
