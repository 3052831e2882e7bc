#!/bin/sh
# ctest runs each end-to-end test through this: the test's work folder is removed when
# it passes (set FS_KEEP=1 to keep it), so a run of the suite does not hold every
# test's captures and stores on disk at once; a failed or skipped test keeps its own.
test=$1
sh "$test"
rc=$?
if [ "$rc" = 0 ] && [ -z "${FS_KEEP:-}" ] && [ -n "${FS_TMP:-}" ]; then
    rm -rf "$FS_TMP/$(basename "$test" .sh)"
fi
exit "$rc"
