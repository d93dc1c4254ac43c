#!/usr/bin/env bash
# pg.sh - a private PostgreSQL cluster in a directory, on a unix socket only.
#
#   scripts/pg.sh start DIR [PORT]   initdb if needed, start, create role+db "boxwatch"
#   scripts/pg.sh stop DIR [fast|immediate]
#   scripts/pg.sh conninfo DIR [PORT]
#
# PostgreSQL refuses to run as root, so the cluster runs as the unprivileged
# "postgres" user (created by the postgresql package). No system service is
# touched; nothing listens on TCP. The socket lives in DIR/sock.
set -euo pipefail

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
[ -x "$PGBIN/pg_ctl" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

cmd=${1:-}; dir=${2:-}; port=${3:-5433}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|conninfo DIR [PORT|MODE]" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data
sock=$dir/sock

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $cmd in
start)
  mkdir -p "$sock"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir" "$sock"
    # the postgres user must be able to reach DIR through its parents
    p=$dir; while [ "$p" != / ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
  fi
  if [ ! -s "$data/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sock'
port = $port
fsync = on
max_connections = 100
shared_buffers = 256MB
log_min_messages = warning
timezone = 'UTC'
CONF
  fi
  if ! as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null \
      || { tail -n 20 "$dir/postgres.log" >&2; exit 1; }
  fi
  as_pg psql -h "$sock" -p "$port" -U postgres -d postgres -qtAc \
    "SELECT 1 FROM pg_roles WHERE rolname='boxwatch'" | grep -q 1 \
    || as_pg psql -h "$sock" -p "$port" -U postgres -d postgres -qc "CREATE ROLE boxwatch LOGIN CREATEDB" >/dev/null
  as_pg psql -h "$sock" -p "$port" -U postgres -d postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname='boxwatch'" | grep -q 1 \
    || as_pg psql -h "$sock" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE boxwatch OWNER boxwatch" >/dev/null
  echo "host=$sock port=$port user=boxwatch dbname=boxwatch"
  ;;
stop)
  mode=${3:-fast}
  if [ -s "$data/PG_VERSION" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
  fi
  ;;
conninfo)
  echo "host=$sock port=$port user=boxwatch dbname=boxwatch"
  ;;
*)
  echo "usage: $0 start|stop|conninfo DIR [PORT|MODE]" >&2; exit 2 ;;
esac
