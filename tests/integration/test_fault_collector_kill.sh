#!/usr/bin/env bash
# Delivery fault: the collector dies (SIGKILL) mid-stream and comes back on
# the same ports 2 s later. Five loadgen agents stream through it; whatever
# was in flight or spooled meanwhile must be resent, stored once, and the
# table must hold exactly what the agents sent minus what they counted as
# dropped, with no (container, ts) twice.
source "$(dirname "$0")/lib.sh"

it_start_collector
it_enroll_loadgen 5
it_loadgen_bg "$WORK/lg.json" --agents 5 --containers 20 --rate 20 --duration 8s \
  --drain-timeout 45s --ack-timeout-ms 2s --spool-fsync never

it_wait_for 10 it_samples_above 0 || it_fail "nothing stored before the kill"
sleep 2
before=$(it_samples_stored)
[ "$before" -gt 0 ] || it_fail "nothing stored before the kill"
it_signal_collector KILL
it_log "collector killed with SIGKILL after $before sample rows"
sleep 2
it_run_collector
it_log "collector restarted"

it_loadgen_wait "$WORK/lg.json"
[ "$TOTAL" -gt "$before" ] || it_fail "loadgen sent nothing after the kill ($TOTAL <= $before)"
it_check_exact $((TOTAL - DROPPED))
echo "PASS: collector SIGKILL mid-stream: $TOTAL samples sent, $DROPPED dropped, exact and unique"
