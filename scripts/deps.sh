#!/bin/sh
# Install what flowsleuth needs from Debian's packages, only what is missing.
# Usage: scripts/deps.sh [build|test|bench]   (each level includes the ones before)
set -eu
level=${1:-build}
pkgs="cmake ninja-build gcc pkg-config libpcap-dev liblz4-dev libzstd-dev libcmocka-dev zlib1g-dev liblzma-dev liblzo2-dev libbz2-dev libcurl4-openssl-dev libxml2-dev libjansson-dev libsystemd-dev libssl-dev libjs-d3 libmicrohttpd-dev libmaxminddb-dev"
if [ "$level" = test ] || [ "$level" = bench ]; then
    # clang + runtime for the sanitizer and libFuzzer builds; the rest are the
    # independent decoders and the tools the end-to-end tests drive.
    pkgs="$pkgs clang libclang-rt-14-dev clang-format tshark tcpdump nftables ethtool iproute2 curl python3 gawk mmdb-bin softflowd nfdump nginx-light nmap debhelper lintian fakeroot dpkg-dev chromium chromium-driver"
    # The ClickHouse tests (110-): Debian's server and client (18.16), on loopback.
    pkgs="$pkgs clickhouse-server clickhouse-client"
fi
if [ "$level" = bench ]; then
    pkgs="$pkgs softflowd nfdump time"
fi
# The suite runs network namespaces, tcpdump on lo and collectors that drop to another
# user: without root six tests could only skip, and a run that skips is no green run.
if [ "$level" != build ] && [ "$(id -u)" != 0 ] && [ -z "${FS_ALLOW_SKIP:-}" ]; then
    echo "deps: the test suite needs root (network namespaces, captures on lo, collect -u);" \
        "FS_ALLOW_SKIP=1 runs it as this user with those tests skipped" >&2
    exit 1
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
