#!/usr/bin/env bash
# Runs every test of mcp-rs, on a fresh machine as on a developer's:
#
#   1. installs the interop clients into repo-local, gitignored places (re-runs reuse them):
#        .cache/venv                  Python venv with the official `mcp` SDK (tests/interop/requirements.txt)
#        tests/interop/node_modules   @modelcontextprotocol/sdk and mcp-remote (tests/interop/package-lock.json)
#        conformance/node_modules     the official conformance suite + Node 22 (conformance/package-lock.json)
#   2. compiles the workspace tests (cargo test --workspace --no-run)
#   3. starts a real Keycloak with the example realm (scripts/keycloak.sh; no Docker) and checks the
#      realm (tests/interop/keycloak_flow.py verify)
#   4. cargo test --workspace --no-fail-fast (unit, integration, interop and doc tests)
#   5. the official conformance suite against the fixture server (conformance/run.sh):
#      stable 0.1.16 default suite, next -r 2025-11-25, next -r 2026-07-28, next --suite all,
#      next tasks-* (the SEP-2663 extension scenarios, one by one)
#      then the benchmark smoke run (bench/run.sh --smoke) and the 60 s soak (scripts/soak.sh:
#      abusive and well-behaved clients at c=64; RSS and open fds must come back)
#   6. stops Keycloak (by its process id) and prints a summary:
#        tests: N passed, M failed, K ignored
#        conformance: N passed, M failed (...)      one line per suite run
#
# Exit status is non-zero if anything failed. Everything is needed in CI; locally, stages can be
# skipped: SKIP_INSTALL=1 (use what is installed), SKIP_KEYCLOAK=1, SKIP_CARGO_TEST=1,
# SKIP_CONFORMANCE=1, SKIP_BENCH=1, SKIP_SOAK=1. Arguments replace `--workspace` for cargo test (e.g. ./scripts/test-all.sh -p mcp-rs-core).
#
# Environment given to the Rust tests (tests/ reads these; with MCP_REQUIRE_INTEROP=1 or
# MCP_REQUIRE_KEYCLOAK=1 set, a test whose tool is missing must fail instead of skipping):
#   MCP_INTEROP_PYTHON       .cache/venv/bin/python (has the `mcp` SDK)
#   MCP_INTEROP_PY_CLIENT    tests/interop/mcp_client.py
#   MCP_INTEROP_NODE         node binary for the interop scripts
#   MCP_INTEROP_NODE_DIR     tests/interop (node_modules installed)
#   MCP_INTEROP_NODE_CLIENT  tests/interop/mcp_client.mjs
#   MCP_REMOTE_BIN           tests/interop/node_modules/.bin/mcp-remote
#   KEYCLOAK_URL             http://localhost:8180 ; KEYCLOAK_ISSUER = $KEYCLOAK_URL/realms/mcp
#   KEYCLOAK_FLOW            tests/interop/keycloak_flow.py (tokens: client-credentials, pkce, register)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LOG_DIR="$ROOT/.cache/test-all"
mkdir -p "$LOG_DIR"

FAILED=()
DURATIONS=()
SUMMARY=()
KEYCLOAK_STARTED=0

say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
fail() { echo "test-all: FAILED: $*" >&2; FAILED+=("$1"); }
now() { date +%s; }
record() { DURATIONS+=("$(printf '%-28s %4ss' "$1" "$2")"); }

cleanup() {
  if [ "$KEYCLOAK_STARTED" = 1 ]; then
    "$ROOT/scripts/keycloak.sh" stop || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() { command -v "$1" >/dev/null 2>&1 || { echo "test-all: '$1' is required but not installed ($2)" >&2; exit 2; }; }
need cargo "Rust toolchain"
need python3 "Python 3.10+ for the interop client"
need node "Node.js 18+ for the interop clients"
need npm "npm for the pinned Node packages"
need curl "curl"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { echo "test-all: Python 3.10+ is required, found $(python3 --version)" >&2; exit 2; }

sha() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# npm ci in DIR unless its lockfile is unchanged since the last successful install there.
npm_install() {
  local dir=$1 stamp="$1/node_modules/.mcp-rs-lock-sha256" sum
  sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
    echo "test-all: $dir/node_modules is up to date" >&2
    return 0
  fi
  echo "test-all: npm ci in $dir" >&2
  (cd "$dir" && timeout 900 npm ci --no-audit --no-fund --loglevel=error) || return 1
  echo "$sum" >"$stamp"
}

# --- 1. interop + conformance dependencies ------------------------------------------------
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  say "installing interop clients and the conformance suite"
  t=$(now)
  VENV="$ROOT/.cache/venv"
  REQ="$ROOT/tests/interop/requirements.txt"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" || { echo "test-all: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 2; }
  fi
  if [ "$(cat "$VENV/.mcp-rs-req-sha256" 2>/dev/null)" != "$(sha "$REQ")" ]; then
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ" \
      || { echo "test-all: pip install -r $REQ failed" >&2; exit 2; }
    sha "$REQ" >"$VENV/.mcp-rs-req-sha256"
  else
    echo "test-all: $VENV is up to date" >&2
  fi
  npm_install "$ROOT/tests/interop" || { echo "test-all: npm ci in tests/interop failed" >&2; exit 2; }
  npm_install "$ROOT/conformance" || { echo "test-all: npm ci in conformance failed" >&2; exit 2; }
  record "install" $(( $(now) - t ))
