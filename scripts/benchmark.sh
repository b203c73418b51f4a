#!/usr/bin/env bash
# Wall-clock benchmarks of the real coursegen binary against the local fake Gemini API, with
# hyperfine. Figures go in BENCHMARKS.md.
#
#   scripts/benchmark.sh [debug|release]     (default: release)
#
# Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
configuration=${1:-release}
swift build -c "$configuration" --product coursegen >&2
swift build -c "$configuration" --product fake-gemini >&2
bin=$(swift build -c "$configuration" --show-bin-path)

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# fake NAME ARGS...: starts a fake server, sets PORT_NAME.
fake() {
    local name=$1; shift
    "$bin/fake-gemini" --port-file "$work/$name.port" --key bench-key "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [[ -s $work/$name.port ]] && break; sleep 0.1; done
    printf -v "PORT_$name" '%s' "$(cat "$work/$name.port")"
}

# An outline of 24 chapters.
{
    echo "# Benchmark Course"; echo; echo "Twenty-four chapters."
    for i in $(seq 24); do printf '\n## Chapter %d\n- First point of %d\n- Second point of %d\n' "$i" "$i" "$i"; done
} >"$work/bench.md"

fake latency --latency-ms 300
fake faults --latency-ms 300 --faults mix --seed 7 --max-failures 2
export GEMINI_API_KEY=bench-key
run="$bin/coursegen generate $work/bench.md --output $work/out --log-level warning"

echo "== 24 chapters, 0.3 s latency, --concurrency 8 --rpm 600 (ideal: RPM-bound, 23 x 0.1 s + 0.3 s = 2.6 s)"
hyperfine --warmup 0 --runs 5 --prepare "rm -rf $work/state1 $work/out" \
    "$run --state $work/state1 --base-url http://127.0.0.1:$PORT_latency --concurrency 8 --rpm 600"

echo "== 24 chapters, 0.3 s latency, --concurrency 8 --rpm 100000 (ideal: ceil(24/8) x 0.3 s = 0.9 s)"
hyperfine --warmup 0 --runs 5 --prepare "rm -rf $work/state2 $work/out" \
    "$run --state $work/state2 --base-url http://127.0.0.1:$PORT_latency --concurrency 8 --rpm 100000"

echo "== 24 chapters, realistic fault mix (10% 503, 5% 500, 5% 429 with 1 s RetryInfo, ...), --rpm 600"
hyperfine --warmup 0 --runs 5 --prepare "rm -rf $work/state3 $work/out" \
    "$run --state $work/state3 --base-url http://127.0.0.1:$PORT_faults --concurrency 8 --rpm 600"

echo "== nothing changed: 24 chapters already generated (0 requests)"
$run --state "$work/state4" --base-url "http://127.0.0.1:$PORT_latency" --rpm 100000 >/dev/null
hyperfine --warmup 1 --runs 10 "$run --state $work/state4 --base-url http://127.0.0.1:$PORT_latency"

echo "== requests seen by the fake servers"
curl -s "http://127.0.0.1:$PORT_latency/_fake/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("latency server:", s["requests"], "requests, max in flight", s["maxInFlight"], ", 429s", s["rateLimited"])'
curl -s "http://127.0.0.1:$PORT_faults/_fake/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("fault-mix server:", s["requests"], "requests, max in flight", s["maxInFlight"], ", 429s", s["rateLimited"])'
