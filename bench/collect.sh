#!/bin/sh
# Benchmark: the highest loss-free rate of `flowsleuth collect -l` vs nfcapd (127.0.0.1).
#
# The same datagrams go to each collector, one at a time, at rising rates:
#   fsgen mix -> flowsleuth meter -e ipfix:// (and nf9://, and ipfix9k: IPFIX with
#   --export-size 8960) --rate, and softflowd -v 10 (sf10: a real exporter's IPFIX)
#   -> a recorder that keeps every datagram (checked against the meter's or
#   softflowd's message count)
#   -> a C replayer (built here, paced with a monotonic clock, sleeping between
#      batches) at R datagrams/s,
#      the set repeated to as many bytes per step as BENCH_DATAGRAMS datagrams of
#      1400 bytes
#   -> flowsleuth collect -l 127.0.0.1:P -w DIR/   or   nfcapd -b 127.0.0.1 -p P -w DIR
# After each step the collector is stopped (SIGTERM) and what it STORED is counted:
# flowsleuth print | wc -l, nfdump -R -q | wc -l. A step is loss-free when stored ==
# sent in every one of BENCH_RUNS runs. The ladder stops at the first lossy rate, and
# BENCH_REFINE halvings narrow the gap to the last loss-free one. CPU per million
# flows is user+sys of the collector (/usr/bin/time), the mean over the runs of the
# highest loss-free step.
#
# The same socket receive buffer for both: flowsleuth asks for 8 MB with SO_RCVBUFFORCE
# (the kernel doubles it: 16 MB of skmem rb); nfcapd gets -B 8388608, which it sets with
# SO_RCVBUF, capped by net.core.rmem_max. As root, rmem_max is raised to 8388608 for the
# run when it is lower, and restored at exit (BENCH_KEEP_RMEM=1: leave it alone). Each
# step records the rb the kernel gave the collector's socket (ss -m), so the table
# shows whether the buffers really matched.
#
# Steps must be long: a 16 MB receive buffer holds some 7000 datagrams, so a step of
# 35,000 datagrams mostly measures the buffer, not the collector (nfcapd then "kept
# up" with 3.5 M v9 flows/s). A step holds as many bytes as 150,000 datagrams of 1400
# bytes (1.3 M flowsleuth IPFIX records, 3 M v9, 4.2 M softflowd IPFIX, 1.3 M in
# 23,000 jumbo datagrams): some 20 times what the buffer holds.
#
# Environment: FS_BIN, FS_GEN (default build/), BENCH_FLOWS (meter flows, default
# 20000), BENCH_DATAGRAMS (step size in 1400-byte datagrams, default 150000),
# BENCH_RATES (datagrams/s,
# default 80000 to 475000 in steps of about 15%: a doubling ladder left each
# collector's figure up to half a step below its real limit), BENCH_RUNS (runs per
# step, default 3), BENCH_RCVBUF (nfcapd -B, default 8388608), BENCH_CODEC (what both
# store: lz4 = flowsleuth's default and nfcapd -y, the default; none = flowsleuth
# -z none and nfcapd's default, uncompressed), BENCH_COLLECTORS (default "flowsleuth
# nfcapd": which to run, e.g. "flowsleuth" alone to compare two builds via FS_BIN),
# BENCH_DIALECTS (default "ipfix sf10 nf9 ipfix9k"), BENCH_RATES9K (the ladder of
# ipfix9k, default 20000 to 105000), BENCH_REFINE (default 2: after the first
# lossy step, that many halvings of the gap to the last loss-free one).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
FS_BIN=${FS_BIN:-$SRC/build/flowsleuth}
FS_GEN=${FS_GEN:-$SRC/build/fsgen}
FLOWS=${BENCH_FLOWS:-20000}
DATAGRAMS=${BENCH_DATAGRAMS:-150000}
RATES=${BENCH_RATES:-"80000 120000 140000 160000 185000 210000 240000 275000 315000 360000 415000 475000"}
RATES9K=${BENCH_RATES9K:-"20000 25000 30000 35000 40000 46000 53000 61000 70000 80000 92000 105000"}
RUNS=${BENCH_RUNS:-3}
RCVBUF=${BENCH_RCVBUF:-8388608}
CODEC=${BENCH_CODEC:-lz4}
COLLECTORS=${BENCH_COLLECTORS:-"flowsleuth nfcapd"}
DIALECTS=${BENCH_DIALECTS:-"ipfix sf10 nf9 ipfix9k"}
REFINE=${BENCH_REFINE:-2}
case $CODEC in
lz4) NFZ=-y ;;
none) NFZ= ;;
*) echo "bench/collect.sh: BENCH_CODEC is lz4 or none (nfcapd 1.7.1 has no zstd)" >&2; exit 1 ;;
esac
die() { echo "bench/collect.sh: $*" >&2; exit 1; }
for t in nfcapd nfdump softflowd python3 cc ss /usr/bin/time; do
    command -v "$t" >/dev/null 2>&1 || die "$t not installed"
