#!/usr/bin/env bash
# ingest.sh - bench part "ingest": end-to-end ingest vs the COPY ceiling.
#
# 1. Ceiling: bench-copy-ceiling (tests/bench/copy_ceiling.c) does raw libpq
#    COPY of loadgen-shaped sample rows into container_samples of a database
#    migrated by `boxwatch-collector migrate`, one client, 10,000-row
#    transactions, text (the collector's format) and binary, each twice
#    interleaved. The ceiling is the best run.
# 2. Ingest: a boxwatch-collector (defaults: batch_max_samples 10000) on a
#    second migrated database of the same PostgreSQL; boxwatch-loadgen with K
#    enrolled agents (K = 10 and 200; quick: 10 and 50) pushes 100-container
#    MetricBatches through ZeroMQ/CURVE, window 64, spool fsync never (so the
#    generator's disk is not the bottleneck), ack timeout 120 s (so what is
#    merely queued is not resent), offered at 1.3x the ceiling.
#    After a warm-up, stored rows are counted in the database (count(*)
#    before and after a steady window), with the CPU of the collector, of
#    every PostgreSQL process and of loadgen over the same window
#    (/proc/<pid>/stat), the collector's peak RSS (VmHWM), its batches
#    (/metrics), the writer backend's pg_stat_activity state, and loadgen's
#    send->ack latency p50/p99.
# Contract: see scripts/bench.sh (BENCH_BUILD, BENCH_PG, BENCH_QUICK,
# BENCH_WORK; one JSON object on stdout, progress on stderr).
set -euo pipefail
: "${BENCH_BUILD:?set BENCH_BUILD}" "${BENCH_PG:?set BENCH_PG}" "${BENCH_WORK:?set BENCH_WORK}"
QUICK=${BENCH_QUICK:-0}
COL=$BENCH_BUILD/collector/boxwatch-collector
LG=$BENCH_BUILD/tests/loadgen/boxwatch-loadgen
CEIL=$BENCH_BUILD/tests/bench/bench-copy-ceiling
for b in "$COL" "$LG" "$CEIL"; do [ -x "$b" ] || { echo "ingest: $b not built" >&2; exit 1; }; done

CONTAINERS=100 WINDOW=64 BATCH=10000
# ACK_TIMEOUT: longer than the queueing delay at saturation (K x 64
# envelopes in flight), so the generator does not resend what is merely
# queued; with the agent's default 10 s, K = 200 turns into a resend storm
# (see docs/BENCHMARKS.md). BENCH_INGEST_ACK_TIMEOUT overrides it.
ACK_TIMEOUT=${BENCH_INGEST_ACK_TIMEOUT:-120s}
if [ "$QUICK" = 1 ]; then KS="10 50" CEIL_S=10 WARM_S=4 MEASURE_S=8
else KS="10 200" CEIL_S=20 WARM_S=8 MEASURE_S=30; fi
KMAX=${KS##* }

W=$(mktemp -d "$BENCH_WORK/ingest.XXXXXX")
TAG=bingest_$$
DB_CEIL=${TAG}_ceil DB_COL=${TAG}_col
PG_BASE=$(sed -E 's/(^| )dbname=[^ ]*//' <<<"$BENCH_PG")
PG_HOST=$(sed -nE 's/.*host=([^ ]*).*/\1/p' <<<"$BENCH_PG")
PG_PMPID=$(head -n1 "$(dirname "$PG_HOST")/data/postmaster.pid" 2>/dev/null || true)
PIDS=()
log() { echo "ingest: $*" >&2; }

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  for d in "$DB_CEIL" "$DB_COL"; do
    psql "$PG_BASE user=postgres dbname=postgres" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
  done
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"
  exit $rc
}
trap cleanup EXIT

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    ss -ltnH "sport = :$p" | grep -q . || { echo $p; return; }
  done
}

# Config, keys and schema for a collector on database $1, in $W/$1.json.
setup_db() {
  local db=$1 cfg=$W/$1.json
  psql "$PG_BASE user=postgres dbname=postgres" -qc "CREATE DATABASE $db OWNER boxwatch" >/dev/null
  HTTP=127.0.0.1:$(free_port) ZMQ_EP=tcp://127.0.0.1:$(free_port) TOKEN=read-$RANDOM$RANDOM$RANDOM
  cat >"$cfg" <<JSON
{"database": "$PG_BASE dbname=$db", "listen": "$ZMQ_EP", "key_file": "$W/$db.key",
 "http_listen": "$HTTP", "read_token": "$TOKEN", "admin_token": "admin-$RANDOM$RANDOM$RANDOM",
 "agent_endpoint": "$ZMQ_EP", "log_level": "warn"}
JSON
  chmod 600 "$cfg"
  "$COL" keygen --config "$cfg" >>"$W/setup.log" 2>&1
  "$COL" migrate --config "$cfg" >>"$W/setup.log" 2>&1
}

