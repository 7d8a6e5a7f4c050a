#!/usr/bin/env bash
# mcp-rs benchmark: our Streamable HTTP server side by side with rmcp (crates.io) and a
# raw hyper server, all in one run.
#
#   bench/run.sh            full run: 10 s per point at c=1 and c=32, then the multi-core rows
#                           (server on N = 1, 2, 4, … cores below the machine's count, wrk on
#                           the others, c=256); writes docs/performance.md and the chart
#                           docs/performance.svg
#   bench/run.sh --smoke    2 s per point at c=32, every server started once, one multi-core
#                           point (N = half the CPUs, ours and raw hyper only); writes
#                           target/bench-smoke.md and target/bench-smoke.svg (CI runs it)
#   options: --out FILE     where to write the results (markdown)
#            --no-build     use the binaries already in target/release
#            --duration S   seconds per point (default 10, smoke 2)
#
# Needs: wrk (Debian package `wrk`), taskset (util-linux), cargo; redis-server (Debian package
# `redis-server`) for the Redis-backed session row, skipped without it. The one-core rows pin the
# server to CPU 0 and wrk to CPU 1; the multi-core rows pin the server to CPUs 0..N-1 (tokio
# sizes its worker pool from that affinity) and wrk, with one thread per CPU, to the rest.
# Every table row also shows its ratio to the raw-hyper row at the same point. Every reply is checked by bench/lua/mcp.lua (status, id, result);
# the script exits non-zero when a server does not start or any reply is wrong.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SMOKE=0
BUILD=1
OUT=""
DURATION=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --no-build) BUILD=0 ;;
    --out) OUT="$2"; shift ;;
    --duration) DURATION="$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$SMOKE" = 1 ]; then
  DURATION=${DURATION:-2}; WARMUP=1; CONNS="32"; SESSIONS=100; STARTUP_RUNS=1
  OUT=${OUT:-target/bench-smoke.md}; CORE_C=64
else
  DURATION=${DURATION:-10}; WARMUP=3; CONNS="1 32"; SESSIONS=1000; STARTUP_RUNS=5
  OUT=${OUT:-docs/performance.md}; CORE_C=256
fi

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing wrk (Debian package)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >&2 \
      || die "could not install wrk"
  fi
  command -v wrk >/dev/null || die "wrk not found (apt-get install -y wrk)"
fi
command -v taskset >/dev/null || die "taskset not found (util-linux)"

# Other work on the machine (builds) competes for the two CPUs: as root, the server and wrk
# run at nice -15 so that they get nearly all of their CPU. BENCH_NICE=0 turns that off.
PRIO=()
PRIO_NOTE="default priority"
if [ "${BENCH_NICE:-1}" != 0 ] && [ "$(id -u)" = 0 ]; then
  PRIO=(nice -n -15)
  PRIO_NOTE="both at nice -15"
fi
NPROC=$(nproc)
if [ "$NPROC" -ge 2 ]; then
  SERVER_CPU=("${PRIO[@]}" taskset -c 0)
  LOAD_CPU=("${PRIO[@]}" taskset -c 1)
  PINNING="server on CPU 0, wrk on CPU 1 (taskset), $PRIO_NOTE"
else
  SERVER_CPU=("${PRIO[@]}")
  LOAD_CPU=("${PRIO[@]}")
  PINNING="not pinned (only $NPROC CPU), $PRIO_NOTE"
fi
WRK_T=1
ONE_CORE_SERVER=("${SERVER_CPU[@]}")
ONE_CORE_LOAD=("${LOAD_CPU[@]}")

# pin N : the server on CPUs 0..N-1, wrk (one thread per CPU, at most 8) on the others.
pin() {
  local n=$1
  if [ "$NPROC" -gt "$n" ]; then
    SERVER_CPU=("${PRIO[@]}" taskset -c "0-$((n - 1))")
    LOAD_CPU=("${PRIO[@]}" taskset -c "$n-$((NPROC - 1))")
    WRK_T=$((NPROC - n))
    if [ "$WRK_T" -gt 8 ]; then WRK_T=8; fi
  else
    SERVER_CPU=("${PRIO[@]}"); LOAD_CPU=("${PRIO[@]}"); WRK_T=1
  fi
}
# The server core counts of the multi-core rows: powers of two below the CPU count (smoke: half).
CORE_COUNTS=""
if [ "$SMOKE" = 1 ]; then
  CORE_COUNTS=$(( NPROC / 2 > 0 ? NPROC / 2 : 1 ))
