#!/bin/bash
# Quick start 2 (and CI): install what is missing, then every stage of the suite:
#   1 format   clang-format check + banned-function grep
#   2 release  gcc -O2 -Werror build, whole ctest suite (unit, e2e, fuzz corpora)
#   3 sanitize clang ASan+UBSan build, whole ctest suite again
#   3b tsan    clang ThreadSanitizer build, whole ctest suite with 3 decoder threads
#   4 fuzz     each libFuzzer target for FS_FUZZ_SECONDS (default 20) from its corpus
#   5 lint     clang-tidy (.clang-tidy) over src/, every finding an error
#   6 package  dpkg-buildpackage -us -uc of debian/ and lintian (errors and warnings fail)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)
passed=0
failed=0
skipped=0
log=$(mktemp)
skips=$(mktemp)
trap 'rm -f "$log" "$skips"' EXIT
# In CI everything the suite needs is installed (scripts/deps.sh test, as root, with
# ../shared beside the clone): a test that skips there hides a regression, so it fails.
if [ -n "${CI:-}" ]; then
    export FS_NO_SKIP=1
fi

stage() { printf '\n===== %s =====\n' "$*"; }

# count_ctest DIR: add the run's passed, failed and skipped tests (ctest counts a skip
# as passed in "100% tests passed"; here it is counted apart, with its reason).
count_ctest() {
    local line t f s
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
    [ -n "$line" ] || { failed=$((failed + 1)); return; }
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
    t=$(echo "$line" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
    s=$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)$' "$log" || true)
    passed=$((passed + t - f - s))
    failed=$((failed + f))
    skipped=$((skipped + s))
    # The reasons: every "SKIP: ..." line the tests printed (e2e lib.sh, unit FS_SKIP).
    if [ "$s" != 0 ] && [ -f "$1/Testing/Temporary/LastTest.log" ]; then
        grep -h 'SKIP: ' "$1/Testing/Temporary/LastTest.log" | sed "s|^|  skipped in $1: |" >>"$skips" || true
    fi
}

stage "0 dependencies"
bash scripts/deps.sh test
# The three builds and their tests need about 1 GB; say so up front when the disk is
# short, since a full disk shows up later as unrelated-looking test failures.
free_mb=$(df -Pm . | awk 'NR == 2 { print $4 }')
echo "disk: ${free_mb} MB free in $root"
[ "${free_mb:-0}" -ge 1024 ] || echo "warning: under 1 GB free; builds and tests may fail for want of space" >&2

stage "1 format"
files=$(find src tests fuzz -name '*.c' -o -name '*.h' | grep -v '/corpus/')
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok)\s*\(' $files; then
    echo "banned function used (see above)" >&2
    exit 1
fi

stage "2 release build (gcc) + ctest"
CC=gcc bash scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DFS_WERROR=ON
set +e
(cd build && ctest -j"$jobs" --output-on-failure) 2>&1 | tee "$log"
rc1=${PIPESTATUS[0]}
set -e
count_ctest build

stage "3 ASan+UBSan build (clang) + ctest"
CC=clang bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DFS_WERROR=ON \
    -DFS_SANITIZE=address,undefined
set +e
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j"$jobs" --output-on-failure) 2>&1 |
    tee "$log"
rc2=${PIPESTATUS[0]}
set -e
count_ctest build-asan

stage "3b ThreadSanitizer build (clang) + ctest"
# The store reader decodes on threads; FS_READ_THREADS=3 runs more decoders than this
# machine has CPUs, so hand-offs between them and the caller interleave in every way.
CC=clang bash scripts/build.sh build-tsan -DCMAKE_BUILD_TYPE=Debug -DFS_WERROR=ON \
    -DFS_SANITIZE=thread
set +e
(cd build-tsan && FS_READ_THREADS=3 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest -j"$jobs" --output-on-failure) 2>&1 | tee "$log"
rc4=${PIPESTATUS[0]}
set -e
count_ctest build-tsan

stage "4 fuzz smoke (libFuzzer)"
CC=clang bash scripts/build.sh build-fuzz -DCMAKE_BUILD_TYPE=Debug -DFS_FUZZ=ON \
    -DFS_SANITIZE=address,undefined
rc3=0
for t in build-fuzz/fuzz_*; do
    case "$t" in *_regress) continue ;; esac
    [ -x "$t" ] || continue
    name=$(basename "$t")
    corpus="$root/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    echo "fuzzing $name for ${FS_FUZZ_SECONDS:-20} s"
    if "$t" -max_total_time="${FS_FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=0 "$work" "$corpus" >"$work.log" 2>&1; then
        passed=$((passed + 1))
    else
        tail -40 "$work.log"
        echo "FUZZ FAILURE in $name" >&2
        failed=$((failed + 1))
        rc3=1
    fi
    rm -rf "$work" "$work.log"
done

stage "5 lint (clang-tidy)"
# The release build's compile_commands.json: every flag in CMakeLists is one clang knows.
rc5=0
bash scripts/lint.sh -p build || rc5=1

stage "6 Debian package (dpkg-buildpackage + lintian)"
rc6=0
if bash scripts/package.sh; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    rc6=1
fi

echo
if [ "$skipped" != 0 ]; then
    echo "skipped tests (a tool, privilege or data set missing):"
    cat "$skips"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$rc5" = 0 ] || echo "lint: clang-tidy findings (stage 5 above)" >&2
[ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ "$rc3" = 0 ] && [ "$rc4" = 0 ] && [ "$rc5" = 0 ] &&
    [ "$rc6" = 0 ] &&
    [ "$failed" = 0 ]
