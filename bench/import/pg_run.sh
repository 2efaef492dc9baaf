#!/usr/bin/env bash
# Cluster mode's import target (issue 4: 1,000,000 rows in under 10 s), PostgreSQL half: starts a
# private PostgreSQL 15 (tests/support/pg_server.sh: fsync on, loopback, as `postgres` when
# root), runs build/bench/pg_import_bench ROWS RUNS against it, stops it.
#   bench/import/pg_run.sh [runs] [rows]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
ROWS=${2:-1000000}
BIN=${PG_IMPORT_BENCH_BIN:-$PWD/build/bench/pg_import_bench}
STATE=$(mktemp -d /tmp/cidrotor-pg-bench.XXXXXX)
cleanup() { tests/support/pg_server.sh stop "$STATE" || true; rm -rf "$STATE"; }
trap cleanup EXIT
tests/support/pg_server.sh start "$STATE"
echo "== import into PostgreSQL (COPY): $ROWS rows, $RUNS runs =="
DATABASE_URL="postgresql://postgres@127.0.0.1:$(cat "$STATE/port")/postgres" "$BIN" "$ROWS" "$RUNS"
