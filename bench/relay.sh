#!/usr/bin/env bash
# Outbound relay benchmark (docs/BENCHMARKS.md, "Outbound"): Postel and
# Postfix relaying N submitted messages to smtp-sink in the same run, and
# Postel with 100,000 messages queued for an unreachable domain. Run as
# root. Knobs: BENCH_RELAY_MESSAGES (5000) BENCH_RELAY_LENGTH (4096)
# BENCH_RELAY_SESSIONS (20) BENCH_RELAY_REPEAT (3) BENCH_DEAD_MESSAGES
# (100000; 0 skips)
# BENCH_RELAY_TARGETS ("postel postfix"; "postel-dkim" signs with DKIM)
# POSTEL_BIN.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${POSTEL_BIN:-}" ]; then
	make -C "$ROOT" -s all >&2
	export POSTEL_BIN=$ROOT/build/postel
fi
# The load generator (C, STARTTLS + AUTH): cheap enough that the servers,
# not the clients, have the machine.
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
mkdir -p "$ROOT/build/bench"
# shellcheck disable=SC2086
cc $CFLAGS_BENCH -o "$ROOT/build/bench/smtp_load" "$ROOT/bench/smtp_load.c" -lssl -lcrypto
export BENCH_LOAD_BIN=$ROOT/build/bench/smtp_load
command -v smtp-sink >/dev/null || { echo "relay.sh: smtp-sink missing (apt-get install postfix)" >&2; exit 1; }
exec /usr/bin/python3 "$ROOT/bench/relay.py"
