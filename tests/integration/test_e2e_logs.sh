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
LNX_LOG=$CORPUS/logs/Linux/Linux_2k.log
LNX_CSV=$CORPUS/logs/Linux/Linux_2k.log_structured.csv
[ -f "$SSH_LOG" ] && [ -f "$SSH_CSV" ] && [ -f "$LNX_LOG" ] && [ -f "$LNX_CSV" ] ||
  it_skip "corpus logs not found under $CORPUS/logs"
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
# The Linux sample as a syslog: what its CSV says the host-log rules should
# find there ("rule count" lines, zero counts left out). Its ssh failures are
# PAM lines, which the ssh rules deliberately do not count (docs/RULES.md).
LNX_WANT=$(python3 - "$LNX_CSV" <<'PY'
import csv, sys
n = {}
for row in csv.DictReader(open(sys.argv[1], newline="")):
    t, comp, c = row["EventTemplate"], row["Component"], row["Content"]
    pam_su = "su(pam_unix)" in comp or "sudo(pam_unix)" in comp
    hits = {
        "auth.root_console_login": t.startswith("ROOT LOGIN ON"),
        "auth.sudo_su_failure": (pam_su and t.startswith("authentication failure"))
            or "incorrect password attempt" in c or "FAILED SU" in c or "FAILED su" in c,
        "account.created": "new user: " in c or "new group: " in c,
        "kernel.oom_kill": "Out of memory" in c or "oom-kill" in c,
        "kernel.segfault": "segfault at" in c,
        "ssh.failed_password": t.startswith("Failed password"),
        "ssh.accepted_login": t.startswith("Accepted "),
    }
    for rule, hit in hits.items():
        n[rule] = n.get(rule, 0) + bool(hit)
for rule in sorted(n):
    if n[rule]:
        print(rule, n[rule])
PY
)
it_log "expected from the Linux CSV: ${LNX_WANT//$'\n'/, }"
it_log "expected from the CSV: failed_password=$WANT_FAILED invalid_user=$WANT_INVALID accepted_login=$WANT_ACCEPTED"

it_start_collector
it_enroll loghost
mkdir -p "$WORK/logs"
AUTH=$WORK/logs/auth.log
MSGS=$WORK/logs/messages
: >"$AUTH"
AGENT_FLAGS=(--interval-ms 1s --inventory-interval-ms 0 --container-logs=false
  --log-sources "auth=$AUTH,syslog=$MSGS" --log-start-at-end=false --log-stats-interval-ms 1s)
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

# The Linux sample, appended while the agent runs (a new file at a watched path).
{ cat "$LNX_LOG"; echo; } >"$MSGS"
lnx_seen() {
  it_api "/api/v1/events?since=2000-01-01T00:00:00Z&limit=1000" |
    jq -r --arg p "$MSGS" '[.events[] | select(.source.path == $p) | .rule.id] | group_by(.) |
      map("\(.[0]) \(length)") | .[]'
}
lnx_same() { [ "$(lnx_seen)" = "$LNX_WANT" ]; }
it_wait_for 60 lnx_same || it_fail "Linux sample: events $(lnx_seen | tr '\n' ' '), the CSV says $LNX_WANT"

events_of ssh.brute_force >/dev/null
grep -q '"183.62.140.253"' "$WORK/ev-ssh.brute_force.json" || it_fail "brute force from 183.62.140.253 not flagged"
if grep -q '"119.137.62.142"' "$WORK/ev-ssh.brute_force.json"; then
  it_fail "119.137.62.142 (one successful login) flagged as brute force"
fi

# nothing the agent produced was refused by its own encoder or dropped
if grep -q "cannot spool" "$WORK/agent.log"; then it_fail "the agent dropped envelopes: $(grep "cannot spool" "$WORK/agent.log" | head -n 1)"; fi

# per-source volume: every line of the sample was counted
lines=$(it_sql "SELECT coalesce(sum(lines), 0) FROM log_source_stats WHERE path = '$AUTH'")
[ "$lines" -ge "$LINES" ] || it_fail "log_source_stats counts $lines lines of $AUTH, the file has $LINES"
echo "PASS: failed_password=$WANT_FAILED invalid_user=$WANT_INVALID accepted=$WANT_ACCEPTED exactly, across an agent kill; brute force flagged; Linux sample: ${LNX_WANT//$'\n'/, }"
