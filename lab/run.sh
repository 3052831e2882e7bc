#!/bin/bash
# The article's experiment ("Go with the Flow", Linux Magazine 185, 2016) on one
# machine, measured with `flowsleuth eval`. lab/README.md explains it; as root:
#
#   FS_BIN=/path/to/flowsleuth lab/run.sh            (defaults below)
#   LAB_MAX_MB=10 LAB_ROUNDS=3 LAB_PROFILES="hop1 hop6 vpn" LAB_KA_PROFILES="hop1 hop6" lab/run.sh
#
# Two network namespaces joined by a veth pair (addresses only inside them: nothing
# is routed anywhere else), offloads off, IPv6 off on the veths. The server namespace
# runs nginx (LAB_SERVER=nginx, the default when installed; else python3's http.server,
# HTTP/1.1 keep-alive) over LAB_FILES catalogue files and LAB_FOREIGN files that are
# served but not catalogued, of seeded random sizes between LAB_MIN_KB and LAB_MAX_KB (1
# kB = 1000 B). tcpdump captures on the server's veth (-s 128: lengths come from the IP
# headers); nftables in the CLIENT namespace drops a share of the server's packets after
# the capture point, so the server really retransmits. Profiles: hop1 (no loss), hop6
# (1% loss), vpn (MTU 1400 on both veths, 3% loss). Round 1 fetches the catalogue files
# (the trees' training run); rounds 2..LAB_ROUNDS fetch the catalogue and the foreign
# files, shuffled (the test run: half of the test downloads are of files outside the
# catalogue). Mode single: one curl and
# one connection per file; mode keepalive: curl fetches LAB_KA_K files per connection
# and the capture is metered with --split.
#
# LAB_NETFLOW=1 adds an exporter's view (issue 14): softflowd reads each run's capture
# (-a: the capture's times) and exports NetFlow v9 and IPFIX on loopback into
# `flowsleuth collect` (nf9/, nf10/ of the run: one record per direction, no payload or
# goodput), and eval -b pairs them: the article's tree trained on the paired training
# run, and nearest on the bytes basis with a model learned there (learn -b --model
# nearest --basis bytes), for both dialects. The keep-alive runs are not exported
# (softflowd has no exchanges: a connection is one record).
#
# LAB_TLS=1: HTTPS (issue 13). nginx listens with TLS on a self-signed P-256
# certificate made at run time in the temp dir, protocols LAB_TLS_PROTOCOLS (default
# "TLSv1.2 TLSv1.3": curl gets 1.3), and curl fetches https:// with -k. The runs are
# labelled single-tls and keepalive-tls; each also gets nearest on goodput with a model
# learned on its training round (learn --model nearest, then eval --model-file; learn's
# line for the server in learn.log), a second table. Over TLS the keep-alive labels are
# renumbered after metering (relabel below). LAB_HTTP2=1 (implies LAB_TLS=1) adds
# `http2` to the listener and a run per LAB_KA_PROFILES profile, keepalive-h2: curl
# --http2 fetches LAB_KA_K files one after the other as streams of one connection,
# metered with --split like keepalive.
#
# Output: LAB_OUT (default /tmp/flowsleuth-lab) holds per run the flows, the labels,
# each eval's JSON, and results.tsv / results.md (the table). Exit 77 when not root or
# a tool is missing (the e2e test uses that), 1 on a failure.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
FS_BIN=${FS_BIN:-$HERE/../build/flowsleuth}
LAB_SEED=${LAB_SEED:-2016}
LAB_FILES=${LAB_FILES:-50}
LAB_FOREIGN=${LAB_FOREIGN:-$LAB_FILES}
LAB_MIN_KB=${LAB_MIN_KB:-1000}
LAB_MAX_MB=${LAB_MAX_MB:-10}
LAB_MAX_KB=${LAB_MAX_KB:-$((LAB_MAX_MB * 1000))}
LAB_ROUNDS=${LAB_ROUNDS:-3}
LAB_PROFILES=${LAB_PROFILES:-hop1 hop6 vpn}
LAB_KA_PROFILES=${LAB_KA_PROFILES-hop1 hop6}
LAB_KA_K=${LAB_KA_K:-5}
LAB_OUT=${LAB_OUT:-/tmp/flowsleuth-lab}
LAB_KEEP_PCAP=${LAB_KEEP_PCAP:-0}
LAB_NETFLOW=${LAB_NETFLOW:-0}
LAB_HTTP2=${LAB_HTTP2:-0}
LAB_TLS=${LAB_TLS:-$LAB_HTTP2}
[ "$LAB_HTTP2" = 0 ] || LAB_TLS=1
LAB_TLS_PROTOCOLS=${LAB_TLS_PROTOCOLS:-TLSv1.2 TLSv1.3}
# Per-download rate cap: tcpdump (-U, one write per packet) keeps up with about 170k
# packets/s here; unthrottled veth transfers of large files outrun it and it drops.
export LAB_RATE=${LAB_RATE-120M}
PORT=8000

