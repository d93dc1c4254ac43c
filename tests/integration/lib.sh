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
  if [ -n "${IT_KEEP:-}" ]; then # debugging: keep the files and the database
    echo "kept $WORK and database $DBNAME (IT_KEEP)" >&2
    exit $rc
  fi
  psql "$IT_PG user=postgres" -qc "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >/dev/null 2>&1 || true
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

# The PostgreSQL the collector uses: the suite's, or a test's own cluster
# (it_private_pg). Databases are created in it as the postgres superuser.
IT_PG=${IT_PG:-$BOXWATCH_TEST_PG}

# Database, config, key and schema for a collector, without starting it; sets
# DB, CFG, TOKEN, HTTP, ZMQ_EP. IT_COLLECTOR_EXTRA: more JSON members for the
# config file ("\"key\": value, ...").
it_setup_collector() {
  psql "$IT_PG user=postgres" -qc "CREATE DATABASE $DBNAME OWNER boxwatch" >/dev/null
  DB="$IT_PG dbname=$DBNAME"
  HTTP=127.0.0.1:$(it_free_port)
  ZMQ_EP=tcp://127.0.0.1:$(it_free_port)
  TOKEN=read-$RANDOM$RANDOM$RANDOM$RANDOM
  CFG=$WORK/collector.json
  cat >"$CFG" <<JSON
{"database": "$DB", "listen": "$ZMQ_EP", "key_file": "$WORK/collector.key",
 "http_listen": "$HTTP", "read_token": "$TOKEN", "admin_token": "admin-$RANDOM$RANDOM$RANDOM$RANDOM",
 "agent_endpoint": "$ZMQ_EP", "batch_max_delay_ms": "50ms"${IT_COLLECTOR_EXTRA:+, $IT_COLLECTOR_EXTRA}}
JSON
  chmod 600 "$CFG"
  "$COL" keygen --config "$CFG" >"$WORK/keygen.log" 2>&1 || it_fail "keygen"
  "$COL" migrate --config "$CFG" >"$WORK/migrate.log" 2>&1 || it_fail "migrate"
}

# Starts the collector set up above (again, after a kill: same ports, same
# database); sets COL_PID and waits for /api/v1/health to answer (200 or
# 503). Extra flags go to `run`.
it_run_collector() {
  "$COL" run --config "$CFG" "$@" >>"$WORK/collector.log" 2>&1 &
  COL_PID=$!
  PIDS+=($COL_PID)
  for _ in $(seq 100); do
    kill -0 "$COL_PID" 2>/dev/null || it_fail "collector exited at start"
    case $(it_http_code /api/v1/health) in 200|503) return 0 ;; esac
    sleep 0.1
  done
  it_fail "collector did not answer /api/v1/health"
}

# Starts a collector with its own database; sets DB, CFG, TOKEN, HTTP, ZMQ_EP.
it_start_collector() {
  it_setup_collector
  it_run_collector
  for _ in $(seq 100); do
    [ "$(it_http_code /api/v1/health)" = 200 ] && return 0
    sleep 0.1
  done
  it_fail "collector /api/v1/health is not 200"
}

# it_signal_collector SIG: sends SIG to the collector; for KILL and TERM
# also waits (up to 15 s) until the process is gone.
it_signal_collector() {
  kill -"$1" "$COL_PID"
  case $1 in
  KILL|TERM|9|15)
    for _ in $(seq 150); do kill -0 "$COL_PID" 2>/dev/null || return 0; sleep 0.1; done
    it_fail "collector $COL_PID still alive 15 s after SIG$1" ;;
  esac
}

# it_http_code PATH: the HTTP status of a read request ("000" when nothing answers).
it_http_code() {
  curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer $TOKEN" "http://$HTTP$1" || true
}

# it_private_pg: a PostgreSQL cluster of the test's own under $WORK/pg (to be
# stopped and started by the test); sets IT_PG. Call before it_setup_collector.
it_private_pg() {
  IT_PG_DIR=$WORK/pg
  IT_PG_PORT=$((5600 + RANDOM % 300))
  CLEANUPS+=("$BOXWATCH_SOURCE_DIR/scripts/pg.sh stop $IT_PG_DIR immediate")
  IT_PG=$("$BOXWATCH_SOURCE_DIR/scripts/pg.sh" start "$IT_PG_DIR" "$IT_PG_PORT" 2>"$WORK/pg.log") \
    || it_skip "cannot start a private PostgreSQL: $(tail -n 3 "$WORK/pg.log")"
  IT_PG=${IT_PG% dbname=boxwatch}
}
it_private_pg_stop() { "$BOXWATCH_SOURCE_DIR/scripts/pg.sh" stop "$IT_PG_DIR" "${1:-fast}"; }
it_private_pg_start() {
  "$BOXWATCH_SOURCE_DIR/scripts/pg.sh" start "$IT_PG_DIR" "$IT_PG_PORT" >/dev/null 2>>"$WORK/pg.log" \
    || it_fail "private PostgreSQL did not start again"
}

