#!/usr/bin/env bash
# End to end audit: real containers with known postures in an isolated Docker
# engine, a plain runc container from an OCI bundle written here, and one
# Docker state directory whose config file is truncated. A real agent reads
# their configuration from disk, a real collector checks it; the open
# findings must be exactly the expected set, container by container. Then a
# container is replaced by a fixed one: the old findings resolve as gone and
# the new container has only what is still wrong with it. Secret values given
# to containers must appear nowhere in the database.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || it_skip "needs root to run a Docker engine and runc"
command -v jq >/dev/null || it_skip "jq is not installed"
DKW=$(mktemp -d /tmp/bwinv.XXXXXX)
CLEANUPS+=("$BOXWATCH_SOURCE_DIR/scripts/docker-down.sh $DKW")
SOCK=$("$BOXWATCH_SOURCE_DIR/scripts/docker-up.sh" "$DKW" 2>"$WORK/docker-up.log") \
  || { cat "$WORK/docker-up.log"; it_skip "no Docker engine could be started here"; }
command -v runc >/dev/null || it_skip "runc is not installed"
D="docker -H unix://$SOCK"
SECRET_VALUE=hunter2-$RANDOM$RANDOM

# ---- the containers: name -> docker run options (image last) ----
LOOP='while :; do sleep 1; done'
run() { # run NAME OPTIONS... -- COMMAND
  local name=$1; shift
  $D run -d --name "$name" "$@" >/dev/null || it_fail "docker run $name"
}
run inv-hardened --user 1000:1000 --read-only --cap-drop ALL --security-opt no-new-privileges \
  --memory 64m --cpus 0.5 --pids-limit 64 --network none --restart on-failure:3 \
  --health-cmd true --health-interval 5s busybox:local sh -c "$LOOP"
run inv-default --network none busybox:local sh -c "$LOOP"
run inv-priv --privileged --runtime runc-nosysres --network none busybox:local sh -c "$LOOP"
run inv-caps --user 1000:1000 --cap-add SYS_ADMIN --cap-add NET_ADMIN --network none \
  busybox:local sh -c "$LOOP"
run inv-mounts -v /etc:/host/etc -v "$SOCK:/var/run/docker.sock" --network none \
  busybox:local sh -c "$LOOP"
run inv-sshd --network none -p 22:22 busybox:local sh -c "httpd -p 22 -h /; $LOOP"
run inv-secret -e AWS_SECRET_ACCESS_KEY="$SECRET_VALUE" -e DB_PASSWORD="$SECRET_VALUE" \
  -e HARMLESS=1 --network none busybox:local sh -c "$LOOP"
run inv-hostns --network host --pid host --ipc host --uts host busybox:local sh -c "$LOOP"
run inv-restart --restart always --network none busybox:local sh -c "$LOOP"
$D tag busybox:local evil.example.com/x/miner:1 || it_fail "docker tag"
run inv-registry --network none evil.example.com/x/miner:1 sh -c "$LOOP"

# ---- a plain runc container from a bundle written here ----
RUNC_ROOT=$WORK/runc-root
RID=bwinv-runc-$$
B=$WORK/bundle
mkdir -p "$B" "$RUNC_ROOT"
cp -a "$DKW/rootfs" "$B/rootfs"
(cd "$B" && runc spec) || it_fail "runc spec"
jq --arg cg "/bwinv/$RID" '
  .process.terminal = false
  | .process.args = ["sh", "-c", "while :; do sleep 1; done"]
  | .process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])
  | .mounts += [{"destination": "/host/etc", "type": "bind", "source": "/etc",
                 "options": ["rbind", "rw"]}]
  | .linux.cgroupsPath = $cg' "$B/config.json" >"$B/config.json.new" && mv "$B/config.json.new" "$B/config.json"
CLEANUPS+=("runc --root $RUNC_ROOT delete -f $RID >/dev/null 2>&1; for c in /sys/fs/cgroup/*/bwinv; do rmdir \$c/* \$c 2>/dev/null; done")
(cd "$B" && runc --root "$RUNC_ROOT" run -d "$RID" >"$WORK/runc.log" 2>&1) \
  || { cat "$WORK/runc.log"; it_fail "runc run"; }

