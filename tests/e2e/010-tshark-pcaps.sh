#!/bin/sh
# 010: `flowsleuth meter` decodes real captures exactly as tshark does.
#
# For each $FS_DATA/pcap/X.pcap and each capture bundled in tests/data/ with its
# reference (so a clone without ../shared still compares against tshark): meter it
# with timeouts large enough that no flow is cut (--idle/--active 100000), print CSV,
# split every biflow into its two directions, sum per unidirectional 5-tuple and
# compare with X.pcap.flows.tsv (tshark 4.0.17 per-frame fields summed per 5-tuple,
# reassembly off; see ../shared/data/MANIFEST.md). Any difference fails and prints
# both sides per 5-tuple. Compared, every field both the reference and the record hold:
#   per direction: packets, IP bytes (every key); transport payload bytes (TCP/UDP keys
#     with ports: tcp.len, udp.length - 8); OR of TCP flags (TCP keys with ports);
#   per connection (TCP/UDP with ports, both directions): first and last packet time,
#     to the millisecond (the record keeps ms; tshark's time cut, not rounded).
# Not in the reference, so not compared here: VLAN (060 and http_vlan's own check in
# 020), smallest/largest packet, TOS.
#
# Where the two tools key a packet differently, ours is mapped to tshark's key; each
# mapping is one rule in norm_ours below, and nothing else is mapped:
#   M1 ICMP (1) / ICMPv6 (58): tshark fills no ports (the tsv ports are empty); we put
#      sport 0, dport type*256+code. Compared by (proto, src, dst), ports ignored.
#   M2 Non-first IPv4 fragment of TCP/UDP: we key it (ip.proto, src, 0, dst, 0); tshark
#      cannot dissect an L4 header and keys it (ip.proto, src, "", dst, ""). Ports 0 -> "".
#      A first fragment carries the L4 header: both tools key it by its real ports.
#   M3 Non-first IPv6 fragment of TCP/UDP: we key it (fragment header's next header,
#      src, 0, dst, 0); the tsv keys it by the OUTERMOST ipv6.nxt, which is 44 (the
#      Fragment header), with empty ports. -> (44, src, "", dst, "").
#      (ipv6_fragmented_dns.pcap frames 4, 7, 8: ipv6.nxt 44, fraghdr.nxt 17, offset > 0.)
#   M4 Any other protocol: tshark fills ports only for TCP/UDP; our ports are 0 -> "".
#   M5 Payload of a first fragment: tshark's l4_payload comes from the transport header
#      (udp.length - 8 claims the whole datagram; tcp.len reads 0 in a first fragment),
#      ours counts the bytes the packet holds. Payload is not compared for a key whose
#      hosts also sent non-first fragments (keys of M2/M3); packets, bytes, flags are.
#   R1 tsv rows with proto 0 are non-IP frames (ARP, LLDP, ...): not flows, ignored.
# Not mapped because it does not occur in these captures (a mismatch would show it and
# need a rule of its own): IPv6 non-TCP/UDP traffic behind extension headers (e.g. a
# fragmented ICMPv6 message, MLD behind hop-by-hop), which the tsv keys by the
# outermost next header (44, 0, ...) while we key it by the transport protocol; and
# TCP/UDP packets whose real ports are both 0, which M2/M3 would treat as fragments.
#
# With tshark installed it also cross-checks the frame counts per direction of
# `tshark -q -z conv,tcp` / `conv,udp` (live tshark, not the stored reference) for a few
# captures. The conv tables print bytes rounded ("248 kB"), so only frames are compared.
. "$(dirname "$0")/lib.sh"


# csv_to_uni CSV: flowsleuth CSV -> "proto src sport dst dport ipver packets bytes",
# one row per direction that has packets. Columns looked up by header name.
csv_to_uni() {
    awk -F, -v OFS='\t' '
    NR == 1 {
        nf = NF
        for (i = 1; i <= NF; i++) c[$i] = i
        split("src dst sport dport proto ipver bytes packets rbytes rpackets payload rpayload flags rflags", need, " ")
        for (k in need) if (!(need[k] in c)) { print "csv: no column " need[k] > "/dev/stderr"; bad = 1; exit 1 }
        next
    }
    NF != nf { print "csv line " NR ": " NF " fields, header has " nf ": " $0 > "/dev/stderr"; bad = 1; exit 1 }
    {
        if ($c["packets"] > 0)
            print $c["proto"], $c["src"], $c["sport"], $c["dst"], $c["dport"], $c["ipver"], $c["packets"], $c["bytes"], $c["payload"], $c["flags"]
        if ($c["rpackets"] > 0)
            print $c["proto"], $c["dst"], $c["dport"], $c["src"], $c["sport"], $c["ipver"], $c["rpackets"], $c["rbytes"], $c["rpayload"], $c["rflags"]
    }
    END { if (NR < 1 && !bad) { print "csv: empty output (no header)" > "/dev/stderr"; exit 1 } if (bad) exit 1 }' "$1"
}

