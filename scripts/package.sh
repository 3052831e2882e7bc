#!/bin/sh
# Build the Debian package from the checkout's files (tracked and new, not ignored) in
# a scratch copy, then lintian it: any error or warning fails.
# Usage: scripts/package.sh [OUTDIR]   (default: a temporary folder, removed after)
set -eu
cd "$(dirname "$0")/.."
out=${1:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/flowsleuth-src"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$work/flowsleuth-src"
# The package's own tests (unit tests, fuzz corpora) run in a copy without ../shared:
# the tests that need the shared captures skip there, as in any package build, so the
# suite's rule that a skip fails (FS_NO_SKIP, set in CI) does not apply to it.
(cd "$work/flowsleuth-src" && env -u FS_NO_SKIP dpkg-buildpackage -us -uc >"$work/build.log" 2>&1) || {
    tail -40 "$work/build.log" >&2
    echo "package: dpkg-buildpackage failed" >&2
    exit 1
}
deb=$(ls "$work"/flowsleuth_*.deb)
echo "package: built $(basename "$deb"): $(dpkg-deb -c "$deb" | wc -l) entries"
# lintian warns when run as root; that is not about the package.
lintian --fail-on error,warning "$work"/flowsleuth_*.changes 2>&1 | grep -v 'running with root privileges' || true
lintian --fail-on error,warning "$work"/flowsleuth_*.changes >/dev/null 2>&1 || {
    echo "package: lintian found errors or warnings (above)" >&2
    exit 1
}
echo "package: lintian clean"
if [ -n "$out" ]; then
    mkdir -p "$out"
    cp "$work"/flowsleuth_* "$out"/
fi