done
[ -x "$FS_BIN" ] && [ -x "$FS_GEN" ] || die "build flowsleuth and fsgen first"
W=$(mktemp -d /tmp/fs-bench-collect.XXXXXX)
pids=
rmem_old=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "$rmem_old" ] && sysctl -q -w "net.core.rmem_max=$rmem_old"
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
rmem=$(cat /proc/sys/net/core/rmem_max)
if [ "$rmem" -lt "$RCVBUF" ] && [ "$(id -u)" = 0 ] && [ -z "${BENCH_KEEP_RMEM:-}" ]; then
    rmem_old=$rmem
    sysctl -q -w "net.core.rmem_max=$RCVBUF" || die "cannot raise net.core.rmem_max"
    echo "net.core.rmem_max raised from $rmem to $RCVBUF for nfcapd -B (restored at exit)" >&2
fi
PORT=$((40000 + $$ % 10000))
while ss -Hlun "sport = :$PORT" | grep -q .; do PORT=$((PORT + 1)); done

# The replayer: FILE of [u16 len][bytes] records, sent REPEAT times at PPS. It sends
# batches of 32 with sendmmsg, each batch due at its place on the clock: one send()
# per datagram capped it near 370 k datagrams/s on this 2-core VM, about where nfcapd
# and collect top out, so the replayer and not the collector set the highest rate.
# Until a batch is due it sleeps (clock_nanosleep to the due time, 1 ns timer slack):
# a replayer that spun on the clock held a whole core at every rate, and a collector
# with a second thread (flowsleuth's store worker) lost to the spinning what a real
# exporter leaves free. On loopback the sender's core also delivers each datagram into
# the collector's socket: some 2.5-3.5 us a datagram of its own CPU.
cat >"$W/replay.c" <<'C'
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#define BATCH 32
static uint64_t ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    static uint8_t data[64 << 20];
    static struct iovec iov[1 << 20];
    size_t n = f ? fread(data, 1, sizeof(data), f) : 0, cnt = 0;
    for (size_t off = 0; off + 2 <= n && cnt < sizeof(iov) / sizeof(iov[0]); cnt++) {
        iov[cnt].iov_len = (size_t)data[off] << 8 | data[off + 1];
        iov[cnt].iov_base = data + off + 2;
        off += 2 + iov[cnt].iov_len;
    }
    double pps = strtod(argv[3], NULL);
    long rep = strtol(argv[4], NULL, 10), sent = 0;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)strtol(argv[2], NULL, 10)) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (!cnt || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return 1;
    prctl(PR_SET_TIMERSLACK, 1UL);
    struct mmsghdr mm[BATCH];
    uint64_t t0 = ns();
    for (long r = 0; r < rep; r++)
        for (size_t i = 0; i < cnt;) {
            size_t k = cnt - i < BATCH ? cnt - i : BATCH, done = 0;
            for (size_t j = 0; j < k; j++)
                mm[j].msg_hdr = (struct msghdr){ .msg_iov = &iov[i + j], .msg_iovlen = 1 };
            uint64_t due = t0 + (uint64_t)((double)(sent + (long)k) * 1e9 / pps);
            if (ns() < due) {
                struct timespec ts = { .tv_sec = (time_t)(due / 1000000000u),
                                       .tv_nsec = (long)(due % 1000000000u) };
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
                    ;
            }
            while (done < k) {
                int s = sendmmsg(fd, mm + done, (unsigned)(k - done), 0);
                if (s < 0)
                    usleep(50);
                else
                    done += (size_t)s;
            }
            sent += (long)k;
            i += k;
        }
    printf("%ld %.0f\n", sent, (double)sent * 1e9 / (double)(ns() - t0));
    return 0;
}
C
cc -O2 -o "$W/replay" "$W/replay.c" || die "cannot build the replayer"

