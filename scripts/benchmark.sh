#!/usr/bin/env bash
# coursegen's benchmark, one command: builds the release binaries as scripts/install.sh does
# (static Swift runtime), stages an install of coursegen with scripts/install.sh --destdir, and
# runs every scenario of BENCHMARKS.md with coursegen-bench, which prints one table: figure,
# value, target, holds. Every scenario at its full size took 10 minutes on 2 quiet cores
# (BENCHMARKS.md), builds excluded (the first release build takes 10 to 45 minutes, by the
# cores' load).
#
#   scripts/benchmark.sh                      every scenario
#   scripts/benchmark.sh --only 1,9           some of them
#   scripts/benchmark.sh --idle-seconds 20    a shorter idle watch (scenario 7)
#   scripts/benchmark.sh --max-chapters 60    leaves out (and says so) courses above 60 chapters
#   scripts/benchmark.sh --help               coursegen-bench's options
#
# The report (Markdown, for BENCHMARKS.md) is also written to .build-release/benchmark-report.md.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

# A scratch path of its own: the debug build (.build) and this one can then run at the same time
# (SwiftPM locks its build folder), and neither evicts the other's products.
flags=(-c release --static-swift-stdlib --scratch-path .build-release)
for product in coursegen fake-gemini coursegen-bench; do
    swift build "${flags[@]}" --product "$product" >&2
done
bin=$(swift build "${flags[@]}" --show-bin-path)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
scripts/install.sh install --destdir "$stage" --binary "$bin/coursegen" >/dev/null

"$bin/coursegen-bench" \
    --coursegen "$bin/coursegen" \
    --fake-gemini "$bin/fake-gemini" \
    --installed-binary "$stage/usr/local/bin/coursegen" \
    --command "scripts/benchmark.sh${*:+ $*}" \
    --toolchain "$(swift --version 2>/dev/null | head -n 1)" \
    --markdown .build-release/benchmark-report.md \
    "$@"