sql() { psql "$PG_BASE dbname=$DB_COL" -qtAc "$1"; }
# CPU ticks (user+system, children reaped included) of a process; 0 when gone.
ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Ticks of the postmaster and every process it started.
pg_ticks() {
  [ -n "$PG_PMPID" ] || { echo 0; return; }
  local t=0 p
  t=$(ticks "$PG_PMPID")
  for p in $(pgrep -P "$PG_PMPID"); do t=$((t + $(ticks "$p"))); done
  echo $t
}
metric() { curl -fsS -m 5 -H "Authorization: Bearer $TOKEN" "http://$HTTP/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
now() { date +%s.%N; }

# ---- 1. the ceiling -------------------------------------------------------
log "ceiling: databases $DB_CEIL and $DB_COL"
setup_db "$DB_CEIL"
setup_db "$DB_COL"
CEIL_CONN="$PG_BASE dbname=$DB_CEIL"
declare -A CEIL_RES
# each format twice, interleaved, half the time each; the better run counts
# (a neighbour's burst of CPU lowers one run, never raises it)
for round in 1 2; do
  for fmt in text binary; do
    log "ceiling: $((CEIL_S / 2))s of COPY $fmt, $BATCH-row transactions (round $round)"
    r=$("$CEIL" "$CEIL_CONN" "$((CEIL_S / 2))" 100000000 "$BATCH" 1000 "$fmt")
    if [ -z "${CEIL_RES[$fmt]:-}" ] || jq -e --argjson a "${CEIL_RES[$fmt]}" '.rows_per_s > $a.rows_per_s' <<<"$r" >/dev/null; then
      CEIL_RES[$fmt]=$r
    fi
  done
done
CEIL_ROWS=$(psql "$CEIL_CONN" -qtAc "SELECT count(*) FROM container_samples")
CEILING=$(jq -n --argjson t "${CEIL_RES[text]}" --argjson b "${CEIL_RES[binary]}" \
  '[$t.rows_per_s, $b.rows_per_s] | max')
log "ceiling (best runs): text $(jq .rows_per_s <<<"${CEIL_RES[text]}") binary $(jq .rows_per_s <<<"${CEIL_RES[binary]}") rows/s ($CEIL_ROWS rows in the table)"
psql "$PG_BASE user=postgres dbname=postgres" -qc "DROP DATABASE $DB_CEIL WITH (FORCE)" >/dev/null

# ---- 2. collector + loadgen -----------------------------------------------
CFG=$W/$DB_COL.json
# BENCH_INGEST_PROFILE=1 (with BENCH_KEEP=1): PostgreSQL logs every statement
# of this database with its duration (its cluster log), perf samples the
# collector; see docs/BENCHMARKS.md for how they were read.
[ -n "${BENCH_INGEST_PROFILE:-}" ] &&
  psql "$PG_BASE user=postgres dbname=postgres" -qc "ALTER DATABASE $DB_COL SET log_min_duration_statement = 0" >/dev/null
log "enrolling $KMAX agents"
mkdir -p "$W/keys"
for i in $(seq 1 "$KMAX"); do
  "$COL" enroll "$(printf 'lg%03d' "$i")" --config "$CFG" --out-dir "$W/keys" >>"$W/enroll.log" 2>&1
done
"$COL" run --config "$CFG" >>"$W/collector.log" 2>&1 &
COL_PID=$!
PIDS+=("$COL_PID")
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -m 2 -H "Authorization: Bearer $TOKEN" "http://$HTTP/api/v1/health" || true)" = 200 ] && break
  kill -0 "$COL_PID" || { tail "$W/collector.log" >&2; exit 1; }
  sleep 0.1
done

