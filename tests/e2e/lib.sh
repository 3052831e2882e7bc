# Shared helpers for the end-to-end tests (git's test-lib.sh, much smaller).
# Each test is `sh tests/e2e/NNN-name.sh`, run by ctest with FS_BIN (the flowsleuth
# binary), FS_GEN (the test-data generator), FS_SRC (the source tree) and FS_TMP.
# Exit 0 = pass, 77 = skipped (a tool or privilege is missing), anything else = fail.
set -eu

: "${FS_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${FS_BIN:=$FS_SRC/build/flowsleuth}"
: "${FS_GEN:=$FS_SRC/build/fsgen}"
: "${FS_TMP:=${TMPDIR:-/tmp}/fs-e2e}"
# FS_EXEC_PREFIX runs the binary under a tool, e.g. 'valgrind -q --error-exitcode=1'.
: "${FS_EXEC_PREFIX:=}"
# ../shared/data beside the checkout holds the real captures and their tshark decoding.
: "${FS_DATA:=$FS_SRC/../shared/data}"

T="$FS_TMP/$(basename "$0" .sh)"
rm -rf "$T"
mkdir -p "$T"

fs() {
    # shellcheck disable=SC2086
    $FS_EXEC_PREFIX "$FS_BIN" "$@"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# skip REASON: exit 77, which ctest reports as skipped. Where everything the suite
# needs is installed (CI, or FS_NO_SKIP=1), a skip would hide a regression behind a
# green run: it fails instead.
skip() {
    if [ -n "${FS_NO_SKIP:-}" ]; then
        echo "FAIL: would skip, but FS_NO_SKIP is set (CI): $*" >&2
        exit 1
    fi
    echo "SKIP: $*" >&2
    exit 77
}

need() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
    done
}

# optional PART TOOL...: true when every TOOL is installed ("root" stands for root
# privileges). A test leaves out an optional PART without them, saying so; where the
# suite has everything (FS_NO_SKIP), leaving it out fails.
optional() {
    _part=$1
    shift
    for _t in "$@"; do
        if [ "$_t" = root ]; then
            [ "$(id -u)" = 0 ] && continue
        elif command -v "$_t" >/dev/null 2>&1; then
            continue
        fi
        [ -n "${FS_NO_SKIP:-}" ] && fail "$_part needs $_t (FS_NO_SKIP is set: nothing may be left out)"
        echo "note: $_t missing: $_part left out"
        return 1
    done
    return 0
}

# expect_same EXPECTED ACTUAL: diff -u, fail on any difference.
expect_same() {
    diff -u "$1" "$2" >&2 || fail "$2 differs from $1"
}

# expect_usage EXPECTED-STDERR ARGS...: `flowsleuth ARGS` exits 2 (a usage error) and its
# stderr holds EXPECTED-STDERR.
expect_usage() {
    _want=$1
    shift
    set +e
    fs "$@" >/dev/null 2>"$T/usage.err"
    _rc=$?
    set -e
    [ "$_rc" = 2 ] || fail "$*: exit $_rc, want 2"
    grep -qF -- "$_want" "$T/usage.err" || fail "$*: '$(cat "$T/usage.err")' lacks '$_want'"
}

# chrome ARGS...: headless Chromium (web report and serve) with its profile in $T, a
# tall window, two minutes at most, its stderr in $T/chrome.log; CHROME_FLAGS, when set,
# go before ARGS.
chrome() {
    # shellcheck disable=SC2086
    timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$T/chrome" --window-size=1400,2400 ${CHROME_FLAGS:-} "$@" 2>>"$T/chrome.log"
}

# wait_for_file PATH [SECONDS]: poll until PATH exists (no fixed sleeps).
wait_for_file() {
    n=0
    while [ ! -e "$1" ]; do
        n=$((n + 1))
        [ "$n" -gt $((${2:-10} * 20)) ] && fail "timed out waiting for $1"
        sleep 0.05
    done
}