# Both sides print, per key, "proto src sport dst dport<TAB>packets<TAB>ip_bytes<TAB>
# payload<TAB>flags", sorted; payload is "-" where the key has no ports (nothing to
# compare: fragments, ICMP, other protocols), flags "-" but for TCP. awk has no OR in
# POSIX: bor() ORs two 8-bit flag sets.
AWK_BOR='function bor(a, b,   i, r) { r = 0; for (i = 1; i < 256; i *= 2) if (int(a / i) % 2 || int(b / i) % 2) r += i; return r }'

# norm_ours: uni rows -> tshark's key (rules M1-M4), summed per key.
norm_ours() {
    awk -F'\t' -v OFS='\t' "$AWK_BOR"'
    {
        p = $1; s = $2; sp = $3; d = $4; dp = $5; v = $6
        if (p == 1 || p == 58) { sp = ""; dp = "" }                       # M1
        else if ((p == 6 || p == 17) && sp == 0 && dp == 0) {
            sp = ""; dp = ""                                              # M2
            if (v == 6 || index(s, ":")) p = 44                           # M3
        } else if (p != 6 && p != 17) { sp = ""; dp = "" }                # M4
        k = p " " s " " sp " " d " " dp
        pk[k] += $7; by[k] += $8
        if (sp != "") { pl[k] += $9; if (p == 6) fl[k] = bor(fl[k], $10) }
        else if (p == 6 || p == 17 || p == 44) fr[s " " d] = 1                 # M5
        hosts[k] = s " " d
    }
    END { for (k in pk) print k, pk[k], by[k], (k in pl && !(hosts[k] in fr) ? pl[k] : "-"), (k in fl ? fl[k] : "-") }' | LC_ALL=C sort
}

# norm_ref TSV: the reference -> same format. Columns by the header line's names.
norm_ref() {
    awk -F'\t' -v OFS='\t' "$AWK_BOR"'
    function hex(x,   i, n) { n = 0; x = tolower(x); sub(/^0x/, "", x)
        for (i = 1; i <= length(x); i++) n = n * 16 + index("0123456789abcdef", substr(x, i, 1)) - 1
        return n }
    /^#/ { next }
    !hdr { for (i = 1; i <= NF; i++) c[$i] = i; hdr = 1
           if (!("ip_bytes" in c) || !("packets" in c) || !("dport" in c)) { print "tsv: bad header" > "/dev/stderr"; exit 1 }
           next }
    {
        p = $c["proto"]
        if (p == 0) next                                                  # R1
        sp = $c["sport"]; dp = $c["dport"]
        if (p == 1 || p == 58) { sp = ""; dp = "" }                       # M1
        k = p " " $c["src"] " " sp " " $c["dst"] " " dp
        pk[k] += $c["packets"]; by[k] += $c["ip_bytes"]
        if (sp != "") { pl[k] += $c["l4_payload"]; if (p == 6) fl[k] = bor(fl[k], hex($c["tcp_flags"])) }
        else if (p == 6 || p == 17 || p == 44) fr[$c["src"] " " $c["dst"]] = 1     # M5
        hosts[k] = $c["src"] " " $c["dst"]
    }
    END { for (k in pk) print k, pk[k], by[k], (k in pl && !(hosts[k] in fr) ? pl[k] : "-"), (k in fl ? fl[k] : "-") }' "$1" | LC_ALL=C sort
}

