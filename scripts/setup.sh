#!/usr/bin/env bash
# Installs every Debian package Postel's build, tests and benchmarks need.
# Idempotent: when everything is present it changes nothing.
set -euo pipefail

PKGS=(
	build-essential pkg-config clang libclang-rt-14-dev
	libevent-dev libssl-dev libsqlite3-dev libcrypt-dev libcmocka-dev
	python3 python3-pytest python3-pytest-timeout swaks openssl sqlite3 procps libnet-ssleay-perl zlib1g-dev isync fetchmail
	python3-fusepy fuse3
	libunbound-dev dns-root-data python3-dnslib python3-aiosmtpd postfix
	ldnsutils
	python3-dkim python3-nacl libpsl-dev publicsuffix
	python3-spf python3-yaml
	fail2ban systemd groff-base man-db mandoc
	curl prometheus
	libcurl4-openssl-dev pebble
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	# Postfix is a test peer (a real remote MX, the benchmark's relay):
	# installed unconfigured, so it does not take port 25 on its own.
	echo "postfix postfix/main_mailer_type select No configuration" |
		$SUDO debconf-set-selections
	$SUDO apt-get update
	$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The power-cut tests mount a FUSE filesystem (tests/e2e/powerfs.py).
if [ "$(id -u)" -eq 0 ] && [ ! -e /dev/fuse ]; then
	modprobe fuse 2>/dev/null || true
fi

# The unprivileged system user the server drops to when started as root.
if [ "$(id -u)" -eq 0 ] && ! id postel >/dev/null 2>&1; then
	useradd --system --home-dir /var/lib/postel --no-create-home \
		--shell /usr/sbin/nologin postel
fi
exit 0
