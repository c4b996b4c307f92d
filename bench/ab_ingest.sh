#!/usr/bin/env bash
# SMTP ingest, several Postel builds and smtp-sink alternated in one sitting
# (docs/BENCHMARKS.md, issue 12): the way to tell a few percent from this
# machine's noise, which moves whole runs by ±15%.
#
#   bash bench/ab_ingest.sh BIN [BIN ...]
#
# Each round runs smtp-sink (stores nothing: the generator's ceiling) and
# then every BIN in turn, each on a fresh data directory, with the same
# `smtp-source -d -l 4096 -m BENCH_MESSAGES -s 20` (BENCH_AB_MODE=new for a
# new connection per message). BENCH_ROUNDS (5) rounds; prints every run
# and then, per build, the median rate, its ratio to smtp-sink's median,
# and the median CPU time and context switches per message (all threads,
# from /proc). Loopback only; every wait is bounded; everything started
# here is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BIN [BIN ...]" >&2; exit 2; }
MESSAGES=${BENCH_MESSAGES:-10000}
ROUNDS=${BENCH_ROUNDS:-5}
MODE=${BENCH_AB_MODE:-reused}
POSTEL_PORT=${BENCH_POSTEL_PORT:-25271}
SINK_PORT=${BENCH_SINK_PORT:-25272}
FROM=sender@bench.test
RCPT=u1@bench.test
OUT=${BENCH_OUT:-$(mktemp -d /tmp/postel-abi-XXXXXX)}
mkdir -p "$OUT"
chmod 755 "$OUT"
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
POSTEL_PID=""
POSTEL_DATA=""
POSTEL_BIN=""
SINK_PID=""

log() { printf 'ab_ingest: %s\n' "$*" >&2; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
	set +e
	postel_stop
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
	dns_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v smtp-source >/dev/null || install_postfix
flag=-d
[ "$MODE" = new ] && flag=""

# Sum of the context switches of every thread of PID.
ctxt_of() { cat /proc/"$1"/task/*/status 2>/dev/null |
	awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }
# utime + stime of PID, in clock ticks.
ticks_of() { awk '{print $14 + $15}' /proc/"$1"/stat; }

# NAME PORT [PID]: one load run; appends "NAME rate cpu_ms ctxt" to runs.txt.
one_run() {
	local name=$1 port=$2 pid=${3:-} c0=0 t0=0 c1=0 t1=0 s e hz
	hz=$(getconf CLK_TCK)
	if [ -n "$pid" ]; then c0=$(ctxt_of "$pid"); t0=$(ticks_of "$pid"); fi
	s=$(date +%s.%N)
	# shellcheck disable=SC2086
	timeout 600 smtp-source $flag -l 4096 -m "$MESSAGES" -s 20 -f "$FROM" \
		-t "$RCPT" "127.0.0.1:$port" >>"$OUT/source.log" 2>&1 ||
		{ log "$name: smtp-source failed (see $OUT/source.log)"; return 1; }
	e=$(date +%s.%N)
	if [ -n "$pid" ]; then c1=$(ctxt_of "$pid"); t1=$(ticks_of "$pid"); fi
	awk -v n="$name" -v m="$MESSAGES" -v s="$s" -v e="$e" -v c="$((c1 - c0))" \
		-v t="$((t1 - t0))" -v hz="$hz" -v p="$pid" 'BEGIN {
		if (p == "") printf "%s %.0f - -\n", n, m / (e - s);
		else printf "%s %.0f %.3f %.2f\n", n, m / (e - s),
			t * 1000 / hz / m, c / m }' | tee -a "$OUT/runs.txt"
}

write_postel_config
: >"$OUT/runs.txt"
log "$ROUNDS rounds of $MESSAGES messages ($MODE connections); results in $OUT"
for r in $(seq 1 "$ROUNDS"); do
	sink_start
	one_run sink "$SINK_PORT"
	kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null || true
	SINK_PID=""
	i=0
	for bin in "$@"; do
		i=$((i + 1))
		POSTEL_BIN=$bin
		postel_start || exit 1
		one_run "postel$i" "$POSTEL_PORT" "$POSTEL_PID"
		postel_stop
	done
done

echo
echo "| build | msg/s (median of $ROUNDS) | runs | / smtp-sink | CPU ms/msg | ctxt sw/msg |"
echo "|---|---:|---|---:|---:|---:|"
med() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
sink_med=$(awk '$1 == "sink" {print $2}' "$OUT/runs.txt" | med)
echo "| smtp-sink | $sink_med | $(awk '$1 == "sink" {printf "%s ", $2}' "$OUT/runs.txt")| 1 | - | - |"
i=0
for bin in "$@"; do
	i=$((i + 1))
	rate=$(awk -v n="postel$i" '$1 == n {print $2}' "$OUT/runs.txt" | med)
	printf '| %s | %s | %s| %.2fx | %s | %s |\n' "$bin" "$rate" \
		"$(awk -v n="postel$i" '$1 == n {printf "%s ", $2}' "$OUT/runs.txt")" \
		"$(echo "$rate / $sink_med" | bc -l)" \
		"$(awk -v n="postel$i" '$1 == n {print $3}' "$OUT/runs.txt" | med)" \
		"$(awk -v n="postel$i" '$1 == n {print $4}' "$OUT/runs.txt" | med)"
done
echo
echo "Command: smtp-source $flag -l 4096 -m $MESSAGES -s 20 -f $FROM -t $RCPT 127.0.0.1:PORT"
