#!/usr/bin/env bash
# Runs every test: builds once, then the watcher's suites, the engine's, then the command's.
#
#   scripts/test.sh [ARGUMENTS FOR swift test]
#
# Three runs rather than one `swift test`: many tests follow real time with deadlines (inotify
# events, periodic scans, hung requests, quota windows), and in one process with all ~650 tests
# (daemons, fake servers and parsers running in parallel) a two-core machine starved them for tens
# of seconds. Each group still runs its own tests in parallel.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

swift build --build-tests
status=0
swift test --skip-build --filter WatcherTests "$@" || status=$?
swift test --skip-build --filter 'GenerationTests|BenchmarkTests' "$@" || status=$?
swift test --skip-build --skip 'WatcherTests|GenerationTests|BenchmarkTests' "$@" || status=$?
exit "$status"
