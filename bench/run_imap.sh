#!/usr/bin/env bash
# IMAP benchmark (docs/BENCHMARKS.md "IMAP"). Entry: `make bench-imap`.
#
#  1. Mixed workload: bench/imap_load.c, BENCH_IMAP_CLIENTS (50) clients over
#     100 mailboxes (u1..u100@bench.test, each INBOX seeded with the same
#     BENCH_IMAP_SEED (200) messages of 2-8 KB by APPEND), each loop SELECT,
#     FETCH 1:20 (FLAGS ENVELOPE), FETCH n BODY.PEEK[], STORE +FLAGS \Seen,
#     SEARCH UNSEEN, SEARCH SUBJECT, APPEND, IDLE/DONE; every reply checked.
#     Modes (BENCH_IMAP_MODES): "1" = new connection + LOGIN + LOGOUT every
#     loop (login-heavy), "0" = one session per client. Against Postel and
#     Dovecot 2.3 (Debian, /work/shared/peers/start-dovecot.sh), both over
#     implicit TLS (Postel refuses LOGIN without TLS; both use the same
#     RSA-2048 certificate), BENCH_REPEAT (3) times interleaved, with a
#     fresh seed for every measurement.
#  2. Memory of BENCH_IDLE (10000) connections in IDLE (logged in, INBOX
#     selected) to Postel (VmRSS before/after), and of BENCH_DOVECOT_IDLE
#     (200) to Dovecot (PSS of its whole process tree before/after).
#
# Loopback only; every step is bounded; everything started here is stopped
# on exit (Dovecot only if this script started it). Run as root.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIENTS=${BENCH_IMAP_CLIENTS:-50}
USERS=100
SEED=${BENCH_IMAP_SEED:-200}
DURATION=${BENCH_IMAP_SECONDS:-20}
MODES=${BENCH_IMAP_MODES:-"1 0"}
REPEAT=${BENCH_REPEAT:-3}
TARGETS=${BENCH_TARGETS:-"dovecot postel"}
IDLE=${BENCH_IDLE:-10000}
DOVECOT_IDLE=${BENCH_DOVECOT_IDLE:-200}
POSTEL_BIN=${POSTEL_BIN:-$ROOT/build/postel}
POSTEL_PORT=${BENCH_POSTEL_IMAPS_PORT:-29931}
DOVECOT_PORT=1993  # imaps, fixed by start-dovecot.sh
PEERS=${BENCH_PEERS:-$ROOT/../shared/peers}
[ -d "$PEERS" ] || PEERS=/work/shared/peers
DCONF=/etc/dovecot-bench
DPID=/var/run/dovecot-bench/master.pid
MAILDIRS=/var/mail/vhosts/bench.test
OUT=${BENCH_OUT:-$(mktemp -d /tmp/postel-bench-imap-XXXXXX)}
mkdir -p "$OUT"
BIN=$OUT/bin
RESULTS=$OUT/imap.tsv
POSTEL_PID="" POSTEL_DATA="" DOVECOT_STARTED=0 IDLE_PID=""

log() { printf 'bench-imap: %s\n' "$*" >&2; }

# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