else
  n=1; while [ "$n" -lt "$NPROC" ]; do CORE_COUNTS="$CORE_COUNTS $n"; n=$((n * 2)); done
  CORE_COUNTS=${CORE_COUNTS:-1}
fi

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN="$TARGET_DIR/release"
if [ "$BUILD" = 1 ]; then
  log "building mcp-bench in release mode"
  cargo build --release -p mcp-bench --bins >&2
fi
for b in bench-server rmcp-server raw-hyper bench-probe bench-issuer; do
  [ -x "$BIN/$b" ] || die "missing $BIN/$b (build with cargo build --release -p mcp-bench)"
done
PROBE="$BIN/bench-probe"
LUA="$ROOT/bench/lua/mcp.lua"

WORK=$(mktemp -d)
SERVER_PID=""
ISSUER_PID=""
REDIS_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  if [ -n "$ISSUER_PID" ]; then kill "$ISSUER_PID" 2>/dev/null; wait "$ISSUER_PID" 2>/dev/null; fi
  if [ -n "$REDIS_PID" ]; then kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free TCP port on 127.0.0.1.
NEXT_PORT=$((20000 + RANDOM % 20000))
free_port() {
  while (exec 3<>"/dev/tcp/127.0.0.1/$NEXT_PORT") 2>/dev/null; do
    NEXT_PORT=$((NEXT_PORT + 1))
  done
  PORT=$NEXT_PORT
  NEXT_PORT=$((NEXT_PORT + 1))
}

CLK_TCK=$(getconf CLK_TCK)
# CPU time (user + system) the process has used so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# Waits (30 s at most) until the server accepts connections; fails early when it exits.
wait_ready() {
  local i
  for i in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    "$PROBE" wait "$URL" --timeout-ms 100 2>/dev/null && return 0
  done
  return 1
}

