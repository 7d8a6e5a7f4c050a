#!/usr/bin/env bash
# The project's conformance runner: runs the official MCP conformance suite (npm
# @modelcontextprotocol/conformance, pinned in package.json / package-lock.json) against the
# fixture server `conformance-server` (examples/conformance), or against a server already running.
#
# Usage: conformance/run.sh [options] [PROFILE...]
#   PROFILE   stable   stable 0.1.16, default (active) suite
#             r2025    next 0.2.0-alpha.12, --requirements 2025-11-25 (not-scored scenarios must pass too)
#             r2026    next 0.2.0-alpha.12, --requirements 2026-07-28 (stateless wire; scored scenarios decide)
#             all      next 0.2.0-alpha.12, --suite all (every scenario, pending ones included)
#             tasks    next 0.2.0-alpha.12, the ten SEP-2663 tasks-extension scenarios, one by one
#                      (--force --spec-version 2026-07-28 --scenario X)
#             default: stable r2025 r2026
#   --url URL          test this running server (loopback only) instead of starting the fixture
#   --no-build         do not run `cargo build --release -p conformance-server` first
#   --port PORT        port for the fixture server (default: a free one)
#   -b, --baseline F   expected-failures YAML passed to the suite (--expected-failures)
#   --bearer TOKEN     add "Authorization: Bearer TOKEN" through a loopback proxy (or MCP_BEARER_TOKEN)
#   -t, --timeout S    bound for each suite run in seconds (default 600)
#   -o, --out DIR      results directory (default conformance/results/<timestamp>)
#
# For each profile it prints the suite's own output, then
#     conformance: N passed, M failed (<profile> ...)
# where N/M count individual checks. Exit 0 only if every profile passed; 1 on failures; 2 on
# setup errors (no server, install failed).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
URL="" BUILD=1 PORT="" BASELINE="" BEARER=${MCP_BEARER_TOKEN:-} TIMEOUT=600 OUT="" PROFILES=()

usage() { sed -n '2,/^# setup errors/p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "conformance/run.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --port) PORT=$2; shift 2 ;;
    -b|--baseline) BASELINE=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --bearer) BEARER=$2; shift 2 ;;
    -t|--timeout) TIMEOUT=$2; shift 2 ;;
    -o|--out) OUT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    stable|r2025|r2026|all|tasks) PROFILES+=("$1"); shift ;;
    *) usage >&2; die "unknown argument $1" ;;
  esac