# Record the export of dialect D into $W/D.bin; prints records per pass.
record() {
    d=$1
    python3 - "$PORT" "$W/$d.bin" >"$W/$d.rec" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
n = 0
with open(sys.argv[2], "wb") as f:
    s.settimeout(3)
    try:
        while True:
            b = s.recv(65535)
            f.write(struct.pack("!H", len(b)) + b)
            n += 1
    except socket.timeout:
        pass
print(n)
PY
    rp=$!
    until grep -q ready "$W/$d.rec" 2>/dev/null; do sleep 0.05; done
    if [ "$d" = sf10 ]; then
        # softflowd's own IPFIX (uniflows, 28 records a datagram): a real exporter's
        # template next to flowsleuth's biflows with payload and goodput (9 a datagram).
        softflowd -r "$W/mix.pcap" -c none -d -v 10 -m 1000000 -n "127.0.0.1:$PORT" \
            >"$W/$d.stats" 2>&1 || die "softflowd -v 10"
        wait "$rp"
        sent=$(sed -n 's/.*Flows exported: [0-9]* (\([0-9]*\) records) in \([0-9]*\) packets.*/\1 \2/p' "$W/$d.stats")
        [ "$(tail -1 "$W/$d.rec")" = "${sent#* }" ] ||
            die "sf10: recorded $(tail -1 "$W/$d.rec") of ${sent#* } datagrams"
        echo "${sent% *}"
        return
    fi
    # ipfix9k: the same IPFIX in messages of up to 8960 bytes (a jumbo-frame path):
    # 59 records a datagram, so the collector and not the sender sets the limit.
    size= rate=50000
    [ "$d" = ipfix9k ] && size="--export-size 8960" rate=10000
    # shellcheck disable=SC2086
    "$FS_BIN" meter -r "$W/mix.pcap" -e "${d%9k}://127.0.0.1:$PORT" $size --rate $rate \
        --stats 2>"$W/$d.stats" || die "meter -e $d"
    wait "$rp"
    got=$(tail -1 "$W/$d.rec")
    msgs=$(sed -n 's/.*messages \([0-9]*\).*/\1/p' "$W/$d.stats")
    [ "$got" = "$msgs" ] || die "$d: recorded $got of $msgs datagrams"
    sed -n 's/.*records sent \([0-9]*\).*/\1/p' "$W/$d.stats"
}

wait_drained() {
    n=0
    while [ "$(ss -Hlun "sport = :$PORT" | awk '{ s += $2 } END { print s + 0 }')" != 0 ]; do
        n=$((n + 1))
        [ "$n" -gt 600 ] && break
        sleep 0.05
    done
}

# step WHO D PPS REPEAT: run one collector at one rate; prints "stored cpu_s rate rcvbuf
# sender_cpu_s sent_datagrams".
step() {
    who=$1 d=$2 pps=$3 rep=$4
    rm -rf "$W/st"
    mkdir -p "$W/st"
    if [ "$who" = flowsleuth ]; then
        /usr/bin/time -f "%U %S" -o "$W/time" "$FS_BIN" collect -l "127.0.0.1:$PORT" \
            -w "$W/st/" -z "$CODEC" 2>"$W/col.err" &
    else
        /usr/bin/time -f "%U %S" -o "$W/time" nfcapd -w "$W/st" -b 127.0.0.1 -p "$PORT" \
            -t 3600 -B "$RCVBUF" $NFZ >"$W/col.err" 2>&1 &
    fi
    cp=$!
    pids="$pids $cp"
    until ss -Hlun "sport = :$PORT" | grep -q .; do sleep 0.05; done
    rb=$(ss -Hlunm "sport = :$PORT" | sed -n 's/.*rb\([0-9]*\).*/\1/p' | head -1)
    /usr/bin/time -f "%U %S" -o "$W/rtime" "$W/replay" "$W/$d.bin" "$PORT" "$pps" "$rep" \
        >"$W/replay.out" || die "replay"
    wait_drained
    sleep 0.2
    kill -TERM "$(pgrep -P "$cp" | head -1)" 2>/dev/null || kill -TERM "$cp"
    wait "$cp" || true
    if [ "$who" = flowsleuth ]; then
        stored=$("$FS_BIN" print -r "$W/st" -o csv -N | tail -n +2 | wc -l)
    else
        stored=$(nfdump -R "$W/st" -q -o csv 2>/dev/null | awk -F, 'NF > 12 && $1 != "ts"' | wc -l)
    fi
    echo "$stored $(tail -1 "$W/time" | awk '{ print $1 + $2 }') $(awk '{ print $2 }' "$W/replay.out") $rb" \
        "$(tail -1 "$W/rtime" | awk '{ print $1 + $2 }') $(awk '{ print $1 }' "$W/replay.out")"
}

