#!/usr/bin/env bash
# Pre-auth literals (docs/BENCHMARKS.md "IMAP pre-auth literals"): peak RSS of
# Postel while BENCH_PREAUTH_CONNS (1000) unauthenticated IMAP connections
# each announce a 30 MB literal before login and push its octets; run once
# with non-synchronising literals ({N+}: the server must hang up) and once
# with synchronising ones ({N}: refused without "+"). Target: peak RSS
# (VmHWM of a fresh server) under 64 MB.
# Entry: `bash bench/imap_preauth.sh` (root or not; loopback only; bounded).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONNS=${BENCH_PREAUTH_CONNS:-1000}
SIZE=${BENCH_PREAUTH_SIZE:-30000000}
POSTEL_BIN=${POSTEL_BIN:-$ROOT/build/postel}
PORT=${BENCH_PREAUTH_PORT:-29943}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/postel-bench-preauth-XXXXXX)}
POSTEL_PID="" DATA=""

# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
log() { printf 'bench-preauth: %s\n' "$*" >&2; }

cleanup() {
	set +e
	if [ -n "$POSTEL_PID" ]; then
		kill "$POSTEL_PID" 2>/dev/null
		wait "$POSTEL_PID" 2>/dev/null
	fi
	[ -n "$DATA" ] && rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT/bin"
# shellcheck disable=SC2086
cc $CFLAGS_BENCH -o "$OUT/bin/imap_preauth" "$ROOT/bench/imap_preauth.c"
if [ "$POSTEL_BIN" = "$ROOT/build/postel" ]; then
	make -C "$ROOT" build/postel >"$OUT/make.log" 2>&1 ||
		{ log "build failed (see $OUT/make.log)"; exit 1; }
fi

run() {  # MODE(nonsync|sync)
	local flag="" line rss0 peak
	[ "$1" = sync ] && flag=-s
	DATA=$(mktemp -d /tmp/postel-bench-data-XXXXXX)
	chmod 755 "$DATA"
	# As root, postel takes over only a data dir it creates or one that
	# is already its user's (docs/CONFIG.md, data_dir).
	if [ "$(id -u)" -eq 0 ]; then chown postel: "$DATA"; fi
	cat > "$OUT/postel.conf" <<-CONF
	hostname = mail.bench.test
	log_level = warn
	max_connections = 20000
	max_connections_per_ip = 20000
	CONF
	chmod 644 "$OUT/postel.conf"
	"$POSTEL_BIN" --data "$DATA" --config "$OUT/postel.conf" serve \
		--listen "imap=127.0.0.1:$PORT" >"$OUT/postel.out" \
		2>>"$OUT/postel.log" </dev/null &
	POSTEL_PID=$!
	wait_port "$PORT" 20 || { log "postel did not start"; exit 1; }
	sleep 0.5
	rss0=$(proc_kb "$POSTEL_PID" VmRSS)
	line=$("$OUT/bin/imap_preauth" -n "$CONNS" -b "$SIZE" -T 120 $flag \
		127.0.0.1 "$PORT") || log "$1: not every connection ended: $line"
	peak=$(proc_kb "$POSTEL_PID" VmHWM)
	printf '%s conns=%s literal=%s rss_before_kb=%s peak_rss_kb=%s | %s\n' \
		"$1" "$CONNS" "$SIZE" "$rss0" "$peak" "$line"
	kill "$POSTEL_PID"
	wait "$POSTEL_PID" 2>/dev/null || true
	POSTEL_PID=""
	rm -rf "$DATA"
	DATA=""
}

log "postel $POSTEL_BIN, $CONNS connections, literal $SIZE octets"
run nonsync
run sync
