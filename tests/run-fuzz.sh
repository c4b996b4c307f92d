#!/usr/bin/env bash
# Runs libFuzzer targets briefly, each from its seed corpus.
# Usage: tests/run-fuzz.sh SECONDS BIN...
# The seeds in tests/fuzz/corpus/<name>/ are copied to a temporary directory
# so new inputs found during the run do not land in the source tree; with
# FUZZ_CORPUS_DIR set (make fuzz-long), to FUZZ_CORPUS_DIR/<name>/ instead,
# which is kept, so a long run continues from what the last one found. A crash
# (or sanitizer report) fails the target; its reproducer is kept in
# <bin dir>/artifacts/<name>/. Prints one summary line
#   fuzz: N passed, M failed
# and exits non-zero when any target failed.
set -u

if [ "$#" -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then
	echo "usage: $0 SECONDS BIN..." >&2
	exit 2
fi
seconds=$1
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
# UBSan recovers by default in fuzz builds; make undefined behaviour fatal.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"

passed=0
failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	echo "=== $name (${seconds}s)"
	if [ ! -x "$bin" ]; then
		echo "run-fuzz: $bin: not an executable" >&2
		failed=$((failed + 1))
		continue
	fi
	corpus="${FUZZ_CORPUS_DIR:-$tmp}/$name"
	mkdir -p "$corpus"
	if [ -d "$here/fuzz/corpus/$name" ]; then
		cp -R "$here/fuzz/corpus/$name/." "$corpus/"
	else
		echo "run-fuzz: no seed corpus for $name, starting empty" >&2
	fi
	artifacts="$(cd "$(dirname "$bin")" && pwd)/artifacts/$name"
	mkdir -p "$artifacts"
	# Progress and dictionary lines are noise in CI logs.
	"$bin" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/" "$corpus" 2>&1 |
		grep -v -E '^(#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|".*" # Uses: )'
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		echo "run-fuzz: $name FAILED (status $rc); reproducer in $artifacts/" >&2
		failed=$((failed + 1))
	fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
