#!/usr/bin/env bash
# Builds bench/search_speed.c against the release objects (make all) and
# runs it: the cost of one SEARCH SUBJECT+BODY over a 4 KB message.
# Usage: bench/search_speed.sh [rounds]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d /tmp/postel-search-speed-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
OBJS=$(find "$ROOT/build/release" -name '*.o' ! -name main.o | sort)
[ -n "$OBJS" ] || { echo "build first: make all" >&2; exit 1; }
# shellcheck disable=SC2086
cc -std=c17 -D_GNU_SOURCE -O2 -I"$ROOT/src" -o "$OUT/search_speed" \
	"$ROOT/bench/search_speed.c" $OBJS -levent_openssl -levent_pthreads \
	-levent -lssl -lcrypto -lsqlite3 -lcrypt -lpthread -lz
"$OUT/search_speed" "$@"