# ---- a Docker state directory whose config is cut in the middle ----
BROKEN=$(printf 'b%.0s' $(seq 64))
mkdir -p "$DKW/data/containers/$BROKEN"
head -c 300 "$DKW/data/containers/$($D inspect -f '{{.Id}}' inv-default)/config.v2.json" \
  >"$DKW/data/containers/$BROKEN/config.v2.json"

# ---- collector (registry policy: docker.io only) and agent ----
IT_COLLECTOR_EXTRA='"allowed_registries": ["docker.io"]'
it_start_collector
it_enroll invhost
AGENT_FLAGS=(--interval-ms 1s --inventory-interval-ms 1s
  --docker-root "$DKW/data" --docker-exec-root "$DKW/exec"
  --docker-daemon-config "$DKW/daemon.json" --runtime-sockets "$SOCK"
  --runc-root "$RUNC_ROOT" --containerd-state "$WORK/no-containerd"
  --podman-root "$WORK/no-podman" --container-patterns "custom=^/bwinv/([A-Za-z0-9_.-]+)$")
it_start_agent "$WORK/agents/invhost.json" "${AGENT_FLAGS[@]}"

# ---- the expected open findings: "container-name check-id" lines ----
# What a container left at Docker's defaults fails on this host.
BASE="root_user writable_rootfs no_memory_limit no_cpu_limit no_pids_limit
  no_new_privileges no_healthcheck mutable_image"
# No AppArmor/SELinux here means no container is confined by one.
MAC=no_mac_profile
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; then MAC=; fi
minus() { local out=" $1 "; for x in $2; do out=${out// $x / }; done; echo $out; }
HOSTNS_EXTRA=
if ss -ltnH 'sport = :22' | grep -q .; then HOSTNS_EXTRA=sshd; fi
declare -A EXPECT=(
  [inv-hardened]="mutable_image $MAC"
  [inv-default]="$BASE $MAC"
  [inv-priv]="$BASE $MAC privileged seccomp_unconfined"
  [inv-caps]="$(minus "$BASE" root_user) $MAC dangerous_caps"
  [inv-mounts]="$BASE $MAC sensitive_mount runtime_socket"
  [inv-sshd]="$BASE $MAC sshd privileged_port_all_interfaces"
  [inv-secret]="$BASE $MAC secret_env"
  [inv-hostns]="$BASE $MAC host_network host_pid host_ipc host_uts $HOSTNS_EXTRA"
  [inv-restart]="$BASE $MAC restart_unbounded"
  [inv-registry]="$BASE $MAC untrusted_registry"
  [$RID]="root_user dangerous_caps sensitive_mount no_memory_limit no_cpu_limit no_pids_limit
    seccomp_unconfined $MAC"
  [$BROKEN]="config_unreadable"
  [host]="icc_enabled userns_remap_off live_restore_off no_new_privileges_default_off"
)
expected() {
  local k c
  for k in "${!EXPECT[@]}"; do
    for c in ${EXPECT[$k]}; do
      case $k in host) echo "host host.$c" ;; *) echo "$k container.$c" ;; esac
    done
  done | sort
}
# What the API says about this test's containers: the container's name
# (its id when it has none of its own) or "host". Containers of other engines
# on this machine are not this test's business.
actual() {
  local ids
  ids=$({ $D ps -aq --no-trunc; echo "$RID"; echo "$BROKEN"; } | jq -R . | jq -sc .)
  it_api "/api/v1/findings?status=open&limit=1000" | jq -r --argjson ids "$ids" '.findings[] |
    select(.container == null or (.container.id as $i | $ids | index($i))) |
    (if .container == null then "host"
     elif .container.name == null or .container.name == .container.id[0:12] then .container.id
     else .container.name end) + " " + .check.id' | sort
}
expected >"$WORK/expected.txt"
same_findings() { actual >"$WORK/actual.txt" && cmp -s "$WORK/expected.txt" "$WORK/actual.txt"; }
if ! it_wait_for 60 same_findings; then
  diff "$WORK/expected.txt" "$WORK/actual.txt" >&2 || true
  it_fail "open findings differ from the expected set (< expected, > actual)"