# start_server NAME CMD... : starts CMD pinned to the server CPU; sets SERVER_PID, URL.
start_server() {
  local name=$1; shift
  "${SERVER_CPU[@]}" "$@" >"$WORK/$name.log" 2>&1 &
  SERVER_PID=$!
  if ! wait_ready; then
    tail -n 20 "$WORK/$name.log" >&2 || true
    die "server $name did not start: $*"
  fi
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

# run_wrk OUTVAR CONNS SECONDS : runs wrk with the row's environment, prints the RESULT line.
run_wrk() {
  local c=$1 secs=$2 out
  out=$(MCP_MODE=$MODE MCP_SESSION=$SESSION MCP_TOKEN=$TOKEN MCP_EXPECT_BODY=$EXPECT \
    "${LOAD_CPU[@]}" wrk -t"$WRK_T" -c "$c" -d "${secs}s" --timeout 5s -s "$LUA" "$URL" 2>"$WORK/wrk.err") \
    || { cat "$WORK/wrk.err" >&2; die "wrk failed for $ROW at c=$c"; }
  grep '^RESULT ' <<<"$out" || { echo "$out" >&2; cat "$WORK/wrk.err" >&2; die "no RESULT from wrk for $ROW"; }
  if [ -s "$WORK/wrk.err" ]; then head -n 5 "$WORK/wrk.err" >&2; fi
}

field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"; }

declare -A RPS P50 P99 ERR HWM RSS LABEL CPU
ROWS=()
FAILED=0
TOKEN=""
EXPECT=""
SESSION=""

# row ID "LABEL" MODE CMD... : one benchmark row (server started once, all concurrencies).
row() {
  ROW=$1; local label=$2; MODE=$3; shift 3
  LABEL[$ROW]=$label
  ROWS+=("$ROW")
  free_port
  URL="http://127.0.0.1:$PORT/mcp"
  local cmd=()
  local a
  for a in "$@"; do cmd+=("${a//@PORT@/$PORT}"); done
  log "row $ROW: $label"
  start_server "$ROW" "${cmd[@]}"
  SESSION=""
  local auth=()
  [ -n "$TOKEN" ] && auth=(--bearer "$TOKEN")
  if [ "$MODE" = session ] || [ "$MODE" = sse ]; then
    SESSION=$("$PROBE" init "$URL" "${auth[@]}") || die "$ROW: initialize failed"
    [ -n "$SESSION" ] || die "$ROW: no Mcp-Session-Id issued"
  fi
  if [ "$MODE" != raw ]; then
    local probe_args=(call "$URL" --mode "$MODE" "${auth[@]}")
    [ -n "$SESSION" ] && probe_args+=(--session "$SESSION")
    "$PROBE" "${probe_args[@]}" >"$WORK/$ROW.reply" || die "$ROW: checked tools/call failed"
  fi
  local r
  r=$(run_wrk 32 "$WARMUP")
  [ "$(field errors "$r")" = 0 ] || { log "$ROW warm-up: $r"; FAILED=1; }
  local t0 t1
  for c in $CONNS; do
    t0=$(cpu_ticks "$SERVER_PID")
    r=$(run_wrk "$c" "$DURATION")
    t1=$(cpu_ticks "$SERVER_PID")
    CPU[$ROW,$c]=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$(field requests "$r")" \
      'BEGIN { if (n > 0) printf "%.1f", d * 1e6 / hz / n; else print "n/a" }')
    log "  c=$c $r cpu_us_per_req=${CPU[$ROW,$c]}"
    RPS[$ROW,$c]=$(field rps "$r")
    P50[$ROW,$c]=$(field p50_us "$r")
    P99[$ROW,$c]=$(field p99_us "$r")
    ERR[$ROW,$c]=$(field errors "$r")
    if [ "${ERR[$ROW,$c]}" != 0 ] || [ "$(field requests "$r")" = 0 ]; then FAILED=1; fi
  done
  RSS[$ROW]=$(status_kb "$SERVER_PID" VmRSS)
  HWM[$ROW]=$(status_kb "$SERVER_PID" VmHWM)
  stop_server
}

# memory ID CMD... : RSS before/after $SESSIONS idle sessions.
declare -A MEM_BEFORE MEM_AFTER MEM_PER
memory() {
  local id=$1; shift
  free_port
  URL="http://127.0.0.1:$PORT/mcp"
  local cmd=() a
  for a in "$@"; do cmd+=("${a//@PORT@/$PORT}"); done
  log "memory $id: $SESSIONS idle sessions"
  start_server "mem-$id" "${cmd[@]}"
  "$PROBE" sessions "$URL" 10 >/dev/null || die "memory $id: sessions failed"
  sleep 0.5
  MEM_BEFORE[$id]=$(status_kb "$SERVER_PID" VmRSS)
  "$PROBE" sessions "$URL" "$SESSIONS" >/dev/null || die "memory $id: sessions failed"
  sleep 0.5
  MEM_AFTER[$id]=$(status_kb "$SERVER_PID" VmRSS)
  MEM_PER[$id]=$(awk -v a="${MEM_BEFORE[$id]}" -v b="${MEM_AFTER[$id]}" -v n="$SESSIONS" \
    'BEGIN { printf "%.1f", (b - a) / n }')
  log "  before ${MEM_BEFORE[$id]} KB, after ${MEM_AFTER[$id]} KB: ${MEM_PER[$id]} KB/session"
  stop_server
}

# startup ID CMD... : median ms from process start to the first answered initialize.
declare -A START_MS
startup() {
  local id=$1; shift
  local times=() i cmd a
  for i in $(seq "$STARTUP_RUNS"); do
    free_port
    URL="http://127.0.0.1:$PORT/mcp"
    cmd=()
    for a in "$@"; do cmd+=("${a//@PORT@/$PORT}"); done
    local t
    t=$("$PROBE" startup "$URL" -- "${SERVER_CPU[@]}" "${cmd[@]}") || die "startup $id: server did not answer"
    times+=("$t")
  done
  START_MS[$id]=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  log "startup $id: ${START_MS[$id]} ms (median of $STARTUP_RUNS)"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- the local issuer
"${LOAD_CPU[@]}" "$BIN/bench-issuer" --audience mcp-bench >"$WORK/issuer.out" 2>"$WORK/issuer.log" &
ISSUER_PID=$!
for _ in $(seq 300); do
  grep -q '^TOKEN ' "$WORK/issuer.out" 2>/dev/null && break
  kill -0 "$ISSUER_PID" 2>/dev/null || { cat "$WORK/issuer.log" >&2; die "bench-issuer exited"; }
  sleep 0.1
done
ISSUER=$(awk '$1 == "ISSUER" { print $2 }' "$WORK/issuer.out")
JWT=$(awk '$1 == "TOKEN" { print $2 }' "$WORK/issuer.out")
AUDIENCE=$(awk '$1 == "AUDIENCE" { print $2 }' "$WORK/issuer.out")
[ -n "$ISSUER" ] && [ -n "$JWT" ] && [ -n "$AUDIENCE" ] || die "bench-issuer printed no issuer/token"

# ---------------------------------------------------------------- rows
S="$BIN/bench-server"
R="$BIN/rmcp-server"
row ours-session-json "ours, session, JSON replies" session "$S" --port @PORT@
row ours-session-sse "ours, session, SSE replies (one progress event + result)" sse "$S" --port @PORT@ --sse
# Sessions, events and the cluster bus on Redis (feature `redis`), next to the in-memory row
# above: a local redis-server on its own port, on the load generator's CPU.
if command -v redis-server >/dev/null; then
  free_port
  REDIS_PORT=$PORT
  "${LOAD_CPU[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break; sleep 0.1; done
  row ours-session-json-redis "ours, session on Redis (store, events, bus), JSON" session "$S" \
    --port @PORT@ --redis "redis://127.0.0.1:$REDIS_PORT"
  kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; REDIS_PID=""
else
  log "redis-server not installed: no Redis row"
fi
row ours-stateless-json "ours, no session (handshake era), JSON" stateless "$S" --port @PORT@ --stateless
row ours-2026 "ours, 2026-07-28 stateless (_meta, Mcp-Method/Mcp-Name)" v2026 "$S" --port @PORT@ --stateless
TOKEN=$JWT
row ours-jwt-session-json "ours + RS256 JWT (local JWKS), session, JSON" session \
  "$S" --port @PORT@ --auth-issuer "$ISSUER" --auth-audience "$AUDIENCE"
TOKEN=""
row rmcp-shipped-stateful "rmcp as shipped, session (SSE)" session "$R" --port @PORT@
row rmcp-shipped-stateless "rmcp as shipped, stateless (SSE)" stateless "$R" --port @PORT@ --stateless
row rmcp-tuned-stateful "rmcp tuned (nodelay), session (SSE)" session "$R" --port @PORT@ --tuned
row rmcp-tuned-stateless "rmcp tuned (nodelay, json_response), stateless JSON" stateless \
  "$R" --port @PORT@ --stateless --tuned
row rmcp-tuned-2026 "rmcp tuned, 2026-07-28 stateless" v2026 "$R" --port @PORT@ --stateless --tuned
# The raw row answers with the exact bytes of our session JSON reply.
EXPECT=$(cat "$WORK/ours-session-json.reply")
[ -n "$EXPECT" ] || die "no reference reply for raw-hyper"
row raw-hyper "raw hyper 1.x, fixed body of the same size" raw "$BIN/raw-hyper" --port @PORT@ --body "$EXPECT"

# ---------------------------------------------------------------- multi-core rows
ONE_CORE_ROWS=("${ROWS[@]}")
SAVED_CONNS=$CONNS
CONNS=$CORE_C
for n in $CORE_COUNTS; do
  pin "$n"
  log "multi-core: server on $n CPU(s), wrk -t$WRK_T on the others, c=$CORE_C"
  row "cores-$n-ours" "ours, session, JSON" session "$S" --port @PORT@
  [ "$SMOKE" = 1 ] || row "cores-$n-rmcp" "rmcp tuned, session (SSE)" session "$R" --port @PORT@ --tuned
  row "cores-$n-raw" "raw hyper (the limit)" raw "$BIN/raw-hyper" --port @PORT@ --body "$EXPECT"
done
CONNS=$SAVED_CONNS
ROWS=("${ONE_CORE_ROWS[@]}")
SERVER_CPU=("${ONE_CORE_SERVER[@]}"); LOAD_CPU=("${ONE_CORE_LOAD[@]}"); WRK_T=1
EXPECT=""

# The load generator's own ceiling: raw hyper hit by wrk without the Lua script (no per-request
# ids, no checks). When it is close to the raw row, that row is limited by wrk, not hyper.
free_port
URL="http://127.0.0.1:$PORT/mcp"
log "wrk ceiling: raw hyper, plain wrk (no script)"
start_server wrk-ceiling "$BIN/raw-hyper" --port "$PORT"
CEILING=$("${LOAD_CPU[@]}" wrk -t1 -c 32 -d "${DURATION}s" "$URL" | awk '/^Requests\/sec:/ { printf "%.0f", $2 }')
log "  plain wrk: $CEILING req/s"
stop_server

memory ours "$S" --port @PORT@
memory rmcp "$R" --port @PORT@
startup ours "$S" --port @PORT@
startup rmcp "$R" --port @PORT@

stop_server
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
kill "$ISSUER_PID" 2>/dev/null || true
wait "$ISSUER_PID" 2>/dev/null || true
ISSUER_PID=""

# ---------------------------------------------------------------- report
ratio() { # ratio A B -> A/B with 2 decimals, or n/a
  awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'
}
verdict() { # verdict VALUE OP TARGET
  if [ "$SMOKE" = 1 ]; then echo "– (smoke)"; return; fi
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    if (v == "n/a" || v == "") { print "n/a"; exit }
    ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
    print ok ? "met" : "missed" }'
}
rps() { printf '%s' "${RPS[$1,$2]:-}"; }
num() { awk -v v="${1:-}" 'BEGIN { if (v == "") print "–"; else printf "%.0f", v }'; }

# chart_data : "panel|group|label|req/s|colour" lines for the SVG: the one-core rows at c=C_HI,
# then ours / rmcp / raw hyper per server core count.
chart_data() {
  local id c=$C_HI colour n
  for id in "${ROWS[@]}"; do
    case $id in raw-hyper) colour="#888888" ;; rmcp-*) colour="#d9822b" ;; *) colour="#2b6cb0" ;; esac
    [ -n "${RPS[$id,$c]:-}" ] && echo "1|one core, c=$c|${LABEL[$id]}|${RPS[$id,$c]}|$colour"
  done
  for n in $CORE_COUNTS; do
    [ -n "${RPS[cores-$n-ours,$CORE_C]:-}" ] && echo "2|$n server CPU(s), c=$CORE_C|ours, session JSON|${RPS[cores-$n-ours,$CORE_C]}|#2b6cb0"
    [ -n "${RPS[cores-$n-rmcp,$CORE_C]:-}" ] && echo "2|$n server CPU(s), c=$CORE_C|rmcp tuned, session|${RPS[cores-$n-rmcp,$CORE_C]}|#d9822b"
    [ -n "${RPS[cores-$n-raw,$CORE_C]:-}" ] && echo "2|$n server CPU(s), c=$CORE_C|raw hyper (the limit)|${RPS[cores-$n-raw,$CORE_C]}|#888888"
  done
  return 0
}

