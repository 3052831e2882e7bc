#!/bin/sh
# Goodput, payload and retransmitted bytes against exact numbers: fsgen writes
# server-side captures of one HTTP-like download (0%, 1% and 3% downstream loss, a
# server sequence number that wraps past 2^32, IPv6, keep-alive) and prints what it
# sent. The meter must count, for the server -> client direction:
#   rgoodput = response bytes            (retransmissions count once)
#   rpayload = response + retransmitted bytes
#   rretrans = retransmitted bytes
# and for the client's requests goodput = payload = request bytes, retrans = 0.
. "$(dirname "$0")/lib.sh"

[ -x "$FS_GEN" ] || skip "fsgen not built ($FS_GEN)"

# kv FILE KEY: the value of KEY=VALUE in fsgen's one-line summary.
kv() {
    tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"
}

# field CSV NAME: column NAME (looked up in the header) of the one data row.
field() {
    awk -F, -v name="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        NR == 2 && c { print $c }' "$1"
}

# case NAME FSGEN-ARGS...: generate, meter, print, compare.
case_() {
    name=$1
    shift
    "$FS_GEN" download "$T/$name.pcap" "$@" 2>"$T/$name.gen" || fail "$name: fsgen failed"
    fs meter -r "$T/$name.pcap" -w "$T/$name.fsf" || fail "$name: meter failed"
    fs print -r "$T/$name.fsf" -o csv >"$T/$name.csv" || fail "$name: print failed"

    rows=$(($(wc -l <"$T/$name.csv") - 1))
    [ "$rows" -eq 1 ] || fail "$name: $rows flows, expected 1 ($(cat "$T/$name.csv"))"

    k=$(kv "$T/$name.gen" exchanges)
    resp=$(($(kv "$T/$name.gen" response) * k))
    req=$(($(kv "$T/$name.gen" request) * k))
    retx=$(kv "$T/$name.gen" retrans_bytes)
    [ "$(kv "$T/$name.gen" server_payload)" -eq $((resp + retx)) ] ||
        fail "$name: fsgen's own totals disagree: $(cat "$T/$name.gen")"

    # name=expected pairs; every mismatch is listed before failing
    bad=""
    for pair in "dport=80" "proto=6" \
        "packets=$(kv "$T/$name.gen" client_packets)" \
        "rpackets=$(kv "$T/$name.gen" server_packets)" \
        "payload=$req" "goodput=$req" "retrans=0" \
        "rgoodput=$resp" "rpayload=$((resp + retx))" "rretrans=$retx"; do
        f=${pair%%=*}
        want=${pair#*=}
        got=$(field "$T/$name.csv" "$f")
        [ -n "$got" ] || fail "$name: no column '$f' in the CSV header"
        [ "$got" = "$want" ] || bad="$bad $f=$got(want $want)"
    done
    [ -z "$bad" ] || fail "$name:$bad; fsgen: $(cat "$T/$name.gen")"
    echo "ok $name: rgoodput=$resp rpayload=$((resp + retx)) rretrans=$retx"
}

case_ loss0 --size 1234567
case_ loss1 --size 3000000 --loss 1 --seed 11
case_ loss3 --size 2000000 --loss 3 --seed 3
# server ISN 4294000000: the sequence numbers wrap ~1 MB into the response
case_ wrap --size 2000000 --loss 1 --isn 4294000000
# SYN at 2^32-1: the first data byte has sequence number 0
case_ wrapsyn --size 500000 --isn 4294967295
case_ v6 --size 777777 --v6 --loss 2
# keep-alive, not split: one record holds all three responses
case_ keepalive --size 500000 --exchanges 3 --loss 1

# The loss cases must really contain retransmissions, or they test nothing.
for name in loss1 loss3 wrap v6 keepalive; do
    [ "$(kv "$T/$name.gen" retrans_bytes)" -gt 0 ] || fail "$name: fsgen produced no retransmission"
done

# keep-alive split into exchanges (meter --split): one record per response, numbered
# 1..K, each with rgoodput = the response size and goodput = the request size; the
# retransmitted bytes of all exchanges add up to fsgen's count.
"$FS_GEN" download "$T/split.pcap" --size 300001 --exchanges 4 --loss 2 --seed 5 \
    2>"$T/split.gen" || fail "fsgen download (split) failed"
fs meter -r "$T/split.pcap" --split -w "$T/split.fsf"
fs print -r "$T/split.fsf" -o csv:exchange,goodput,rgoodput,rretrans >"$T/split.csv"
awk -F, -v want="$(kv "$T/split.gen" retrans_bytes)" '
    NR == 1 { next }
    { n++; if ($1 != n || $2 != 120 || $3 != 300001) bad = bad " " $0; retx += $4 }
    END {
        if (n != 4) { print "expected 4 exchanges, got " n; exit 1 }
        if (bad != "") { print "bad exchanges:" bad; exit 1 }
        if (retx != want) { print "rretrans sum " retx " != " want; exit 1 }
    }' "$T/split.csv" >&2 || fail "split: $(cat "$T/split.csv")"
echo "ok split: 4 exchanges of 300001 bytes each"
