#!/usr/bin/env bash
# Run a real Keycloak for the examples and tests, without Docker.
#
# Usage: scripts/keycloak.sh start|stop|status|url
#
#   start   fetch the Keycloak server distribution from Maven Central (once; cached), unpack it
#           into .cache/keycloak/, start `kc.sh start-dev --import-realm` on 127.0.0.1 with the
#           realm examples/keycloak/realm-mcp.json (in-memory database: every start imports the
#           realm file afresh), wait until the realm answers, write the process id. Idempotent: if
#           our Keycloak is already running, it is reused.
#   stop    stop the Keycloak started by `start` (by its process id; nothing else is touched)
#   status  exit 0 and print the URL if it is running and ready, exit 1 otherwise
#   url     print the base URL (http://localhost:PORT)
#
# Environment:
#   KEYCLOAK_VERSION        default 26.7.3 (org.keycloak:keycloak-quarkus-dist:VERSION:zip)
#   KEYCLOAK_PORT           default 8180
#   KEYCLOAK_CACHE_DIR      where the downloaded zip is kept, default ~/.cache/mcp-rs/keycloak
#   KEYCLOAK_STATE_DIR      unpacked server, log and pid file, default <repo>/.cache/keycloak
#   KEYCLOAK_START_TIMEOUT  seconds to wait for readiness, default 420
#   KEYCLOAK_REALM_FILE     default <repo>/examples/keycloak/realm-mcp.json
#
# Needs: Java 17+ (java on PATH or JAVA_HOME), Maven (mvn) for the first download, unzip, curl.
# If Maven Central cannot be reached the script says so and exits non-zero.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=${KEYCLOAK_VERSION:-26.7.3}
PORT=${KEYCLOAK_PORT:-8180}
CACHE_DIR=${KEYCLOAK_CACHE_DIR:-$HOME/.cache/mcp-rs/keycloak}
STATE_DIR=${KEYCLOAK_STATE_DIR:-$ROOT/.cache/keycloak}
TIMEOUT=${KEYCLOAK_START_TIMEOUT:-420}
REALM_FILE=${KEYCLOAK_REALM_FILE:-$ROOT/examples/keycloak/realm-mcp.json}
REALM=mcp
ARTIFACT="org.keycloak:keycloak-quarkus-dist:$VERSION:zip"
ZIP="$CACHE_DIR/keycloak-quarkus-dist-$VERSION.zip"
HOME_DIR="$STATE_DIR/keycloak-$VERSION"
PID_FILE="$STATE_DIR/keycloak.pid"
LOG_FILE="$STATE_DIR/keycloak.log"
BASE_URL="http://localhost:$PORT"
READY_URL="$BASE_URL/realms/$REALM/.well-known/openid-configuration"

log() { echo "keycloak.sh: $*" >&2; }
die() { echo "keycloak.sh: ERROR: $*" >&2; exit 1; }

ready() { curl -fsS --max-time 3 -o /dev/null "$READY_URL" 2>/dev/null; }

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

check_java() {
  local java=java
  [ -n "${JAVA_HOME:-}" ] && java="$JAVA_HOME/bin/java"
  command -v "$java" >/dev/null 2>&1 || die "Java 17+ is needed (no java on PATH and no JAVA_HOME)"
  local major
  major=$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  [ -n "$major" ] && [ "$major" -ge 17 ] || die "Java 17+ is needed, found: $("$java" -version 2>&1 | head -1)"
}

fetch() {
  if [ -s "$ZIP" ] && unzip -tq "$ZIP" >/dev/null 2>&1; then
    log "using cached $ZIP"
    return
  fi
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is needed to fetch $ARTIFACT from Maven Central"
  mkdir -p "$CACHE_DIR"
  log "downloading $ARTIFACT from Maven Central (about 180 MB) ..."
  local t0=$SECONDS out
  if ! out=$(mvn -q -B dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$CACHE_DIR" \
      -Dmdep.overWriteReleases=true 2>&1); then
    echo "$out" | tail -20 >&2
    if ! curl -sS -o /dev/null --max-time 15 https://repo.maven.apache.org/maven2/ 2>/dev/null; then
      die "Maven Central (https://repo.maven.apache.org) cannot be reached from this machine: Keycloak cannot be fetched, so the Keycloak tests cannot run."
    fi
    die "could not fetch $ARTIFACT from Maven Central (https://repo.maven.apache.org). Is the network up? Keycloak tests cannot run without it."
  fi
  [ -s "$ZIP" ] || die "mvn finished but $ZIP is missing"
  log "downloaded in $((SECONDS - t0))s"
}

unpack() {
  if [ -x "$HOME_DIR/bin/kc.sh" ]; then return; fi
  mkdir -p "$STATE_DIR"
  log "unpacking into $HOME_DIR"
  local tmp="$STATE_DIR/unpack.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  unzip -q "$ZIP" -d "$tmp" || die "unzip of $ZIP failed"
  rm -rf "$HOME_DIR"
  mv "$tmp/keycloak-$VERSION" "$HOME_DIR"
  rm -rf "$tmp"
}

start() {
  if pid=$(running_pid) && ready; then
    log "already running (pid $pid) at $BASE_URL"
    echo "$BASE_URL"
    return
  fi
  [ -f "$REALM_FILE" ] || die "realm file $REALM_FILE not found"
  check_java
  command -v unzip >/dev/null || die "unzip is needed"
  command -v curl >/dev/null || die "curl is needed"
  if curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$PORT/"; then
    die "port $PORT is already in use by another process (set KEYCLOAK_PORT)"
  fi
  local t0=$SECONDS
  fetch
  unpack
  # A fresh import on every start: in-memory database, and the realm file copied in.
  rm -rf "$HOME_DIR/data"
  mkdir -p "$HOME_DIR/data/import"
  cp "$REALM_FILE" "$HOME_DIR/data/import/realm-mcp.json"
  log "starting Keycloak $VERSION on 127.0.0.1:$PORT (log: $LOG_FILE)"
  local t1=$SECONDS
  (
    cd "$HOME_DIR"
    export KC_BOOTSTRAP_ADMIN_USERNAME=${KC_BOOTSTRAP_ADMIN_USERNAME:-kcadmin}
    export KC_BOOTSTRAP_ADMIN_PASSWORD=${KC_BOOTSTRAP_ADMIN_PASSWORD:-kcadmin}
    exec setsid ./bin/kc.sh start-dev --import-realm --db=dev-mem \
      --http-host=127.0.0.1 --http-port="$PORT" --hostname-strict=false \
      </dev/null >"$LOG_FILE" 2>&1
  ) &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  local deadline=$((SECONDS + TIMEOUT))
  until ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -40 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      die "Keycloak exited during start-up (see $LOG_FILE)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -40 "$LOG_FILE" >&2 || true
      stop
      die "Keycloak was not ready after ${TIMEOUT}s"
    fi
    sleep 1
  done
  log "ready (pid $pid): fetch+unpack $((t1 - t0))s, start $((SECONDS - t1))s, total $((SECONDS - t0))s"
  echo "$BASE_URL"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping pid $pid"
  # setsid made the server its own process group leader: signal the group (kc.sh exec's java).
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after 30s, sending KILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
}

status() {
  if pid=$(running_pid) && ready; then
    echo "$BASE_URL"
    log "running (pid $pid)"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) echo "$BASE_URL" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
