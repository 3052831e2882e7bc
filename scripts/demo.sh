#!/bin/sh
# Quick start 1: install what is missing, build, and run the main job on bundled data:
# meter a real capture of apt-get downloading five Debian packages (four of them
# pipelined on one connection), match its exchanges against a catalogue built from a
# Debian Packages index, and print the host inventory; then the flows of a second
# capture (five Windows Update downloads).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh build
sh scripts/build.sh build -DCMAKE_BUILD_TYPE=Release
fs=./build/flowsleuth
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== flowsleuth catalog debian -o cat.tsv tests/data/apt_Packages" >&2
$fs catalog debian --suite bookworm -o "$tmp/cat.tsv" tests/data/apt_Packages
echo "== flowsleuth meter --split -r tests/data/apt_download.pcap -w flows.fsf" >&2
$fs meter --split -r tests/data/apt_download.pcap -w "$tmp/flows.fsf"
echo "== flowsleuth match -c cat.tsv -r flows.fsf" >&2
$fs match -c "$tmp/cat.tsv" -r "$tmp/flows.fsf"
echo "== flowsleuth inventory -c cat.tsv -r flows.fsf" >&2
$fs inventory -c "$tmp/cat.tsv" -r "$tmp/flows.fsf"
cap=tests/data/http_windowsupdate_cab_5_connections.pcap
echo "== flowsleuth meter -r $cap -w - | flowsleuth print" >&2
$fs meter -r "$cap" -w - | $fs print