die() {
    echo "lab: $*" >&2
    exit 1
}
skip() {
    echo "lab: skipped: $*" >&2
    exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in ip nft ethtool tcpdump curl taskset awk; do
    command -v "$t" >/dev/null 2>&1 || skip "needs $t"
done
PY=$(command -v /usr/bin/python3 || command -v python3) || skip "needs python3"
NGINX=$(command -v nginx || command -v /usr/sbin/nginx || true)
LAB_SERVER=${LAB_SERVER:-$([ -n "$NGINX" ] && echo nginx || echo python)}
[ "$LAB_SERVER" = python ] || [ -n "$NGINX" ] || die "LAB_SERVER=nginx but nginx is not installed"
[ -x "$FS_BIN" ] || die "no flowsleuth binary at $FS_BIN (set FS_BIN)"
if [ "$LAB_NETFLOW" = 1 ]; then
    for t in softflowd ss; do
        command -v "$t" >/dev/null 2>&1 || skip "LAB_NETFLOW=1 needs $t"
    done
fi
if [ "$LAB_TLS" = 1 ]; then
    command -v openssl >/dev/null 2>&1 || skip "LAB_TLS=1 needs openssl"
    [ -n "$NGINX" ] || skip "LAB_TLS=1 needs nginx"
    LAB_SERVER=nginx
fi
[ "$LAB_ROUNDS" -ge 2 ] || die "LAB_ROUNDS must be >= 2 (round 1 trains, the others test)"

ID=$(($$ % 250))
NS_S="fslab-s-$$"
NS_C="fslab-c-$$"
IF_S="fslabS$$"
IF_C="fslabC$$"
SRV="10.77.$ID.1"
CLI="10.77.$ID.2"
WORK=$(mktemp -d /tmp/fslab.XXXXXX)
srv_pid=""
dump_pid=""
col_pid=""

stop() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

cleanup() {
    [ -z "$col_pid" ] || stop "$col_pid"
    [ -z "$dump_pid" ] || stop "$dump_pid"
    [ -z "$srv_pid" ] || stop "$srv_pid"
    ip netns del "$NS_C" 2>/dev/null || true
    ip netns del "$NS_S" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

# link_up NS IF: IPv6 off, lo and IF up, offloads off (wire-sized packets in the capture).
link_up() {
    ip netns exec "$1" sh -c "[ ! -e /proc/sys/net/ipv6/conf/$2 ] ||
        echo 1 >/proc/sys/net/ipv6/conf/$2/disable_ipv6
        ip link set lo up && ip link set $2 up &&
        ethtool -K $2 tso off gso off gro off" >"$WORK/link.log" 2>&1 ||
        die "link setup on $2 failed: $(cat "$WORK/link.log")"
}

setup_net() {
    ip netns add "$NS_S" 2>"$WORK/netns.err" || skip "ip netns add failed: $(cat "$WORK/netns.err")"
    ip netns add "$NS_C" || die "ip netns add $NS_C failed"
    ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C" ||
        die "cannot create the veth pair"
    in_s ip addr add "$SRV/24" dev "$IF_S"
    in_c ip addr add "$CLI/24" dev "$IF_C"
    link_up "$NS_S" "$IF_S"
    link_up "$NS_C" "$IF_C"
    # LAB-NOTES: no spurious retransmissions on the ~50 us veth RTT.
    in_s sh -c 'echo 0 >/proc/sys/net/ipv4/tcp_early_retrans' || die "tcp_early_retrans"
}

# Seeded sizes; files of random bytes (incompressible, as downloads are).
make_files() {
    mkdir -p "$WORK/www"
    awk -v seed="$LAB_SEED" -v n="$LAB_FILES" -v m="$LAB_FOREIGN" -v lo="$LAB_MIN_KB" \
        -v hi="$LAB_MAX_KB" 'BEGIN {
            srand(seed)
            for (i = 1; i <= n + m; i++) {
                size = int(lo * 1000 + rand() * (hi - lo) * 1000)
                if (i <= n) printf "file-%03d.bin %d file-%03d.bin\n", i, size, i
                else printf "othr-%03d.bin %d -\n", i - n, size
            }
        }' >"$WORK/files.txt"
    {
        printf '#flowsleuth-catalog 1\n'
        printf 'size\tname\tproduct\tversion\tarch\tos\turl\tdigest\tsource\tspread\n'
        awk '$3 != "-" { printf "%d\t%s\tlab\t1\tall\tlab\t/%s\t\timport\t0\n", $2, $1, $1 }' \
            "$WORK/files.txt"
    } >"$LAB_OUT/catalog.tsv"
    while read -r f size _; do
        head -c "$size" /dev/urandom >"$WORK/www/$f"
    done <"$WORK/files.txt"
}

# nginx as in the article's lab (one worker pinned to CPU 0, sendfile off so the server
# writes as an ordinary process does, no access log); python3's http.server when nginx
# is not installed or LAB_SERVER=python.
write_nginx_conf() {
    mkdir -p "$WORK/nginx/tmp"
    local listen="$SRV:$PORT" tls=""
    if [ "$LAB_TLS" = 1 ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
            -subj /CN=lab -keyout "$WORK/nginx/key.pem" -out "$WORK/nginx/cert.pem" \
            >"$WORK/openssl.log" 2>&1 || die "openssl req failed: $(cat "$WORK/openssl.log")"
        listen="$listen ssl"
        [ "$LAB_HTTP2" = 1 ] && listen="$listen http2"
        # Spelled out: nginx 1.22's default leaves TLSv1.3 out (1.23.4 added it).
        tls="ssl_certificate $WORK/nginx/cert.pem;
        ssl_certificate_key $WORK/nginx/key.pem;
        ssl_protocols $LAB_TLS_PROTOCOLS;"
    fi
    cat >"$WORK/nginx/nginx.conf" <<CONF
user root;
worker_processes 1;
worker_cpu_affinity 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 256; }
http {
    access_log off;
    sendfile off;
    keepalive_requests 10000;
    client_body_temp_path $WORK/nginx/tmp;
    proxy_temp_path $WORK/nginx/tmp;
    fastcgi_temp_path $WORK/nginx/tmp;
    uwsgi_temp_path $WORK/nginx/tmp;
    scgi_temp_path $WORK/nginx/tmp;
    default_type application/octet-stream;
    server {
        listen $listen;
        root $WORK/www;
        $tls
    }
}
CONF
}

start_server() {
    if [ "$LAB_SERVER" = nginx ]; then
        write_nginx_conf
        (exec ip netns exec "$NS_S" taskset -c 0 "$NGINX" -p "$WORK/nginx" \
            -c "$WORK/nginx/nginx.conf" -g 'daemon off;') >"$WORK/server.log" 2>&1 &
    else
        (cd "$WORK/www" && exec ip netns exec "$NS_S" taskset -c 0 "$PY" -m http.server \
            -p HTTP/1.1 -b "$SRV" "$PORT") >"$WORK/server.log" 2>&1 &
    fi
    srv_pid=$!
    for _ in $(seq 200); do
        in_s ss -Hltn "sport = :$PORT" | grep -q LISTEN && return 0
        kill -0 "$srv_pid" 2>/dev/null || die "http server died: $(cat "$WORK/server.log")"
        sleep 0.05
    done
    die "http server not listening after 10 s"
}

# profile NAME: MTU and the nftables loss rule (per mille of the server's packets).
profile() {
    local mtu=1500 permille=0
    case $1 in
    hop1) ;;
    hop6) permille=10 ;;
    vpn) mtu=1400 permille=30 ;;
    *) die "unknown profile $1 (hop1, hop6, vpn)" ;;
    esac
    in_s ip link set "$IF_S" mtu "$mtu"
    in_c ip link set "$IF_C" mtu "$mtu"
    in_c nft flush ruleset
    [ "$permille" = 0 ] && return 0
    in_c nft add table inet fslab
    in_c nft add chain inet fslab input '{ type filter hook input priority 0; policy accept; }'
    in_c nft add rule inet fslab input ip saddr "$SRV" tcp sport "$PORT" \
        numgen random mod 1000 '<' "$permille" counter drop || die "nft rule failed"
}

