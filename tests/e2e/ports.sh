# Loopback ports for the collector tests (085-088): source after lib.sh.

# free_port N: a port free for both UDP and TCP on this machine, spread by the test's
# pid and N so that tests running side by side start their search apart.
free_port() {
    p=$((30000 + ($$ * 7 + $1 * 101) % 20000))
    while ss -Hlutn "sport = :$p" | grep -q .; do p=$((p + 1)); done
    echo "$p"
}

# wait_udp PORT: until something listens on it (no fixed sleeps; 10 s at most).
wait_udp() {
    n=0
    until ss -Hlun "sport = :$1" | grep -q .; do
        n=$((n + 1))
        [ "$n" -gt 200 ] && fail "nothing listens on udp $1"
        sleep 0.05
    done
}

# wait_drained PORT: until the kernel holds no unread datagram for the listener (20 s).
wait_drained() {
    n=0
    while [ "$(ss -Hlun "sport = :$1" | awk '{ s += $2 } END { print s + 0 }')" != 0 ]; do
        n=$((n + 1))
        [ "$n" -gt 400 ] && fail "udp $1 not drained"
        sleep 0.05
    done
}
