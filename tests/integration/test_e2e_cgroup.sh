#!/usr/bin/env bash
# End to end on a bare cgroup (the path a host without Docker takes): the test
# creates a v1 cgroup with a CPU-bound process limited to half a core and a
# 32 MiB memory limit, an enrolled agent matches it with a user pattern, and
# the API must show that container with cpu and memory consistent with the
# cgroup's own files.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || it_skip "needs root to create cgroups"
CG=bwe2e-$$
CTRLS=(cpu cpuacct memory pids)
[ -d /sys/fs/cgroup/memory ] || it_skip "no cgroup v1 memory hierarchy on this host (v2 is covered by fixtures)"
for c in "${CTRLS[@]}"; do
  mkdir -p "/sys/fs/cgroup/$c/$CG/app1" || it_skip "cannot create cgroups under /sys/fs/cgroup/$c"
done
CLEANUPS+=("for c in ${CTRLS[*]}; do rmdir /sys/fs/cgroup/\$c/$CG/app1 /sys/fs/cgroup/\$c/$CG 2>/dev/null; done")
echo 50000 >/sys/fs/cgroup/cpu/$CG/app1/cpu.cfs_quota_us
echo 100000 >/sys/fs/cgroup/cpu/$CG/app1/cpu.cfs_period_us
echo $((32 * 1024 * 1024)) >/sys/fs/cgroup/memory/$CG/app1/memory.limit_in_bytes

# the workload: a busy loop inside the cgroup
sh -c 'while :; do :; done' &
BUSY=$!
PIDS+=($BUSY)
for c in "${CTRLS[@]}"; do echo $BUSY >"/sys/fs/cgroup/$c/$CG/app1/cgroup.procs"; done
# the busy process must leave the cgroup before rmdir: kill it first
CLEANUPS=("kill -KILL $BUSY 2>/dev/null; sleep 0.3" "${CLEANUPS[@]}")

it_start_collector
it_enroll host1
jq --arg p "^/$CG/([a-z0-9]+)\$" '. + {container_patterns: [$p]}' "$WORK/agents/host1.json" >"$WORK/agent.json"
it_start_agent "$WORK/agent.json" --interval-ms 1s

has_container() { it_api /api/v1/containers | jq -e '.containers[] | select(.id == "app1") | .latest.cpu_cores != null' ; }
it_wait_for 30 has_container || it_fail "container app1 not in the API within 30 s"
sleep 3 # a few more samples for a steady rate

C=$(it_api /api/v1/containers | jq '.containers[] | select(.id == "app1")')
echo "$C" | jq -c .
cpu=$(echo "$C" | jq -r .latest.cpu_cores)
mem_api=$(echo "$C" | jq -r .latest.memory_bytes)
limit_api=$(echo "$C" | jq -r .latest.memory_limit_bytes)
mem_file=$(cat /sys/fs/cgroup/memory/$CG/app1/memory.usage_in_bytes)

# CPU: the quota caps the loop at 0.5 cores and it always wants more.
near "$cpu" 0.5 0.12 || it_fail "cpu_cores=$cpu, expected about 0.5 (cfs quota 50%)"
# Memory: the process is idle memory-wise; the file and the API agree within 1 MiB.
near "$mem_api" "$mem_file" 1048576 || it_fail "memory_bytes=$mem_api but the cgroup file says $mem_file"
[ "$limit_api" = $((32 * 1024 * 1024)) ] || it_fail "memory_limit_bytes=$limit_api, expected 33554432"
[ "$(echo "$C" | jq -r .runtime)" = custom ] || it_fail "runtime should be custom"

# the metrics route: a series with the same rate
M=$(it_api "/api/v1/containers/app1/metrics?step=10s")
last_cpu=$(echo "$M" | jq -r '[.series.cpu_cores[] | .[1] | select(. != null)] | last')
near "$last_cpu" 0.5 0.15 || it_fail "metrics cpu_cores last point $last_cpu, expected about 0.5"
n=$(it_sql "SELECT count(*) FROM container_samples")
[ "$n" -ge 3 ] || it_fail "only $n sample rows stored"
echo "PASS: bare cgroup app1 cpu=$cpu cores mem=$mem_api bytes ($n samples stored)"
