#!/usr/bin/env bash
# Issue 10's inbound target: SMTP ingest on port 25 of DKIM-signed 4 KB
# messages (RSA-2048, signed by dkimpy) with verification on keeps at least
# 80% of the rate of the same message unsigned. The key and a DMARC record
# come from the loopback DNS server (bench/spf_dns.py, BENCH_DNS_EXTRA), so
# after the first message the answers are cached, as in production.
#
# Postel only; the two kinds alternate within one sitting, BENCH_REPEAT
# times each (default 3), and the medians and their ratio are printed.
# Load: bench/smtp_load -F (the same message every time), BENCH_SESSIONS
# sessions (20), BENCH_MESSAGES messages (5000), connections reused.
#
# usage: bash bench/dkim_ingest.sh    (root or not; POSTEL_BIN to pick a build)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MESSAGES=${BENCH_MESSAGES:-5000}
SESSIONS=${BENCH_SESSIONS:-20}
LENGTH=${BENCH_LENGTH:-4096}
REPEAT=${BENCH_REPEAT:-3}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-600}
POSTEL_BIN=${POSTEL_BIN:-$ROOT/build/postel}
POSTEL_PORT=${BENCH_POSTEL_PORT:-25251}
FROM=sender@bench.test
RCPT=u1@bench.test
OUT=${BENCH_OUT:-$(mktemp -d /tmp/postel-bench-dkim-XXXXXX)}
mkdir -p "$OUT"
chmod 755 "$OUT"
RESULTS=$OUT/results.tsv
BIN=$OUT/bin
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
POSTEL_PID=""
POSTEL_DATA=""

log() { printf 'bench: %s\n' "$*" >&2; }
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

/usr/bin/python3 "$ROOT/bench/dkim_msgs.py" "$OUT" "$LENGTH"
export BENCH_DNS_EXTRA=$OUT/dns-extra.json
chmod 644 "$OUT"/*.eml
build_tools
write_postel_config
postel_usable || { log "postel is not usable"; exit 1; }

: > "$OUT/kinds.tsv"
for rep in $(seq 1 "$REPEAT"); do
	for kind in plain signed; do
		BENCH_LOAD_FILE=$OUT/$kind.eml ingest_once postel load "$rep"
		# The receiving server's verdict, from one stored message.
		printf '%s\t%s\n' "$kind" "$(tail -1 "$RESULTS")" >> "$OUT/kinds.tsv"
	done
done

# kind target tool rep rc wall rate p50 p99 accepted peak ctxt cpu
awk -F'\t' '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j-1] > a[j]; j--) {
			t = a[j]; a[j] = a[j-1]; a[j-1] = t
		}
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{ k = $1; n[k]++; r[k, n[k]] = $7 + 0; c[k, n[k]] = $13 + 0
  runs[k] = runs[k] sprintf("%s%.0f", runs[k] == "" ? "" : ", ", $7) }
END {
	printf "| messages | msg/s (runs) | median | CPU ms/msg (median) |\n"
	printf "|---|---|---:|---:|\n"
	for (ki = 1; ki <= 2; ki++) {
		k = ki == 1 ? "plain" : "signed"
		for (i = 1; i <= n[k]; i++) { x[i] = r[k, i]; y[i] = c[k, i] }
		med[k] = median(x, n[k]); cpu = median(y, n[k])
		label = "unsigned"
		if (k == "signed")
			label = "DKIM-signed (rsa-sha256, 2048), verified"
		printf "| %s | %s | %.0f | %.3f |\n", label, runs[k], med[k], cpu
	}
	if (med["plain"] > 0)
		printf "\nsigned / unsigned rate: %.2f (target >= 0.80)\n",
			med["signed"] / med["plain"]
}' "$OUT/kinds.tsv" | tee "$OUT/summary.md"
echo
echo "Command: bash bench/dkim_ingest.sh  (load: $(tool_command load "$POSTEL_PORT") -F {plain,signed}.eml)"
log "raw results and logs in $OUT"
