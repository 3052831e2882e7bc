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

# The setup of eve.sh and pdns.sh (ROOT, FS_BUILD, FS_BIN, FS_GEN, BENCH_DATA and
# BENCH_FLOWS set). bench_binaries: flowsleuth and fsgen built (Release) when either is
# missing. bench_store: STORE, query.sh's store of BENCH_FLOWS flows
# (BENCH_DATA/flows-fN-k8-s1-snap128.fs), made with fsgen and meter when missing.
bench_binaries() {
    if [ ! -x "$FS_BIN" ] || [ ! -x "$FS_GEN" ]; then
        cmake -S "$ROOT" -B "$FS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
        ninja -C "$FS_BUILD" -j1 flowsleuth fsgen >/dev/null
    fi
}

bench_store() {
    mkdir -p "$BENCH_DATA"
    STORE="$BENCH_DATA/flows-f$BENCH_FLOWS-k8-s1-snap128"
    if [ ! -d "$STORE.fs" ]; then
        if [ ! -s "$STORE.pcap" ]; then
            echo "generating $STORE.pcap ..." >&2
            "$FS_GEN" mix "$STORE.pcap.tmp" --flows "$BENCH_FLOWS" --seed 1 --packets-per-flow 8 \
                --rate 20000 --snap 128 2>"$STORE.pcap.info"
            mv "$STORE.pcap.tmp" "$STORE.pcap"
        fi
        echo "storing: flowsleuth meter ..." >&2
        "$FS_BIN" meter -r "$STORE.pcap" -w "$STORE.fs/" || die "meter"
    fi
}

# cpu COMMAND: run it (stdout discarded), print "wall_s cpu_s peak_kb" (CPU: user + sys;
# on a shared machine CPU seconds vary far less than wall).
cpu() {
    /usr/bin/time -f "%e %U %S %M" -o "$W/time.txt" sh -c "$1" >/dev/null 2>"$W/cmd.err" || {
        cat "$W/cmd.err" >&2
        die "failed: $1"
    }
    awk '{ printf "%.2f %.2f %d\n", $1, $2 + $3, $4 }' "$W/time.txt"
}

# least_cpu NEW BEST: of two cpu results (BEST may be empty), the one of less CPU time.
least_cpu() {
    if [ -z "$2" ] || [ "$(echo "$1 $2" | awk '{ print ($2 < $5) }')" = 1 ]; then
        echo "$1"
    else
        echo "$2"
    fi
}