"$FS_GEN" mix "$W/mix.pcap" --flows "$FLOWS" --seed 7 >/dev/null
# sender_us_dgram: the replayer's own CPU per datagram (on loopback it also delivers
# each datagram into the collector's socket): what the machine has left for the
# collector at a rate is (cores - rate * that).
echo "dialect collector rate_dgram_s rate_flows_s sent stored_min lossfree cpu_s_per_Mflow rcvbuf sender_us_dgram" >"$W/table"
# try WHO D RATE: BENCH_RUNS runs at RATE; lossless only if every run stored everything.
# Adds a table row (the smallest stored count, the mean CPU and reached rate); sets ok.
try() {
    : >"$W/runs"
    r=0
    while [ "$r" -lt "$RUNS" ]; do
        step "$1" "$2" "$3" "$rep" >>"$W/runs"
        r=$((r + 1))
    done
    # shellcheck disable=SC2046
    set -- "$1" "$2" $(awk 'NR == 1 || $1 < min { min = $1 }
        { c += $2 * 1e6 / ($1 ? $1 : 1); p += $3; rb = $4; su += $5 * 1e6 / ($6 ? $6 : 1) }
        END { printf "%d %.2f %.0f %s %.2f\n", min, c / NR, p / NR, rb, su / NR }' "$W/runs")
    ok=no
    [ "$3" = "$sent" ] && ok=yes
    fps=$(awk -v p="$5" -v r="$per" -v g="$dg" 'BEGIN { printf "%.0f", p * r / g }')
    echo "$2 $1 $5 $fps $sent $3 $ok $4 $6 $7" | tee -a "$W/table" >&2
}

for d in $DIALECTS; do
    per=$(record "$d")
    dg=$(tail -1 "$W/$d.rec")
    # A step holds as many bytes as DATAGRAMS datagrams of 1400 bytes.
    bytes=$(($(wc -c <"$W/$d.bin") - 2 * dg))
    rep=$(( (DATAGRAMS * 1400 + bytes - 1) / bytes ))
    rates=$RATES
    [ "$d" = ipfix9k ] && rates=$RATES9K
    sent=$((per * rep))
    for who in $COLLECTORS; do
        pass=0 fail=0
        for rate in $rates; do
            try "$who" "$d" "$rate"
            [ "$ok" = yes ] || { fail=$rate; break; }
            pass=$rate
        done
        # Halve the gap between the last loss-free and the first lossy rate.
        k=0
        while [ "$fail" != 0 ] && [ "$k" -lt "$REFINE" ]; do
            mid=$(( (pass + fail) / 2 ))
            try "$who" "$d" "$mid"
            if [ "$ok" = yes ]; then pass=$mid; else fail=$mid; fi
            k=$((k + 1))
        done
    done
done
echo
column -t "$W/table"
echo
# Highest loss-free rate per dialect and collector, and the ratio.
awk 'NR > 1 && $7 == "yes" { k = $1 " " $2; if ($4 > best[k]) { best[k] = $4; cpu[k] = $8; snd[k] = $10 } }
END {
    nd = split(dialects, dls, " ")
    for (d = 1; d <= nd; d++) {
        dl = dls[d]
        f = best[dl " flowsleuth"]; n = best[dl " nfcapd"]
        printf "%s: flowsleuth %d flows/s (%s CPU s/Mflow; sender %s us/datagram), nfcapd %d flows/s (%s CPU s/Mflow), ratio %.1fx\n",
            dl, f, cpu[dl " flowsleuth"], snd[dl " flowsleuth"], n, cpu[dl " nfcapd"], n ? f / n : 0
    }
}' dialects="$DIALECTS" "$W/table"
