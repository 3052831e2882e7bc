# Loopback ports for the tests that listen (collector, ClickHouse, serve): source after
# lib.sh.

# free_port N: a port free for both UDP and TCP on this machine. Chosen below the
# kernel's ephemeral range (an outgoing connection's local port there made a server's
# bind fail in CI), spread by the test's pid and N, and reserved for this run with an
# atomic mkdir under FS_TMP, so that tests running side by side never take the same one
# between one's look and the other's bind. Reservations older than an hour are stale.
free_port() {
    _lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$_lo" -gt 12000 ] || _lo=32768
    _span=$((_lo - 11000))
    _r="$FS_TMP/.ports"
    mkdir -p "$_r"
    find "$_r" -mindepth 1 -maxdepth 1 -mmin +60 -exec rmdir {} + 2>/dev/null || true
    _p=$((10000 + ($$ * 7 + $1 * 101) % _span))
    _tries=0
    while ss -Hlutn "sport = :$_p" | grep -q . || ! mkdir "$_r/$_p" 2>/dev/null; do
        _p=$((_p + 1))
        [ "$_p" -lt $((_lo - 1000)) ] || _p=10000
        _tries=$((_tries + 1))
        [ "$_tries" -lt "$_span" ] || fail "no free port below $_lo"
    done
    echo "$_p"
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
