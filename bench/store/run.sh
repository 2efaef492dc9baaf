#!/usr/bin/env bash
# Journal write throughput, SQLite vs PostgreSQL (build/bench/journal_bench), against a private
# PostgreSQL 15 (tests/support/pg_server.sh: fsync on, loopback), stopped afterwards.
#   bench/store/run.sh [seconds] [inflight]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${JOURNAL_BENCH_BIN:-$PWD/build/bench/journal_bench}
STATE=$(mktemp -d /tmp/cidrotor-journal-bench.XXXXXX)
cleanup() { tests/support/pg_server.sh stop "$STATE" || true; rm -rf "$STATE"; }
trap cleanup EXIT
tests/support/pg_server.sh start "$STATE"
DATABASE_URL="postgresql://postgres@127.0.0.1:$(cat "$STATE/port")/postgres" "$BIN" "${1:-5}" "${2:-64}"
