#!/usr/bin/env bash
# IMAP on a large mailbox (issue 12, docs/BENCHMARKS.md "IMAP on a large
# mailbox"). Entry: `make bench-imap-big`, or run it directly as root.
#
# One INBOX of N messages of 4 KB for each N in BENCH_BIG_SIZES
# ("1000 10000 100000"), on Postel and on Dovecot 2.3 (Debian,
# /work/shared/peers/start-dovecot.sh) in the same run, over IMAPS (the same
# RSA-2048 certificate on both), timed with Python's imaplib by
# bench/imap_big.py: SELECT (warm: after a first SELECT), FETCH 1:* (FLAGS)
# and its UID / UID-item / MODSEQ forms, FETCH of the last 50 (ENVELOPE),
# SEARCH UNSEEN, SEARCH SUBJECT and BODY without a match, STORE 1:*
# +FLAGS then -FLAGS (\Seen). BENCH_REPEAT (3) sessions per server and
# size, alternating Postel and Dovecot; the table gives medians.
#
# Filling: Postel's INBOX through its own SMTP listener with bench/smtp_load
# (20 sessions, 4,096-byte bodies, the 250 only once stored durably);
# Dovecot's Maildir written directly (the same headers and body, in new/ as
# a delivery agent leaves them; the first SELECT indexes them). Mailbox N
# belongs to user u(N's position + 97) on both, so the sizes never mix.
#
# Loopback only; every loop and wait is bounded; everything started here is
# stopped on exit (Dovecot only if this script started it). Run as root; not
# part of the test suite. Output: the table on stdout, raw times in
# $BENCH_OUT (a fresh /tmp directory by default).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${BENCH_BIG_SIZES:-"1000 10000 100000"}
REPEAT=${BENCH_REPEAT:-3}
POSTEL_BIN=${POSTEL_BIN:-$ROOT/build/postel}
IMAPS_PORT=${BENCH_POSTEL_IMAPS_PORT:-29941}
SMTP_PORT=${BENCH_POSTEL_SMTP_PORT:-29925}
DOVECOT_PORT=1993  # imaps, fixed by start-dovecot.sh
PEERS=${BENCH_PEERS:-$ROOT/../shared/peers}
[ -d "$PEERS" ] || PEERS=/work/shared/peers
DCONF=/etc/dovecot-bench
DPID=/var/run/dovecot-bench/master.pid
MAILDIRS=/var/mail/vhosts/bench.test
OUT=${BENCH_OUT:-$(mktemp -d /tmp/postel-bench-imapbig-XXXXXX)}
mkdir -p "$OUT"
BIN=$OUT/bin
RESULTS=$OUT/times.tsv
POSTEL_PID="" POSTEL_DATA="" DOVECOT_STARTED=0
PY=/usr/bin/python3

log() { printf 'bench-imap-big: %s\n' "$*" >&2; }

# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

