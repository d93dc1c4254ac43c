#!/usr/bin/env bash
# logs.sh - bench part "logs": lines per second per core through rule
# matching with the built-in rule set (rules/builtin.json), next to the
# floor of reading the same file line by line without matching, in the same
# run (bench-logs, tests/bench/bench_logs.c). The file is the Loghub OpenSSH
# sample from the shared corpus (read in place) or a generated auth log when
# the corpus is absent. Contract: see scripts/bench.sh (BENCH_BUILD,
# BENCH_QUICK; one JSON object on stdout, progress on stderr).
set -euo pipefail
: "${BENCH_BUILD:?set BENCH_BUILD (see scripts/bench.sh)}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$BENCH_BUILD/tests/bench/bench-logs
[ -x "$BIN" ] || { echo "logs: $BIN not built" >&2; exit 1; }
SECS=5
[ "${BENCH_QUICK:-0}" = 1 ] && SECS=2
export BOXWATCH_CORPUS_DIR=${BOXWATCH_CORPUS_DIR:-$(cd "$ROOT/.." && pwd)/shared/corpus}
echo "logs: ${SECS}s floor + ${SECS}s matching + ${SECS}s tailer and matching, built-in rules, pinned to CPU 0" >&2
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0)
out=$("${PIN[@]}" "$BIN" "$SECS" "$ROOT/rules/builtin.json")
jq -c --argjson r "$out" -n '{
  part: "logs",
  summary: { logs_match_lines_per_s: $r.match_lines_per_s,
             logs_floor_lines_per_s: $r.floor_lines_per_s,
             logs_floor_ratio: $r.match_floor_ratio,
             logs_tail_lines_per_s: $r.tail_match_lines_per_s,
             logs_tail_floor_ratio: $r.tail_match_floor_ratio },
  benchmarks: [ { name: "logs_builtin_rules_per_core" } + $r ] }'
