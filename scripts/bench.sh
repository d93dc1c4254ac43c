#!/usr/bin/env bash
# bench.sh - every benchmark of docs/BENCHMARKS.md in one run, each figure
# next to its floor or ceiling measured in the same run. Prints a table and
# writes bench-results.json. Benchmarks print figures; they never fail on speed.
#
#   scripts/bench.sh            full run (N = 100 and 1000 cgroups, K = 10 and 200 agents, 60 s windows)
#   scripts/bench.sh --quick    the same keys in under 5 minutes
#
# Each part is scripts/bench/<part>.sh: it gets BENCH_BUILD (an optimized
# build without sanitizers), BENCH_PG (conninfo of a private PostgreSQL, a
# database per part is the part's business), BENCH_QUICK (0|1) and
# BENCH_WORK (a scratch dir), and prints ONE JSON object on stdout:
#   {"part": "...", "summary": {top-level keys}, "benchmarks": [{"name": ...}, ...]}
# Progress and diagnostics go to stderr.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
PARTS=${BENCH_PARTS:-"decode agent ingest api logs"}

scripts/deps.sh --runtime
export DEBIAN_FRONTEND=noninteractive
for p in valgrind wrk; do
  command -v $p >/dev/null || apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends $p >/dev/null
done

export BENCH_BUILD=$ROOT/build-bench BENCH_QUICK=$QUICK
echo "== build (RelWithDebInfo, no sanitizers)" >&2
cmake -S . -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBOXWATCH_SANITIZE=OFF >/dev/null
cmake --build "$BENCH_BUILD" -j"$(nproc)" >/dev/null

export BENCH_WORK
BENCH_WORK=$(mktemp -d /tmp/bwbench.XXXXXX)
PGDIR=$BENCH_WORK/pg
export BENCH_PG
BENCH_PG=$(scripts/pg.sh start "$PGDIR" 5520)
trap 'rc=$?; "$ROOT/scripts/pg.sh" stop "$PGDIR" fast; rm -rf "$BENCH_WORK"; exit $rc' EXIT

results=()
for part in $PARTS; do
  echo "== $part" >&2
  out=$BENCH_WORK/$part.json
  if bash "scripts/bench/$part.sh" >"$out" && jq -e .part "$out" >/dev/null 2>&1; then
    results+=("$out")
  else
    echo "bench: part $part failed; its keys will be null" >&2
  fi
done

jq -s --argjson cores "$(nproc)" --arg quick "$QUICK" --arg date "$(date -u +%FT%TZ)" '
  { date: $date, quick: ($quick == "1"), cores: $cores,
    agent_floor_ratio: null, agent_cpu_pct: null, agent_rss_kb: null,
    netdata_cpu_pct: null, netdata_rss_kb: null,
    ingest_samples_per_s: null, copy_ceiling_samples_per_s: null, ingest_ratio: null,
    api_p99_ms_containers: null, api_p99_ms_metrics: null, decode_samples_per_s: null,
    logs_match_lines_per_s: null, logs_floor_lines_per_s: null, logs_floor_ratio: null,
    logs_tail_lines_per_s: null, logs_tail_floor_ratio: null }
  + (map(.summary) | add // {})
  + { benchmarks: (map(.benchmarks) | add // []) }' "${results[@]}" >bench-results.json

echo
jq -r '["key", "value"], (to_entries[] | select(.key != "benchmarks") | [.key, (.value | tostring)]) | @tsv' \
  bench-results.json | column -t -s $'\t'
echo
jq -r '.benchmarks[] | "\(.name): \(del(.name) | tostring)"' bench-results.json
echo "wrote bench-results.json"
