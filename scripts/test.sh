#!/usr/bin/env bash
# Runs the suite on SQLite, then on PostgreSQL when a server is reachable; prints a summary.
# Usage: scripts/test.sh [sqlite|postgres|all] [pytest args...]
#
# PostgreSQL: HELPLINE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/helpline).
# pytest-django creates (and drops) the test databases itself (test_helpline_gw0, ...), so
# the role needs CREATEDB; the database named in the URL need not exist.
# Unreachable PostgreSQL is skipped locally and a failure in CI (CI=true).
# Pytest exit 5 (nothing collected) is reported; it fails only in CI on an unfiltered run.
# PYTEST_WORKERS (default 2) sets pytest-xdist's process count (0 = no xdist).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
which_runs=${1:-all}
[ $# -gt 0 ] && shift
case "$which_runs" in
    all | sqlite | postgres) ;;
    *) echo "usage: $0 [sqlite|postgres|all] [pytest args...]" >&2; exit 2 ;;
esac
PG_URL=${HELPLINE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/helpline}
WORKERS=${PYTEST_WORKERS:-2}
export HELPLINE_DATA_DIR=${HELPLINE_DATA_DIR:-$PWD/var/test}
mkdir -p "$HELPLINE_DATA_DIR"

user_args=$#
declare -A result
status=0
xdist=()
[ "$WORKERS" != 0 ] && xdist=(-n "$WORKERS")

run_suite() {
    local name=$1
    shift
    echo "=== Test run on $name ==="
    local started=$SECONDS
    "$@"
    local rc=$?
    local took="$((SECONDS - started)) s"
    case $rc in
        0) result[$name]="passed ($took)" ;;
        5)
            result[$name]="no tests collected"
            if [ "${CI:-}" = true ] && [ "$user_args" -eq 0 ]; then status=1; fi
            ;;
        *) result[$name]="FAILED (exit $rc, $took)"; status=1 ;;
    esac
}

pg_reachable() {
    "$BIN/python" - "$PG_URL" <<'PY'
import sys

import psycopg

url = sys.argv[1]
try:
    psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable at {url}: {exc}".strip())
    sys.exit(1)
PY
}

if [ "$which_runs" = all ] || [ "$which_runs" = sqlite ]; then
    run_suite SQLite env -u DATABASE_URL -u REDIS_URL "$BIN/pytest" "${xdist[@]}" "$@"
fi
if [ "$which_runs" = all ] || [ "$which_runs" = postgres ]; then
    if pg_reachable; then
        run_suite PostgreSQL env DATABASE_URL="$PG_URL" "$BIN/pytest" "${xdist[@]}" "$@"
    elif [ "${CI:-}" = true ]; then
        result[PostgreSQL]="FAILED (not reachable at $PG_URL; required in CI)"
        status=1
    else
        result[PostgreSQL]="skipped (not reachable at $PG_URL)"
    fi
fi

echo "=== Summary ==="
for name in SQLite PostgreSQL; do
    [ -n "${result[$name]:-}" ] && echo "$name: ${result[$name]}"
done
exit $status
