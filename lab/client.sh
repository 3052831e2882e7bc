#!/bin/bash
# The lab's client: runs inside the client namespace (lab/run.sh starts it with
# `ip netns exec NS taskset -c CPU bash lab/client.sh ...`), downloads a list of files
# and writes one label line per download to stdout:
#   client,server,sport,exchange,start_ms,end_ms,entry_name
#
# usage: client.sh MODE K CLIENT BASE_URL LIST
#   MODE single: one curl (one connection) per file;
#        keepalive: curl fetches K files per invocation on one connection;
#        keepalive-h2: the same over HTTP/2 (the files one after the other, as streams
#        of one connection). An https:// BASE_URL is fetched with -k (the lab's
#        certificate is self-signed).
#   LIST: lines "FILE LABEL" (LABEL = catalogue entry name or "-").
# Times are wall-clock milliseconds (the capture's clock). In keep-alive mode curl
# reports each transfer's duration, not its start, so the windows are placed back from
# the moment curl exited; the exchange column (the file's position on its connection,
# as `meter --split` numbers exchanges) is what pins each file down.
set -eu
mode=$1
k=$2
client=$3
base=$4
list=$5
server=${base#*://}
server=${server%%:*}
http=--http1.1
[ "$mode" = keepalive-h2 ] && http=--http2
tls=()
[ "${base%%://*}" = https ] && tls=(-k)

now_ms() { date +%s%3N; }

# LAB_RATE (curl --limit-rate, e.g. 120M) keeps tcpdump from dropping packets.
rate=()
[ -z "${LAB_RATE:-}" ] || rate=(--limit-rate "$LAB_RATE")

single() {
    while read -r file label; do
        s=$(now_ms)
        port=$(curl -sS --noproxy '*' "$http" "${tls[@]}" --max-time 600 "${rate[@]}" -o /dev/null \
            -w '%{local_port}' "$base/$file")
        e=$(now_ms)
        echo "$client,$server,$port,,$s,$e,$label"
    done <"$list"
}

# One curl for the files in "$@" (pairs FILE LABEL); labels from curl's -w lines.
batch() {
    local args=() labels=()
    while [ $# -gt 0 ]; do
        args+=(-o /dev/null "$base/$1")
        labels+=("$2")
        shift 2
    done
    local out
    out=$(curl -sS --noproxy '*' "$http" "${tls[@]}" --max-time 1800 "${rate[@]}" -w '%{local_port} %{time_total}\n' \
        "${args[@]}")
    local e
    e=$(now_ms)
    # Exchange = position among the transfers on the same client port; windows placed
    # back from the exit time by the durations of the later transfers.
    echo "$out" | awk -v c="$client" -v s="$server" -v e="$e" -v L="${labels[*]}" '
        { port[NR] = $1; dur[NR] = int($2 * 1000 + 0.5); n = NR }
        END {
            split(L, lab, " ")
            t = e
            for (i = n; i >= 1; i--) { end_[i] = t; t -= dur[i]; start[i] = t }
            for (i = 1; i <= n; i++) {
                ex[port[i]]++
                printf "%s,%s,%s,%d,%.0f,%.0f,%s\n", c, s, port[i], ex[port[i]], start[i], end_[i], lab[i]
            }
        }'
}

keepalive() {
    local set=()
    while read -r file label; do
        set+=("$file" "$label")
        if [ "${#set[@]}" -ge $((2 * k)) ]; then
            batch "${set[@]}"
            set=()
        fi
    done <"$list"
    [ "${#set[@]}" -eq 0 ] || batch "${set[@]}"
}

case $mode in
single) single ;;
keepalive | keepalive-h2) keepalive ;;
*)
    echo "client.sh: mode single, keepalive or keepalive-h2" >&2
    exit 2
    ;;
esac
