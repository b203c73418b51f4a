#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer, the reliability campaign included
# (COURSEGEN_RELIABILITY=short unless set), in three groups (watcher, engine, command): sanitized
# code runs several times slower, and three smaller processes keep each run's memory and the
# time a report takes to find down.
#
#   scripts/sanitize.sh thread|address [ARGUMENTS FOR swift test]
#
# The build goes to a folder of its own (.build-tsan or .build-asan; the first one takes about as
# long as a first normal build, 15 minutes on 2 cores). Every process the tests start (the
# coursegen binary, fake-gemini) is built with the same sanitizer, and every report, from any
# of them, goes to a file in a fresh folder: the run fails if a test fails or if any report was
# written, and prints the reports.
#
# Sanitized code runs several times slower (ThreadSanitizer 5-15 times), so the tests' real-time
# safety nets and windows are widened by COURSEGEN_TEST_TIME_SCALE (Tests/TestSupport/TestTime):
# a run under a sanitizer still checks what every test checks, with more time to do it.
# AddressSanitizer's leak check is off: the Swift runtime's caches live until exit and read as
# leaks.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

kind="${1:-}"
case "$kind" in
    thread) scratch=.build-tsan scale="${COURSEGEN_TEST_TIME_SCALE:-8}" ;;
    address) scratch=.build-asan scale="${COURSEGEN_TEST_TIME_SCALE:-4}" ;;
    *)
        echo "usage: scripts/sanitize.sh thread|address [ARGUMENTS FOR swift test]" >&2
        exit 2
        ;;
esac
shift

reports="$(mktemp -d "${TMPDIR:-/tmp}/coursegen-$kind-reports.XXXXXX")"
flags=(--sanitize="$kind" --scratch-path "$scratch")

swift build --build-tests "${flags[@]}"

export COURSEGEN_TEST_TIME_SCALE="$scale"
export COURSEGEN_RELIABILITY="${COURSEGEN_RELIABILITY:-short}"
# Swift's crash backtracer and the sanitizers both want a crashed process; let the sanitizer
# report it.
export SWIFT_BACKTRACE=enable=no
export TSAN_OPTIONS="log_path=$reports/report halt_on_error=0 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="log_path=$reports/report detect_leaks=0 ${ASAN_OPTIONS:-}"

status=0
swift test --skip-build "${flags[@]}" --filter WatcherTests "$@" || status=$?
swift test --skip-build "${flags[@]}" --filter 'GenerationTests|BenchmarkTests' "$@" || status=$?
swift test --skip-build "${flags[@]}" --skip 'WatcherTests|GenerationTests|BenchmarkTests' "$@" || status=$?

shopt -s nullglob
found=("$reports"/report*)
if ((${#found[@]} > 0)); then
    echo
    echo "== ${#found[@]} sanitizer report file(s) in $reports =="
    for report in "${found[@]}"; do
        echo "-- $report"
        cat "$report"
    done
    status=1
else
    echo "no $kind sanitizer report (reports would be in $reports)"
fi
exit "$status"
