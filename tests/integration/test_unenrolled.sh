#!/usr/bin/env bash
# An agent whose key the collector has not enrolled gets nothing stored: the
# ZAP handler refuses the CURVE handshake, the agent's --once run fails, and
# the collector counts the denial.
source "$(dirname "$0")/lib.sh"

it_start_collector
it_enroll good
# A stranger: valid key pair, right collector key, but never enrolled.
"$COL" keygen --key-file "$WORK/stranger.key" >/dev/null 2>&1 || it_fail "keygen for stranger"
jq --arg k "$WORK/stranger.key" '.key_file = $k' "$WORK/agents/good.json" >"$WORK/stranger.json"

mkdir -p "$WORK/s-state"
set +e
timeout 30 "$AGENT" --config "$WORK/stranger.json" --state-dir "$WORK/s-state" --once \
  --host-root "$BOXWATCH_SOURCE_DIR/tests/fixtures/hostroot-v2" >"$WORK/stranger.log" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || it_fail "the unenrolled agent's --once run claimed success"
[ "$(it_sql "SELECT count(*) FROM container_samples")" = 0 ] || it_fail "samples stored for an unenrolled key"
[ "$(it_sql "SELECT count(*) FROM containers")" = 0 ] || it_fail "containers stored for an unenrolled key"
denied=$(it_api /metrics | awk '/^boxwatch_zap_denied_total/ {print $2}')
[ "${denied:-0}" -ge 1 ] || it_fail "zap denials not counted (got '${denied:-}')"

# The enrolled agent on the same fixture does get stored (the control case).
mkdir -p "$WORK/g-state"
timeout 30 "$AGENT" --config "$WORK/agents/good.json" --state-dir "$WORK/g-state" --once \
  --host-root "$BOXWATCH_SOURCE_DIR/tests/fixtures/hostroot-v2" >"$WORK/good.log" 2>&1 \
  || it_fail "the enrolled agent's --once run failed"
[ "$(it_sql "SELECT count(*) FROM container_samples")" -gt 0 ] || it_fail "enrolled agent stored nothing"
echo "PASS: unenrolled key refused ($denied denials), enrolled key stored"
