#!/usr/bin/env bash
# Parsing time per KiB of generated outlines of 64 KiB, 256 KiB and 1 MiB (the largest accepted),
# per format and shape, worst cases included; and the time to refuse a 5 MB outline. A flat
# "µs/KiB" column down each shape means parsing grows linearly. Figures go in RELIABILITY.md.
#
#   scripts/outline-scaling.sh [release|debug]     (default: release)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
configuration=${1:-release}
swift build -c "$configuration" --product outline-scaling >&2
"$(swift build -c "$configuration" --show-bin-path)/outline-scaling"
