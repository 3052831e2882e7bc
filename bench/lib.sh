# Timing helpers the benchmarks share (sourced; the script defines die() and sets W,
# its work folder, and BENCH_RUNS before calling them).

# timed COMMAND: run it through sh (stdout discarded), print "wall_s peak_kb". Wall time
# from date (ns): /usr/bin/time -v rounds it to 10 ms.
timed() {
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$W/time.txt" sh -c "$1" >/dev/null 2>"$W/cmd.err" || {
        cat "$W/cmd.err" >&2
        die "failed: $1"
    }
    t1=$(date +%s%N)
    awk -F': ' -v ns=$((t1 - t0)) '
        /Maximum resident set size/ { m = $2 }
        END { printf "%.3f %d\n", ns / 1e9, m }' "$W/time.txt"
}

# best COMMAND: the run of least wall time of BENCH_RUNS, "wall_s peak_kb"; each run
# on stderr.
best() {
    b=""
    r=0
    while [ "$r" -lt "$BENCH_RUNS" ]; do
        r=$((r + 1))
        res=$(timed "$1")
        echo "  run $r: wall s, peak KB: $res: $1" >&2
        if [ -z "$b" ] || [ "$(echo "$res $b" | awk '{ print ($1 < $3) }')" = 1 ]; then
            b=$res
        fi
    done
    echo "$b"
}

# udp_rxq PORT: the receive queue (bytes) of the socket bound to 127.0.0.1:PORT
udp_rxq() {
    awk -v p="$(printf ':%04X' "$1")" 'substr($2, length($2) - 4) == p {
        split($5, q, ":"); print q[2] }' /proc/net/udp
}
