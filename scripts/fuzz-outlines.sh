#!/usr/bin/env bash
# Fuzzes the outline parsers (Markdown, YAML, JSON) with libFuzzer and AddressSanitizer.
#
#   scripts/fuzz-outlines.sh [SECONDS] [--merge]      (default: 60 seconds)
#
# Every input goes through all three parsers and OutlineInvariants (Tests/OutlineFuzzer): a
# crash, a hang (over 10 s), an error line outside the file or a whitespace-only change that
# changes the outline stops the run and leaves the input in .build-fuzz/crashers/. Copy it into
# Tests/GenerationTests/Fixtures/outline-crashers/, fix the bug, and `swift test` replays it from
# then on. --merge adds the inputs that reached new code to the committed corpus
# (Tests/GenerationTests/Fixtures/outline-corpus/), keeping it minimal.
#
# The build has its own folder (.build-fuzz): every module is compiled with coverage and
# AddressSanitizer, so the first build takes as long as a first normal one.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

seconds=60
merge=false
for argument in "$@"; do
    case $argument in
        --merge) merge=true ;;
        *[!0-9]* | '') echo "usage: $0 [SECONDS] [--merge]" >&2; exit 2 ;;
        *) seconds=$argument ;;
    esac
done

scratch=.build-fuzz
corpus=Tests/GenerationTests/Fixtures/outline-corpus
# The same flags every time: a build with other flags in the same folder rebuilds everything.
flags=(--scratch-path "$scratch" --sanitize=fuzzer --sanitize=address -Xswiftc -DFUZZING)
swift build "${flags[@]}" --product OutlineFuzzer >&2
fuzzer=$(swift build "${flags[@]}" --show-bin-path)/OutlineFuzzer

# New inputs go to a scratch folder first; the committed corpus is only read.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$scratch/crashers"
status=0
# Swift's own crash backtracer fights AddressSanitizer over the crashed process; libFuzzer and
# ASan report the crash themselves.
export SWIFT_BACKTRACE=enable=no
"$fuzzer" "$work" "$corpus" \
    -dict=Tests/GenerationTests/Fixtures/outline.dict \
    -max_total_time="$seconds" -timeout=10 -max_len=8192 -rss_limit_mb=4096 \
    -artifact_prefix="$scratch/crashers/" -print_final_stats=1 || status=$?

echo "corpus: $(ls "$corpus" | wc -l) committed inputs, $(ls "$work" | wc -l) new this run" >&2
if [[ $status -ne 0 ]]; then
    echo "FAILED: an input broke an invariant; it is in $scratch/crashers/" >&2
    exit "$status"
fi
if $merge; then
    "$fuzzer" -set_cover_merge=1 "$corpus" "$work" -max_len=8192 -timeout=10 >&2
    echo "corpus after merge: $(ls "$corpus" | wc -l) inputs" >&2
fi