RESULTS=()
for K in $KS; do
  # offered: 1.3x the ceiling, spread over K agents
  RATE=$(awk -v c="$CEILING" -v k="$K" -v n="$CONTAINERS" 'BEGIN { r = int(c * 1.3 / k / n) + 1; print r }')
  log "K=$K: loadgen $K agents x $CONTAINERS containers, $RATE envelopes/s each (offered $((RATE * K * CONTAINERS)) samples/s), window $WINDOW, fsync never"
  "$LG" --keys-dir "$W/keys" --collector-config "$W/keys/lg001.json" --state-dir "$W/lg$K" \
    --agents "$K" --containers "$CONTAINERS" --rate "$RATE" --window "$WINDOW" --spool-fsync never --ack-timeout-ms "$ACK_TIMEOUT" \
    --duration $((WARM_S + MEASURE_S + 30))s --drain-timeout 1s >"$W/lg$K.out" 2>>"$W/loadgen.log" &
  LG_PID=$!
  PIDS+=("$LG_PID")
  sleep "$WARM_S"
  c0=$(sql "SELECT count(*) FROM container_samples"); t0=$(now)
  col0=$(ticks "$COL_PID") pg0=$(pg_ticks) lg0=$(ticks "$LG_PID")
  b0=$(metric boxwatch_batches_committed_total) s0=$(metric boxwatch_samples_stored_total)
  if [ -n "${BENCH_INGEST_PROFILE:-}" ]; then # perf samples of the collector over the window
    perf record -e cpu-clock -F 499 -g -p "$COL_PID" -o "$W/perf-k$K.data" -- sleep "$MEASURE_S" >/dev/null 2>&1 &
  fi
  waits=()
  for _ in $(seq "$MEASURE_S"); do
    sleep 1
    waits+=("$(sql "SELECT coalesce(string_agg(left(regexp_replace(query, '\\s+', ' ', 'g'), 18) || '/' || coalesce(wait_event, 'cpu'), '+'), 'idle') FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'" | tr ' ' '_')")
  done
  col1=$(ticks "$COL_PID") pg1=$(pg_ticks) lg1=$(ticks "$LG_PID")
  b1=$(metric boxwatch_batches_committed_total) s1=$(metric boxwatch_samples_stored_total)
  c1=$(sql "SELECT count(*) FROM container_samples"); t1=$(now)
  q=$(metric boxwatch_queue_envelopes)
  kill -TERM "$LG_PID"
  wait "$LG_PID" || true
  HZ=$(getconf CLK_TCK)
  WAITS=$(printf '%s\n' "${waits[@]}" | sort | uniq -c | sort -rn | awk '{ printf "%s%s=%d", sep, $2, $1; sep=", " }')
  LGJSON=$(tail -n1 "$W/lg$K.out")
  [ -n "$LGJSON" ] || LGJSON='{}'
  R=$(jq -n --argjson lg "$LGJSON" --arg k "$K" --arg rate "$RATE" --arg n "$CONTAINERS" \
    --arg c0 "$c0" --arg c1 "$c1" --arg t0 "$t0" --arg t1 "$t1" --arg hz "$HZ" \
    --arg col "$((col1 - col0))" --arg pg "$((pg1 - pg0))" --arg lgt "$((lg1 - lg0))" \
    --arg b "$((b1 - b0))" --arg s "$((s1 - s0))" --arg q "$q" --arg ceil "$CEILING" \
    --arg ackto "$ACK_TIMEOUT" --arg rss "$(awk '/VmHWM/ { print $2 }' "/proc/$COL_PID/status")" --arg waits "$WAITS" '
    (($t1 | tonumber) - ($t0 | tonumber)) as $dt | ($hz | tonumber) as $hz |
    (((($c1 | tonumber) - ($c0 | tonumber)) / $dt)) as $sps |
    { name: "ingest_k\($k)", agents: ($k | tonumber), containers_per_envelope: ($n | tonumber),
      offered_samples_per_s: (($rate | tonumber) * ($k | tonumber) * ($n | tonumber)),
      window: 64, spool_fsync: "never", ack_timeout: $ackto, window_s: ($dt * 1000 | round / 1000),
      stored_rows: (($c1 | tonumber) - ($c0 | tonumber)),
      samples_per_s: ($sps | round), ratio_to_ceiling: ($sps / ($ceil | tonumber) * 1000 | round / 1000),
      collector_cpu_pct: (($col | tonumber) / $hz / $dt * 100 | round),
      postgres_cpu_pct: (($pg | tonumber) / $hz / $dt * 100 | round),
      loadgen_cpu_pct: (($lgt | tonumber) / $hz / $dt * 100 | round),
      collector_peak_rss_kb: ($rss | tonumber),
      batches_per_s: (($b | tonumber) / $dt * 10 | round / 10),
      samples_per_batch: (if ($b | tonumber) > 0 then (($s | tonumber) / ($b | tonumber) | round) else null end),
      queue_envelopes_at_end: ($q | tonumber? // null),
      writer_backend_states: $waits,
      ack_p50_us: ($lg.ack_p50_us // null), ack_p99_us: ($lg.ack_p99_us // null),
      envelopes_resent: ($lg.resent // null),
      loadgen: $lg }')
  log "K=$K: $(jq -c '{samples_per_s, ratio_to_ceiling, collector_cpu_pct, postgres_cpu_pct, loadgen_cpu_pct, samples_per_batch, ack_p50_us, ack_p99_us}' <<<"$R")"
  RESULTS+=("$R")
  # let the collector's queue empty before the next K
  for _ in $(seq 60); do [ "$(metric boxwatch_queue_envelopes)" = 0 ] && break; sleep 0.5; done
done

printf '%s\n' "${RESULTS[@]}" | jq -s --argjson t "${CEIL_RES[text]}" --argjson b "${CEIL_RES[binary]}" \
  --arg ceil "$CEILING" --arg crows "$CEIL_ROWS" '
  ($ceil | tonumber | round) as $c | (.[0]) as $k10 |
  { part: "ingest",
    summary: { ingest_samples_per_s: $k10.samples_per_s, copy_ceiling_samples_per_s: $c,
               ingest_ratio: $k10.ratio_to_ceiling },
    benchmarks: ([ { name: "copy_ceiling", samples_per_s: $c, text: $t, binary: $b,
                     rows_counted_in_db: ($crows | tonumber),
                     text_vs_binary: ($t.rows_per_s / $b.rows_per_s * 1000 | round / 1000) } ] + .) }'
