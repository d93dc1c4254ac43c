#!/usr/bin/env bash
# End to end log events: the Loghub OpenSSH sample (read from the shared
# corpus, never copied into the repository) is written into a log file a real
# agent follows as an auth log; the real collector pushes its built-in rules,
# the agent matches at the edge and sends only what matched; the API must
# return, per rule, exactly as many events as the sample's own structured CSV
# says there are such lines, and the brute-force rule must name the attacking
# address and not the one that logged in. Then the agent is killed mid-file
# and restarted: not one event is stored twice, none is missing.
source "$(dirname "$0")/lib.sh"

CORPUS=${BOXWATCH_CORPUS_DIR:-$BOXWATCH_SOURCE_DIR/../shared/corpus}
SSH_LOG=$CORPUS/logs/OpenSSH/OpenSSH_2k.log
SSH_CSV=$CORPUS/logs/OpenSSH/OpenSSH_2k.log_structured.csv
[ -f "$SSH_LOG" ] && [ -f "$SSH_CSV" ] || it_skip "corpus logs not found under $CORPUS/logs"
command -v python3 >/dev/null || it_skip "python3 is needed to read the structured CSV"

# Expected counts from the CSV's EventTemplate column (Loghub's labels, not
# our output): the templates each rule is meant to catch.
read -r WANT_FAILED WANT_INVALID WANT_ACCEPTED < <(python3 - "$SSH_CSV" <<'PY'
import csv, sys
failed = {"Failed password for <*> from <*> port <*> ssh2",
          "Failed password for invalid user <*> from <*> port <*> ssh2",
          "message repeated <*> times: [ Failed password for root from <*> port <*>]"}
f = i = a = 0
for row in csv.DictReader(open(sys.argv[1], newline="")):
    t = row["EventTemplate"]
    f += t in failed
    i += t == "Invalid user <*> from <*>"
    a += t.startswith("Accepted ")
print(f, i, a)
PY
)
[ "$WANT_FAILED" -gt 0 ] && [ "$WANT_INVALID" -gt 0 ] || it_fail "the CSV gave no expectations"
it_log "expected from the CSV: failed_password=$WANT_FAILED invalid_user=$WANT_INVALID accepted_login=$WANT_ACCEPTED"

it_start_collector
it_enroll loghost
mkdir -p "$WORK/logs"
AUTH=$WORK/logs/auth.log
: >"$AUTH"
AGENT_FLAGS=(--interval-ms 1s --inventory-interval-ms 0 --container-logs=false
  --log-sources "auth=$AUTH" --log-start-at-end=false --log-stats-interval-ms 1s)
it_start_agent "$WORK/agents/loghost.json" "${AGENT_FLAGS[@]}"

# every event of a rule, following the cursor
events_of() {
  local rule=$1 cursor= out=$WORK/ev-$1.json page
  : >"$out"
  while :; do
    page=$(it_api "/api/v1/events?rule=$rule&since=2000-01-01T00:00:00Z&limit=1000${cursor:+&cursor=$cursor}") || return 1
    echo "$page" | jq -c '.events[]' >>"$out"
    cursor=$(echo "$page" | jq -r '.next_cursor // empty')
    [ -n "$cursor" ] || break
  done
  wc -l <"$out"
}
count_is() { [ "$(events_of "$1")" = "$2" ]; }

# First half of the sample, then the agent is killed; the rest while it is down.
LINES=$(wc -l <"$SSH_LOG")
HALF=$((LINES / 2))
head -n "$HALF" "$SSH_LOG" >>"$AUTH"
it_wait_for 60 bash -c "[ \"\$(psql '$DB' -qtAc 'SELECT count(*) FROM events')\" -gt 0 ]" \
  || it_fail "no event stored within 60 s"
sleep 1
kill -KILL "$AGENT_PID"
tail -n +"$((HALF + 1))" "$SSH_LOG" >>"$AUTH"
# The sample has no final newline; a writer finishes its last line later,
# and until then the tailer rightly holds it back as incomplete.
echo >>"$AUTH"
it_start_agent "$WORK/agents/loghost.json" "${AGENT_FLAGS[@]}"

it_wait_for 90 count_is ssh.failed_password "$WANT_FAILED" ||
  it_fail "ssh.failed_password: $(events_of ssh.failed_password) events, the CSV says $WANT_FAILED"
count_is ssh.invalid_user "$WANT_INVALID" ||
  it_fail "ssh.invalid_user: $(events_of ssh.invalid_user) events, the CSV says $WANT_INVALID"
count_is ssh.accepted_login "$WANT_ACCEPTED" ||
  it_fail "ssh.accepted_login: $(events_of ssh.accepted_login) events, the CSV says $WANT_ACCEPTED"

# exactly once across the kill: one row per (file, offset, rule)
dups=$(it_sql "SELECT count(*) FROM (SELECT 1 FROM events GROUP BY file_key, line_offset, rule_id
  HAVING count(*) > 1) d")
[ "$dups" = 0 ] || it_fail "$dups lines stored twice"

events_of ssh.brute_force >/dev/null
grep -q '"183.62.140.253"' "$WORK/ev-ssh.brute_force.json" || it_fail "brute force from 183.62.140.253 not flagged"
if grep -q '"119.137.62.142"' "$WORK/ev-ssh.brute_force.json"; then
  it_fail "119.137.62.142 (one successful login) flagged as brute force"
fi

# per-source volume: every line of the sample was counted
lines=$(it_sql "SELECT coalesce(sum(lines), 0) FROM log_source_stats")
[ "$lines" -ge "$LINES" ] || it_fail "log_source_stats counts $lines lines, the file has $LINES"
echo "PASS: failed_password=$WANT_FAILED invalid_user=$WANT_INVALID accepted=$WANT_ACCEPTED exactly, across an agent kill; brute force flagged"
