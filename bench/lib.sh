# Functions for bench/run.sh (sourced; uses its variables). Every wait is
# bounded; every process started here is recorded so cleanup() can stop it.
# shellcheck disable=SC2034,SC2153 # variables are run.sh's

# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"


# --- setup ------------------------------------------------------------------

install_postfix() {
	command -v smtp-source >/dev/null && return 0
	if [ "$IS_ROOT" != 1 ]; then
		log "smtp-source missing and not root: no Postfix/smtp-sink columns"
		return 1
	fi
	# "No configuration": the package must not start an MTA on port 25;
	# the peer script writes the loopback-only config.
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >&2 ||
		{ apt-get update -q >&2 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >&2; }
}

build_tools() {
	mkdir -p "$BIN"
	# shellcheck disable=SC2086
	cc $CFLAGS_BENCH -o "$BIN/smtp_load" "$ROOT/bench/smtp_load.c" -lssl -lcrypto
	# shellcheck disable=SC2086
	cc $CFLAGS_BENCH -o "$BIN/idle_conns" "$ROOT/bench/idle_conns.c"
}

# The SPF records of the senders (bench/spf_dns.py) on a loopback DNS
# server; BENCH_DNS=0 leaves the resolver unset (the system's).
BENCH_DNS_PID=""
dns_start() {
	[ "${BENCH_DNS:-1}" = 1 ] || return 0
	/usr/bin/python3 "$ROOT/bench/spf_dns.py" "$OUT/dns-queries.txt" \
		> "$OUT/dns.out" 2>&1 &
	BENCH_DNS_PID=$!
	local i
	for i in $(seq 1 50); do
		[ -s "$OUT/dns.out" ] && break
		sleep 0.1
	done
	BENCH_RESOLVER=$(head -1 "$OUT/dns.out")
	log "dns: $BENCH_RESOLVER (bench/spf_dns.py)"
}

dns_stop() {
	[ -n "$BENCH_DNS_PID" ] || return 0
	kill "$BENCH_DNS_PID" 2>/dev/null
	wait "$BENCH_DNS_PID" 2>/dev/null
	BENCH_DNS_PID=""
	log "dns: $(cat "$OUT/dns-queries.txt" 2>/dev/null) queries answered"
}

write_postel_config() {
	dns_start
	cat > "$OUT/postel.conf" <<-EOF
	# written by bench/run.sh
	hostname = mail.bench.test
	log_level = info
	max_connections = 20000
	max_connections_per_ip = 20000
	smtp_command_timeout = 600
	smtp_data_timeout = 600
	EOF
	if [ -n "${BENCH_RESOLVER:-}" ]; then
		printf 'resolver = %s\ndnssec_trust_anchor = none\n' \
			"$BENCH_RESOLVER" >> "$OUT/postel.conf"
	fi
	chmod 644 "$OUT/postel.conf"
}

# Postel is usable when it builds, starts, and accepts a few messages.
postel_usable() {
	if [ ! -x "$POSTEL_BIN" ] || [ "$POSTEL_BIN" = "$ROOT/build/postel" ]; then
		make -C "$ROOT" build/postel >"$OUT/make.log" 2>&1 ||
			{ log "postel: build failed (see $OUT/make.log)"; return 1; }
	fi
	postel_start || return 1
	"$BIN/smtp_load" -s 2 -m 20 -T 30 -f "$FROM" -t "$RCPT" \
		127.0.0.1 "$POSTEL_PORT" > "$OUT/postel-smoke.txt" 2>&1 ||
		{ log "postel: smoke test failed: $(cat "$OUT/postel-smoke.txt")"
		  postel_stop; return 1; }
	postel_stop
}

bench_setup() {
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	log "open-file limit $(ulimit -n)"
	build_tools
	write_postel_config
	local have_pf=0 t
	install_postfix && have_pf=1
	ACTIVE_TARGETS=""
	for t in $TARGETS; do
		case $t in
		sink) [ "$have_pf" = 1 ] && sink_start && ACTIVE_TARGETS+=" sink" ;;
		postfix) [ "$have_pf" = 1 ] && [ "$IS_ROOT" = 1 ] &&
			{ postfix status >/dev/null 2>&1 || POSTFIX_STARTED=1; } &&
			postfix_start && ACTIVE_TARGETS+=" postfix" ;;
		postel) postel_usable && ACTIVE_TARGETS+=" postel" ||
			echo "postel pending: not built or not accepting mail" \
				> "$OUT/postel-pending.txt" ;;
		esac
	done
	if [ "$have_pf" != 1 ]; then
		TOOLS=$(echo "$TOOLS" | tr ' ' '\n' | grep -v '^source' | tr '\n' ' ')
	fi
	log "targets:$ACTIVE_TARGETS; tools: $TOOLS"
	[ -n "$ACTIVE_TARGETS" ] || { log "nothing to measure"; exit 1; }
}