# it_enroll NAME -> $WORK/agents/NAME.json
it_enroll() {
  mkdir -p "$WORK/agents"
  "$COL" enroll "$1" --config "$CFG" --out-dir "$WORK/agents" >>"$WORK/enroll.log" 2>&1 \
    || it_fail "enroll $1"
}

# it_start_agent CONFIG [flags...]: state in $WORK/agent-state; sets AGENT_PID
it_start_agent() {
  local cfg=$1; shift
  mkdir -p "$WORK/agent-state"
  "$AGENT" --config "$cfg" --state-dir "$WORK/agent-state" "$@" >>"$WORK/agent.log" 2>&1 &
  AGENT_PID=$!
  PIDS+=($AGENT_PID)
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

# ---- delivery fault tests: boxwatch-loadgen and exact counts ----
LOADGEN=$BOXWATCH_BUILD_DIR/tests/loadgen/boxwatch-loadgen

# it_enroll_loadgen N: enrolls lg01..lgNN into $WORK/keys (NAME.key, NAME.json).
it_enroll_loadgen() {
  [ -x "$LOADGEN" ] || it_skip "boxwatch-loadgen not built ($LOADGEN)"
  mkdir -p "$WORK/keys"
  local i
  for i in $(seq 1 "$1"); do
    "$COL" enroll "$(printf 'lg%02d' "$i")" --config "$CFG" --out-dir "$WORK/keys" \
      >>"$WORK/enroll.log" 2>&1 || it_fail "enroll lg$i"
  done
}

# it_loadgen OUT [flags...]: runs loadgen in the foreground with the enrolled
# keys and the state in $WORK/lgstate; its JSON line goes to OUT. Returns its
# exit status (0 = drained).
it_loadgen() {
  local out=$1; shift
  "$LOADGEN" --keys-dir "$WORK/keys" --collector-config "$WORK/keys/lg01.json" \
    --state-dir "$WORK/lgstate" "$@" >"$out" 2>>"$WORK/loadgen.log"
}

# it_loadgen_bg OUT [flags...]: the same in the background; sets LG_PID.
it_loadgen_bg() {
  local out=$1; shift
  "$LOADGEN" --keys-dir "$WORK/keys" --collector-config "$WORK/keys/lg01.json" \
    --state-dir "$WORK/lgstate" "$@" >"$out" 2>>"$WORK/loadgen.log" &
  LG_PID=$!
  PIDS+=($LG_PID)
}

# it_loadgen_result OUT RC: shows loadgen's JSON line, fails unless RC is 0
# (drained); sets TOTAL and DROPPED (samples) from the line.
it_loadgen_result() {
  cat "$1"
  [ "$2" = 0 ] || it_fail "loadgen did not drain (exit $2)"
  [ "$(it_json "$1" drained)" = true ] || it_fail "loadgen exited 0 but says not drained"
  TOTAL=$(it_json "$1" samples_total)
  DROPPED=$(it_json "$1" dropped_samples)
}

# it_loadgen_wait OUT: waits for the background loadgen; as it_loadgen_result.
it_loadgen_wait() {
  local rc=0
  wait "$LG_PID" || rc=$?
  it_loadgen_result "$1" $rc
}

# it_json FILE KEY: one value of a loadgen JSON line.
it_json() { jq -er ".$2" "$1" || it_fail "no $2 in $1: $(cat "$1")"; }

# it_agents_sum COUNTER: the sum over all agents of GET /api/v1/agents counters.COUNTER.
it_agents_sum() {
  it_api "/api/v1/agents?limit=1000" | jq -er "[.agents[].counters.$1 // error(\"no counter $1\")] | add // 0"
}

it_samples_stored() { it_sql "SELECT count(*) FROM container_samples"; }
# it_samples_above N: more than N sample rows are stored (for it_wait_for).
it_samples_above() { local n; n=$(it_samples_stored) && [ "$n" -gt "$1" ]; }
# it_health_is CODE: /api/v1/health answers CODE (for it_wait_for).
it_health_is() { [ "$(it_http_code /api/v1/health)" = "$1" ]; }

# it_check_exact EXPECTED: the table holds exactly EXPECTED sample rows and no
# (container, ts) twice.
it_check_exact() {
  local n dups
  n=$(it_samples_stored)
  dups=$(it_sql "SELECT count(*) - count(DISTINCT (container_ref, ts)) FROM container_samples")
  [ "$dups" = 0 ] || it_fail "$dups duplicate sample rows stored"
  [ "$n" = "$1" ] || it_fail "stored $n sample rows, expected exactly $1"
  it_log "exact: $n sample rows stored = sent - dropped, 0 duplicates"
}
