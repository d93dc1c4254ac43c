#!/usr/bin/env bash
# agent.sh - benchmark part "agent" (issue 4, points 1 and 2): the agent's
# cgroup sweep against the floor, the agent process as a whole, and netdata
# (Debian's) on the same cgroups.
#
# Creates N real cgroups named like Docker's v1 containers
# (/sys/fs/cgroup/{cpu,cpuacct,memory,pids,blkio}/docker/<64hex>), one
# `sleep` in each. N = 100 and 1000 (BENCH_QUICK=1: 100 only). For each N:
# bench-sweep (the real ag_cgroup_sweep) and bench-floor (open/read/close the
# same stat files) timed over many sweeps, and their user-space instructions
# per sweep under callgrind. At N = 100: boxwatch-agent at a 1 s interval
# sending to a real collector, and netdata with only its cgroups collector at
# 1 s updates, each alone for the same window: CPU % of one core over the
# whole process tree and peak RSS, and how many of the N cgroups each reported.
#
# Env (scripts/bench.sh): BENCH_BUILD, BENCH_PG, BENCH_QUICK, BENCH_WORK.
# Prints one JSON object on stdout; progress on stderr. Everything it creates
# (cgroups, processes, its database, netdata's dirs) is removed on exit;
# a /docker parent cgroup is removed only if this script created it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${BENCH_BUILD:?BENCH_BUILD not set}
W=${BENCH_WORK:?BENCH_WORK not set}
PG=${BENCH_PG:?BENCH_PG not set}
QUICK=${BENCH_QUICK:-0}
D=$W/agent
CG=/sys/fs/cgroup
CTRLS=(cpu cpuacct memory pids blkio)
AGENT=$B/agent/boxwatch-agent
COL=$B/collector/boxwatch-collector
SWEEP=$B/tests/bench/bench-sweep
FLOOR=$B/tests/bench/bench-floor
DBNAME=bench_agent
if [ "$QUICK" = 1 ]; then
  SIZES=(100); WINDOW=20; WARMUP=3; DISCOVER_MAX=120
else
  SIZES=(100 1000); WINDOW=60; WARMUP=5; DISCOVER_MAX=400
fi
HZ=$(getconf CLK_TCK)

log() { echo "agent-bench: $*" >&2; }
rm -rf "$D"
mkdir -p "$D"
: >"$D/ids.txt"
: >"$D/pids.txt"
: >"$D/parents.txt"
: >"$D/daemons.txt"