# Connection times: "proto lo-end hi-end<TAB>first_ms<TAB>last_ms" for TCP/UDP with ports,
# both directions together, the smallest first and largest last of the key.
# times_ours CSV: from the records (ISO 8601 UTC with ms, turned into epoch ms).
times_ours() {
    awk -F, -v OFS='\t' '
    function ms(t,   y, m, d, a, yy, mm, days) {
        y = substr(t, 1, 4) + 0; m = substr(t, 6, 2) + 0; d = substr(t, 9, 2) + 0
        a = (m <= 2); yy = y - a; mm = m + 12 * a - 3
        days = 365 * yy + int(yy / 4) - int(yy / 100) + int(yy / 400) + int((153 * mm + 2) / 5) + d - 719469
        return ((days * 24 + substr(t, 12, 2)) * 60 + substr(t, 15, 2)) * 60000 + substr(t, 18, 2) * 1000 + substr(t, 21, 3)
    }
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    ($c["proto"] == 6 || $c["proto"] == 17) && !($c["sport"] == 0 && $c["dport"] == 0) {
        a = $c["src"] " " $c["sport"]; b = $c["dst"] " " $c["dport"]
        k = $c["proto"] " " (a < b ? a " " b : b " " a)
        f = ms($c["first"]); l = ms($c["last"])
        if (!(k in lo) || f < lo[k]) lo[k] = f
        if (!(k in hi) || l > hi[k]) hi[k] = l
    }
    END { for (k in lo) printf "%s\t%.0f\t%.0f\n", k, lo[k], hi[k] }' "$1" | LC_ALL=C sort
}

# times_ref TSV: from tshark's epoch seconds, cut to the millisecond.
times_ref() {
    awk -F'\t' '
    function ms(t,   s, f) { s = t; f = "000"; if (index(t, ".")) { s = substr(t, 1, index(t, ".") - 1); f = substr(t, index(t, ".") + 1) "000" }
        return s * 1000 + substr(f, 1, 3) }
    /^#/ { next }
    !hdr { for (i = 1; i <= NF; i++) c[$i] = i; hdr = 1; next }
    ($c["proto"] == 6 || $c["proto"] == 17) && $c["sport"] != "" {
        a = $c["src"] " " $c["sport"]; b = $c["dst"] " " $c["dport"]
        k = $c["proto"] " " (a < b ? a " " b : b " " a)
        f = ms($c["first"]); l = ms($c["last"])
        if (!(k in lo) || f < lo[k]) lo[k] = f
        if (!(k in hi) || l > hi[k]) hi[k] = l
    }
    END { for (k in lo) printf "%s\t%.0f\t%.0f\n", k, lo[k], hi[k] }' "$1" | LC_ALL=C sort
}

# show_diff REF OURS: one line per 5-tuple whose counts differ, both sides.
show_diff() {
    printf "  %-72s %-24s %s\n" "proto src sport dst dport (empty port = none)" "tshark" "flowsleuth" >&2
    awk -F'\t' '
    FNR == NR { r[$1] = $2 " pkts " $3 " B " $4 " pl " $5 " fl"; next }
    { o[$1] = $2 " pkts " $3 " B " $4 " pl " $5 " fl" }
    END {
        for (k in r) if (!(k in o)) printf "  %-72s %-24s %s\n", k, r[k], "-"
        for (k in o) if (!(k in r)) printf "  %-72s %-24s %s\n", k, "-", o[k]
        for (k in r) if ((k in o) && r[k] != o[k]) printf "  %-72s %-24s %s\n", k, r[k], o[k]
    }' "$1" "$2" | LC_ALL=C sort >&2
}

