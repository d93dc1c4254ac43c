#!/usr/bin/env bash
# Delivery fault: the path to the collector is cut for longer than the ack
# timeout (the collector is frozen with SIGSTOP for 3 s, ack timeout 500 ms),
# then comes back. The agents resend what was not acked; the collector now
# receives both the originals and the resends and must store each once.
source "$(dirname "$0")/lib.sh"

it_start_collector
it_enroll_loadgen 3
it_loadgen_bg "$WORK/lg.json" --agents 3 --containers 20 --rate 20 --duration 8s \
  --drain-timeout 45s --ack-timeout-ms 500ms --window 32 --spool-fsync never

it_wait_for 10 it_samples_above 0 || it_fail "nothing stored before the cut"
sleep 1
it_signal_collector STOP
it_log "collector frozen (SIGSTOP) for 3 s"
sleep 3
it_signal_collector CONT
it_log "collector thawed"

it_loadgen_wait "$WORK/lg.json"
resent=$(it_json "$WORK/lg.json" resent)
[ "$resent" -gt 0 ] || it_fail "no envelope was resent after a 3 s cut with a 500 ms ack timeout"
it_check_exact $((TOTAL - DROPPED))
dups=$(it_agents_sum duplicates_dropped)
[ "$dups" -gt 0 ] || it_fail "the resends reached the collector twice, yet duplicates_dropped is 0"
echo "PASS: cut-off longer than the ack timeout: $resent resent, $dups duplicates dropped, $TOTAL samples exact"
