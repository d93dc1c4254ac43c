#!/usr/bin/env bash
# Delivery fault: PostgreSQL goes away mid-stream, twice: a fast shutdown for
# ~4 s, then an immediate one (crash-like, no checkpoint) for ~4 s. The test
# runs its own PostgreSQL cluster so stopping it touches nobody else. The
# collector must stop acking, say so in /api/v1/health (503), reconnect by
# itself, and in the end the table holds exactly what was sent, once.
source "$(dirname "$0")/lib.sh"

it_private_pg
it_start_collector
it_enroll_loadgen 3
it_loadgen_bg "$WORK/lg.json" --agents 3 --containers 20 --rate 20 --duration 16s \
  --drain-timeout 50s --ack-timeout-ms 2s --spool-fsync never

it_wait_for 10 it_samples_above 0 || it_fail "nothing stored before the outage"
sleep 1
it_private_pg_stop fast
it_log "PostgreSQL stopped (fast)"
it_wait_for 3 it_health_is 503 || it_fail "/api/v1/health does not answer 503 while PostgreSQL is down"
sleep 3
kill -0 "$COL_PID" || it_fail "the collector exited during the database outage"
it_private_pg_start
it_log "PostgreSQL started again"

it_wait_for 15 it_health_is 200 || it_fail "/api/v1/health not 200 within 15 s of PostgreSQL's return"
sleep 2
it_private_pg_stop immediate
it_log "PostgreSQL stopped (immediate)"
sleep 4
kill -0 "$COL_PID" || it_fail "the collector exited during the database outage"
it_private_pg_start
it_log "PostgreSQL started again"

it_loadgen_wait "$WORK/lg.json"
it_check_exact $((TOTAL - DROPPED))
it_wait_for 10 it_health_is 200 || it_fail "/api/v1/health is $(it_http_code /api/v1/health), not 200, 10 s after the outages"
echo "PASS: PostgreSQL fast + immediate restarts: $TOTAL samples sent, $DROPPED dropped, exact and unique"
