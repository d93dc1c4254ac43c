#!/usr/bin/env bash
# Delivery fault: the agent dies (SIGKILL) with an unacked tail in its spool
# (the collector is down at that moment), then starts again on the same state
# directory. The tail must be resent and stored once, the seqs must continue
# (no number is used twice: a reused seq would be dropped as a duplicate and
# the exact count would come out short), and the spool's cumulative totals,
# kept across the restart, must match the table exactly.
source "$(dirname "$0")/lib.sh"

it_start_collector
it_enroll_loadgen 3
LG=(--agents 3 --containers 10 --rate 20 --ack-timeout-ms 2s --spool-fsync never)
it_loadgen_bg "$WORK/lg1.json" "${LG[@]}" --duration 60s

it_wait_for 10 it_samples_above 0 || it_fail "nothing stored before the collector stopped"
sleep 1
it_signal_collector TERM
stored1=$(it_samples_stored)
seqs1=$(it_sql "SELECT string_agg(name || '=' || last_seq, ' ' ORDER BY name) FROM agents")
it_log "collector stopped with $stored1 sample rows; last_seq $seqs1"
sleep 1.5 # the agents go on spooling what they cannot send
kill -KILL "$LG_PID"
wait "$LG_PID" 2>/dev/null || true
it_log "loadgen killed with SIGKILL while envelopes were unacked"

it_run_collector
# 1) drain only: what the spools hold is the tail of the killed run
rc=0; it_loadgen "$WORK/lg2.json" "${LG[@]}" --duration 0 --drain-timeout 30s || rc=$?
it_loadgen_result "$WORK/lg2.json" $rc
total2=$TOTAL dropped2=$DROPPED
[ "$(it_json "$WORK/lg2.json" pending)" = 0 ] || it_fail "records still pending after the drain"
[ "$((total2 - dropped2))" -gt "$stored1" ] || it_fail "no unacked tail was resent ($total2 - $dropped2 <= $stored1)"
it_check_exact $((total2 - dropped2))
seqs2=$(it_sql "SELECT string_agg(name || '=' || last_seq, ' ' ORDER BY name) FROM agents")

# 2) a short run on the same state: new seqs above every earlier one
rc=0; it_loadgen "$WORK/lg3.json" "${LG[@]}" --duration 2s --drain-timeout 30s || rc=$?
it_loadgen_result "$WORK/lg3.json" $rc
total3=$TOTAL dropped3=$DROPPED
[ "$total3" -gt "$total2" ] || it_fail "spool totals did not carry over ($total3 <= $total2)"
it_check_exact $((total3 - dropped3))
seqs3=$(it_sql "SELECT string_agg(name || '=' || last_seq, ' ' ORDER BY name) FROM agents")
it_log "last_seq: before kill $seqs1; after drain $seqs2; after new run $seqs3"
grew=$(it_sql "SELECT count(*) FROM agents a WHERE a.name LIKE 'lg%' AND a.last_seq > 0")
[ "$grew" = 3 ] || it_fail "not every agent has a committed seq"
for pair in $seqs1; do
  name=${pair%=*}; s1=${pair#*=}
  s2=$(echo " $seqs2 " | grep -o " $name=[0-9]*" | cut -d= -f2)
  s3=$(echo " $seqs3 " | grep -o " $name=[0-9]*" | cut -d= -f2)
  [ "$s2" -gt "$s1" ] || it_fail "$name: last_seq did not grow with the resent tail ($s1 -> $s2)"
  [ "$s3" -gt "$s2" ] || it_fail "$name: last_seq did not grow in the new run ($s2 -> $s3)"
done
echo "PASS: agent SIGKILL with an unacked tail: tail resent, seqs continue, $total3 samples exact and unique"