start_capture() {
    # -Z root: Debian's tcpdump drops to user tcpdump otherwise; -B: a large buffer.
    ip netns exec "$NS_S" taskset -c 1 tcpdump -i "$IF_S" -n -U -Z root -s 128 -B 262144 \
        -w "$1" "tcp port $PORT" 2>"$1.log" &
    dump_pid=$!
    for _ in $(seq 200); do
        grep -q "listening on" "$1.log" 2>/dev/null && return 0
        kill -0 "$dump_pid" 2>/dev/null || die "tcpdump died: $(cat "$1.log")"
        sleep 0.05
    done
    die "tcpdump not ready after 10 s"
}

# Stop tcpdump once its file has not grown for 1 s (LAB-NOTES); no kernel drops.
stop_capture() {
    local last=-1 same=0 sz
    while [ "$same" -lt 5 ]; do
        sz=$(wc -c <"$1")
        if [ "$sz" = "$last" ]; then same=$((same + 1)); else same=0; fi
        last=$sz
        sleep 0.2
    done
    stop "$dump_pid"
    dump_pid=""
    grep -q '^0 packets dropped by kernel' "$1.log" ||
        die "tcpdump lost packets: $(cat "$1.log")"
}

# list ROUND: the files of a round, shuffled by seed and round. Round 1: catalogue only.
list() {
    awk -v r="$1" '$3 != "-" || r > 1 { print $1, $3 }' "$WORK/files.txt" |
        awk -v seed="$((LAB_SEED * 100 + $1))" 'BEGIN { srand(seed) } { print rand(), $0 }' |
        sort -k1,1g | cut -d' ' -f2-
}

