#!/usr/bin/env bash
# Soak test: a release conformance-server on 127.0.0.1 under a mix of well-behaved and abusive
# clients (tests/src/bin/soak.rs) at c=64, bounded in time (SOAK_SECONDS) and request count
# (SOAK_MAX_REQUESTS). Reports the server's RSS and open fds at start, peak and end (/proc) and
# fails when they do not come back within the margins after the load.
#
#   scripts/soak.sh                       # 60 s (CI)
#   SOAK_SECONDS=600 scripts/soak.sh      # longer, by hand
#
# Environment: SOAK_SECONDS (60), SOAK_CONCURRENCY (64), SOAK_MAX_REQUESTS (500000),
# SOAK_RSS_MARGIN_MIB (64), SOAK_FD_MARGIN (16), SOAK_SETTLE_SECONDS (30), SOAK_PORT (3917),
# SOAK_PROFILE (release; "dev" builds faster, numbers are then not comparable),
# SOAK_GLIBC_TUNABLES (the server's GLIBC_TUNABLES, default fixed mmap/trim thresholds of
# 128 KiB as docs/reliability.md recommends for deployments; set it empty to measure glibc's
# defaults, which keep freed memory: RSS then stays a few hundred MiB above the start and the
# soak fails on RSS although nothing leaks).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_=${SOAK_SECONDS:-60}
PORT=${SOAK_PORT:-3917}
PROFILE=${SOAK_PROFILE:-release}
case "$PROFILE" in
  release) FLAG=--release; DIR=release ;;
  dev) FLAG=; DIR=debug ;;
  *) echo "soak: SOAK_PROFILE must be release or dev" >&2; exit 2 ;;
esac

cargo build $FLAG -p conformance-server -p mcp-tests --bin conformance-server --bin soak
BIN=target/$DIR

TUNABLES=${SOAK_GLIBC_TUNABLES-glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072}
echo "soak: server GLIBC_TUNABLES=${TUNABLES:-<glibc defaults>}"
GLIBC_TUNABLES="$TUNABLES" "$BIN/conformance-server" --port "$PORT" 2>/tmp/soak-server.$$.log &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 0.1
done
# Let the server settle so "start" is its idle footprint.
sleep 1

echo "soak: conformance-server pid $SERVER on 127.0.0.1:$PORT, $SECONDS_ s"
timeout $((SECONDS_ + ${SOAK_SETTLE_SECONDS:-30} + 120)) "$BIN/soak" \
  --url "http://127.0.0.1:$PORT/mcp" --pid "$SERVER" \
  --seconds "$SECONDS_" \
  --concurrency "${SOAK_CONCURRENCY:-64}" \
  --max-requests "${SOAK_MAX_REQUESTS:-500000}" \
  --rss-margin-mib "${SOAK_RSS_MARGIN_MIB:-64}" \
  --fd-margin "${SOAK_FD_MARGIN:-16}" \
  --settle-seconds "${SOAK_SETTLE_SECONDS:-30}"
