#!/usr/bin/env bash
# SMTP ingest A/B and large-message memory (docs/BENCHMARKS.md).
#
#   bash bench/ab_smtp.sh [ingest|memory|all]      (default: all)
#
#  ingest: builds Postel at BENCH_BASE (default b4286d0, before DATA/BDAT
#    were streamed to the file) and the working tree, then runs the same
#    load (bench/smtp_load.c) against each, alternately, BENCH_REPEAT times
#    (default 3) for every size of BENCH_AB_SIZES ("count:length" pairs,
#    default "20000:4096 400:1048576"), BENCH_SESSIONS (20) connections;
#    prints the median rate, p50, p99 and peak RSS of each build.
#  memory: BENCH_MEM_SESSIONS (100) parallel BENCH_MEM_LENGTH (30 MB) DATA
#    transfers against each build of BENCH_MEM_BUILDS ("new base"); prints
#    the server's peak RSS (VmHWM) and its anonymous part (RssAnon, sampled).
#
# Loopback only; every wait is bounded; everything started here is stopped
# on exit. The figures are as noisy as the machine: run it on a quiet one.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-all}
BASE=${BENCH_BASE:-b4286d0}
REPEAT=${BENCH_REPEAT:-3}
SIZES=${BENCH_AB_SIZES:-"20000:4096 400:1048576"}
SESSIONS=${BENCH_SESSIONS:-20}
MEM_SESSIONS=${BENCH_MEM_SESSIONS:-100}
MEM_LENGTH=${BENCH_MEM_LENGTH:-31457280}
MEM_BUILDS=${BENCH_MEM_BUILDS:-"new base"}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-900}
POSTEL_PORT=${BENCH_POSTEL_PORT:-25261}
FROM=sender@bench.test
RCPT=u1@bench.test
OUT=${BENCH_OUT:-$(mktemp -d /tmp/postel-ab-XXXXXX)}
mkdir -p "$OUT"
chmod 755 "$OUT"
BIN=$OUT/bin
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
POSTEL_PID=""
POSTEL_DATA=""
POSTEL_BIN=""

log() { printf 'ab: %s\n' "$*" >&2; }
now() { date +%s.%N; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
	set +e
	postel_stop
	dns_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both binaries, built the same way (release flags of the Makefile).
build_both() {
	log "building base $BASE in $OUT/base"
	rm -rf "$OUT/base"
	mkdir -p "$OUT/base"
	git -C "$ROOT" archive "$BASE" | tar -x -C "$OUT/base"
	make -C "$OUT/base" -j2 build/postel >"$OUT/make-base.log" 2>&1 ||
		{ log "base build failed (see $OUT/make-base.log)"; exit 1; }
	log "building the working tree ($(git -C "$ROOT" rev-parse --short HEAD))"
	make -C "$ROOT" -j2 build/postel >"$OUT/make-new.log" 2>&1 ||
		{ log "build failed (see $OUT/make-new.log)"; exit 1; }
	BIN_BASE=$OUT/base/build/postel
	BIN_NEW=$ROOT/build/postel
}

bin_of() { [ "$1" = base ] && echo "$BIN_BASE" || echo "$BIN_NEW"; }

# Samples RssAnon of the server every 0.2 s until STOPFILE exists
# (bounded by RUN_TIMEOUT); writes the maximum to OUTFILE.
sample_anon() {
	local stop=$1 outf=$2 max=0 i v
	for i in $(seq 1 $((RUN_TIMEOUT * 5))); do
		[ -e "$stop" ] && break
		v=$(proc_kb "$POSTEL_PID" RssAnon 2>/dev/null || echo 0)
		[ "${v:-0}" -gt "$max" ] && max=$v
		sleep 0.2
	done
	echo "$max" > "$outf"
}

# CPU time (user + system, every thread, in clock ticks) of the server so
# far: fields 14 and 15 of /proc/PID/stat (after the command name).
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$POSTEL_PID/stat"
}