fi

export MCP_INTEROP_PYTHON="$ROOT/.cache/venv/bin/python"
export MCP_INTEROP_PY_CLIENT="$ROOT/tests/interop/mcp_client.py"
MCP_INTEROP_NODE=$(command -v node)
export MCP_INTEROP_NODE
export MCP_INTEROP_NODE_DIR="$ROOT/tests/interop"
export MCP_INTEROP_NODE_CLIENT="$ROOT/tests/interop/mcp_client.mjs"
export MCP_REMOTE_BIN="$ROOT/tests/interop/node_modules/.bin/mcp-remote"
export KEYCLOAK_FLOW="$ROOT/tests/interop/keycloak_flow.py"
export MCP_REQUIRE_INTEROP=1
# tests/tests/multi_instance.rs: redis-server (installed by .ci/run) must be there.
export MCP_REQUIRE_REDIS=1
"$MCP_INTEROP_PYTHON" -c 'import mcp' 2>/dev/null || { echo "test-all: $MCP_INTEROP_PYTHON has no mcp SDK (run without SKIP_INSTALL)" >&2; exit 2; }

# --- 2. compile the tests first (CPU-heavy; Keycloak starts after) ------------------------
# Arguments replace --workspace, e.g. `./scripts/test-all.sh -p mcp-rs-core`.
if [ $# -gt 0 ]; then CARGO_SCOPE=("$@"); else CARGO_SCOPE=(--workspace); fi
TESTS_BUILT=1
if [ "${SKIP_CARGO_TEST:-0}" != 1 ]; then
  say "cargo test ${CARGO_SCOPE[*]} --no-run"
  t=$(now)
  if ! cargo test "${CARGO_SCOPE[@]}" --no-run; then
    TESTS_BUILT=0
    fail "cargo test build"
    SUMMARY+=("tests: 0 passed, 1 failed, 0 ignored (the tests do not compile, see above)")
  fi
  record "cargo build (tests)" $(( $(now) - t ))
fi

# --- 3. Keycloak --------------------------------------------------------------------------
if [ "${SKIP_KEYCLOAK:-0}" != 1 ]; then
  # Set even if the start fails below: the Keycloak tests must then fail, not skip.
  export MCP_REQUIRE_KEYCLOAK=1
  say "Keycloak (scripts/keycloak.sh start)"
  t=$(now)
  if "$ROOT/scripts/keycloak.sh" status >/dev/null 2>&1; then
    echo "test-all: reusing the Keycloak that is already running" >&2
  else
    KEYCLOAK_STARTED=1
  fi
  if KEYCLOAK_URL=$("$ROOT/scripts/keycloak.sh" start); then
    export KEYCLOAK_URL
    export KEYCLOAK_ISSUER="$KEYCLOAK_URL/realms/mcp"
    record "keycloak start" $(( $(now) - t ))
    t=$(now)
    python3 "$KEYCLOAK_FLOW" --issuer "$KEYCLOAK_ISSUER" verify >"$LOG_DIR/keycloak-verify.json" || true
    counts=$(python3 -c 'import json,sys
try:
    c = json.load(open(sys.argv[1]))["checks"]
    print(sum(x["ok"] for x in c), sum(not x["ok"] for x in c))
except Exception:
    print(0, 1)' "$LOG_DIR/keycloak-verify.json")
    read -r kok kbad <<<"$counts"
    SUMMARY+=("keycloak realm: $kok passed, $kbad failed (tests/interop/keycloak_flow.py verify)")
    [ "$kbad" = 0 ] || fail "keycloak realm"
    record "keycloak realm verify" $(( $(now) - t ))
  else
    KEYCLOAK_STARTED=0
    fail "keycloak start"
    SUMMARY+=("keycloak: could not be started (see above); its tests cannot run")
  fi
fi

# --- 4. cargo test ------------------------------------------------------------------------
if [ "${SKIP_CARGO_TEST:-0}" != 1 ] && [ "$TESTS_BUILT" = 1 ]; then
  say "cargo test ${CARGO_SCOPE[*]}"
  t=$(now)
  set +e
  cargo test "${CARGO_SCOPE[@]}" --no-fail-fast 2>&1 | tee "$LOG_DIR/cargo-test.log"
  rc=${PIPESTATUS[0]}
  set -e
  totals=$(awk '/^test result: /{
      for (i = 1; i <= NF; i++) {
        if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) g += $i
      }
      n++ }
    END { printf "%d %d %d %d", p, f, g, n }' "$LOG_DIR/cargo-test.log")
  read -r passed failed ignored binaries <<<"$totals"
  SUMMARY+=("tests: $passed passed, $failed failed, $ignored ignored ($binaries test binaries incl. doc tests)")
  if [ "$rc" != 0 ] || [ "$failed" != 0 ]; then
    fail "cargo test (exit $rc)"
    grep -E '^test .* FAILED$|^    [a-zA-Z0-9_:]+$' "$LOG_DIR/cargo-test.log" | sed 's/^/  /' | head -50 >&2 || true
  fi
  record "cargo test" $(( $(now) - t ))
fi

# --- 5. conformance -----------------------------------------------------------------------
if [ "${SKIP_CONFORMANCE:-0}" != 1 ]; then
  say "conformance suites against conformance-server"
  t=$(now)
  set +e
  "$ROOT/conformance/run.sh" stable r2025 r2026 all tasks 2>&1 | tee "$LOG_DIR/conformance.log"
  rc=${PIPESTATUS[0]}
  set -e
  lines=$(grep -E '^conformance: ' "$LOG_DIR/conformance.log" || true)
  if [ -n "$lines" ]; then
    while IFS= read -r l; do SUMMARY+=("$l"); done <<<"$lines"
  else
    SUMMARY+=("conformance: 0 passed, 1 failed (the runner did not get to run the suite, exit $rc)")
  fi
  [ "$rc" = 0 ] || fail "conformance (exit $rc)"
  record "conformance" $(( $(now) - t ))
fi

# --- 5b. benchmark smoke run ----------------------------------------------------------------
# Keeps bench/run.sh working (issue 10): every server of the benchmark starts once and answers
# 2 s of checked load; a wrong reply or a server that does not start fails the stage. The
# numbers of a smoke run are not results (docs/performance.md holds the full run).
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  say "benchmark smoke run (bench/run.sh --smoke)"
  t=$(now)
  set +e
  "$ROOT/bench/run.sh" --smoke 2>&1 | tee "$LOG_DIR/bench-smoke.log"
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" = 0 ]; then
    SUMMARY+=("bench smoke: passed (bench/run.sh --smoke, report in target/bench-smoke.md)")
  else
    SUMMARY+=("bench smoke: FAILED (exit $rc, see $LOG_DIR/bench-smoke.log)")
    fail "bench smoke (exit $rc)"
  fi
  record "bench smoke" $(( $(now) - t ))
fi

# --- 5c. soak ------------------------------------------------------------------------------
# 60 s of well-behaved and abusive clients against a release conformance-server
# (scripts/soak.sh, docs/reliability.md "Soak"); fails when a well-behaved request gets an
# unexpected status or RSS / open fds do not come back within the margins after the load.
if [ "${SKIP_SOAK:-0}" != 1 ]; then
  say "soak (scripts/soak.sh, ${SOAK_SECONDS:-60} s)"
  t=$(now)
  set +e
  SOAK_SECONDS=${SOAK_SECONDS:-60} "$ROOT/scripts/soak.sh" 2>&1 | tee "$LOG_DIR/soak.log"
  rc=${PIPESTATUS[0]}
  set -e
  figures=$(grep -E '^soak: (RSS|fds) ' "$LOG_DIR/soak.log" | sed 's/^soak: //' | paste -sd ';' - || true)
  if [ "$rc" = 0 ]; then
    SUMMARY+=("soak: passed ($figures)")
  else
    SUMMARY+=("soak: FAILED (exit $rc; $figures; see $LOG_DIR/soak.log)")
    fail "soak (exit $rc)"
  fi
  record "soak" $(( $(now) - t ))
fi

# --- 6. summary ---------------------------------------------------------------------------
cleanup
KEYCLOAK_STARTED=0
echo
echo "==================== test-all summary ===================="
for d in "${DURATIONS[@]}"; do echo "  $d"; done
echo "----------------------------------------------------------"
for s in "${SUMMARY[@]}"; do echo "$s"; done
if [ ${#FAILED[@]} -eq 0 ]; then
  echo "result: PASS"
  exit 0
fi
echo "result: FAIL (${FAILED[*]})"
exit 1
