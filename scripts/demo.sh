#!/bin/sh
# Quick start 1: install what is missing, build, and run the main job on bundled data:
# meter a real capture (five Windows Update downloads) and print its flows.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh build
sh scripts/build.sh build -DCMAKE_BUILD_TYPE=Release
cap=tests/data/http_windowsupdate_cab_5_connections.pcap
echo "== flowsleuth meter -r $cap -w - | flowsleuth print" >&2
./build/flowsleuth meter -r "$cap" -w - | ./build/flowsleuth print
