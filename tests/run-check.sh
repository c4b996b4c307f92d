#!/usr/bin/env bash
# What `make check` runs after setup: builds, checks the include layers
# (scripts/check-layers.py), then every suite (unit, fuzz, e2e), each one
# even when an earlier one failed, then one total as the very last line:
#   total: N passed, M failed, K skipped
# Exits non-zero when anything failed. A build or suite that ends without
# its summary line (it did not build, it crashed) counts as one failure.
# The total is also written to build/check-total.
# Usage: MAKE=make tests/run-check.sh
set -u

make_cmd=${MAKE:-make}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
skipped=0
recap=()

# Runs one step with its output shown and kept; echoes its status.
run_step() {
	local name=$1
	shift
	echo "=== check: $name"
	"$@" 2>&1 | tee "$tmp/$name.log"
	return "${PIPESTATUS[0]}"
}

# Adds "WORD: N passed, M failed" (run-unit.sh, run-fuzz.sh) to the total.
count_ours() {
	local name=$1 rc=$2 line p f
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed$" \
		"$tmp/$name.log" | tail -n 1)
	if [ -z "$line" ]; then
		recap+=("$name: no summary (status $rc): 1 failed")
		failed=$((failed + 1))
		return
	fi
	p=$(sed -E 's/^[a-z0-9]+: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")
	# A suite that failed without a failed test still failed.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	recap+=("$name: $p passed, $f failed")
}

# Adds pytest's last line ("3 failed, 200 passed, 4 skipped, 1 error in
# 99.1s") to the total; errors (a fixture failed) count as failed.
count_pytest() {
	local name=$1 rc=$2 line p=0 f=0 s=0 n word
	line=$(grep -E '^(=+ )?[0-9]+ [a-z]+.* in [0-9.]+s' \
		"$tmp/$name.log" | tail -n 1)
	if [ -z "$line" ]; then
		recap+=("$name: no summary (status $rc): 1 failed")
		failed=$((failed + 1))
		return
	fi
	while read -r n word; do
		case $word in
		passed | xpassed) p=$((p + n)) ;;
		failed | error | errors) f=$((f + n)) ;;
		skipped | xfailed) s=$((s + n)) ;;
		esac
	done < <(grep -oE '[0-9]+ [a-z]+' <<<"${line%% in *}")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	recap+=("$name: $p passed, $f failed, $s skipped")
}

if run_step build "$make_cmd" --no-print-directory all asan; then
	recap+=("build: ok")
else
	recap+=("build: FAILED: 1 failed")
	failed=$((failed + 1))
fi
run_step layers "$make_cmd" --no-print-directory check-layers
count_ours layers $?
run_step unit "$make_cmd" --no-print-directory unit
count_ours unit $?
run_step fuzz "$make_cmd" --no-print-directory fuzz
count_ours fuzz $?
run_step e2e "$make_cmd" --no-print-directory e2e
count_pytest e2e $?

echo "=== check: summary"
printf '%s\n' "${recap[@]}"
total="total: $passed passed, $failed failed, $skipped skipped"
# Kept for .ci/run: on failure make adds its "*** [check] Error" line
# after ours, and CI's log should end on the total.
mkdir -p build && echo "$total" >build/check-total
echo "$total"
[ "$failed" -eq 0 ]
