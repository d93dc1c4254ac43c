#!/usr/bin/env bash
# docker-up.sh - an isolated Docker engine for tests and the demo.
#
#   scripts/docker-up.sh WORKDIR      prints the socket path when ready
#
# Debian's dockerd runs with its own data-root, exec-root and socket under
# WORKDIR, and no iptables, bridge or ip_forward changes: containers use
# --network none, so nothing on the host changes. A busybox image
# (busybox:local) is imported from Debian's busybox-static, no registry.
# Pitfalls of this machine kind handled here: no CAP_SYS_RESOURCE in the
# bounding set (privileged containers need a runc wrapper that drops it) and
# policy-rc.d preventing the package's own daemon from starting.
set -euo pipefail
W=${1:?usage: docker-up.sh WORKDIR}
mkdir -p "$W"; W=$(cd "$W" && pwd)
export DEBIAN_FRONTEND=noninteractive

if ! command -v dockerd >/dev/null || ! command -v busybox >/dev/null || ! command -v jq >/dev/null \
   || ! command -v runc >/dev/null; then
  [ -x /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends docker.io busybox-static jq runc >/dev/null
fi
D="/usr/bin/docker -H unix://$W/docker.sock"

if [ -f "$W/dockerd.pid" ] && kill -0 "$(cat "$W/dockerd.pid")" 2>/dev/null; then
  echo "$W/docker.sock"; exit 0
fi

# Image root file system: busybox with one symlink per applet, a non-root user.
R=$W/rootfs
rm -rf "$R"; for d in bin etc tmp proc sys dev home/app; do mkdir -p "$R/$d"; done
cp "$(command -v busybox)" "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' >"$R/etc/group"
chown 1000:1000 "$R/home/app"; chmod 1777 "$R/tmp"
tar -C "$R" -cf "$W/busybox.tar" .

# Privileged containers ask for CAP_SYS_RESOURCE, which no process here has.
cat >"$W/runc-nosysres" <<'WRAP'
#!/bin/sh
b=; p=; for a in "$@"; do [ "$p" = --bundle ] && b=$a; p=$a; done
if [ -n "$b" ] && grep -q CAP_SYS_RESOURCE "$b/config.json" 2>/dev/null; then
  jq -c '.process.capabilities |= with_entries(.value |= map(select(. != "CAP_SYS_RESOURCE")))' \
    "$b/config.json" >"$b/config.json.tmp" && mv "$b/config.json.tmp" "$b/config.json"
fi
exec /usr/bin/runc "$@"
WRAP
chmod +x "$W/runc-nosysres"
echo "{\"runtimes\":{\"runc-nosysres\":{\"path\":\"$W/runc-nosysres\"}}}" >"$W/daemon.json"

dockerd --config-file "$W/daemon.json" --data-root "$W/data" --exec-root "$W/exec" \
  -H "unix://$W/docker.sock" --pidfile "$W/dockerd.pid" --iptables=false --ip6tables=false \
  --ip-forward=false --bridge=none --storage-driver overlay2 --log-driver json-file \
  >"$W/dockerd.log" 2>&1 &
i=0
until $D version >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -ge 160 ]; then echo "docker-up: dockerd did not start:" >&2; tail -n 20 "$W/dockerd.log" >&2; exit 1; fi
  sleep 0.25
done
$D import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$W/busybox.tar" busybox:local >/dev/null
echo "$W/docker.sock"
