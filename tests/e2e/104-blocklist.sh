#!/bin/sh
# flowsleuth blocklist fed by real detector output (scan -o json on scan_pcap.py's
# traffic): the scanners listed; refresh keeps the later expiry and counts hits; entries
# expire at their TTL; the allow list always wins (never added, and removes what was
# added before); a corrupt state is set aside and not trusted; bad input lines named;
# the ipset restore file; and, as root, the nftables script loaded with nft -f in a
# network namespace really drops a blocked client's packets until it is allowed.
. "$(dirname "$0")/lib.sh"

need python3
python3 "$FS_SRC/tests/e2e/scan_pcap.py" "$T/scan.pcap" || fail "scan_pcap.py"
fs meter -r "$T/scan.pcap" -w "$T/s.fl" || fail "meter"
fs scan -r "$T/s.fl" -o json >"$T/scan.json" || fail "scan"
python3 -c 'import json,sys; [print(json.loads(l)["src"]) for l in sys.stdin]' <"$T/scan.json" |
    sort >"$T/scanners"
[ "$(wc -l <"$T/scanners")" -ge 3 ] || fail "scan found $(wc -l <"$T/scanners") scanners"

# bl ARGS...: blocklist on state $T/st, stderr kept in $T/bl.err.
bl() {
    fs blocklist --state "$T/st" "$@" 2>"$T/bl.err"
}
T0=2026-12-01T00:00

bl --now "$T0" --ttl 1h <"$T/scan.json" | sort >"$T/list" || fail "blocklist: $(cat "$T/bl.err")"
expect_same "$T/scanners" "$T/list"
head -n 1 "$T/st" | grep -qx 'flowsleuth-blocklist 1' || fail "state header"
n=$(wc -l <"$T/scanners")
grep -q "$n entries: $n added" "$T/bl.err" || fail "counts: $(cat "$T/bl.err")"

# Seen again 30 minutes later: one more hit, expiry at +90 min.
bl --now 2026-12-01T00:30 --ttl 1h <"$T/scan.json" >/dev/null || fail "refresh"
grep -q "$n refreshed" "$T/bl.err" || fail "refresh counts: $(cat "$T/bl.err")"
first=$(head -n 1 "$T/scanners")
grep -q "^$first 1796088600000 1796083200000 2 -\$" "$T/st" || fail "refreshed entry: $(grep "^$first " "$T/st")"
bl --now 2026-12-01T01:29 -n | sort >"$T/list" || fail "-n"
expect_same "$T/scanners" "$T/list"
bl --now 2026-12-01T01:31 -n >"$T/list" || fail "-n after expiry"
[ ! -s "$T/list" ] || fail "entries left after their TTL: $(cat "$T/list")"

# The allow list wins: an allowed scanner is never added, and drops out of a list that
# held it before it was allowed (a prefix allowed covers it too).
bl --now "$T0" <"$T/scan.json" >/dev/null || fail "refill"
echo "$first/32  # our own vulnerability scanner" >"$T/allow"
bl --now "$T0" -n --allow "$T/allow" >"$T/list" || fail "--allow"
grep -qx "$first" "$T/list" && fail "--allow: $first still listed"
[ "$(wc -l <"$T/list")" = $((n - 1)) ] || fail "--allow dropped more than one: $(cat "$T/list")"
bl --now "$T0" --allow "$T/allow" <"$T/scan.json" >"$T/list" || fail "--allow with input"
grep -qx "$first" "$T/list" && fail "--allow: $first added"
grep -q ", 1 allowed," "$T/bl.err" || fail "allowed count: $(cat "$T/bl.err")"

# Formats: ipset restore lines with the time left; the plain list is the default.
bl --now 2026-12-01T06:00 -n -o ipset --name fsbl >"$T/ipset" || fail "-o ipset"
head -n 4 "$T/ipset" | grep -qx 'create fsbl-4 hash:net family inet timeout 86400 -exist' ||
    fail "ipset header: $(head -n 4 "$T/ipset")"
grep -c "^add fsbl-4 .* timeout 64800 -exist\$" "$T/ipset" | grep -qx $((n - 1)) ||
    fail "ipset entries: $(cat "$T/ipset")"

