# Two network namespaces joined by a veth pair, for the e2e tests that need a real
# network (050, 060). Source after lib.sh, then call `netns_setup TAG NET`:
#   namespaces fs-e2e-TAGs-PID / fs-e2e-TAGc-PID, interfaces fsTAGS<pid> / fsTAGC<pid>,
#   SRV=NET.(pid%250).1 in the server namespace, CLI=...2 in the client namespace.
# Addresses are private and only ever configured inside the namespaces: no traffic
# leaves them. IPv6 is off on the veths (no ND/RS/MLD: the traffic is only the test's),
# offloads are off (wire-sized packets in captures). Skips (77) when not root or when
# namespaces cannot be made. The caller's cleanup stops its processes with `stop PID`
# and then calls netns_del.

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"

# stop PID: SIGTERM, wait up to 5 s, then SIGKILL; never hangs.
stop() {
    kill -TERM "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then
            kill -KILL "$1" 2>/dev/null || true
            break
        fi
        sleep 0.05
    done
    wait "$1" 2>/dev/null || true
}

netns_del() {
    ip netns del "$NS_C" 2>/dev/null || true
    ip netns del "$NS_S" 2>/dev/null || true
}

in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

# link_up NS IF: IPv6 off on IF, lo and IF up, offloads off.
link_up() {
    if [ -e /proc/sys/net/ipv6 ]; then
        ip netns exec "$1" sh -c "echo 1 >/proc/sys/net/ipv6/conf/$2/disable_ipv6" \
            >"$T/link-$2.log" 2>&1 || fail "cannot disable IPv6 on $2: $(cat "$T/link-$2.log")"
    fi
    ip netns exec "$1" sh -c "ip link set lo up && ip link set $2 up &&
        ethtool -K $2 tso off gso off gro off" >"$T/link-$2.log" 2>&1 ||
        fail "link setup / ethtool -K on $2 failed: $(cat "$T/link-$2.log")"
}

# netns_setup TAG NET: names above (TAG: 1-2 letters, interface names stay <= 15 chars).
netns_setup() {
    NS_S="fs-e2e-$1s-$$"
    NS_C="fs-e2e-$1c-$$"
    IF_S="fs$1S$$"
    IF_C="fs$1C$$"
    SRV="$2.$(($$ % 250)).1"
    CLI="$2.$(($$ % 250)).2"
    ip netns add "$NS_S" 2>"$T/netns.err" || skip "ip netns add failed: $(cat "$T/netns.err")"
    ip netns add "$NS_C" || fail "ip netns add $NS_C failed"
    ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C" ||
        fail "cannot create the veth pair"
    in_s ip addr add "$SRV/24" dev "$IF_S"
    in_c ip addr add "$CLI/24" dev "$IF_C"
    link_up "$NS_S" "$IF_S"
    link_up "$NS_C" "$IF_C"
}

# start_http DIR PORT [PIN]: python3's http.server serving DIR on SRV:PORT in the server
# namespace (pinned to CPU 0 when PIN is given: LAB-NOTES, spurious retransmissions);
# sets srv_pid and returns once it listens (10 s at most). Its output goes to
# $T/server.log.
start_http() {
    pin=""
    [ -n "${3:-}" ] && pin="taskset -c 0"
    # shellcheck disable=SC2086
    (cd "$1" && exec ip netns exec "$NS_S" $pin python3 -m http.server "$2" --bind "$SRV") \
        >"$T/server.log" 2>&1 &
    srv_pid=$!
    n=0
    until in_s ss -Hltn "sport = :$2" | grep -q LISTEN; do
        kill -0 "$srv_pid" 2>/dev/null || fail "http server died: $(cat "$T/server.log")"
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "http server not listening after 10 s"
        sleep 0.05
    done
}
