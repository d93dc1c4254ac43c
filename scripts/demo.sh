#!/usr/bin/env bash
# demo.sh - the whole system on this host, in ./var/:
#   a private PostgreSQL (unix socket), the collector (as the unprivileged
#   user "nobody"), one enrolled agent, the API and web page; when the host
#   has no containers, an isolated Docker engine with a few demo containers.
#
#   scripts/demo.sh          build, start everything, print URLs and a token
#   scripts/demo.sh stop     stop everything it started, by pid
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=$ROOT/var
BUILD=$ROOT/build
PGPORT=5433
HTTP=127.0.0.1:8080
ZMQ_EP=tcp://127.0.0.1:7070
cd "$ROOT"

stop_pid() { # name pidfile
  [ -f "$2" ] || return 0
  local p; p=$(cat "$2")
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p"; for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    echo "stopped $1 (pid $p)"
  fi
  rm -f "$2"
}

if [ "${1:-}" = stop ]; then
  stop_pid agent "$VAR/agent.pid"
  stop_pid collector "$VAR/collector.pid"
  [ -d "$VAR/docker" ] && scripts/docker-down.sh "$VAR/docker" && echo "stopped the demo Docker engine"
  scripts/pg.sh stop "$VAR/pg" fast && echo "stopped PostgreSQL"
  exit 0
fi

scripts/deps.sh --runtime
echo "== build"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBOXWATCH_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
COL=$BUILD/collector/boxwatch-collector
AGENT=$BUILD/agent/boxwatch-agent
mkdir -p "$VAR/agents" "$VAR/agent-state"

echo "== PostgreSQL"
DB=$(scripts/pg.sh start "$VAR/pg" $PGPORT)

CFG=$VAR/collector.json
if [ ! -f "$CFG" ]; then
  tok() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
  umask 077
  cat >"$CFG" <<JSON
{
  "database": "$DB",
  "listen": "$ZMQ_EP",
  "key_file": "$VAR/collector.key",
  "http_listen": "$HTTP",
  "read_token": "$(tok)",
  "admin_token": "$(tok)",
  "agent_endpoint": "$ZMQ_EP"
}
JSON
  umask 022
fi
[ -f "$VAR/collector.key" ] || "$COL" keygen --config "$CFG" >/dev/null
"$COL" migrate --config "$CFG"
if [ ! -f "$VAR/agents/local.json" ]; then
  "$COL" enroll local --config "$CFG" --out-dir "$VAR/agents"
fi
# The collector needs no privilege: it runs as nobody and reads only its files.
chown nobody "$CFG" "$VAR/collector.key"

echo "== containers"
n=$("$AGENT" --once --print --log-level error | jq '[.metrics[].samples | length] | add // 0')
if [ "$n" = 0 ]; then
  echo "no containers on this host: starting an isolated Docker engine with demo containers"
  SOCK=$(scripts/docker-up.sh "$VAR/docker")
  D="docker -H unix://$SOCK"
  $D rm -f bw-web bw-cruncher bw-priv bw-hog >/dev/null 2>&1 || true
  TICK='i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 1; done'
  # hardened: non-root, read-only, no capabilities, limits everywhere
  $D run -d --name bw-web --network none --user 1000:1000 --read-only --cap-drop ALL \
    --security-opt no-new-privileges --memory 64m --cpus 0.25 --pids-limit 64 \
    --health-cmd 'true' busybox:local sh -c "$TICK" >/dev/null
  # busy: half a core of CPU, as root, no pids limit
  $D run -d --name bw-cruncher --network none --cpus 0.5 --memory 128m \
    busybox:local sh -c 'while :; do :; done' >/dev/null
  # bad posture: privileged, engine socket mounted, port 22, secret in env,
  # and a miner install in its log (a log event)
  $D run -d --name bw-priv --runtime runc-nosysres --privileged --network none \
    -v "$SOCK:/var/run/docker.sock" -e AWS_SECRET_ACCESS_KEY=demo-not-a-secret \
    busybox:local sh -c "echo '+ apk add --no-cache xmrig'; httpd -p 22 -h /; $TICK" >/dev/null
  # memory: 48 MiB held in tmpfs, no limits at all
  $D run -d --name bw-hog --network none busybox:local \
    sh -c "dd if=/dev/zero of=/dev/shm/hog bs=1M count=48 2>/dev/null; $TICK" >/dev/null
  $D ps --format '  {{.Names}}\t{{.Status}}'
fi

echo "== collector and agent"
stop_pid agent "$VAR/agent.pid"; stop_pid collector "$VAR/collector.pid"
runuser -u nobody -- "$COL" run --config "$CFG" >>"$VAR/collector.log" 2>&1 &
echo $! >"$VAR/collector.pid"
# The demo engine keeps its state under var/docker, not in Docker's default
# places: tell the agent where to read the containers' configuration.
INV_FLAGS=()
if [ -S "$VAR/docker/docker.sock" ]; then
  INV_FLAGS=(--docker-root "$VAR/docker/data" --docker-exec-root "$VAR/docker/exec"
    --docker-daemon-config "$VAR/docker/daemon.json"
    --runtime-sockets "$VAR/docker/docker.sock,/var/run/docker.sock,/run/containerd/containerd.sock")
fi
"$AGENT" --config "$VAR/agents/local.json" --state-dir "$VAR/agent-state" --interval-ms 5s \
  "${INV_FLAGS[@]}" >>"$VAR/agent.log" 2>&1 &
echo $! >"$VAR/agent.pid"

TOKEN=$(jq -r .read_token "$CFG")
for _ in $(seq 100); do
  curl -fsS -H "Authorization: Bearer $TOKEN" "http://$HTTP/api/v1/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS -H "Authorization: Bearer $TOKEN" "http://$HTTP/api/v1/health" >/dev/null \
  || { echo "collector did not come up; see $VAR/collector.log" >&2; tail -n 20 "$VAR/collector.log" >&2; exit 1; }
# wait for the first stored samples (one agent interval)
for _ in $(seq 150); do
  c=$(curl -fsS -H "Authorization: Bearer $TOKEN" "http://$HTTP/api/v1/containers" | jq '.containers | length')
  [ "${c:-0}" -gt 0 ] && break
  sleep 0.1
done

cat <<TXT

boxwatch is running.
  web page:    http://$HTTP/
  API:         http://$HTTP/api/v1/
  read token:  $TOKEN
  logs:        $VAR/collector.log  $VAR/agent.log

Try:
  curl -s -H 'Authorization: Bearer $TOKEN' http://$HTTP/api/v1/containers | jq .
  curl -s -H 'Authorization: Bearer $TOKEN' http://$HTTP/api/v1/agents | jq .
  curl -s -H 'Authorization: Bearer $TOKEN' http://$HTTP/api/v1/posture | jq .
  curl -s -H 'Authorization: Bearer $TOKEN' 'http://$HTTP/api/v1/findings?severity=high' | jq .
  curl -s -H 'Authorization: Bearer $TOKEN' 'http://$HTTP/api/v1/events?limit=10' | jq .

Stop everything with: scripts/demo.sh stop
TXT