done
[ ${#PROFILES[@]} -gt 0 ] || PROFILES=(stable r2025 r2026)

# --- pinned install (Node 22 from the npm package "node": the suite needs fs.globSync) --------
LOCK_SUM=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
STAMP_FILE="$HERE/node_modules/.mcp-rs-lock-sha256"
if [ "$(cat "$STAMP_FILE" 2>/dev/null)" != "$LOCK_SUM" ] || [ ! -x "$HERE/node_modules/.bin/node" ]; then
  echo "conformance/run.sh: npm ci (pinned suite + node 22) ..." >&2
  (cd "$HERE" && timeout 900 npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in $HERE"
  echo "$LOCK_SUM" >"$STAMP_FILE"
fi
NODE="$HERE/node_modules/.bin/node"
STABLE_CLI="$HERE/node_modules/@modelcontextprotocol/conformance/dist/index.js"
NEXT_CLI="$HERE/node_modules/conformance-next/dist/index.js"
"$NODE" "$STABLE_CLI" --version >/dev/null 2>&1 || die "cannot run the stable suite with $("$NODE" --version 2>&1)"
"$NODE" "$NEXT_CLI" --version >/dev/null 2>&1 || die "cannot run the next suite with $("$NODE" --version 2>&1)"

OUT=${OUT:-$HERE/results/$(date +%Y%m%d-%H%M%S)-$$}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || die "cannot create $OUT"

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null)" != 000 ]; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the server under test ----------------------------------------------------------------
if [ -z "$URL" ]; then
  if [ "$BUILD" = 1 ]; then
    echo "conformance/run.sh: cargo build --release -p conformance-server" >&2
    (cd "$ROOT" && cargo build --release -p conformance-server) || die "building conformance-server failed"
  fi
  BIN="$ROOT/target/release/conformance-server"
  [ -x "$BIN" ] || die "$BIN not found (package conformance-server, examples/conformance)"
  PORT=${PORT:-$(free_port)}
  "$BIN" --port "$PORT" >"$OUT/server.log" 2>&1 &
  PIDS+=($!)
  URL="http://localhost:$PORT/mcp"
  for _ in $(seq 1 150); do answers "$URL" && break; kill -0 "${PIDS[0]}" 2>/dev/null || break; sleep 0.2; done
  answers "$URL" || { tail -20 "$OUT/server.log" >&2; die "conformance-server did not answer on $URL"; }
  echo "conformance/run.sh: conformance-server (pid ${PIDS[0]}) on $URL, log $OUT/server.log" >&2
else
  answers "$URL" || die "no HTTP answer from $URL"
fi
HOSTPORT=${URL#*://}; HOSTPORT=${HOSTPORT%%/*}
case "$HOSTPORT" in
  localhost|localhost:*|127.*|\[::1\]|\[::1\]:*) ;;
  *) die "refusing non-loopback URL $URL (the suite's DNS-rebinding probes need loopback)" ;;
esac

TARGET=$URL
if [ -n "$BEARER" ]; then
  MCP_BEARER_TOKEN=$BEARER "$NODE" "$HERE/bearer-proxy.mjs" "${URL%%://*}://$HOSTPORT" >"$OUT/bearer-proxy.log" 2>&1 &
  PIDS+=($!)
  PPORT=""
  for _ in $(seq 1 100); do
    PPORT=$(sed -n 's/^listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$OUT/bearer-proxy.log")
    [ -n "$PPORT" ] && break; sleep 0.1
  done
  [ -n "$PPORT" ] || die "bearer proxy did not start: $(cat "$OUT/bearer-proxy.log")"
  TARGET="http://localhost:$PPORT/${URL#*://*/}"
  echo "conformance/run.sh: bearer proxy $TARGET -> $URL" >&2
fi

# The SEP-2663 scenarios of the tasks profile (extension scenarios: run only with --force).
TASK_SCENARIOS=(tasks-lifecycle tasks-capability-negotiation tasks-wire-fields
  tasks-request-state-removal tasks-mrtr-input tasks-request-headers tasks-dispatch-and-envelope
  tasks-status-notifications tasks-required-task-error tasks-mrtr-composition)

# run_suite CLI DIR ARGS...: one suite run, bounded by TIMEOUT, its output appended to DIR's log.
run_suite() {
  local cli=$1 dir=$2; shift 2
  timeout --kill-after=10 "$TIMEOUT" "$NODE" "$cli" server --url "$TARGET" -o "$dir" "$@" 2>&1 \
    | tee -a "$dir/conformance.log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 124 ] && echo "conformance/run.sh: hit the ${TIMEOUT}s bound ($*)" >&2
  return "$rc"
}

# --- run each profile ---------------------------------------------------------------------
RESULT=0
for profile in "${PROFILES[@]}"; do
  dir="$OUT/$profile"
  mkdir -p "$dir"
  case "$profile" in
    stable) cli=$STABLE_CLI; extra=(); reqs=""; strict=1; label="stable 0.1.16, default suite" ;;
    r2025) cli=$NEXT_CLI; extra=(--requirements 2025-11-25); reqs=2025-11-25; strict=1
           label="next 0.2.0-alpha.12, requirements 2025-11-25" ;;
    r2026) cli=$NEXT_CLI; extra=(--requirements 2026-07-28); reqs=2026-07-28; strict=0
           label="next 0.2.0-alpha.12, requirements 2026-07-28" ;;
    all) cli=$NEXT_CLI; extra=(--suite all); reqs=""; strict=1; label="next 0.2.0-alpha.12, --suite all" ;;
    tasks) cli=$NEXT_CLI; extra=(--force --spec-version 2026-07-28); reqs=""; strict=1
           label="next 0.2.0-alpha.12, SEP-2663 tasks scenarios" ;;
  esac
  [ -n "$BASELINE" ] && extra+=(--expected-failures "$BASELINE")
  echo "=== conformance [$profile] $label against $TARGET" >&2
  t0=$SECONDS
  : >"$dir/conformance.log"
  rc=0
  if [ "$profile" = tasks ]; then
    for scenario in "${TASK_SCENARIOS[@]}"; do
      run_suite "$cli" "$dir" "${extra[@]}" --scenario "$scenario" || rc=1
    done
  else
    run_suite "$cli" "$dir" "${extra[@]}" || rc=$?
  fi
  reqfile=""
  [ -n "$reqs" ] && reqfile="$HERE/node_modules/conformance-next/requirements/$reqs.yaml"
  "$NODE" "$HERE/tally.mjs" "$dir" "$profile" "$label" "$reqfile" "$strict" "$((SECONDS - t0))"
  trc=$?
  if [ "$rc" != 0 ] || [ "$trc" != 0 ]; then RESULT=1; fi
done
exit $RESULT