# run MODE PROFILE: capture the rounds, meter, write train/test labels under $LAB_OUT/RUN.
# MODE: single or keepalive, with -tls (HTTPS) or keepalive-h2 (HTTP/2 over TLS).
run() {
    local mode=$1 prof=$2 dir="$LAB_OUT/$1-$2" t0 how=${1%-tls} scheme=http
    [ "$LAB_TLS" = 1 ] && scheme=https
    mkdir -p "$dir"
    profile "$prof"
    local pcap="$WORK/$mode-$prof.pcap"
    start_capture "$pcap"
    t0=$(date +%s)
    local hdr="client,server,sport,exchange,start_ms,end_ms,entry_name"
    echo "$hdr" >"$dir/train.csv"
    echo "$hdr" >"$dir/test.csv"
    for r in $(seq "$LAB_ROUNDS"); do
        list "$r" >"$WORK/list.txt"
        in_c taskset -c 0 bash "$HERE/client.sh" "$how" "$LAB_KA_K" "$CLI" \
            "$scheme://$SRV:$PORT" "$WORK/list.txt" >>"$dir/$([ "$r" = 1 ] && echo train || echo test).csv" ||
            die "client failed in $mode/$prof round $r"
    done
    stop_capture "$pcap"
    local dropped="none"
    [ "$prof" = hop1 ] || dropped=$(in_c nft list chain inet fslab input | grep -o 'packets [0-9]*' | cut -d' ' -f2)
    local split=""
    [ "$how" = single ] || split=--split
    "$FS_BIN" meter -r "$pcap" -w "$dir/flows.fsf" --idle 600 $split ||
        die "meter failed on $pcap"
    # The article's flows (softflowd) were never split: its trees get the whole connection.
    if [ -n "$split" ]; then
        "$FS_BIN" meter -r "$pcap" -w "$dir/flows-nosplit.fsf" --idle 600 ||
            die "meter failed on $pcap"
    else
        ln -sf flows.fsf "$dir/flows-nosplit.fsf"
    fi
    [ -n "$split" ] && [ "$LAB_TLS" = 1 ] && relabel "$dir"
    [ "$LAB_KEEP_PCAP" = 1 ] && cp "$pcap" "$dir/"
    [ "$LAB_NETFLOW" = 1 ] && [ "$how" = single ] && netflow "$pcap" "$dir"
    echo "lab: $mode/$prof: $(($(wc -l <"$dir/train.csv") - 1)) training and" \
        "$(($(wc -l <"$dir/test.csv") - 1)) test downloads in $(($(date +%s) - t0)) s," \
        "capture $(($(wc -c <"$pcap") / 1000000)) MB, nft dropped $dropped server packets" >&2
    rm -f "$pcap"
}