# A corrupt state is set aside (not trusted in part), the run starts empty, exits 1.
sed '3s/ [0-9]* / x /' "$T/st" >"$T/st.bad" && mv "$T/st.bad" "$T/st"
rc=0
bl --now "$T0" -n >"$T/list" || rc=$?
[ "$rc" = 1 ] || fail "corrupt state: exit $rc"
grep -q "st:3: field 2 is not valid; set aside as $T/st.corrupt.1796083200" "$T/bl.err" ||
    fail "corrupt state: $(cat "$T/bl.err")"
[ -f "$T/st.corrupt.1796083200" ] || fail "not set aside"
[ ! -s "$T/list" ] || fail "a corrupt state was trusted: $(cat "$T/list")"
head -n 1 "$T/st" | grep -qx 'flowsleuth-blocklist 1' || fail "no fresh state"

# Bad input: named by line, the rest still read, exit 1.
printf '{"src":"192.0.2.1"}\nnot json\n{"src":"nonsense"}\n{"ip":"192.0.2.2"}\n' >"$T/bad.json"
rc=0
bl --now "$T0" <"$T/bad.json" >"$T/list" || rc=$?
[ "$rc" = 1 ] || fail "bad input: exit $rc"
grep -q 'stdin:2: not a JSON object' "$T/bl.err" || fail "line 2: $(cat "$T/bl.err")"
grep -q "stdin:3: src 'nonsense' is not an address or prefix" "$T/bl.err" || fail "line 3"
grep -q "1 lines without 'src'" "$T/bl.err" || fail "line 4: $(cat "$T/bl.err")"
grep -qx 192.0.2.1 "$T/list" || fail "good line not added"

# Usage.
for args in "" "--state $T/x --ttl 0" "--state $T/x -o pf" "--state $T/x --name a.b"; do
    rc=0
    # shellcheck disable=SC2086
    fs blocklist $args -n >/dev/null 2>&1 || rc=$?
    [ "$rc" = 2 ] || fail "blocklist $args: exit $rc, not 2"
done

# nft -f in a network namespace: the client is blocked, then allowed.
if optional "nftables in a namespace" root nft curl; then
    . "$FS_SRC/tests/e2e/netns.sh"
    srv_pid=""
    cleanup() {
        if [ -n "$srv_pid" ]; then stop "$srv_pid"; fi
        netns_del
    }
    trap cleanup EXIT
    trap 'cleanup; trap - EXIT; exit 130' INT TERM HUP
    netns_setup bl 10.204
    mkdir -p "$T/www" && echo hello >"$T/www/index.html"
    start_http "$T/www" 8080
    get() { in_c curl -s -m 2 "http://$SRV:8080/index.html"; }
    [ "$(get)" = hello ] || fail "no HTTP before blocking"
    rm -f "$T/st"
    printf '{"src":"%s","detector":"scan"}\n{"src":"2001:db8::66"}\n' "$CLI" |
        bl --now "$T0" -o nft >"$T/bl.nft" || fail "-o nft: $(cat "$T/bl.err")"
    in_s nft -f "$T/bl.nft" 2>"$T/nft.err" || fail "nft -f: $(cat "$T/nft.err")"
    in_s nft -f "$T/bl.nft" 2>"$T/nft.err" || fail "nft -f a second time: $(cat "$T/nft.err")"
    in_s nft 'add chain inet flowsleuth input { type filter hook input priority 0; }' ||
        fail "nft chain"
    in_s nft add rule inet flowsleuth input ip saddr @block4 drop || fail "nft rule"
    in_s nft list set inet flowsleuth block6 | grep -q '2001:db8::66' || fail "block6"
    get >/dev/null && fail "HTTP still answered from a blocked client"
    echo "$CLI" >"$T/allow"
    bl --now "$T0" -n -o nft --allow "$T/allow" >"$T/bl2.nft" || fail "-o nft --allow"
    in_s nft -f "$T/bl2.nft" 2>"$T/nft.err" || fail "nft -f, allowed: $(cat "$T/nft.err")"
    [ "$(get)" = hello ] || fail "no HTTP after the client was allowed"
fi
exit 0