# write_svg FILE : a horizontal bar chart of chart_data (each panel scaled to its own maximum).
write_svg() {
  chart_data | awk -F'|' -v title="$1" '
    function esc(t) { gsub(/&/, "\\&amp;", t); gsub(/</, "\\&lt;", t); gsub(/>/, "\\&gt;", t); return t }
    { n++; panel[n] = $1; group[n] = $2; label[n] = $3; v[n] = $4 + 0; col[n] = $5
      if (v[n] > max[$1]) max[$1] = v[n] }
    END {
      y = 40; bar = 18; x0 = 330; w = 520
      for (i = 1; i <= n; i++) {
        if (group[i] != group[i - 1]) { y += 14; out = out sprintf("<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n", y, esc(group[i])); y += 8 }
        bw = (max[panel[i]] > 0) ? v[i] / max[panel[i]] * w : 0
        out = out sprintf("<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", x0 - 6, y + 13, esc(label[i]))
        out = out sprintf("<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", x0, y, bw, bar, col[i])
        out = out sprintf("<text x=\"%.1f\" y=\"%d\">%.1fk</text>\n", x0 + bw + 4, y + 13, v[i] / 1000)
        y += bar + 4
      }
      printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"940\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", y + 20
      printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      printf "<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", esc(title)
      printf "%s</svg>\n", out
    }' >"$2"
}
C_HI=32
C_LO=1
[ "$SMOKE" = 1 ] && C_LO=32

