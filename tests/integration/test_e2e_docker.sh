#!/usr/bin/env bash
# End to end with a real container: an isolated Docker engine (own data-root
# and socket, no network changes) runs a busybox container limited to half a
# core that burns CPU and holds 24 MiB in tmpfs; an enrolled agent discovers
# it by Docker's cgroup naming; the API must return it with cpu and memory
# consistent with the container's own cgroup files.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || it_skip "needs root to run a Docker engine"
DKW=$(mktemp -d /tmp/bwdk.XXXXXX)
CLEANUPS+=("$BOXWATCH_SOURCE_DIR/scripts/docker-down.sh $DKW")
SOCK=$("$BOXWATCH_SOURCE_DIR/scripts/docker-up.sh" "$DKW" 2>"$WORK/docker-up.log") \
  || { cat "$WORK/docker-up.log"; it_skip "no Docker engine could be started here"; }
D="docker -H unix://$SOCK"
ID=$($D run -d --name e2e-cruncher --network none --cpus 0.5 --memory 96m busybox:local \
  sh -c 'dd if=/dev/zero of=/dev/shm/held bs=1M count=24 2>/dev/null; while :; do :; done')
[ ${#ID} = 64 ] || it_fail "docker run gave no id: $ID"
CGMEM=$(ls -d /sys/fs/cgroup/memory/docker/$ID 2>/dev/null || ls -d /sys/fs/cgroup/memory/system.slice/docker-$ID.scope 2>/dev/null || true)
[ -n "$CGMEM" ] || it_skip "container cgroup not found under the v1 memory hierarchy"

it_start_collector
it_enroll dockerhost
it_start_agent "$WORK/agents/dockerhost.json" --interval-ms 1s

has_container() { it_api /api/v1/containers | jq -e --arg id "$ID" '.containers[] | select(.id == $id) | .latest.cpu_cores != null'; }
it_wait_for 30 has_container || it_fail "container $ID not in the API within 30 s"
sleep 3

C=$(it_api /api/v1/containers | jq --arg id "$ID" '.containers[] | select(.id == $id)')
echo "$C" | jq -c .
[ "$(echo "$C" | jq -r .runtime)" = docker ] || it_fail "runtime is not docker"
[ "$(echo "$C" | jq -r .name)" = "${ID:0:12}" ] || it_fail "name should default to the short id"
cpu=$(echo "$C" | jq -r .latest.cpu_cores)
mem_api=$(echo "$C" | jq -r .latest.memory_bytes)
limit_api=$(echo "$C" | jq -r .latest.memory_limit_bytes)
mem_file=$(cat "$CGMEM/memory.usage_in_bytes")
near "$cpu" 0.5 0.12 || it_fail "cpu_cores=$cpu, expected about 0.5 (--cpus 0.5)"
near "$mem_api" "$mem_file" 2097152 || it_fail "memory_bytes=$mem_api but the cgroup file says $mem_file"
[ "$mem_api" -ge $((24 * 1024 * 1024)) ] || it_fail "memory_bytes=$mem_api is below the 24 MiB the container holds"
[ "$limit_api" = $((96 * 1024 * 1024)) ] || it_fail "memory_limit_bytes=$limit_api, expected 100663296"

# prefix lookup on the metrics route (12-char short id)
M=$(it_api "/api/v1/containers/${ID:0:12}/metrics?step=10s")
[ "$(echo "$M" | jq -r .container.id)" = "$ID" ] || it_fail "short-id lookup did not resolve"
echo "PASS: docker container ${ID:0:12} cpu=$cpu cores mem=$mem_api bytes"
