#!/usr/bin/env bash
# Writes docs/coursegen.1, the manual page, from coursegen's command-line definitions, or checks
# that the committed page is what they give today.
#
#   scripts/man-page.sh            regenerate docs/coursegen.1 (commit it with the change)
#   scripts/man-page.sh --check    exit 1 and show the difference if docs/coursegen.1 is stale
#
# The page comes from swift-argument-parser's generate-manual plugin, which builds the package
# (debug: after `swift build` or the tests, only the small generate-manual tool is new) and reads
# `coursegen --experimental-dump-help`: the same definitions --help prints. CI runs --check, so
# a changed option, abstract or discussion that is not regenerated fails the build.
#
# The page's date (.Dd) says when its text last changed: a regeneration that changes nothing else
# keeps the committed date, so the check is the same on any day.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

readonly PAGE=docs/coursegen.1

# Prints the page generated with date $1 (YYYY-MM-DD).
generate() {
    local output
    # The plugin writes into its own work folder (it takes no output folder of ours) and prints
    # its progress on standard output.
    swift package plugin generate-manual --configuration debug --date "$1" >&2
    output=$(find .build/plugins -path '*GenerateManual*' -name coursegen.1 -newer "$STAMP" | head -n 1)
    [[ -n $output ]] || {
        echo "man-page.sh: generate-manual wrote no coursegen.1 under .build/plugins" >&2
        exit 1
    }
    cat "$output"
}

# The date of the committed page as YYYY-MM-DD (.Dd Month Day, Year), or today's without one.
committed_date() {
    local line
    line=$(sed -n 's/^\.Dd //p' "$PAGE" 2>/dev/null | head -n 1)
    if [[ -n $line ]]; then
        LC_ALL=C date -u -d "$line" +%F
    else
        date -u +%F
    fi
}

STAMP=$(mktemp)
trap 'rm -f "$STAMP" "$STAMP.page"' EXIT
generate "$(committed_date)" >"$STAMP.page"

if [[ ${1:-} == --check ]]; then
    if ! diff -u "$PAGE" "$STAMP.page"; then
        echo "FAILED: $PAGE is not what the command-line definitions give: run scripts/man-page.sh and commit it" >&2
        exit 1
    fi
    echo "man-page.sh: $PAGE matches the command-line definitions"
elif [[ -n ${1:-} ]]; then
    echo "man-page.sh: unknown argument '$1' (expected --check or nothing)" >&2
    exit 64
elif cmp -s "$PAGE" "$STAMP.page"; then
    echo "man-page.sh: $PAGE is up to date"
else
    mkdir -p "$(dirname "$PAGE")"
    touch "$STAMP"
    generate "$(date -u +%F)" >"$PAGE"
    echo "man-page.sh: wrote $PAGE"
fi
