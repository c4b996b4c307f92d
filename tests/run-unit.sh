#!/usr/bin/env bash
# Runs cmocka unit-test binaries and sums their results.
# Usage: tests/run-unit.sh BIN...
# Prints each binary's output, then exactly one summary line
#   unit: N passed, M failed
# and exits non-zero when any binary failed (a failing test, a crash under
# ASan/UBSan, a binary that could not be run, or one that hung: each binary
# gets UNIT_TIMEOUT seconds, default 300, then it is killed and counted as
# a failure with its name).
set -u

timeout_s=${UNIT_TIMEOUT:-300}
passed=0
failed=0
bad_bins=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# cmocka's plain-text summary is what we parse; keep it on.
export CMOCKA_MESSAGE_OUTPUT=STDOUT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

for bin in "$@"; do
	echo "=== $bin"
	if [ ! -x "$bin" ]; then
		echo "run-unit: $bin: not an executable" >&2
		failed=$((failed + 1))
		bad_bins=$((bad_bins + 1))
		continue
	fi
	# SIGTERM first (ASan can still report), SIGKILL 10 s later.
	timeout --kill-after=10 "$timeout_s" "$bin" >"$log" 2>&1
	rc=$?
	cat "$log"
	# "[  PASSED  ] 5 test(s)." and "[  FAILED  ] 2 test(s), listed below:"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s),.*/\1/p' "$log" | tail -n 1)
	# No summary (a hang, a crash): count the tests that did finish.
	if [ -z "$p" ] && [ -z "$f" ]; then
		p=$(grep -c '^\[       OK \] ' "$log")
		f=$(grep -cE '^\[  FAILED  \] [A-Za-z_]' "$log")
	fi
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		# The test that was running is the last one cmocka started.
		t=$(sed -n 's/^\[ RUN      \] //p' "$log" | tail -n 1)
		echo "run-unit: $bin: HUNG, killed after ${timeout_s}s" \
			"(in ${t:-?})" >&2
		failed=$((failed + 1))
		bad_bins=$((bad_bins + 1))
		continue
	fi
	if [ "$rc" -ne 0 ]; then
		bad_bins=$((bad_bins + 1))
		# A crash (sanitizer abort, signal) prints no summary: count the
		# binary itself as one failure so it cannot go unnoticed.
		if ! grep -qE '^\[  FAILED  \] [0-9]+ test\(s\)' "$log"; then
			echo "run-unit: $bin exited with status $rc without a test summary" >&2
			failed=$((failed + 1))
		fi
	fi
done

echo "unit: $passed passed, $failed failed"
[ "$bad_bins" -eq 0 ]