# --- servers ----------------------------------------------------------------

sink_start() {
	local user=()
	[ "$IS_ROOT" = 1 ] && user=(-u nobody)
	smtp-sink "${user[@]}" -m 1000 "127.0.0.1:$SINK_PORT" 1024 \
		>"$OUT/sink.log" 2>&1 &
	SINK_PID=$!
	wait_port "$SINK_PORT" 10 || { log "smtp-sink did not start"; return 1; }
}

postfix_start() {
	bash "$PEERS/start-postfix.sh" >"$OUT/postfix-start.log" 2>&1 ||
		{ log "start-postfix.sh failed (see $OUT/postfix-start.log)"; return 1; }
	wait_port "$POSTFIX_PORT" 20 || { log "postfix not listening"; return 1; }
	postfix_drain
}

postfix_master_pid() { tr -d ' \n' < /var/spool/postfix/pid/master.pid; }

# Waits (bounded) until Postfix has delivered everything, so its backlog
# does not run during another server's measurement; then empties the
# Maildirs so every run starts alike.
postfix_drain() {
	local i q=/var/spool/postfix
	for i in $(seq 1 600); do
		[ -z "$(find "$q/maildrop" "$q/incoming" "$q/active" "$q/deferred" \
			-type f 2>/dev/null | head -1)" ] && break
		sleep 1
	done
	if [ "$i" = 600 ]; then
		log "postfix queue not empty after 600 s; deleting it"
		postsuper -d ALL >/dev/null 2>&1 || true
	fi
	rm -rf /var/mail/vhosts/bench.test/*
}

postel_start() {
	postel_stop
	POSTEL_DATA=$(mktemp -d /tmp/postel-bench-data-XXXXXX)
	chmod 755 "$POSTEL_DATA"
	# As root, postel takes over only a data dir it creates or one that
	# is already its user's (docs/CONFIG.md, data_dir).
	if [ "$(id -u)" -eq 0 ]; then chown postel: "$POSTEL_DATA"; fi
	local cli=("$POSTEL_BIN" --data "$POSTEL_DATA" --config "$OUT/postel.conf")
	if ! "${cli[@]}" domain add bench.test >>"$OUT/postel-cli.log" 2>&1 ||
	   ! printf 'bench-pass\n' | "${cli[@]}" user add "$RCPT" \
		--password-stdin >>"$OUT/postel-cli.log" 2>&1; then
		log "postel: provisioning failed (see $OUT/postel-cli.log)"
		return 1
	fi
	"${cli[@]}" serve --listen "smtp=127.0.0.1:$POSTEL_PORT" \
		>"$OUT/postel.out" 2>"$OUT/postel.log" </dev/null &
	POSTEL_PID=$!
	postel_wait_ready && return 0
	postel_stop
	return 1
}

postel_stop() {
	postel_halt
	if [ -n "$POSTEL_DATA" ]; then
		rm -rf "$POSTEL_DATA"
		POSTEL_DATA=""
	fi
}

# --- memory -----------------------------------------------------------------

# Samples the Postfix process tree's total PSS every 0.5 s until STOPFILE
# exists (bounded by RUN_TIMEOUT); writes the maximum to OUTFILE.
sample_postfix_pss() {
	local stop=$1 outf=$2 max=0 i v m
	m=$(postfix_master_pid)
	for i in $(seq 1 $((RUN_TIMEOUT * 2))); do
		[ -e "$stop" ] && break
		v=$(mem_tree "$m" | awk '{print $3}')
		[ "${v:-0}" -gt "$max" ] && max=$v
		sleep 0.5
	done
	echo "$max" > "$outf"
}

# --- ingest -----------------------------------------------------------------

target_port() {
	case $1 in
	postel) echo "$POSTEL_PORT" ;; postfix) echo "$POSTFIX_PORT" ;;
	sink) echo "$SINK_PORT" ;;
	esac
}

tool_command() {  # TOOL PORT -> the exact load command
	case $1 in
	source) echo "smtp-source -d -l $LENGTH -m $MESSAGES -s $SESSIONS" \
		"-f $FROM -t $RCPT 127.0.0.1:$2" ;;
	source-r) echo "smtp-source -l $LENGTH -m $MESSAGES -s $SESSIONS" \
		"-f $FROM -t $RCPT 127.0.0.1:$2" ;;
	load) echo "$BIN/smtp_load -s $SESSIONS -m $MESSAGES -l $LENGTH" \
		"${BENCH_LOAD_FILE:+-F $BENCH_LOAD_FILE }-f $FROM -t $RCPT" \
		"-T $RUN_TIMEOUT 127.0.0.1 $2" ;;
	esac
}

# One measurement; appends a row to $RESULTS:
# target tool rep rc wall_s rate p50_ms p99_ms accepted peak_kb ctxt_per_msg
# cpu_ms_per_msg (the last two for Postel only: all its threads)
ingest_once() {
	local target=$1 tool=$2 rep=$3 port cmd t0 t1 rc=0 wall rate
	local p50=- p99=- accepted=- peak=- stop="$OUT/.sampler-stop"
	local cs0="0 0" cs1 cspm=- cpupm=-
	port=$(target_port "$target")
	cmd=$(tool_command "$tool" "$port")
	[ "$target" = postel ] && { postel_start || return 0; }
	printf '%s\t%s\t%s\n' "$target" "$tool" "$cmd" >> "$OUT/commands.tsv"
	rm -f "$stop"
	[ "$target" = postfix ] && sample_postfix_pss "$stop" "$OUT/.pss" &
	local sampler=$!
	log "rep $rep $target $tool: $cmd"
	[ "$target" = postel ] && cs0=$(proc_ctxt "$POSTEL_PID")
	t0=$(now)
	# shellcheck disable=SC2086
	timeout "$RUN_TIMEOUT" $cmd > "$OUT/last-load.txt" 2>&1 || rc=$?
	t1=$(now)
	touch "$stop"
	wait "$sampler" 2>/dev/null || true
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
	rate=$(awk -v w="$wall" -v m="$MESSAGES" 'BEGIN{printf "%.1f", m / w}')
	if [ "$tool" = load ]; then
		rate=$(kv rate); p50=$(kv p50_ms); p99=$(kv p99_ms)
		accepted=$(kv ok)
	elif [ "$rc" = 0 ]; then
		accepted=$MESSAGES
	fi
	case $target in
	postel)
		peak=$(proc_kb "$POSTEL_PID" VmHWM)
		accepted=$(grep -c 'event=accept' "$OUT/postel.log" || true)
		cs1=$(proc_ctxt "$POSTEL_PID")
		# Context switches (all threads) and CPU ms per accepted message.
		read -r cspm cpupm < <(awk -v a="$cs0" -v b="$cs1" -v n="$accepted" \
			-v hz="$(getconf CLK_TCK)" 'BEGIN{split(a, x, " "); split(b, y, " ");
			if (n > 0) printf "%.2f %.3f\n", (y[1] - x[1]) / n,
				(y[2] - x[2]) * 1000 / hz / n; else print "- -"}')
		postel_stop ;;
	postfix)
		peak=$(cat "$OUT/.pss" 2>/dev/null || echo -)
		postfix_drain ;;
	esac
	[ "$rc" = 0 ] || log "  exit $rc: $(tail -c 300 "$OUT/last-load.txt")"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$tool" \
		"$rep" "$rc" "$wall" "$rate" "$p50" "$p99" "$accepted" "$peak" "$cspm" "$cpupm" \
		| tee -a "$RESULTS" >&2
}

# "ctxt cpu_ticks" of PID: voluntary + involuntary context switches summed
# over all its threads, and utime + stime (clock ticks) of the process.
proc_ctxt() {
	local c t
	c=$(cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/^(non)?voluntary_ctxt_switches:/{s+=$2} END{print s+0}')
	t=$(awk '{print $14 + $15}' /proc/"$1"/stat 2>/dev/null || echo 0)
	echo "$c $t"
}

kv() { tr ' ' '\n' < "$OUT/last-load.txt" | awk -F= -v k="$1" '$1 == k {print $2}'; }

# --- idle connections -------------------------------------------------------

# Opens N idle connections with idle_conns, runs MEASURE_FN once all are
# greeted, then lets them go. Prints idle_conns' "ready ..." line.
with_idle_conns() {
	local n=$1 port=$2 fn=$3 line="" done_line=""
	coproc IDLEC { exec "$BIN/idle_conns" -n "$n" -H 300 127.0.0.1 "$port"; }
	IDLE_PID=$IDLEC_PID
	read -t 200 -r line <&"${IDLEC[0]}" || true
	sleep 2
	"$fn"
	echo q >&"${IDLEC[1]}" || true
	read -t 30 -r done_line <&"${IDLEC[0]}" || true
	wait "$IDLE_PID" 2>/dev/null || true
	IDLE_PID=""
	IDLE_READY="$line $done_line"
}

idle_measure_postel() {
	IDLE_AFTER=$(proc_kb "$POSTEL_PID" VmRSS)
	IDLE_ESTAB=$(ss -Htn state established "( sport = :$POSTEL_PORT )" | wc -l)
}

# idle.tsv: target conns greeted before_kb after_kb per_conn_kb estab detail
idle_postel() {
	postel_start || return 0
	sleep 1
	local before greeted
	before=$(proc_kb "$POSTEL_PID" VmRSS)
	log "idle: $IDLE connections to postel: $BIN/idle_conns -n $IDLE -H 300 127.0.0.1 $POSTEL_PORT"
	with_idle_conns "$IDLE" "$POSTEL_PORT" idle_measure_postel
	greeted=$(echo "$IDLE_READY" | sed -n 's/.*greeted=\([0-9]*\).*/\1/p')
	printf 'postel\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$IDLE" "${greeted:-0}" \
		"$before" "$IDLE_AFTER" \
		"$(awk -v a="$before" -v b="$IDLE_AFTER" -v n="${greeted:-0}" \
			'BEGIN{printf "%.1f", n ? (b - a) / n : 0}')" \
		"$IDLE_ESTAB" "rss; $IDLE_READY" | tee -a "$OUT/idle.tsv" >&2
	printf 'idle\tpostel\t%s\n' \
		"$BIN/idle_conns -n $IDLE -H 300 127.0.0.1 $POSTEL_PORT" \
		>> "$OUT/commands.tsv"
	postel_stop
}