bad=""
n=0
if [ -d "$FS_DATA/pcap" ]; then
    set -- "$FS_DATA"/pcap/*.pcap
    [ -e "$1" ] || fail "no captures in $FS_DATA/pcap"
else
    [ -z "${FS_NO_SKIP:-}" ] || fail "$FS_DATA/pcap not found (FS_NO_SKIP is set)"
    echo "note: $FS_DATA/pcap not found: only the bundled captures are compared"
    set --
fi
for cap in "$@" "$FS_SRC"/tests/data/*.pcap; do
    name=$(basename "$cap" .pcap)
    # tests/data holds captures without a reference too (apt_download.pcap).
    case $cap in "$FS_SRC"/tests/data/*) [ -f "$cap.flows.tsv" ] || continue; name="bundled-$name" ;; esac
    ref="$cap.flows.tsv"
    [ -f "$ref" ] || fail "$ref missing"
    fs meter -r "$cap" -w "$T/$name.fsf" --idle 100000 --active 100000 \
        || fail "meter failed on $cap"
    fs print -r "$T/$name.fsf" -o csv >"$T/$name.csv" || fail "print failed on $name"
    csv_to_uni "$T/$name.csv" >"$T/$name.uni" || fail "cannot read the CSV of $name ($T/$name.csv)"
    norm_ours <"$T/$name.uni" >"$T/$name.ours"
    norm_ref "$ref" >"$T/$name.ref" || fail "cannot read $ref"
    [ -s "$T/$name.ref" ] || fail "$ref holds no flows"
    if cmp -s "$T/$name.ref" "$T/$name.ours"; then
        echo "ok   $name: $(wc -l <"$T/$name.ref") unidirectional 5-tuples match tshark (packets, bytes, payload, flags)"
    else
        echo "DIFF $name: packets/ip_bytes/payload/flags per 5-tuple differ from $ref:" >&2
        show_diff "$T/$name.ref" "$T/$name.ours"
        bad="$bad $name"
    fi
    times_ours "$T/$name.csv" >"$T/$name.times.ours"
    times_ref "$ref" >"$T/$name.times.ref"
    if cmp -s "$T/$name.times.ref" "$T/$name.times.ours"; then
        echo "ok   $name: first/last of $(wc -l <"$T/$name.times.ref") TCP/UDP connections match tshark to the ms"
    else
        echo "DIFF $name: connection times differ (< tshark, > flowsleuth; proto ends first_ms last_ms):" >&2
        diff "$T/$name.times.ref" "$T/$name.times.ours" | grep '^[<>]' | head -20 >&2 || true
        bad="$bad $name(times)"
    fi
    n=$((n + 1))
done

# Cross-check with tshark's own conversation tables (frames per direction).
# conv_to_uni PROTO: `tshark -z conv,X` table -> "proto src sport dst dport<TAB>frames".
# Row: "A:pa <-> B:pb  F(<-) N unit  F(->) N unit  ..."; "<-" counts B->A, "->" A->B.
# IPv6 addresses contain colons: the port is after the last one.
conv_to_uni() {
    awk -v p="$1" -v OFS='\t' '
    function host(x) { sub(/:[0-9]+$/, "", x); return x }
    function port(x) { sub(/.*:/, "", x); return x }
    $2 == "<->" {
        a = host($1); pa = port($1); b = host($3); pb = port($3)
        f[p " " b " " pb " " a " " pa] += $4
        f[p " " a " " pa " " b " " pb] += $7
    }
    END { for (k in f) if (f[k] > 0) print k, f[k] }' | LC_ALL=C sort
}

if optional "the conversation cross-check" tshark; then
    for x in dns_ipv4_ipv6_udp_tcp:tcp dns_ipv4_ipv6_udp_tcp:udp \
             http_browse_13_connections:tcp http_windowsupdate_exe_range_requests:tcp; do
        name=${x%:*}
        l4=${x#*:}
        [ -f "$T/$name.uni" ] || continue
        pn=6
        [ "$l4" = udp ] && pn=17
        # Reassembly off as for the tsv: a non-first fragment is no UDP datagram then.
        tshark -r "$FS_DATA/pcap/$name.pcap" -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
            -q -z "conv,$l4" >"$T/$name.conv$l4" 2>"$T/$name.conv$l4.err" \
            || fail "tshark -z conv,$l4 failed on $name: $(cat "$T/$name.conv$l4.err")"
        conv_to_uni "$pn" <"$T/$name.conv$l4" >"$T/$name.conv$l4.ref"
        [ -s "$T/$name.conv$l4.ref" ] || fail "no $l4 conversations parsed from tshark for $name"
        # Ours: this protocol, real ports only (fragments without ports are no conversation).
        awk -F'\t' -v OFS='\t' -v p="$pn" '$1 == p && !($3 == 0 && $5 == 0) {
                f[$1 " " $2 " " $3 " " $4 " " $5] += $7 }
            END { for (k in f) print k, f[k] }' "$T/$name.uni" | LC_ALL=C sort >"$T/$name.conv$l4.ours"
        if cmp -s "$T/$name.conv$l4.ref" "$T/$name.conv$l4.ours"; then
            echo "ok   $name: frames per direction match tshark -z conv,$l4 ($(wc -l <"$T/$name.conv$l4.ref") directions)"
        else
            echo "DIFF $name: frames per direction differ from tshark -z conv,$l4 (< tshark, > flowsleuth):" >&2
            diff "$T/$name.conv$l4.ref" "$T/$name.conv$l4.ours" | grep '^[<>]' >&2 || true
            bad="$bad $name(conv,$l4)"
        fi
    done
fi

[ -z "$bad" ] || fail "flows differ from tshark for:$bad (files in $T)"
echo "all $n captures match"
