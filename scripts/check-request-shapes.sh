#!/usr/bin/env bash
# Checks the request bodies coursegen really sends against python-genai's pydantic types
# (issue 21, item 7): we cannot reach the real Gemini API, so Google's SDK is the reference.
#
# Runs `coursegen generate` on a two-chapter outline against fake-gemini, once per setting below,
# each with its own fake (recording with --record-requests), state and output folders, then
# scripts/check-request-shapes.py over every recorded request: unknown fields, wrong types and
# enum values the SDK would not send fail, naming the file and the field; so does a setting that
# did not reach the wire (--expect). The settings:
#   gemini3-low   --model gemini-3.8-flash --thinking-level low (streamed)
#   gemini25      --model gemini-2.5-flash --thinking-budget 512 --temperature 0.3 --no-stream
#                 (the fake serves that retired model only because it is told to, with --models)
#   default       no model or thinking setting (streamed)
#   flex          --service-tier flex, when `coursegen generate --help` lists it
#   batch         --batch, when `coursegen generate --help` lists it
# and before them, the validator's self-test: python-genai's own bodies pass, and each kind of
# mistake fails (so the check can fail).
#
#   scripts/check-request-shapes.sh [--keep]
#
#   --keep  keep the work folder (recordings, logs) and print where it is; a failed run keeps it
#           anyway
#
# Builds the two debug products it runs (.build/debug/coursegen and fake-gemini; quick when they
# are up to date). Needs python3 with google-genai (CI pins it in .ci/run); PYTHON names another
# interpreter. Exit status: 0 passed, 1 failed (the reason is printed), 2 a bad argument.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

readonly KEY=check-request-shapes-key
PYTHON=${PYTHON:-python3}
keep=false
case ${1:-} in
'') ;;
--keep) keep=true ;;
*)
    echo "usage: scripts/check-request-shapes.sh [--keep]" >&2
    exit 2
    ;;
esac

say() { printf 'check-request-shapes: %s\n' "$*" >&2; }
fail() {
    say "FAIL: $*"
    exit 1
}

swift build --product coursegen >&2
swift build --product fake-gemini >&2
bin=$(swift build --show-bin-path)

work=$(mktemp -d)
fake=
# A failed run keeps its recordings and logs: the failures name files in it.
cleanup() {
    local status=$?
    if [[ -n $fake ]]; then
        kill "$fake" 2>/dev/null || true
        wait "$fake" 2>/dev/null || true
    fi
    if $keep || [[ $status -ne 0 ]]; then say "kept $work (recordings and logs)"; else rm -rf "$work"; fi
}
trap cleanup EXIT

"$PYTHON" scripts/check-request-shapes.py --self-test >"$work/self-test.txt" ||
    { cat "$work/self-test.txt"; fail "the validator's self-test failed (above)"; }
tail -n 1 "$work/self-test.txt" >&2

cat >"$work/shapes.md" <<'EOF'
# Request shapes
A two-chapter course whose requests are checked against python-genai.

## Getting started
- Installing the tools

## Going further
- What comes next
EOF

# start_fake NAME [FAKE OPTIONS...]: a fake recording into $work/NAME/requests; waits for its
# port file.
start_fake() {
    local name=$1
    shift
    mkdir -p "$work/$name"
    "$bin/fake-gemini" --key "$KEY" --port-file "$work/$name/port" --record-requests "$work/$name/requests" "$@" \
        >"$work/$name/fake.out" 2>"$work/$name/fake.log" &
    fake=$!
    until [[ -s $work/$name/port ]]; do
        kill -0 "$fake" 2>/dev/null || fail "fake-gemini for $name did not start: $(cat "$work/$name/fake.log")"
        sleep 0.05
    done
}

# stop_fake: SIGTERM, and wait until it has written its recordings and exited.
stop_fake() {
    local status=0
    kill -TERM "$fake"
    wait "$fake" || status=$?
    fake=
    [[ $status -eq 0 ]] || fail "fake-gemini exited $status"
}

# run NAME 'FAKE OPTIONS' 'VALIDATOR OPTIONS' [COURSEGEN OPTIONS...]: one generate run, then the
# check of what it sent.
failures=()
run() {
    local name=$1 fake_options=$2 checks=$3
    shift 3
    # Word splitting is wanted: the options are flags and plain values.
    # shellcheck disable=SC2086
    start_fake "$name" $fake_options
    local status=0
    env -u COURSEGEN_CONFIG -u STATE_DIRECTORY -u XDG_STATE_HOME -u CREDENTIALS_DIRECTORY -u GOOGLE_API_KEY \
        HOME="$work/$name" GEMINI_API_KEY="$KEY" \
        "$bin/coursegen" generate "$work/shapes.md" --output "$work/$name/courses" --state "$work/$name/state" \
        --base-url "http://127.0.0.1:$(cat "$work/$name/port")" "$@" >"$work/$name/generate.log" 2>&1 || status=$?
    stop_fake
    say "$name: coursegen generate${*:+ $*} exited $status; checking what it sent"
    local check=0
    # shellcheck disable=SC2086
    "$PYTHON" scripts/check-request-shapes.py $checks "$work/$name/requests" || check=$?
    if [[ $check -ne 0 ]]; then
        failures+=("$name: the request bodies (above)")
    fi
    if [[ $status -ne 0 ]]; then
        tail -n 20 "$work/$name/generate.log" >&2
        failures+=("$name: coursegen generate exited $status (its log's end above)")
    fi
}

help=$("$bin/coursegen" generate --help)
no_gemini2_settings="--expect-absent generationConfig.thinkingConfig.thinkingBudget
    --expect-absent generationConfig.temperature"

run gemini3-low "" \
    "--expect generationConfig.thinkingConfig.thinkingLevel=\"LOW\" $no_gemini2_settings" \
    --model gemini-3.8-flash --thinking-level low
run gemini25 "--models gemini-2.5-flash" \
    "--expect generationConfig.thinkingConfig.thinkingBudget=512 --expect generationConfig.temperature=0.3
     --expect-absent generationConfig.thinkingConfig.thinkingLevel" \
    --model gemini-2.5-flash --thinking-budget 512 --temperature 0.3 --no-stream
run default "" "$no_gemini2_settings --expect-absent serviceTier"
if grep -q -- '--service-tier' <<<"$help"; then
    run flex "" "--expect serviceTier=\"flex\"" --service-tier flex
else
    say "flex: skipped, coursegen generate has no --service-tier"
fi
if grep -q -- '--batch' <<<"$help"; then
    run batch "" "" --batch
else
    say "batch: skipped, coursegen generate has no --batch"
fi

if [[ ${#failures[@]} -gt 0 ]]; then
    printf 'check-request-shapes: FAIL: %s\n' "${failures[@]}" >&2
    exit 1
fi
say "passed: every request body coursegen sent has the shape python-genai's types give"