# Context switches (voluntary + not) summed over the server's threads.
ctx_switches() {
	cat /proc/"$POSTEL_PID"/task/*/status 2>/dev/null |
		awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'
}

# One run: BUILD COUNT LENGTH SESSIONS -> a row in $OUT/ab.tsv:
# build count length rep rc rate p50 p99 accepted vmhwm_kb rssanon_kb
#   cpu_us_per_msg ctxsw_per_msg
# The last two are the server's CPU time and thread switches per accepted
# message: what a message costs, much less sensitive than the rate to what
# else the machine is doing.
run_once() {
	local build=$1 count=$2 length=$3 sess=$4 rep=$5 rc=0 cmd
	local stop="$OUT/.stop" peak anon
	POSTEL_BIN=$(bin_of "$build")
	postel_start || { log "$build: postel did not start"; return 0; }
	cmd="$BIN/smtp_load -s $sess -m $count -l $length -f $FROM -t $RCPT"
	cmd+=" -T $RUN_TIMEOUT 127.0.0.1 $POSTEL_PORT"
	printf '%s\t%s\n' "$build" "$cmd" >> "$OUT/commands.tsv"
	rm -f "$stop"
	local cpu0 ctx0 cpu1 ctx1 tck
	cpu0=$(cpu_ticks)
	ctx0=$(ctx_switches)
	tck=$(getconf CLK_TCK)
	sample_anon "$stop" "$OUT/.anon" &
	local sampler=$!
	log "rep $rep $build: $cmd"
	# shellcheck disable=SC2086
	timeout "$RUN_TIMEOUT" $cmd > "$OUT/last-load.txt" 2>&1 || rc=$?
	touch "$stop"
	wait "$sampler" 2>/dev/null || true
	cpu1=$(cpu_ticks)
	ctx1=$(ctx_switches)
	peak=$(proc_kb "$POSTEL_PID" VmHWM)
	anon=$(cat "$OUT/.anon" 2>/dev/null || echo -)
	local ok cpu_msg ctx_msg
	ok=$(kv ok)
	cpu_msg=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$tck" -v n="${ok:-0}" \
		'BEGIN { print (n > 0 ? (b - a) * 1e6 / t / n : "-") }')
	ctx_msg=$(awk -v a="$ctx0" -v b="$ctx1" -v n="${ok:-0}" \
		'BEGIN { print (n > 0 ? (b - a) / n : "-") }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$build" "$count" "$length" "$rep" "$rc" "$(kv rate)" \
		"$(kv p50_ms)" "$(kv p99_ms)" "$ok" "$peak" "$anon" \
		"$cpu_msg" "$ctx_msg" | tee -a "$OUT/ab.tsv" >&2
	postel_stop
}

# Medians per build and size of rate, p50, p99, VmHWM and RssAnon.
summary() {
	/usr/bin/python3 - "$OUT/ab.tsv" <<-'EOF'
	import statistics, sys
	rows = {}
	for ln in open(sys.argv[1]):
	    f = ln.rstrip("\n").split("\t")
	    rows.setdefault((f[1], f[2], f[0]), []).append(f)
	def med(v):
	    v = [float(x) for x in v if x not in ("", "-")]
	    return statistics.median(v) if v else float("nan")
	print("| messages x length | build | runs | rate msg/s | p50 ms | p99 ms"
	      " | peak RSS MB | peak RssAnon MB | server CPU us/msg"
	      " | switches/msg |")
	print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for (count, length, build), fs in sorted(rows.items(),
	        key=lambda kv: (int(kv[0][1]), kv[0][2])):
	    print("| %s x %s | %s | %d | %.1f | %.1f | %.1f | %.0f | %.0f"
	          " | %.0f | %.1f |" % (
	        count, length, build, len(fs), med(f[5] for f in fs),
	        med(f[6] for f in fs), med(f[7] for f in fs),
	        med(f[9] for f in fs) / 1024, med(f[10] for f in fs) / 1024,
	        med(f[11] for f in fs), med(f[12] for f in fs)))
	EOF
}

main() {
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	build_tools
	write_postel_config
	build_both
	: > "$OUT/ab.tsv"
	{
		echo "# Postel SMTP A/B $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
			"base=$BASE new=$(git -C "$ROOT" rev-parse --short HEAD)"
		echo "# nproc=$(nproc) mem=$(free -h | awk '/^Mem:/{print $2}')" \
			"load=$(cut -d' ' -f1-3 /proc/loadavg)"
	} | tee "$OUT/machine.txt" >&2
	local pair count length rep build
	if [ "$MODE" = ingest ] || [ "$MODE" = all ]; then
		for pair in $SIZES; do
			count=${pair%%:*}
			length=${pair##*:}
			for rep in $(seq 1 "$REPEAT"); do
				# Alternate which build goes first.
				if [ $((rep % 2)) = 1 ]; then
					run_once base "$count" "$length" "$SESSIONS" "$rep"
					run_once new "$count" "$length" "$SESSIONS" "$rep"
				else
					run_once new "$count" "$length" "$SESSIONS" "$rep"
					run_once base "$count" "$length" "$SESSIONS" "$rep"
				fi
			done
		done
	fi
	if [ "$MODE" = memory ] || [ "$MODE" = all ]; then
		for build in $MEM_BUILDS; do
			run_once "$build" "$MEM_SESSIONS" "$MEM_LENGTH" \
				"$MEM_SESSIONS" 1
		done
	fi
	summary | tee "$OUT/summary.md"
	log "raw results in $OUT (ab.tsv, commands.tsv)"
}

main "$@"