idle_measure_postfix() {
	IDLE_AFTER=$(mem_tree "$(postfix_master_pid)")
	IDLE_ESTAB=$(ss -Htn state established "( sport = :$POSTFIX_PORT )" | wc -l)
}

# Postfix runs one smtpd process per connection: restart it so no idle
# smtpd from the ingest runs is counted, then sum PSS (shared pages split
# between processes) and RSS over the whole process tree.
idle_postfix() {
	postfix stop >/dev/null 2>&1 || true
	sleep 1
	postfix_start || return 0
	sleep 2
	local before greeted
	before=$(mem_tree "$(postfix_master_pid)")
	log "idle: $POSTFIX_IDLE connections to postfix"
	with_idle_conns "$POSTFIX_IDLE" "$POSTFIX_PORT" idle_measure_postfix
	greeted=$(echo "$IDLE_READY" | sed -n 's/.*greeted=\([0-9]*\).*/\1/p')
	# shellcheck disable=SC2086 # split "n rss pss" on purpose
	set -- $before
	local b_rss=$2 b_pss=$3
	# shellcheck disable=SC2086
	set -- $IDLE_AFTER
	printf 'postfix\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$POSTFIX_IDLE" \
		"${greeted:-0}" "$b_pss" "$3" \
		"$(awk -v a="$b_pss" -v b="$3" -v n="${greeted:-0}" \
			'BEGIN{printf "%.1f", n ? (b - a) / n : 0}')" "$IDLE_ESTAB" \
		"pss; rss/conn $(awk -v a="$b_rss" -v b="$2" -v n="${greeted:-0}" \
			'BEGIN{printf "%.1f", n ? (b - a) / n : 0}') kB; procs $1; $IDLE_READY" \
		| tee -a "$OUT/idle.tsv" >&2
	printf 'idle\tpostfix\t%s\n' \
		"$BIN/idle_conns -n $POSTFIX_IDLE -H 300 127.0.0.1 $POSTFIX_PORT" \
		>> "$OUT/commands.tsv"
}
