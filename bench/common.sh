# Helpers shared by bench/run.sh (through bench/lib.sh) and bench/run_imap.sh
# (sourced). Every wait is bounded.

CFLAGS_BENCH="-std=c17 -D_GNU_SOURCE -O2 -pthread -Wall -Wextra -Werror -Wshadow
 -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral -Wstrict-prototypes
 -Wmissing-prototypes"

wait_port() {  # PORT SECONDS: 0 once something listens on 127.0.0.1:PORT
	local i
	for i in $(seq 1 $(($2 * 10))); do
		ss -Hltn "( sport = :$1 )" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

proc_kb() {  # PID FIELD (VmRSS, VmHWM): kB from /proc/PID/status
	awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}

# "nproc rss_kb pss_kb" summed over PID and its children.
mem_tree() {
	local files=("/proc/$1/smaps_rollup") p
	for p in $(pgrep -P "$1"); do files+=("/proc/$p/smaps_rollup"); done
	awk '/^Rss:/{r+=$2; n++} /^Pss:/{s+=$2} END{print n+0, r+0, s+0}' \
		"${files[@]}" 2>/dev/null || true
}

postel_wait_ready() {  # 0 once $POSTEL_PID printed "postel: ready" (20 s at most)
	local i
	for i in $(seq 1 200); do
		grep -q '^postel: ready' "$OUT/postel.out" 2>/dev/null && return 0
		kill -0 "$POSTEL_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "postel did not become ready (see $OUT/postel.log)"
	return 1
}

postel_halt() {  # stops the process, keeps the data
	[ -n "$POSTEL_PID" ] || return 0
	kill -TERM "$POSTEL_PID" 2>/dev/null || true
	local i
	for i in $(seq 1 300); do
		kill -0 "$POSTEL_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$POSTEL_PID" 2>/dev/null || true
	wait "$POSTEL_PID" 2>/dev/null || true
	POSTEL_PID=""
}

# Installs Debian's Dovecot when missing and starts the peers' instance
# ($PEERS/start-dovecot.sh; pid file $DPID) on $DOVECOT_PORT. Sets
# DOVECOT_STARTED=1 when this run started it (the caller stops it then).
# 0, or 1 after a log line.
dovecot_up() {
	if ! command -v dovecot >/dev/null || [ ! -x /usr/lib/dovecot/imap ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			dovecot-imapd dovecot-pop3d >&2 ||
			{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive \
			  apt-get install -y -q dovecot-imapd dovecot-pop3d >&2; }
	fi
	if ! { [ -f "$DPID" ] && kill -0 "$(cat "$DPID")" 2>/dev/null; }; then
		DOVECOT_STARTED=1
	fi
	bash "$PEERS/start-dovecot.sh" >"$OUT/dovecot-start.log" 2>&1
	wait_port "$DOVECOT_PORT" 20 || { log "dovecot not listening"; return 1; }
}