# relabel DIR: over TLS, --split gives the handshake exchanges of their own (TLS 1.3:
# two) before the first response, and the client's close_notify one after the last, so
# a connection's K files are its last K exchanges that carry response bytes: labels
# renumbered so (relabel.log says by how much; a connection with fewer such exchanges
# than files keeps its labels and is counted there).
relabel() {
    local f
    "$FS_BIN" print -r "$1/flows.fsf" -o csv:sport,exchange,rpayload >"$1/exchanges.csv"
    for f in train test; do
        awk -F, -v OFS=, 'NR == FNR { if (FNR > 1 && $3 > 0) { has[$1, $2] = 1; if ($2 + 0 > x[$1]) x[$1] = $2 + 0 } next }
            FNR == 1 { print; next }
            { n[$3]++; line[FNR] = $0; last = FNR }
            END {
                for (p in n) {
                    m = 0
                    for (e = 1; e <= x[p]; e++) if ((p, e) in has) resp[p, ++m] = e
                    got[p] = m
                }
                for (i = 2; i <= last; i++) {
                    $0 = line[i]
                    k = got[$3] - n[$3] + $4
                    if (got[$3] < n[$3]) short++
                    else { shift[resp[$3, k] - $4]++; $4 = resp[$3, k] }
                    print
                }
                for (o in shift) printf "lab: %s: %d downloads %d exchanges later on their connection\n", FILENAME, shift[o], o >"/dev/stderr"
                if (short) printf "lab: %s: %d downloads on connections with fewer response exchanges than files, labels kept\n", FILENAME, short >"/dev/stderr"
            }' "$1/exchanges.csv" "$1/$f.csv" >"$1/$f.csv.new" 2>>"$1/relabel.log"
        mv "$1/$f.csv.new" "$1/$f.csv"
    done
}

# netflow PCAP DIR: softflowd's NetFlow v9 and IPFIX of the capture, collected on
# loopback into DIR/nf9 and DIR/nf10; every record stored (two per connection) or fail.
netflow() {
    local pcap=$1 dir=$2 v port n want
    want=$((2 * $("$FS_BIN" print -r "$dir/flows-nosplit.fsf" -o csv:src | tail -n +2 | wc -l)))
    for v in 9 10; do
        port=$((40000 + $$ % 20000))
        while ss -Hlun "sport = :$port" | grep -q .; do port=$((port + 1)); done
        rm -rf "$dir/nf$v"
        mkdir -p "$dir/nf$v"
        "$FS_BIN" collect -l "127.0.0.1:$port" -w "$dir/nf$v/" --stats 2>"$dir/collect$v.log" &
        col_pid=$!
        for _ in $(seq 200); do
            ss -Hlun "sport = :$port" | grep -q . && break
            sleep 0.05
        done
        softflowd -r "$pcap" -c none -d -a -v "$v" -m 1000000 -n "127.0.0.1:$port" \
            >"$dir/softflowd$v.log" 2>&1 || die "softflowd -v $v: $(tail -3 "$dir/softflowd$v.log")"
        for _ in $(seq 400); do # the socket drained
            [ "$(ss -Hlun "sport = :$port" | awk '{ s += $2 } END { print s + 0 }')" = 0 ] && break
            sleep 0.05
        done
        stop "$col_pid"
        col_pid=""
        n=$("$FS_BIN" print -r "$dir/nf$v" -o csv:src | tail -n +2 | wc -l)
        [ "$n" -eq "$want" ] || die "NetFlow v$v: $n records stored, want $want (2 per flow of meter)"
    done
    echo "lab: NetFlow v9 and IPFIX: $want records each" >&2
}