{
  echo "<!-- bench:begin (generated by bench/run.sh; edit outside these markers) -->"
  echo
  if [ "$SMOKE" = 1 ]; then echo "**Smoke run** (${DURATION} s per point, c=32 only): numbers are not meaningful."; echo; fi
  echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), ${DURATION} s per point after a ${WARMUP} s warm-up at c=32;"
  echo "$PINNING; \`wrk -t1 -c C\` with \`bench/lua/mcp.lua\` (own id per request, every reply checked)."
  echo "Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END;"
  echo "CPU pressure at the end: $(sed -n 's/^some //p' /proc/pressure/cpu 2>/dev/null || echo n/a)"
  echo "(share of time some runnable task waited for a CPU: other work was competing when it is high)."
  echo "Load generator ceiling (plain \`wrk -c 32\` without the script against raw hyper): ${CEILING:-n/a} req/s."
  echo
  echo "| row | c | req/s | / raw hyper | p50 µs | p99 µs | errors | server CPU µs/req | RSS after / peak KB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for id in "${ROWS[@]}"; do
    for c in $CONNS; do
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |\n' "${LABEL[$id]}" "$c" \
        "$(printf '%.0f' "${RPS[$id,$c]}")" "$(ratio "${RPS[$id,$c]}" "$(rps raw-hyper "$c")")" \
        "${P50[$id,$c]}" "${P99[$id,$c]}" "${ERR[$id,$c]}" \
        "${CPU[$id,$c]}" "${RSS[$id]}" "${HWM[$id]}"
    done
  done
  echo
  echo "### Across cores (c=$CORE_C, server on N CPUs, wrk on the others)"
  echo
  echo "| server CPUs | ours session JSON req/s | rmcp tuned req/s | raw hyper req/s | ours / raw hyper | ours / rmcp | server CPU µs/req (ours, raw) |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for n in $CORE_COUNTS; do
    printf '| %s | %s | %s | %s | %s | %s | %s, %s |\n' "$n" "$(num "$(rps "cores-$n-ours" "$CORE_C")")" \
      "$(num "$(rps "cores-$n-rmcp" "$CORE_C")")" "$(num "$(rps "cores-$n-raw" "$CORE_C")")" \
      "$(ratio "$(rps "cores-$n-ours" "$CORE_C")" "$(rps "cores-$n-raw" "$CORE_C")")" \
      "$(ratio "$(rps "cores-$n-ours" "$CORE_C")" "$(rps "cores-$n-rmcp" "$CORE_C")")" \
      "${CPU[cores-$n-ours,$CORE_C]:-}" "${CPU[cores-$n-raw,$CORE_C]:-}"
  done
  echo
  echo "### Ratios"
  echo
  echo "| ratio | c | value | target | verdict |"
  echo "|---|---:|---:|---:|---|"
  line() { # label c value target-op target
    local v=$3
    if [ -n "${5:-}" ]; then
      printf '| %s | %s | %s | %s %s | %s |\n' "$1" "$2" "$v" "$4" "$5" "$(verdict "$v" "$4" "$5")"
    else
      printf '| %s | %s | %s | – | – |\n' "$1" "$2" "$v"
    fi
  }
  line "ours session JSON / rmcp tuned session (SSE)" $C_HI "$(ratio "$(rps ours-session-json $C_HI)" "$(rps rmcp-tuned-stateful $C_HI)")" ">=" 2.0
  line "ours session SSE / rmcp tuned session (SSE)" $C_HI "$(ratio "$(rps ours-session-sse $C_HI)" "$(rps rmcp-tuned-stateful $C_HI)")" ">=" 2.0
  line "ours stateless JSON / rmcp tuned stateless JSON" $C_HI "$(ratio "$(rps ours-stateless-json $C_HI)" "$(rps rmcp-tuned-stateless $C_HI)")" ">=" 2.0
  line "ours 2026-07-28 / rmcp tuned 2026-07-28" $C_HI "$(ratio "$(rps ours-2026 $C_HI)" "$(rps rmcp-tuned-2026 $C_HI)")" ">=" 2.0
  line "ours session JSON / rmcp as shipped session" $C_LO "$(ratio "$(rps ours-session-json $C_LO)" "$(rps rmcp-shipped-stateful $C_LO)")" ">=" 100
  line "ours stateless JSON / rmcp as shipped stateless" $C_LO "$(ratio "$(rps ours-stateless-json $C_LO)" "$(rps rmcp-shipped-stateless $C_LO)")" ">=" 100
  for c in $CONNS; do
    line "JWT-protected / unprotected (session JSON)" "$c" "$(ratio "$(rps ours-jwt-session-json "$c")" "$(rps ours-session-json "$c")")" ">=" 0.9
  done
  for c in $CONNS; do
    line "ours session JSON / raw hyper" "$c" "$(ratio "$(rps ours-session-json "$c")" "$(rps raw-hyper "$c")")" ">=" 0.5
    line "ours stateless JSON / raw hyper" "$c" "$(ratio "$(rps ours-stateless-json "$c")" "$(rps raw-hyper "$c")")" ">=" 0.5
  done
  cpu() { printf '%s' "${CPU[$1,$2]:-}"; }
  line "server CPU per request: rmcp tuned session / ours session JSON" $C_HI "$(ratio "$(cpu rmcp-tuned-stateful $C_HI)" "$(cpu ours-session-json $C_HI)")"
  line "server CPU per request: rmcp tuned stateless / ours stateless JSON" $C_HI "$(ratio "$(cpu rmcp-tuned-stateless $C_HI)" "$(cpu ours-stateless-json $C_HI)")"
  line "server CPU per request: ours session JSON / raw hyper" $C_HI "$(ratio "$(cpu ours-session-json $C_HI)" "$(cpu raw-hyper $C_HI)")"
  echo
  echo "### Memory and start-up"
  echo
  echo "| server | RSS before KB | RSS after $SESSIONS idle sessions KB | KB per session | target | verdict |"
  echo "|---|---:|---:|---:|---:|---|"
  printf '| ours (bench-server) | %s | %s | %s | <= 5 | %s |\n' "${MEM_BEFORE[ours]}" "${MEM_AFTER[ours]}" "${MEM_PER[ours]}" "$(verdict "${MEM_PER[ours]}" "<=" 5)"
  printf '| rmcp (as shipped) | %s | %s | %s | – | – |\n' "${MEM_BEFORE[rmcp]}" "${MEM_AFTER[rmcp]}" "${MEM_PER[rmcp]}"
  echo
  echo "Start-up, process start to the first answered \`initialize\` (median of $STARTUP_RUNS):"
  echo "ours ${START_MS[ours]} ms, rmcp ${START_MS[rmcp]} ms."
  echo
  echo "### Machine and versions"
  echo
  echo "- CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1), $NPROC CPUs ($(lscpu | sed -n 's/^Hypervisor vendor:[[:space:]]*//p' | head -n1 | sed 's/^$/bare metal/;s/^\(..*\)$/\1 guest/'))"
  echo "- Memory: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); kernel $(uname -r)"
  echo "- $(rustc -V); $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)"
  lockver() { awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"; }
  echo "- mcp-rs $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown); rmcp $(lockver rmcp); hyper $(lockver hyper); axum $(lockver axum); tokio $(lockver tokio)"
  echo
  echo "<!-- bench:end -->"
} >"$WORK/results.md"

mkdir -p "$(dirname "$OUT")"
if [ -f "$OUT" ] && grep -q '<!-- bench:begin' "$OUT" && grep -q '<!-- bench:end -->' "$OUT"; then
  awk -v res="$WORK/results.md" '
    /<!-- bench:begin/ { while ((getline l < res) > 0) print l; skip = 1; next }
    /<!-- bench:end -->/ { skip = 0; next }
    !skip { print }' "$OUT" >"$WORK/out.md"
  cp "$WORK/out.md" "$OUT"
else
  { echo "# Benchmark results"; echo; cat "$WORK/results.md"; } >"$OUT"
fi
log "wrote $OUT"
SVG="${OUT%.md}.svg"
KIND=""; [ "$SMOKE" = 1 ] && KIND=" --smoke (not meaningful)"
write_svg "tools/call req/s (higher is better), bench/run.sh$KIND $(date -u '+%Y-%m-%d'), $NPROC CPUs" "$SVG"
log "wrote $SVG"

if [ "$FAILED" != 0 ]; then
  die "some replies were wrong or a point answered no request (see above)"
fi
log "all replies correct"
