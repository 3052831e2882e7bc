#!/bin/sh
# Configure and build into DIR (default build/) with extra cmake arguments.
# Usage: scripts/build.sh [DIR] [CMAKE ARGS...]
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
ninja -C "$dir" >/dev/null