cleanup() {
	set +e
	postel_halt
	[ -n "$POSTEL_DATA" ] && rm -rf "$POSTEL_DATA"
	local s  # the Maildirs written here (400 MB at 100,000)
	for s in $SIZES; do rm -rf "${MAILDIRS:?}/$(user_of "$s")"; done
	if [ "$DOVECOT_STARTED" = 1 ] && [ -f "$DPID" ]; then
		kill "$(cat "$DPID")" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup() {
	[ "$(id -u)" -eq 0 ] || { log "run as root (Dovecot)"; exit 1; }
	mkdir -p "$BIN"
	# shellcheck disable=SC2086
	cc $CFLAGS_BENCH -o "$BIN/smtp_load" "$ROOT/bench/smtp_load.c" -lssl -lcrypto
	if [ "$POSTEL_BIN" = "$ROOT/build/postel" ]; then
		make -C "$ROOT" build/postel >"$OUT/make.log" 2>&1 ||
			{ log "postel build failed (see $OUT/make.log)"; exit 1; }
	fi
	dovecot_up || exit 1
	{
		echo "# IMAP large-mailbox benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "# nproc=$(nproc) mem=$(free -h | awk '/^Mem:/{print $2}')" \
			"kernel=$(uname -r) debian=$(cat /etc/debian_version)"
		echo "# $(dovecot --version 2>/dev/null | sed 's/^/dovecot /')" \
			"postel $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
	} | tee "$OUT/machine.txt" >&2
}

user_of() {  # SIZE -> the user whose INBOX holds it
	local i=97 s
	for s in $SIZES; do
		[ "$s" = "$1" ] && { echo "u$i"; return; }
		i=$((i + 1))
	done
}

postel_start() {
	POSTEL_DATA=$(mktemp -d /tmp/postel-bench-data-XXXXXX)
	chown postel: "$POSTEL_DATA"
	cat > "$OUT/postel.conf" <<-EOF
	hostname = mail.bench.test
	log_level = info
	max_connections = 2000
	smtp_command_timeout = 600
	smtp_data_timeout = 600
	cert = $DCONF/cert.pem
	key = $DCONF/key.pem
	EOF
	local cli=("$POSTEL_BIN" --data "$POSTEL_DATA" --config "$OUT/postel.conf") s
	"${cli[@]}" domain add bench.test >>"$OUT/postel-cli.log" 2>&1
	for s in $SIZES; do
		printf 'pass\n' | "${cli[@]}" user add "$(user_of "$s")@bench.test" \
			--password-stdin >>"$OUT/postel-cli.log" 2>&1
	done
	"${cli[@]}" serve --listen "imaps=127.0.0.1:$IMAPS_PORT" \
		--listen "smtp=127.0.0.1:$SMTP_PORT" >"$OUT/postel.out" \
		2>>"$OUT/postel.log" </dev/null &
	POSTEL_PID=$!
	postel_wait_ready
}

fill_postel() {  # SIZE
	local t0 t1
	t0=$(date +%s.%N)
	timeout 3600 "$BIN/smtp_load" -s 20 -m "$1" -l 4096 -T 3000 \
		-f sender@bench.test -t "$(user_of "$1")@bench.test" \
		127.0.0.1 "$SMTP_PORT" >"$OUT/fill-postel-$1.txt" 2>&1 ||
		{ log "postel: filling $1 failed: $(tail -c 300 "$OUT/fill-postel-$1.txt")"; exit 1; }
	t1=$(date +%s.%N)
	log "postel: $1 messages delivered by SMTP in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}') s"
}

# The Maildir a delivery agent would leave: new/ files, LF line ends, the
# headers smtp_load sends plus Return-Path and Received, a 4,096-byte body.
fill_dovecot() {  # SIZE
	local dir
	dir="$MAILDIRS/$(user_of "$1")"
	rm -rf "${dir:?}"
	"$PY" - "$dir" "$1" "$(user_of "$1")@bench.test" <<-'EOF'
	import os, sys, time
	d, n, to = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	for sub in ("new", "cur", "tmp"):
	    os.makedirs(os.path.join(d, sub), exist_ok=True)
	body = ("x" * 78 + "\n") * 51 + "x" * 14 + "\n"
	now = int(time.time())
	for i in range(n):
	    msg = ("Return-Path: <sender@bench.test>\n"
	           "Received: from load.bench.test ([127.0.0.1])\n"
	           "\tby mail.bench.test with ESMTP id %d; %s\n"
	           "From: <sender@bench.test>\nTo: <%s>\nSubject: bench %d\n"
	           "Message-ID: <%d.load@bench.test>\n\n" %
	           (i, time.strftime("%a, %d %b %Y %H:%M:%S +0000",
	                             time.gmtime(now)), to, i, i)) + body
	    with open(os.path.join(d, "new", "%d.M%dP1.bench" % (now, i)),
	              "w") as f:
	        f.write(msg)
	EOF
	chown -R 5000:5000 "$dir"
	log "dovecot: $1 messages written to $dir"
}

measure() {  # TARGET SIZE REP
	local port=$DOVECOT_PORT rc=0
	[ "$1" = postel ] && port=$IMAPS_PORT
	printf '%s\t%s\t%s\n' "$1" "$2" "$PY $ROOT/bench/imap_big.py 127.0.0.1 $port $(user_of "$2")@bench.test pass $2 1" >> "$OUT/commands.tsv"
	timeout 3600 "$PY" "$ROOT/bench/imap_big.py" 127.0.0.1 "$port" \
		"$(user_of "$2")@bench.test" pass "$2" 1 \
		>"$OUT/last.txt" 2>"$OUT/err-$1-$2-$3.txt" || rc=$?
	if [ "$rc" != 0 ]; then
		log "$1 $2: imap_big failed: $(tail -c 300 "$OUT/err-$1-$2-$3.txt")"
		return 0
	fi
	awk -v t="$1" -v n="$2" -v r="$3" -F'\t' \
		'{print t "\t" n "\t" r "\t" $1 "\t" $2}' "$OUT/last.txt" >> "$RESULTS"
	log "$1 $2 rep $3: $(tr '\t\n' '= ' < "$OUT/last.txt")"
}

summary() {
	"$PY" - "$RESULTS" <<-'EOF'
	import sys, statistics as st
	rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
	t = {}
	order, sizes = [], []
	for target, n, _rep, name, ms in rows:
	    t.setdefault((target, int(n), name), []).append(float(ms))
	    if name not in order:
	        order.append(name)
	    if int(n) not in sizes:
	        sizes.append(int(n))
	def fmt(v):
	    return f"{v / 1000:.2f} s" if v >= 1000 else f"{v:.1f} ms" if v < 10 else f"{v:.0f} ms"
	for n in sizes:
	    print(f"\n{n:,} messages of 4 KB, medians of the runs shown:\n")
	    print("| command | Dovecot | Postel | Postel/Dovecot |")
	    print("|---|---:|---:|---:|")
	    for name in order:
	        d = t.get(("dovecot", n, name), [])
	        p = t.get(("postel", n, name), [])
	        if not d and not p:
	            continue
	        md = st.median(d) if d else None
	        mp = st.median(p) if p else None
	        ratio = f"{mp / md:.2f}" if md and mp else "-"
	        print(f"| {name} | {fmt(md) if md is not None else '-'} | "
	              f"{fmt(mp) if mp is not None else '-'} | {ratio} |")
	EOF
}

main() {
	setup
	: > "$RESULTS"
	postel_start
	local s rep
	for s in $SIZES; do
		fill_postel "$s"
		fill_dovecot "$s"
		for rep in $(seq 1 "$REPEAT"); do
			measure postel "$s" "$rep"
			measure dovecot "$s" "$rep"
		done
	done
	summary | tee "$OUT/summary.md"
	log "raw results in $OUT"
}

main "$@"
