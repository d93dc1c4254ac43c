# lib.sh - shared setup for integration tests: a fresh database in the
# suite's private PostgreSQL, a collector on free loopback ports, enrolled
# agents, and cleanup of every process and file on exit. Sourced, not run.
set -euo pipefail

: "${BOXWATCH_BUILD_DIR:?run through ctest (scripts/test.sh)}"
: "${BOXWATCH_SOURCE_DIR:?run through ctest (scripts/test.sh)}"
COL=$BOXWATCH_BUILD_DIR/collector/boxwatch-collector
AGENT=$BOXWATCH_BUILD_DIR/agent/boxwatch-agent
SKIP=77

it_skip() { echo "SKIP: $*"; exit $SKIP; }
it_fail() { echo "FAIL: $*" >&2; it_dump_logs; exit 1; }
it_log() { echo "-- $*"; }

[ -n "${BOXWATCH_TEST_PG:-}" ] || it_skip "BOXWATCH_TEST_PG not set (run scripts/test.sh)"

WORK=$(mktemp -d /tmp/bwit.XXXXXX)
PIDS=()
CLEANUPS=()
DBNAME=bwit_$$_$RANDOM

it_cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  for c in "${CLEANUPS[@]}"; do eval "$c" || true; done
  psql "$BOXWATCH_TEST_PG user=postgres" -qc "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $rc
}
trap it_cleanup EXIT

it_dump_logs() {
  for f in "$WORK"/*.log; do
    [ -f "$f" ] || continue
    echo "----- $f (last 30 lines)" >&2; tail -n 30 "$f" >&2
  done
}

it_free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    ss -ltnH "sport = :$p" | grep -q . || { echo $p; return; }
  done
}

# Starts a collector with its own database; sets DB, CFG, TOKEN, HTTP, ZMQ_EP.
it_start_collector() {
  psql "$BOXWATCH_TEST_PG user=postgres" -qc "CREATE DATABASE $DBNAME OWNER boxwatch" >/dev/null
  DB="$BOXWATCH_TEST_PG dbname=$DBNAME"
  HTTP=127.0.0.1:$(it_free_port)
  ZMQ_EP=tcp://127.0.0.1:$(it_free_port)
  TOKEN=read-$RANDOM$RANDOM$RANDOM$RANDOM
  CFG=$WORK/collector.json
  cat >"$CFG" <<JSON
{"database": "$DB", "listen": "$ZMQ_EP", "key_file": "$WORK/collector.key",
 "http_listen": "$HTTP", "read_token": "$TOKEN", "admin_token": "admin-$RANDOM$RANDOM$RANDOM$RANDOM",
 "agent_endpoint": "$ZMQ_EP", "batch_max_delay_ms": "50ms"}
JSON
  chmod 600 "$CFG"
  "$COL" keygen --config "$CFG" >"$WORK/keygen.log" 2>&1 || it_fail "keygen"
  "$COL" migrate --config "$CFG" >"$WORK/migrate.log" 2>&1 || it_fail "migrate"
  "$COL" run --config "$CFG" >"$WORK/collector.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    curl -fsS -H "Authorization: Bearer $TOKEN" "http://$HTTP/api/v1/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  it_fail "collector did not answer /api/v1/health"
}

# it_enroll NAME -> $WORK/agents/NAME.json
it_enroll() {
  mkdir -p "$WORK/agents"
  "$COL" enroll "$1" --config "$CFG" --out-dir "$WORK/agents" >>"$WORK/enroll.log" 2>&1 \
    || it_fail "enroll $1"
}

# it_start_agent CONFIG [flags...]
it_start_agent() {
  local cfg=$1; shift
  mkdir -p "$WORK/agent-state"
  "$AGENT" --config "$cfg" --state-dir "$WORK/agent-state" "$@" >>"$WORK/agent.log" 2>&1 &
  PIDS+=($!)
}

it_api() { curl -fsS -H "Authorization: Bearer $TOKEN" "http://$HTTP$1"; }

it_sql() { psql "$DB" -qtAc "$1"; }

# it_wait_for SECONDS COMMAND...: retries until the command succeeds
it_wait_for() {
  local secs=$1; shift
  local end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

# near A B TOLERANCE: |A - B| <= TOLERANCE (floating point)
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
