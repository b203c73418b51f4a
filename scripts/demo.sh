#!/usr/bin/env bash
# Generates the example course examples/practical-rust.md into ./courses with the real coursegen:
# against Google's Gemini API when GEMINI_API_KEY (or GOOGLE_API_KEY) is set, otherwise against the
# local stand-in of the API that the tests use (so it works offline and costs nothing). Run it twice:
# the second run makes no request at all.
#
#   scripts/demo.sh [OUTLINE]      (default: examples/practical-rust.md)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
outline=${1:-examples/practical-rust.md}

if [[ ! -e /usr/include/inotifytools/inotifytools.h ]]; then
    echo "demo: installing libinotifytools0-dev (the inotify library coursegen builds against)" >&2
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && apt-get install -y -qq libinotifytools0-dev
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq libinotifytools0-dev
    fi
fi

swift build --product coursegen >&2
swift build --product fake-gemini >&2
bin=$(swift build --show-bin-path)

if [[ -n ${GEMINI_API_KEY:-}${GOOGLE_API_KEY:-} ]]; then
    echo "demo: writing $outline with Gemini (your key)" >&2
    "$bin/coursegen" generate "$outline" --output courses
else
    echo "demo: no GEMINI_API_KEY set: using the local stand-in of the Gemini API (set the key to use the real one)" >&2
    work=$(mktemp -d)
    "$bin/fake-gemini" --port-file "$work/port" --latency-ms 300 --key demo-key >"$work/fake.log" 2>&1 &
    fake=$!
    trap 'kill $fake 2>/dev/null; wait $fake 2>/dev/null; rm -rf "$work"' EXIT
    for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
    GEMINI_API_KEY=demo-key "$bin/coursegen" generate "$outline" --output courses \
        --base-url "http://127.0.0.1:$(cat "$work/port")"
fi
echo "demo: chapters are in courses/$(basename "${outline%%.*}")/ ; try: ls courses/*/ ; $bin/coursegen status" >&2
