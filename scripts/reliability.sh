#!/usr/bin/env bash
# The reliability campaign of RELIABILITY.md: kills at random moments, an API that misbehaves,
# full and read-only disks, the state folder deleted, clock jumps, a soak. Its slow end-to-end
# suites (ReliabilityTests, MachineTests, DiskTests) run only with COURSEGEN_RELIABILITY set, which
# this script sets (a plain `swift test` skips them, saying so; CI runs this script). Short by
# default; --long runs each case longer (20 kills instead of 6, a soak of 50 outlines and 3,000
# saves instead of 10 and 60). Prints one table of figures, for RELIABILITY.md.
#
#   scripts/reliability.sh            the short campaign (about a minute and a half, build excluded)
#   scripts/reliability.sh --long     the long one (about ten minutes)
#
# The disk cases mount tmpfs in a private mount namespace: they need root, and say they were
# skipped otherwise.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

if [[ ${1:-} == --long ]]; then export COURSEGEN_RELIABILITY=long; else export COURSEGEN_RELIABILITY=short; fi
swift build --build-tests >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test --skip-build \
    --filter 'ReliabilityTests|MachineTests|DiskTests|wallClockJumps|dailyStopFollowsWallClock|OutlineFuzzTests|OutlinePropertyTests|OutlineCorpusTests|ChapterSanitizerTests|SanitizeCommandTests|UnicodeNamesTests' \
    >"$log" 2>&1 || status=$?
grep -E '^(✘|◇ Test .* skipped|✔ Test run|✘ Test run)' "$log" >&2 || true
echo "| case | figures |"
echo "| --- | --- |"
grep '^RELIABILITY | ' "$log" | sed -E 's/^RELIABILITY \| ([^|]*) \| (.*)$/| \1 | \2 |/'
exit "$status"