cleanup() {
	set +e
	[ -n "$IDLE_PID" ] && kill "$IDLE_PID" 2>/dev/null
	postel_stop
	if [ "$DOVECOT_STARTED" = 1 ] && [ -f "$DPID" ]; then
		kill "$(cat "$DPID")" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup() {
	[ "$(id -u)" -eq 0 ] || { log "run as root (Dovecot)"; exit 1; }
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	mkdir -p "$BIN"
	# shellcheck disable=SC2086
	cc $CFLAGS_BENCH -o "$BIN/imap_load" "$ROOT/bench/imap_load.c" -lssl -lcrypto
	# shellcheck disable=SC2086
	cc $CFLAGS_BENCH -o "$BIN/imap_idle" "$ROOT/bench/imap_idle.c" -lssl -lcrypto
	if [ "$POSTEL_BIN" = "$ROOT/build/postel" ]; then
		make -C "$ROOT" build/postel >"$OUT/make.log" 2>&1 ||
			{ log "postel build failed (see $OUT/make.log)"; exit 1; }
	fi
	dovecot_up || exit 1
	{
		echo "# IMAP benchmark run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "# nproc=$(nproc) mem=$(free -h | awk '/^Mem:/{print $2}')" \
			"kernel=$(uname -r) debian=$(cat /etc/debian_version)"
		echo "# $(dovecot --version 2>/dev/null | sed 's/^/dovecot /')"
	} | tee "$OUT/machine.txt" >&2
}

# Fresh data directory, domain, 100 users; serves imaps only.
postel_start() {
	postel_stop
	POSTEL_DATA=$(mktemp -d /tmp/postel-bench-data-XXXXXX)
	# As root, postel takes over only a data dir it creates or one that
	# is already its user's (docs/CONFIG.md, data_dir).
	if [ "$(id -u)" -eq 0 ]; then chown postel: "$POSTEL_DATA"; fi
	cat > "$OUT/postel.conf" <<-EOF
	hostname = mail.bench.test
	log_level = ${BENCH_POSTEL_LOG_LEVEL:-info}
	max_connections = 20000
	max_connections_per_ip = 20000
	cert = $DCONF/cert.pem
	key = $DCONF/key.pem
	EOF
	local cli=("$POSTEL_BIN" --data "$POSTEL_DATA" --config "$OUT/postel.conf") i
	"${cli[@]}" domain add bench.test >>"$OUT/postel-cli.log" 2>&1
	for i in $(seq 1 "$USERS"); do
		printf 'pass\n' | "${cli[@]}" user add "u$i@bench.test" \
			--password-stdin >>"$OUT/postel-cli.log" 2>&1
	done
	postel_serve
}

postel_serve() {
	"$POSTEL_BIN" --data "$POSTEL_DATA" --config "$OUT/postel.conf" serve \
		--listen "imaps=127.0.0.1:$POSTEL_PORT" >"$OUT/postel.out" \
		2>>"$OUT/postel.log" </dev/null &
	POSTEL_PID=$!
	postel_wait_ready
}

postel_stop() {
	postel_halt
	[ -n "$POSTEL_DATA" ] && rm -rf "$POSTEL_DATA"
	POSTEL_DATA=""
}

port_of() { [ "$1" = postel ] && echo "$POSTEL_PORT" || echo "$DOVECOT_PORT"; }

# Fresh mailboxes with the same seeded messages on either server.
prepare() {
	local target=$1
	if [ "$target" = postel ]; then
		postel_start
	else
		rm -rf "${MAILDIRS:?}"/*
	fi
	"$BIN/imap_load" -t -S -c 20 -u "$USERS" -N "$SEED" -T 600 \
		127.0.0.1 "$(port_of "$target")" >"$OUT/seed.txt" 2>&1 ||
		{ log "$target: seeding failed: $(tail -c 400 "$OUT/seed.txt")"; return 1; }
}

kv() { head -1 "$OUT/last.txt" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }

# imap.tsv: target mode rep rc ops errors rate p50 p99 loops
measure() {
	local target=$1 mode=$2 rep=$3 rc=0 cmd
	prepare "$target" || return 0
	cmd="$BIN/imap_load -t -c $CLIENTS -u $USERS -N $SEED -r $mode -n 1000000 -T $DURATION 127.0.0.1 $(port_of "$target")"
	printf '%s\tmode %s\t%s\n' "$target" "$mode" "$cmd" >> "$OUT/commands.tsv"
	log "rep $rep $target mode $mode: $cmd"
	# shellcheck disable=SC2086
	timeout $((DURATION + 120)) $cmd >"$OUT/last.txt" \
		2>"$OUT/errors-$target-$mode-$rep.txt" || rc=$?
	cp "$OUT/last.txt" "$OUT/load-$target-$mode-$rep.txt"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$mode" \
		"$rep" "$rc" "$(kv ops)" "$(kv errors)" "$(kv rate)" \
		"$(kv p50_ms)" "$(kv p99_ms)" "$(kv loops)" | tee -a "$RESULTS" >&2
	[ "$target" = postel ] && postel_stop
	return 0
}

# Runs imap_idle with N connections to PORT, calls FN once all idle.
with_idle() {
	local n=$1 port=$2 fn=$3 line="" done_line=""
	coproc IDLEC { exec "$BIN/imap_idle" -t -n "$n" -u "$USERS" -H 900 \
		127.0.0.1 "$port" 2>>"$OUT/idle-errors.txt"; }
	IDLE_PID=$IDLEC_PID
	read -t 900 -r line <&"${IDLEC[0]}" || true
	sleep 3
	"$fn"
	echo q >&"${IDLEC[1]}" || true
	read -t 60 -r done_line <&"${IDLEC[0]}" || true
	wait "$IDLE_PID" 2>/dev/null || true
	IDLE_PID=""
	IDLE_LINE="$line $done_line"
}

m_postel() { IDLE_AFTER=$(proc_kb "$POSTEL_PID" VmRSS); }
m_dovecot() { IDLE_AFTER=$(mem_tree "$(cat "$DPID")"); }

# idle.tsv: target conns line before after per_conn_kb
idle_postel() {
	prepare postel || return 0
	postel_halt      # restart: the seeding's memory is not counted
	postel_serve || return 0
	sleep 1
	local before
	before=$(proc_kb "$POSTEL_PID" VmRSS)
	log "idle: $IDLE connections to postel"
	printf 'idle\tpostel\t%s\n' "$BIN/imap_idle -t -n $IDLE -u $USERS -H 900 127.0.0.1 $POSTEL_PORT" >> "$OUT/commands.tsv"
	with_idle "$IDLE" "$POSTEL_PORT" m_postel
	local n
	n=$(echo "$IDLE_LINE" | sed -n 's/.*idling=\([0-9]*\).*/\1/p')
	printf 'postel\t%s\t%s\trss_kb %s\trss_kb %s\t%s\n' "$IDLE" "$IDLE_LINE" \
		"$before" "$IDLE_AFTER" "$(awk -v a="$before" -v b="$IDLE_AFTER" \
		-v n="${n:-0}" 'BEGIN{printf "%.1f", n ? (b - a) / n : 0}')" \
		| tee -a "$OUT/idle.tsv" >&2
	postel_stop
}

idle_dovecot() {
	prepare dovecot || return 0
	sleep 2
	local before
	before=$(mem_tree "$(cat "$DPID")")
	log "idle: $DOVECOT_IDLE connections to dovecot"
	printf 'idle\tdovecot\t%s\n' "$BIN/imap_idle -t -n $DOVECOT_IDLE -u $USERS -H 900 127.0.0.1 $DOVECOT_PORT" >> "$OUT/commands.tsv"
	with_idle "$DOVECOT_IDLE" "$DOVECOT_PORT" m_dovecot
	local n
	n=$(echo "$IDLE_LINE" | sed -n 's/.*idling=\([0-9]*\).*/\1/p')
	# shellcheck disable=SC2086
	set -- $before $IDLE_AFTER
	printf 'dovecot\t%s\t%s\tprocs/rss/pss_kb %s %s %s\tprocs/rss/pss_kb %s %s %s\t%s\n' \
		"$DOVECOT_IDLE" "$IDLE_LINE" "$@" "$(awk -v a="$3" -v b="$6" \
		-v n="${n:-0}" 'BEGIN{printf "%.1f", n ? (b - a) / n : 0}')" \
		| tee -a "$OUT/idle.tsv" >&2
}

summary() {
	/usr/bin/python3 - "$RESULTS" <<'EOF'
import sys, statistics as st
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
med = {}
print("| server | mode | ops/s median | runs | errors | p50 ms | p99 ms |")
print("|---|---|---:|---|---:|---:|---:|")
modes = sorted({r[1] for r in rows}, reverse=True)
for mode in modes:
    for t in ("postel", "dovecot"):
        rs = [r for r in rows if r[0] == t and r[1] == mode and r[6]]
        if not rs:
            continue
        rate = [float(r[6]) for r in rs]
        med[(t, mode)] = st.median(rate)
        name = "login every loop" if mode == "1" else "one session per client"
        print(f"| {t} | {name} | {st.median(rate):,.0f} | "
              f"{', '.join(f'{x:,.0f}' for x in rate)} | "
              f"{sum(int(r[5]) for r in rs)} | "
              f"{st.median(float(r[7]) for r in rs):.2f} | "
              f"{st.median(float(r[8]) for r in rs):.2f} |")
for mode in modes:
    if ("postel", mode) in med and ("dovecot", mode) in med:
        print(f"ratio Postel/Dovecot, mode {mode}: "
              f"{med[('postel', mode)] / med[('dovecot', mode)]:.2f}x")
EOF
}

main() {
	setup
	: > "$RESULTS"
	local rep mode t
	for rep in $(seq 1 "$REPEAT"); do
		for mode in $MODES; do
			for t in $TARGETS; do
				measure "$t" "$mode" "$rep"
			done
		done
	done
	if [ "${BENCH_SKIP_IDLE:-0}" != 1 ]; then
		case " $TARGETS " in *" postel "*) idle_postel ;; esac
		case " $TARGETS " in *" dovecot "*) idle_dovecot ;; esac
	fi
	summary | tee "$OUT/summary.md"
	log "raw results in $OUT"
}

main "$@"
