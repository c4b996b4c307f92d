#!/usr/bin/env bash
# Builds bench/dkim_micro.c against the release objects (make all) and
# runs it with fresh keys. Usage: bench/dkim_micro.sh [iterations]
# OBJ_DIR=<dir of another build's release objects> measures that build
# (an A/B against main in one sitting); it must have dkim_signkey_new
# (branch h-dkimsign on); for an older build, run that commit's own
# bench/dkim_micro.c against its objects (docs/BENCHMARKS.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OBJ_DIR=${OBJ_DIR:-$ROOT/build/release}
[ "$OBJ_DIR" != "$ROOT/build/release" ] || make -C "$ROOT" -s all >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mapfile -t objs < <(find "$OBJ_DIR" -name '*.o' ! -name main.o)
# shellcheck disable=SC2046
cc -std=c17 -D_GNU_SOURCE -O2 -I"$ROOT/src" -o "$tmp/dkim_micro" \
	"$ROOT/bench/dkim_micro.c" "${objs[@]}" \
	$(pkg-config --libs libevent_openssl libevent_pthreads libssl libcrypto sqlite3 libcurl libpsl) \
	-lunbound -lcrypt -lpthread -lz
mkdir "$tmp/data"
"$tmp/dkim_micro" "$tmp/data" "${1:-2000}"
