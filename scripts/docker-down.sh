#!/usr/bin/env bash
# docker-down.sh - stops the isolated engine of docker-up.sh and removes
# what it left behind (containers, mounts under WORKDIR, cgroup dirs).
#   scripts/docker-down.sh WORKDIR [--keep]   (--keep leaves WORKDIR's files)
set -u
W=${1:?usage: docker-down.sh WORKDIR}
[ -d "$W" ] || exit 0
W=$(cd "$W" && pwd)
D="/usr/bin/docker -H unix://$W/docker.sock"
if [ -S "$W/docker.sock" ]; then
  ids=$($D ps -aq 2>/dev/null || true)
  [ -n "$ids" ] && $D rm -f $ids >/dev/null 2>&1
fi
if [ -f "$W/dockerd.pid" ]; then
  p=$(cat "$W/dockerd.pid")
  kill -TERM "$p" 2>/dev/null
  i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
  kill -KILL "$p" 2>/dev/null
  rm -f "$W/dockerd.pid"
fi
awk -v w="$W/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r |
  while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
for c in /sys/fs/cgroup/*/docker /sys/fs/cgroup/unified/docker; do
  [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
done
rmdir /run/containerd/s /run/containerd /run/docker/plugins /run/docker /run/runc 2>/dev/null
rmdir /opt/containerd/bin /opt/containerd/lib /opt/containerd 2>/dev/null
[ "${2:-}" = --keep ] || rm -rf "$W"
exit 0
