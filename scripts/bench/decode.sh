#!/usr/bin/env bash
# decode.sh - bench part "decode": decode+validate of a 50-container
# MetricBatch envelope on one core (bench-decode, tests/bench/bench_decode.c),
# encode for reference. Contract: see scripts/bench.sh (BENCH_BUILD,
# BENCH_QUICK; one JSON object on stdout, progress on stderr).
set -euo pipefail
: "${BENCH_BUILD:?set BENCH_BUILD (see scripts/bench.sh)}"
BIN=$BENCH_BUILD/tests/bench/bench-decode
[ -x "$BIN" ] || { echo "decode: $BIN not built" >&2; exit 1; }
SECS=5
[ "${BENCH_QUICK:-0}" = 1 ] && SECS=2
echo "decode: ${SECS}s decode + $((SECS / 2))s encode of a 50-container MetricBatch, pinned to CPU 0" >&2
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0)
out=$("${PIN[@]}" "$BIN" "$SECS" 50)
jq -c --argjson r "$out" -n '{
  part: "decode",
  summary: { decode_samples_per_s: $r.decode_samples_per_s },
  benchmarks: [ { name: "decode_metric_batch_50" } + $r ] }'