# evaluate_netflow MODE PROFILE: eval -b on the exporter's records (v9, IPFIX): the
# article's tree, and nearest on bytes with the model learned on the training run.
evaluate_netflow() {
    local dir="$LAB_OUT/$1-$2" row="$1	$2" v
    for v in 9 10; do
        local nf=(-c "$LAB_OUT/catalog.tsv" -r "$dir/nf$v" -b --labels "$dir/test.csv" -o json)
        "$FS_BIN" eval "${nf[@]}" --model article --train "$dir/nf$v" \
            --train-labels "$dir/train.csv" >"$dir/nf$v-article.json" 2>"$dir/nf$v-eval.log"
        "$FS_BIN" learn -c "$LAB_OUT/catalog.tsv" -r "$dir/nf$v" -b --labels "$dir/train.csv" \
            --model nearest --basis bytes -o "$dir/nf$v-near.model" 2>>"$dir/nf$v-eval.log"
        "$FS_BIN" eval "${nf[@]}" --model-file "$dir/nf$v-near.model" \
            >"$dir/nf$v-nearest.json" 2>>"$dir/nf$v-eval.log"
        for m in article nearest; do
            row="$row	$(awk -F'"accuracy":' '{ split($2, a, ","); printf "%.1f", a[1] * 100 }' "$dir/nf$v-$m.json")"
            row="$row	$(awk -F'"foreign_wrong":' '{ split($2, a, ","); print a[1] }' "$dir/nf$v-$m.json")"
        done
    done
    echo "$row" >>"$LAB_OUT/netflow.tsv"
}

# evaluate MODE PROFILE: the four models; one row of results.tsv.
evaluate() {
    local dir="$LAB_OUT/$1-$2" row="$1	$2"
    local base=(-c "$LAB_OUT/catalog.tsv" -r "$dir/flows.fsf" --labels "$dir/test.csv" -o json)
    local tree=(-c "$LAB_OUT/catalog.tsv" -r "$dir/flows-nosplit.fsf" --labels "$dir/test.csv"
        -o json --train "$dir/flows-nosplit.fsf" --train-labels "$dir/train.csv")
    "$FS_BIN" eval "${tree[@]}" --model article >"$dir/article.json"
    "$FS_BIN" eval "${tree[@]}" --model article-bp >"$dir/article-bp.json"
    "$FS_BIN" eval "${base[@]}" --model nearest --basis bytes >"$dir/nearest-bytes.json"
    "$FS_BIN" eval "${base[@]}" --model nearest >"$dir/nearest-goodput.json"
    for m in article article-bp nearest-bytes nearest-goodput; do
        row="$row	$(awk -F'"accuracy":' '{ split($2, a, ","); printf "%.1f", a[1] * 100 }' "$dir/$m.json")"
        row="$row	$(awk -F'"foreign_wrong":' '{ split($2, a, ","); print a[1] }' "$dir/$m.json")"
    done
    local known foreign
    known=$(awk -F'"known":' '{ split($2, a, ","); print a[1] }' "$dir/nearest-goodput.json")
    foreign=$(awk -F'"foreign":' '{ split($2, a, ","); print a[1] }' "$dir/nearest-goodput.json")
    echo "$row	$known	$foreign" >>"$LAB_OUT/results.tsv"
}

# evaluate_learned MODE PROFILE: nearest on goodput with the model learned on the
# training round (HTTPS: the TLS handshake and record overhead lie outside the default
# header window, the learned server constant takes them in); one row of learned.tsv
# with learn's line for the server.
evaluate_learned() {
    local dir="$LAB_OUT/$1-$2" row="$1	$2" srv
    "$FS_BIN" learn -c "$LAB_OUT/catalog.tsv" -r "$dir/flows.fsf" --labels "$dir/train.csv" \
        --model nearest -o "$dir/nearest-learned.model" 2>"$dir/learn.log" ||
        die "learn failed on $dir: $(cat "$dir/learn.log")"
    if ! "$FS_BIN" eval -c "$LAB_OUT/catalog.tsv" -r "$dir/flows.fsf" --labels "$dir/test.csv" \
        -o json --model-file "$dir/nearest-learned.model" >"$dir/nearest-learned.json" \
        2>"$dir/eval-learned.log"; then
        echo "$row	-	-	eval refused the model: $(sed 's/^.*: //' "$dir/eval-learned.log" | head -1)" >>"$LAB_OUT/learned.tsv"
        return 0
    fi
    row="$row	$(awk -F'"accuracy":' '{ split($2, a, ","); printf "%.1f", a[1] * 100 }' "$dir/nearest-learned.json")"
    row="$row	$(awk -F'"foreign_wrong":' '{ split($2, a, ","); print a[1] }' "$dir/nearest-learned.json")"
    srv=$(grep -m1 ': server ' "$dir/learn.log" | sed 's/^.*: server [^:]*: //') || srv="-"
    echo "$row	$srv" >>"$LAB_OUT/learned.tsv"
}

