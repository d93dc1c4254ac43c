#!/usr/bin/env bash
# deps.sh - installs the Debian packages boxwatch builds, tests and runs with.
# Idempotent and quick when everything is there (no apt-get update then).
#   scripts/deps.sh [--runtime]   --runtime adds the container engine packages
set -euo pipefail
pkgs=(build-essential cmake pkg-config libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
      libuv1-dev libcjson-dev libpcre2-dev libpq-dev libcriterion-dev libhttp-parser-dev zlib1g-dev
      postgresql postgresql-client curl jq)
[ "${1:-}" = --runtime ] && pkgs+=(docker.io busybox-static runc)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Installing docker.io must not start a system dockerd: we run our own, isolated.
[ -x /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
apt-get update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
