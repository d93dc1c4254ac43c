#!/usr/bin/env bash
# Delivery fault: the collector is away while the agents generate more than
# their spools may hold (--spool-max-bytes). The oldest data is dropped and
# counted; when the collector is back the rest is delivered. What is missing
# from the table must equal what the agents counted as dropped, and the
# collector must show that same loss per agent (from the last Heartbeat).
source "$(dirname "$0")/lib.sh"

it_setup_collector # not running: nothing can be delivered
it_enroll_loadgen 2
it_loadgen_bg "$WORK/lg.json" --agents 2 --containers 50 --rate 50 --duration 4s \
  --spool-max-bytes 262144 --drain-timeout 40s --ack-timeout-ms 2s --spool-fsync never
sleep 5 # generation is over; the spools hold what fits
it_run_collector
it_log "collector started after the generation"

it_loadgen_wait "$WORK/lg.json"
total=$TOTAL dropped=$DROPPED
dropped_env=$(it_json "$WORK/lg.json" dropped_envelopes)
[ "$dropped" -gt 0 ] || it_fail "the spool bound dropped nothing; make the test generate more"
[ "$dropped" -lt "$total" ] || it_fail "everything was dropped; the spool bound is too small"
it_check_exact $((total - dropped))
col_dropped_matches() { [ "$(it_agents_sum spool_dropped_samples)" = "$dropped" ]; }
it_wait_for 10 col_dropped_matches \
  || it_fail "collector shows spool_dropped_samples=$(it_agents_sum spool_dropped_samples), agents dropped $dropped"
col_env=$(it_agents_sum spool_dropped_envelopes)
[ "$col_env" = "$dropped_env" ] || it_fail "collector shows spool_dropped_envelopes=$col_env, agents dropped $dropped_env"
echo "PASS: spool overflow: $dropped of $total samples dropped and counted; the rest exact and unique; the collector shows the same loss"