# The table in Markdown: per model, closed-set accuracy on the catalogue downloads and
# the foreign downloads it wrongly matched.
table() {
    {
        echo "| mode | profile | article: tree on bytes | tree on bytes+packets | nearest on bytes+packets | nearest on goodput | test downloads (catalogue + foreign) |"
        echo "|---|---|---|---|---|---|---|"
        awk -F'\t' 'NR > 1 {
            printf "| %s | %s |", $1, $2
            for (i = 3; i <= 9; i += 2) printf " %s%%, %s/%s |", $i, $(i + 1), $12
            printf " %s + %s |\n", $11, $12
        }' "$LAB_OUT/results.tsv"
        echo
        echo "Each cell: closed-set accuracy (catalogue downloads assigned to the right file),"
        echo "then foreign downloads wrongly matched / foreign downloads."
        if [ -s "$LAB_OUT/netflow.tsv" ]; then
            echo
            echo "softflowd's NetFlow (eval -b: uniflows paired), single mode:"
            echo
            echo "| profile | v9: article's tree | v9: nearest, learned on bytes | IPFIX: article's tree | IPFIX: nearest, learned on bytes |"
            echo "|---|---|---|---|---|"
            awk -F'\t' -v f="$(awk -F'\t' 'NR == 2 { print $12 }' "$LAB_OUT/results.tsv")" '{
                printf "| %s |", $2
                for (i = 3; i <= 9; i += 2) printf " %s%%, %s/%s |", $i, $(i + 1), f
                printf "\n" }' "$LAB_OUT/netflow.tsv"
        fi
        if [ -s "$LAB_OUT/learned.tsv" ]; then
            echo
            echo "Nearest on goodput with the model learned on the training round (learn --model nearest):"
            echo
            echo "| mode | profile | nearest on goodput, learned | learn: the server |"
            echo "|---|---|---|---|"
            awk -F'\t' -v f="$(awk -F'\t' 'NR == 2 { print $12 }' "$LAB_OUT/results.tsv")" '{
                printf "| %s | %s | %s | %s |\n", $1, $2, $3 == "-" ? "-" : $3 "%, " $4 "/" f, $5 }' "$LAB_OUT/learned.tsv"
        fi
    } >"$LAB_OUT/results.md"
    cat "$LAB_OUT/results.md"
}

main() {
    mkdir -p "$LAB_OUT"
    local t0
    t0=$(date +%s)
    setup_net
    make_files
    start_server
    printf 'mode\tprofile\tarticle\tarticle_fw\tarticle_bp\tarticle_bp_fw\tnearest_bytes\tnearest_bytes_fw\tnearest_goodput\tnearest_goodput_fw\tknown\tforeign\n' \
        >"$LAB_OUT/results.tsv"
    echo "lab: $LAB_FILES catalogue + $LAB_FOREIGN foreign files of $LAB_MIN_KB..$LAB_MAX_KB kB" \
        "(seed $LAB_SEED), $LAB_ROUNDS rounds (1 training), rate cap ${LAB_RATE:-none}, profiles '$LAB_PROFILES'," \
        "keep-alive ($LAB_KA_K files a connection) '$LAB_KA_PROFILES'," \
        "$([ "$LAB_TLS" = 1 ] && echo "HTTPS ($LAB_TLS_PROTOCOLS)" || echo HTTP)$([ "$LAB_HTTP2" = 1 ] && echo ' and HTTP/2')" >&2
    : >"$LAB_OUT/netflow.tsv"
    : >"$LAB_OUT/learned.tsv"
    local sfx="" modes="keepalive"
    [ "$LAB_TLS" = 1 ] && sfx=-tls modes=keepalive-tls
    [ "$LAB_HTTP2" = 1 ] && modes="$modes keepalive-h2"
    for p in $LAB_PROFILES; do
        run "single$sfx" "$p"
        evaluate "single$sfx" "$p"
        [ "$LAB_TLS" = 1 ] && evaluate_learned "single$sfx" "$p"
        [ "$LAB_NETFLOW" = 1 ] && evaluate_netflow "single$sfx" "$p"
    done
    local ka # evaluate's loops set m
    for ka in $modes; do
        for p in $LAB_KA_PROFILES; do
            run "$ka" "$p"
            evaluate "$ka" "$p"
            [ "$LAB_TLS" = 1 ] && evaluate_learned "$ka" "$p"
        done
    done
    echo "lab: done in $(($(date +%s) - t0)) s; results in $LAB_OUT" >&2
    table
}

main