# ---- cleanup: only what this script made ----
stop_pid() { # pid: TERM, wait up to 5 s, KILL
  local p=$1
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  while read -r p; do [ -n "$p" ] && stop_pid "$p"; done <"$D/daemons.txt"
  while read -r p; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done <"$D/pids.txt"
  sleep 0.3
  while read -r id; do
    [ -n "$id" ] || continue
    for c in "${CTRLS[@]}"; do
      d=$CG/$c/docker/$id
      [ -d "$d" ] || continue
      for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$d" 2>/dev/null && break; sleep 0.2; done
    done
  done <"$D/ids.txt"
  while read -r p; do [ -n "$p" ] && rmdir "$p" 2>/dev/null; done <"$D/parents.txt"
  psql "$PG" -qAtc "DROP DATABASE IF EXISTS $DBNAME" >/dev/null 2>&1
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- cgroups ----
for c in "${CTRLS[@]}"; do
  [ -d "$CG/$c" ] || { log "no cgroup v1 $c controller at $CG/$c: this part needs a v1 or hybrid host"; exit 1; }
  if [ ! -d "$CG/$c/docker" ]; then
    mkdir "$CG/$c/docker"
    echo "$CG/$c/docker" >>"$D/parents.txt"
  fi
done
preexisting=$(find "$CG/memory/docker" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$preexisting" -gt 0 ] && log "$preexisting container cgroups already under /docker (a running engine): they are left alone, only ours are counted"

add_cgroups() { # count
  local ids id p c
  ids=$(head -c $((32 * $1)) /dev/urandom | od -An -v -tx1 | tr -d ' \n' | fold -w64)
  for id in $ids; do
    echo "$id" >>"$D/ids.txt"
    for c in "${CTRLS[@]}"; do mkdir "$CG/$c/docker/$id"; done
    sleep 7200 </dev/null >/dev/null 2>&1 &
    p=$!
    disown "$p"
    echo "$p" >>"$D/pids.txt"
    for c in "${CTRLS[@]}"; do echo "$p" >"$CG/$c/docker/$id/cgroup.procs"; done
  done
}

# ---- helpers ----
# CPU ticks (utime+stime+cutime+cstime) of pid and all its live descendants.
tree_pids() {
  local want="$1" all
  all=$(ps -e -o pid=,ppid=)
  local changed=1
  while [ $changed = 1 ]; do
    changed=0
    while read -r p pp; do
      case " $want " in *" $pp "*) case " $want " in *" $p "*) ;; *) want="$want $p"; changed=1 ;; esac ;; esac
    done <<<"$all"
  done
  echo "$want"
}
tree_ticks() {
  local t=0 p s
  for p in $(tree_pids "$1"); do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }
    # fields after ") ": 3=state ... utime is field 14 overall -> 12th here
    set -- $s
    t=$((t + ${12} + ${13} + ${14} + ${15}))
  done
  echo $t
}
tree_hwm_kb() { # sum of VmHWM over the tree (peak RSS of each live process)
  local t=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
    t=$((t + ${v:-0}))
  done
  echo $t
}
now_s() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# measure_window pid -> prints "cpu_pct tree_rss_kb main_rss_kb procs"
measure_window() {
  local pid=$1 t0 t1 c0 c1
  t0=$(now_s); c0=$(tree_ticks "$pid")
  sleep "$WINDOW"
  t1=$(now_s); c1=$(tree_ticks "$pid")
  kill -0 "$pid" 2>/dev/null || { log "pid $pid died during the window"; return 1; }
  awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$HZ" -v rss="$(tree_hwm_kb "$pid")" \
      -v main="$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")" -v n="$(tree_pids "$pid" | wc -w)" \
      'BEGIN { printf "%.3f %d %d %d\n", (b - a) / hz / (t1 - t0) * 100, rss, main, n }'
}
# count_ours FILE: how many of our ids occur in FILE (full id or its first 12 chars)
count_ours() {
  local n=0 id
  while read -r id; do grep -q "${id:0:12}" "$1" && n=$((n + 1)); done <"$D/ids.txt"
  echo $n
}
callgrind_ir() { # outfile -> instructions counted (toggle-collect only)
  awk '/^(summary|totals):/ {print $2; exit}' "$1"
}

