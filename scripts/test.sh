#!/usr/bin/env bash
# test.sh - the whole test suite, from a fresh machine: installs what it
# needs, builds with -Werror and ASan+UBSan, checks banned functions, starts a
# private PostgreSQL, runs every test through ctest. Exit status non-zero on
# any failure.
#   scripts/test.sh [ctest args...]     e.g. scripts/test.sh -R agent/
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-test}
cd "$ROOT"

scripts/deps.sh --runtime

echo "== banned functions"
if grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|atoi|atol|strtok|system|popen|gets)\s*\(' \
     --include='*.c' --include='*.h' common proto agent collector tests \
     | grep -vE '^[^:]+:[0-9]+:\s*(\*|/\*|//)' | grep -v '^tests/.*://'; then
  echo "banned function used (see STYLE.md)" >&2; exit 1
fi

echo "== build (ASan+UBSan, -Werror)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DBOXWATCH_SANITIZE=ON -DBOXWATCH_WERROR=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"

echo "== private PostgreSQL"
PGDIR=$BUILD/pg
PGPORT=${BOXWATCH_TEST_PG_PORT:-5499}
scripts/pg.sh stop "$PGDIR" immediate >/dev/null 2>&1 || true
export BOXWATCH_TEST_PG
BOXWATCH_TEST_PG=$(scripts/pg.sh start "$PGDIR" "$PGPORT")
trap 'rc=$?; "$ROOT/scripts/pg.sh" stop "$PGDIR" fast; exit $rc' EXIT

echo "== ctest"
cd "$BUILD"
ctest --output-on-failure --timeout 600 "$@"
