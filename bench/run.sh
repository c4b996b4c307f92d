#!/usr/bin/env bash
# Postel benchmarks (docs/BENCHMARKS.md). Entry point: `make bench`.
#
#  1. SMTP ingest: BENCH_MESSAGES messages of BENCH_LENGTH bytes over
#     BENCH_SESSIONS concurrent connections, against Postel (embedded store),
#     Postfix 3.7 (fsync before 250) and Postfix's smtp-sink (stores nothing:
#     the load generator's ceiling), in the same run, BENCH_REPEAT times each,
#     interleaved; medians and ratios. Load generators: Postfix's smtp-source
#     (wall time -> rate) and bench/smtp_load.c (per-message p50/p99).
#  2. Memory of BENCH_IDLE concurrent idle SMTP connections to Postel (RSS
#     before/after), and Postfix's memory per connection (PSS of its smtpd
#     processes, BENCH_POSTFIX_IDLE connections).
#
# Loopback only; every loop is bounded in count and time; everything this
# script starts is stopped on exit. Run as root for the Postfix columns.
# Knobs (environment): BENCH_MESSAGES BENCH_SESSIONS BENCH_LENGTH BENCH_REPEAT
#   BENCH_IDLE BENCH_POSTFIX_IDLE BENCH_TARGETS ("sink postfix postel")
#   BENCH_TOOLS ("source source-r load") BENCH_SKIP_IDLE=1 BENCH_RUN_TIMEOUT
#   POSTEL_BIN BENCH_OUT (results dir) BENCH_DNS=0 (no test DNS server for
#   the senders' SPF records, bench/spf_dns.py).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MESSAGES=${BENCH_MESSAGES:-20000}
SESSIONS=${BENCH_SESSIONS:-20}
LENGTH=${BENCH_LENGTH:-4096}
REPEAT=${BENCH_REPEAT:-3}
IDLE=${BENCH_IDLE:-10000}
POSTFIX_IDLE=${BENCH_POSTFIX_IDLE:-150}
TARGETS=${BENCH_TARGETS:-"sink postfix postel"}
TOOLS=${BENCH_TOOLS:-"source source-r load"}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-600}
POSTEL_BIN=${POSTEL_BIN:-$ROOT/build/postel}
POSTEL_PORT=${BENCH_POSTEL_PORT:-25251}
SINK_PORT=${BENCH_SINK_PORT:-25252}
POSTFIX_PORT=2525  # fixed by /work/shared/peers/start-postfix.sh
PEERS=${BENCH_PEERS:-$ROOT/../shared/peers}
[ -d "$PEERS" ] || PEERS=/work/shared/peers
FROM=sender@bench.test
RCPT=u1@bench.test
OUT=${BENCH_OUT:-$(mktemp -d /tmp/postel-bench-XXXXXX)}
mkdir -p "$OUT"
chmod 755 "$OUT"
RESULTS=$OUT/results.tsv
BIN=$OUT/bin
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

POSTEL_PID=""
POSTEL_DATA=""
SINK_PID=""
POSTFIX_STARTED=0
IDLE_PID=""

log() { printf 'bench: %s\n' "$*" >&2; }
now() { date +%s.%N; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
	set +e
	[ -n "$IDLE_PID" ] && kill "$IDLE_PID" 2>/dev/null
	postel_stop
	dns_stop
	if [ -n "$SINK_PID" ]; then
		kill "$SINK_PID" 2>/dev/null
		wait "$SINK_PID" 2>/dev/null
	fi
	if [ "$POSTFIX_STARTED" = 1 ]; then
		postfix stop >/dev/null 2>&1
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

main() {
	bench_setup
	: > "$RESULTS"
	{
		echo "# Postel benchmark run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "# nproc=$(nproc) mem=$(free -h | awk '/^Mem:/{print $2}')" \
			"kernel=$(uname -r)"
		echo "# debian $(cat /etc/debian_version 2>/dev/null)" \
			"postfix=$(postconf -h mail_version 2>/dev/null || echo none)"
	} > "$OUT/machine.txt"
	cat "$OUT/machine.txt" >&2
	for rep in $(seq 1 "$REPEAT"); do
		for target in $ACTIVE_TARGETS; do
			for tool in $TOOLS; do
				ingest_once "$target" "$tool" "$rep"
			done
		done
	done
	if [ "${BENCH_SKIP_IDLE:-0}" != 1 ]; then
		case " $ACTIVE_TARGETS " in *" postel "*) idle_postel ;; esac
		case " $ACTIVE_TARGETS " in *" postfix "*) idle_postfix ;; esac
	fi
	/usr/bin/python3 "$ROOT/bench/summary.py" "$OUT" | tee "$OUT/summary.md"
	log "raw results and logs in $OUT"
}

main "$@"