# ---- netdata (Debian's), cgroups collector only, 1 s updates ----
ensure_netdata() {
  if ! command -v netdata >/dev/null && [ ! -x /usr/sbin/netdata ]; then
    log "installing netdata (Debian)"
    # policy-rc.d keeps the package's service from starting during install
    local made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
      --no-install-recommends netdata >"$D/apt.log" 2>&1 || { tail -n 5 "$D/apt.log" >&2; return 1; }
    [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  fi
  # never left running or enabled as a service: we run our own copy by pid
  if command -v systemctl >/dev/null; then systemctl disable netdata >/dev/null 2>&1 || true; fi
  rm -f /etc/systemd/system/multi-user.target.wants/netdata.service
  command -v update-rc.d >/dev/null && update-rc.d netdata disable >/dev/null 2>&1 || true
  return 0
}

run_netdata() {
  ensure_netdata || return 1
  local nd=$D/netdata port npid
  mkdir -p "$nd"/{etc,cache,lib,log}
  port=$(free_port)
  touch "$nd/etc/.opt-out-from-anonymous-statistics"
  mkdir -p "$nd/etc/statsd.d"
  # Naming: the stock cgroup-name.sh runs `docker inspect` per new cgroup;
  # with the docker CLI installed and no engine answering that takes ~1 s a
  # cgroup (minutes for N = 100). --quick names them from the id at once
  # instead; either way it runs only at discovery, before the window.
  local namer=/usr/lib/netdata/plugins.d/cgroup-name.sh
  if [ "$QUICK" = 1 ]; then
    namer=$nd/cgroup-name-fast.sh
    printf '#!/bin/sh\necho "$2" | sed "s/^docker_\\([0-9a-f]\\{12\\}\\).*/\\1/"\n' >"$namer"
    chmod +x "$namer"
  fi
  cat >"$nd/etc/netdata.conf" <<CONF
[global]
	run as user = root
	update every = 1
	memory mode = ram
	history = 600
[directories]
	config = $nd/etc
	stock config = /usr/lib/netdata/conf.d
	log = $nd/log
	cache = $nd/cache
	lib = $nd/lib
	home = $nd/lib
	plugins = /usr/lib/netdata/plugins.d
	web = /usr/share/netdata/web
[logs]
	debug log = none
	error log = $nd/log/error.log
	access log = none
	collector log = $nd/log/collector.log
[web]
	bind to = 127.0.0.1:$port
[registry]
	enabled = no
[health]
	enabled = no
[ml]
	enabled = no
[cloud]
	proxy = none
[plugins]
	cgroups = yes
	proc = no
	diskspace = no
	tc = no
	idlejitter = no
	timex = no
	checks = no
	statsd = no
	apps = no
	python.d = no
	charts.d = no
	go.d = no
	node.d = no
	ebpf = no
	perf = no
	slabinfo = no
	fping = no
	ioping = no
	nfacct = no
	cups = no
	freeipmi = no
	xenstat = no
	enable running new plugins = no
[plugin:cgroups]
	update every = 1
	use unified cgroups = no
	script to get cgroup names = $namer
CONF
  log "netdata: starting on 127.0.0.1:$port (cgroups collector only)"
  DO_NOT_TRACK=1 netdata -c "$nd/etc/netdata.conf" -D -P "$nd/netdata.pid" >"$nd/log/stdout.log" 2>&1 &
  npid=$!
  echo $npid >>"$D/daemons.txt"
  # Discovery is done when all N are charted, or when the count stopped
  # changing for 30 s (netdata rescans every 10 s; it skips cgroups whose
  # counters are all zero, so it may never chart all N).
  local t0 seen=0 last=-1 stable_since
  t0=$(date +%s); stable_since=$t0
  while [ $(($(date +%s) - t0)) -lt "$DISCOVER_MAX" ]; do
    if [ "$seen" != "$last" ]; then last=$seen; stable_since=$(date +%s); log "netdata: $seen/$have charted"; fi
    [ "$seen" -gt 0 ] && [ $(($(date +%s) - stable_since)) -ge 30 ] && break
    kill -0 $npid 2>/dev/null || { log "netdata exited: $(tail -n 3 "$nd/log/error.log" 2>/dev/null)"; return 1; }
    curl -fsS "http://127.0.0.1:$port/api/v1/charts" -o "$nd/charts.json" 2>/dev/null \
      && jq -r '.charts[] | select(.type | startswith("cgroup_")) | "\(.type) \(.title)"' "$nd/charts.json" >"$nd/cgroup-charts.txt" 2>/dev/null \
      && seen=$(count_ours "$nd/cgroup-charts.txt")
    [ "$seen" -ge "$have" ] && break
    sleep 2
  done
  local discover_s=$(($(date +%s) - t0))
  [ "$seen" = "$last" ] && discover_s=$((stable_since - t0))
  log "netdata: reports $seen/$have of our cgroups after ${discover_s}s; warm-up ${WARMUP}s, window ${WINDOW}s"
  sleep "$WARMUP"
  local cpu rss main procs
  read -r cpu rss main procs <<<"$(measure_window $npid)" || return 1
  curl -fsS "http://127.0.0.1:$port/api/v1/charts" -o "$nd/charts.json" 2>/dev/null \
    && jq -r '.charts[] | select(.type | startswith("cgroup_")) | "\(.type) \(.title)"' "$nd/charts.json" >"$nd/cgroup-charts.txt"
  seen=$(count_ours "$nd/cgroup-charts.txt")
  local ver
  ver=$(dpkg-query -W -f='${Version}' netdata 2>/dev/null || echo unknown)
  stop_pid $npid
  add_bench "$(jq -n --argjson n "$have" --argjson w "$WINDOW" --argjson cpu "$cpu" --argjson rss "$rss" \
    --argjson main "$main" --argjson procs "$procs" --argjson seen "$seen" --argjson ds "$discover_s" --arg v "$ver" --arg namer "$(basename "$namer")" '
    { name: "netdata_n\($n)", version: $v, plugins: "cgroups only", update_every_s: 1, cgroups: $n, window_s: $w,
      cpu_pct_of_one_core: $cpu, peak_rss_kb: $rss, peak_rss_kb_main_process: $main, processes: $procs,
      cgroups_reported: $seen, discovery_s: $ds, name_script: $namer }')"
  log "  netdata cpu=$cpu% rss=${rss}kB (main ${main}kB, $procs processes) reported=$seen/$have"
  ND_CPU=$cpu; ND_RSS=$rss
}

BENCH=()
add_bench() { BENCH+=("$1"); }

# ---- 1. sweep vs floor ----
declare -A RATIO TRATIO
have=0
for N in "${SIZES[@]}"; do
  log "creating $((N - have)) cgroups (N = $N)"
  add_cgroups $((N - have))
  have=$N
  if [ "$QUICK" = 1 ]; then tsweeps=300; csweeps=20; elif [ "$N" -le 100 ]; then tsweeps=2000; csweeps=50; else tsweeps=300; csweeps=10; fi
  [ "$N" -gt 100 ] && [ "$QUICK" = 1 ] && tsweeps=100
  log "N=$N: timing $tsweeps sweeps each (agent, floor)"
  s_json=$("$SWEEP" / '' "$tsweeps")
  f_json=$("$FLOOR" "$CG" docker "$tsweeps" "$D/ids.txt")
  log "  agent $s_json"
  log "  floor $f_json"
  log "N=$N: callgrind, $csweeps sweeps each"
  valgrind --tool=callgrind --toggle-collect=bench_measured_sweep --callgrind-out-file="$D/cg-sweep-$N.out" \
    "$SWEEP" / '' "$csweeps" >/dev/null 2>"$D/cg-sweep-$N.log"
  valgrind --tool=callgrind --toggle-collect=floor_sweep --callgrind-out-file="$D/cg-floor-$N.out" \
    "$FLOOR" "$CG" docker "$csweeps" "$D/ids.txt" >/dev/null 2>"$D/cg-floor-$N.log"
  callgrind_annotate --inclusive=no "$D/cg-sweep-$N.out" >"$D/cg-sweep-$N.txt" 2>/dev/null || true
  callgrind_annotate --inclusive=yes "$D/cg-sweep-$N.out" >"$D/cg-sweep-$N-incl.txt" 2>/dev/null || true
  s_ir=$(callgrind_ir "$D/cg-sweep-$N.out")
  f_ir=$(callgrind_ir "$D/cg-floor-$N.out")
  b=$(jq -n --argjson s "$s_json" --argjson f "$f_json" --argjson n "$N" --argjson cs "$csweeps" \
        --argjson sir "$s_ir" --argjson fir "$f_ir" '
      { name: "agent_sweep_vs_floor_n\($n)", cgroups: $n,
        agent_containers_found: $s.containers, floor_containers: $f.containers,
        floor_files_per_sweep: $f.files_per_sweep, sweeps_timed: $s.sweeps,
        agent_median_us: $s.median_us, agent_p90_us: $s.p90_us,
        floor_median_us: $f.median_us, floor_p90_us: $f.p90_us,
        time_ratio_median: (if $f.median_us > 0 then ($s.median_us / $f.median_us * 1000 | round) / 1000 else null end),
        callgrind_sweeps: $cs,
        agent_instructions_per_sweep: ($sir / $cs | round),
        floor_instructions_per_sweep: ($fir / $cs | round),
        agent_instructions_per_container: ($sir / $cs / $n | round),
        instructions_ratio: (if $fir > 0 then ($sir / $fir * 1000 | round) / 1000 else null end) }')
  add_bench "$b"
  RATIO[$N]=$(jq .instructions_ratio <<<"$b")
  TRATIO[$N]=$(jq .time_ratio_median <<<"$b")
  log "  $(jq -c 'del(.name)' <<<"$b")"
  # The process benchmarks run at N = 100 (the summary keys' size).
  [ "$N" = 100 ] || continue

  # ---- 1b. the agent process, sending to a real collector ----
  log "agent process: collector, database $DBNAME"
  psql "$PG" -qAtc "DROP DATABASE IF EXISTS $DBNAME" >/dev/null 2>&1
  psql "$PG" -qAtc "CREATE DATABASE $DBNAME" >/dev/null
  DB=$(sed -E "s/dbname=[^ ]*/dbname=$DBNAME/" <<<"$PG")
  ZP=$(free_port); HP=$(free_port)
  tok() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
  jq -n --arg db "$DB" --arg l "tcp://127.0.0.1:$ZP" --arg k "$D/collector.key" --arg h "127.0.0.1:$HP" \
    --arg r "$(tok)" --arg a "$(tok)" \
    '{database: $db, listen: $l, key_file: $k, http_listen: $h, read_token: $r, admin_token: $a,
      agent_endpoint: $l, log_level: "warn"}' >"$D/collector.json"
  chmod 600 "$D/collector.json"
  "$COL" keygen --config "$D/collector.json" >/dev/null
  "$COL" migrate --config "$D/collector.json" >/dev/null 2>&1
  mkdir -p "$D/agents" "$D/agent-state"
  "$COL" enroll bench --config "$D/collector.json" --out-dir "$D/agents" >/dev/null 2>&1
  "$COL" run --config "$D/collector.json" >"$D/collector.log" 2>&1 &
  echo $! >>"$D/daemons.txt"
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$HP/api/v1/health" >/dev/null 2>&1 && break; sleep 0.1; done
  "$AGENT" --once --print --log-level error >"$D/agent-print.json" 2>/dev/null || true
  print_ours=$(jq -r '.metrics[].samples[].container_id' "$D/agent-print.json" 2>/dev/null >"$D/print-ids.txt"; count_ours "$D/print-ids.txt")
  "$AGENT" --config "$D/agents/bench.json" --state-dir "$D/agent-state" --interval-ms 1s \
    --log-level warn >"$D/agent.log" 2>&1 &
  apid=$!
  echo $apid >>"$D/daemons.txt"
  sleep "$WARMUP"
  log "agent process: measuring ${WINDOW}s at 1 s interval"
  read -r a_cpu a_rss _ _ <<<"$(measure_window $apid)"
  psql "$DB" -qAtc "SELECT container_id FROM containers" >"$D/db-ids.txt"
  db_ours=$(count_ours "$D/db-ids.txt")
  samples=$(psql "$DB" -qAtc "SELECT count(*) FROM container_samples" 2>/dev/null || echo null)
  stop_pid $apid
  add_bench "$(jq -n --argjson n "$N" --argjson w "$WINDOW" --argjson cpu "${a_cpu:-null}" --argjson rss "${a_rss:-null}" \
    --argjson p "$print_ours" --argjson db "$db_ours" --argjson s "${samples:-null}" '
    { name: "agent_process_n\($n)", cgroups: $n, interval_s: 1, window_s: $w,
      cpu_pct_of_one_core: $cpu, peak_rss_kb: $rss,
      containers_reported_print: $p, containers_stored_by_collector: $db, samples_stored: $s }')"
  log "  agent cpu=$a_cpu% rss=${a_rss}kB print=$print_ours stored=$db_ours/$N"
  AG_CPU=${a_cpu:-null}; AG_RSS=${a_rss:-null}

  # ---- 2. netdata on the same cgroups ----
  ND_CPU=null; ND_RSS=null
  if run_netdata; then :; else log "netdata could not be measured (see above)"; fi
done

jq -n --argjson r "${RATIO[100]:-null}" --argjson tr "${TRATIO[100]:-null}" --argjson cpu "${AG_CPU:-null}" \
  --argjson rss "${AG_RSS:-null}" --argjson ncpu "${ND_CPU:-null}" --argjson nrss "${ND_RSS:-null}" \
  --argjson b "$(printf '%s\n' "${BENCH[@]}" | jq -s .)" '
  { part: "agent",
    summary: { agent_floor_ratio: $r, agent_floor_time_ratio: $tr, agent_cpu_pct: $cpu, agent_rss_kb: $rss,
               netdata_cpu_pct: $ncpu, netdata_rss_kb: $nrss },
    benchmarks: $b }'
