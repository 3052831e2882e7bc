#!/bin/bash
# CI stage 5 (lint): clang-tidy with the repository's .clang-tidy over src/.
# Usage: scripts/lint.sh [-p BUILD_DIR] [-j JOBS] [FILE.c ...]
#   BUILD_DIR  holds compile_commands.json (default build/; configured with cmake if missing)
#   JOBS       parallel clang-tidy processes (default 2: the CI machine has 2 cores)
#   FILE.c     sources to check (default src/main.c and src/*/*.c)
# Prints every finding (a finding in a header is printed once, not once per file that
# includes it), then a count per file, and exits 1 if there is any. Findings can only be
# in the files checked and in headers under src/ (.clang-tidy's HeaderFilterRegex).
set -euo pipefail

build=build
jobs=2
while getopts 'p:j:h' opt; do
    case $opt in
    p) build=$OPTARG ;;
    j) jobs=$OPTARG ;;
    h)
        sed -n '2,9s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        sed -n '2,9s/^# \{0,1\}//p' "$0" >&2
        exit 2
        ;;
    esac
done
shift $((OPTIND - 1))

# File arguments are relative to the caller's directory; make them absolute before cd.
files=()
for f in "$@"; do
    [ -f "$f" ] || { echo "lint: no such file: $f" >&2; exit 2; }
    case $f in
    *.c) files+=("$(realpath "$f")") ;;
    *) echo "lint: skipping $f (only .c files are in compile_commands.json)" >&2 ;;
    esac
done
case $build in /*) ;; *) build=$(realpath -m "$build") ;; esac

cd "$(dirname "$0")/.."
root=$(pwd)
if [ $# -eq 0 ]; then
    files=("$root"/src/main.c "$root"/src/*/*.c)
fi
[ ${#files[@]} -gt 0 ] || { echo "lint: nothing to check" >&2; exit 2; }

# Without its compile command clang-tidy guesses the flags (no -I, no -D) and reports
# nonsense, so every file must be in the database; a file added since cmake last ran
# is not, and one more configure (the source globs) brings it in.
missing_from_db() {
    local f
    for f in "${files[@]}"; do
        grep -qF "\"file\": \"$f\"" "$build/compile_commands.json" || echo "$f"
    done
}
if [ ! -f "$build/compile_commands.json" ] || [ -n "$(missing_from_db)" ]; then
    echo "lint: configuring $build for compile_commands.json" >&2
    if [ -f "$build/CMakeCache.txt" ]; then
        cmake -S "$root" -B "$build" >/dev/null
    else
        cmake -S "$root" -B "$build" -G Ninja >/dev/null
    fi
    missing=$(missing_from_db)
    if [ -n "$missing" ]; then
        printf 'lint: not in %s/compile_commands.json: %s\n' "$build" "$missing" >&2
        exit 2
    fi
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# One clang-tidy per file so that xargs -P spreads the work; each writes its own log and
# exit status (parallel output to one stream would interleave).
# shellcheck disable=SC2016 # the sh -c script expands its own arguments
printf '%s\n' "${files[@]}" |
    xargs -P"$jobs" -I{} sh -c '
        log="$2/$(printf %s "$3" | tr / _).log"
        clang-tidy -p "$1" --quiet --warnings-as-errors="*" "$3" >"$log" 2>&1
        echo $? >"$log.rc"' sh "$build" "$out" {}

# A diagnostic starts at "FILE:LINE:COL: warning|error:"; the source excerpt and notes
# after it belong to it. Print each diagnostic once (headers are seen by many files) and
# drop clang-tidy's "N warnings generated" chatter.
summary=$out/summary
for f in "${files[@]}"; do cat "$out/$(printf %s "$f" | tr / _).log"; done |
    awk -v root="$root/" -v sum="$summary" '
        /^[0-9]+ (warnings?|errors?)( and [0-9]+ errors?)? (generated|treated as errors)\.?$/ { next }
        /^Suppressed [0-9]+ warnings/ || /^Use -header-filter=/ { next }
        /^[^ ]+:[0-9]+:[0-9]+: (warning|error|note): / {
            # src/io/../core/rd.h -> src/core/rd.h, so that a header is one key
            while (sub(/\/[^\/.][^\/]*\/\.\.\//, "/")) { }
        }
        /^[^ ]+:[0-9]+:[0-9]+: (warning|error): / {
            key = $0
            show = !(key in seen)
            seen[key] = 1
            if (show) {
                file = $0
                sub(/:[0-9]+:[0-9]+: .*/, "", file)
                if (index(file, root) == 1)
                    file = substr(file, length(root) + 1)
                print file >> sum
            }
        }
        show { print }'

rc=0
failed=0
for f in "${files[@]}"; do
    log="$out/$(printf %s "$f" | tr / _).log"
    # A non-zero status without any diagnostic (no compile command, crash) is a failure
    # that the finding count would miss.
    if [ "$(cat "$log.rc")" != 0 ] && ! grep -qE ':[0-9]+:[0-9]+: (warning|error): ' "$log"; then
        echo "lint: clang-tidy failed on ${f#"$root"/}:" >&2
        cat "$log" >&2
        failed=$((failed + 1))
    fi
done
if [ -s "$summary" ]; then
    echo "lint: $(wc -l <"$summary") finding(s):"
    sort "$summary" | uniq -c | sort -k2 | awk '{ printf "  %-36s %d\n", $2, $1 }'
    rc=1
fi
[ "$failed" -eq 0 ] || rc=1
[ "$rc" -ne 0 ] || echo "lint: ${#files[@]} file(s) clean"
exit "$rc"