fi
it_log "open findings match: $(wc -l <"$WORK/expected.txt") (container, check) pairs"

# The broken config is reported as such, with the file named.
detail=$(it_api "/api/v1/findings?check=container.config_unreadable" | jq -r '.findings[0].detail')
case $detail in *config.v2.json*) ;; *) it_fail "unreadable config detail does not name the file: $detail" ;; esac

# Inventory detail: the runc container is joined with its cgroup metrics, the
# sshd container's listener is seen, secret values are nowhere.
C=$(it_api "/api/v1/containers/$RID")
[ "$(echo "$C" | jq -r '.inventory.runtime')" = custom ] || it_fail "runc container inventory: $C"
it_wait_for 20 bash -c "curl -fsS -H 'Authorization: Bearer $TOKEN' http://$HTTP/api/v1/containers/$RID |
  jq -e '.last_sample != null'" || it_fail "runc container has no metrics joined to its inventory"
SSHD=$($D inspect -f '{{.Id}}' inv-sshd)
it_api "/api/v1/containers/$SSHD" | jq -e '[.inventory.listening[] | select(.port == 22)] | length > 0' \
  >/dev/null || it_fail "inv-sshd: port 22 listener not in the inventory"
leaks=$(it_sql "SELECT (SELECT count(*) FROM container_inventory WHERE doc::text LIKE '%$SECRET_VALUE%'
   OR encode(raw, 'escape') LIKE '%$SECRET_VALUE%')
 + (SELECT count(*) FROM findings WHERE detail LIKE '%$SECRET_VALUE%')")
[ "$leaks" = 0 ] || it_fail "a secret value reached the database ($leaks rows)"
if grep -rqF "$SECRET_VALUE" "$WORK/agent-state" "$WORK"/*.log; then
  it_fail "a secret value is in the agent's spool or a log"
fi

# ---- replace inv-caps by a fixed container: its findings resolve ----
OLD=$($D inspect -f '{{.Id}}' inv-caps)
OLD_COUNT=$(echo ${EXPECT[inv-caps]} | wc -w)
$D rm -f inv-caps >/dev/null
run inv-caps --user 1000:1000 --cap-drop ALL --network none busybox:local sh -c "$LOOP"
EXPECT[inv-caps]="$(minus "$BASE" root_user) $MAC"
expected >"$WORK/expected.txt"
if ! it_wait_for 60 same_findings; then
  diff "$WORK/expected.txt" "$WORK/actual.txt" >&2 || true
  it_fail "after replacing inv-caps the open findings differ (< expected, > actual)"
fi
old_open=$(it_api "/api/v1/findings?status=open&container=$OLD" | jq '.findings | length')
[ "$old_open" = 0 ] || it_fail "the replaced container still has $old_open open findings"
# "gone", or "stopped" when an inventory pass caught it between docker's
# kill and its removal: both are right, nothing else is.
gone=$(it_api "/api/v1/findings?status=resolved&container=$OLD&limit=1000" |
  jq '[.findings[] | select(.resolved_reason == "gone" or .resolved_reason == "stopped")] | length')
[ "$gone" = "$OLD_COUNT" ] ||
  it_fail "$gone findings of the replaced container resolved as gone or stopped, expected $OLD_COUNT: $(it_api "/api/v1/findings?status=all&container=$OLD&limit=1000" | jq -c '[.findings[] | [.check.id, .status, .resolved_reason]]')"
dups=$(it_sql "SELECT count(*) FROM (SELECT 1 FROM findings WHERE status = 'open'
  GROUP BY agent_id, container_ref, check_id HAVING count(*) > 1) d")
[ "$dups" = 0 ] || it_fail "$dups findings are open twice"

P=$(it_api /api/v1/posture)
echo "$P" | jq -c '.totals'
echo "PASS: $(wc -l <"$WORK/expected.txt") open findings exactly as expected; replaced container resolved ($gone gone)"
