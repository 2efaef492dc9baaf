#!/usr/bin/env bash
# Cluster mode's throughput against embedded mode's (SPEC: >= 0.40), allocate+release with wrk on
# loopback: one embedded instance, and two cluster instances on one Redis and one PostgreSQL
# (each instance driven by its own wrk with half the connections, the throughputs summed). The
# same 1,000-number pool in both. Medians of RUNS interleaved runs. Then `cidrotor import` of
# 1,000,000 rows in cluster mode (COPY into PostgreSQL, then Redis; issue 4's target < 10 s).
# Called by bench/run.sh; runs alone too: bench/cluster/run.sh [runs] [seconds]. Everything on
# 127.0.0.1, stopped at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
DURATION=${2:-10}
ROOT=$PWD
export CIDROTOR_BENCH_DIR="$ROOT/bench/http"
BIN=${CIDROTOR_BIN:-$ROOT/build/cidrotor}
WORK=$(mktemp -d /tmp/cidrotor-cluster-bench.XXXXXX)
EMBEDDED_PORT=18020 CLUSTER_PORTS=(18021 18022) REDIS_PORT=18029
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$ROOT/tests/support/pg_server.sh" stop "$WORK/pg" > /dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The bench's 1,000-number pool (bench/run.sh's make_pool), as CSV: ten area codes, caps high so
# no 503 appears.
{
  echo "caller_id,carrier,hourly_limit,daily_limit"
  codes=(212 310 415 312 305 713 404 617 206 702)
  for i in $(seq 0 999); do
    npa=${codes[$((i % 10))]}
    echo "$((npa * 10000000 + ((2 + (i / 10) % 8) * 100 + 20 + (i / 80) % 12) * 10000 + i / 960)),bench,65535,65535"
  done
} > "$WORK/pool.csv"

wait_ready() {  # port log
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$1/health" > /dev/null && return 0
    sleep 0.1
  done
  echo "cidrotor on port $1 did not start:"; cat "$2"; exit 1
}

serve() {  # port log env...
  local port=$1 log=$2; shift 2
  (cd "$WORK" && exec env "$@" API_PORT="$port" AGI_PORT=0 ADMIN_TOKEN=bench \
     DEFAULT_RATE_LIMIT_PER_AGENT=0 "$BIN" serve) > "$log" 2>&1 &
  PIDS+=($!)
  wait_ready "$port" "$log"
}

"$ROOT/tests/support/pg_server.sh" start "$WORK/pg" > /dev/null
DATABASE_URL="postgresql://postgres@127.0.0.1:$(cat "$WORK/pg/port")/postgres"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  > "$WORK/redis.log" 2>&1 &
PIDS+=($!)

serve "$EMBEDDED_PORT" "$WORK/embedded.log" CIDROTOR_DATA_DIR="$WORK/embedded"
for port in "${CLUSTER_PORTS[@]}"; do
  serve "$port" "$WORK/cluster-$port.log" DATABASE_URL="$DATABASE_URL" \
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
done
for port in "$EMBEDDED_PORT" "${CLUSTER_PORTS[0]}"; do
  "$BIN" import "$WORK/pool.csv" --via-api "http://127.0.0.1:$port" --token bench 2> /dev/null
done

# wrk_rps URL CONNECTIONS THREADS → requests per second
wrk_rps() {
  wrk -t"$3" -c"$2" -d"${DURATION}s" -s "$CIDROTOR_BENCH_DIR/allocate_release.lua" "$1" |
    sed -nE 's/^RESULT rps=([0-9]+).*/\1/p'
}
median() { tr ' ' '\n' <<< "$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

EMB= CLU=
for r in $(seq "$RUNS"); do
  e=$(wrk_rps "http://127.0.0.1:$EMBEDDED_PORT" 64 2)
  wrk_rps "http://127.0.0.1:${CLUSTER_PORTS[0]}" 32 1 > "$WORK/a" &
  wrk_rps "http://127.0.0.1:${CLUSTER_PORTS[1]}" 32 1 > "$WORK/b"
  wait "$!"
  c=$(( $(cat "$WORK/a") + $(cat "$WORK/b") ))
  echo "   run $r: embedded $e req/s, cluster (2 instances) $c req/s"
  EMB+="$e "; CLU+="$c "
done
E=$(median "$EMB"); C=$(median "$CLU")
echo
echo "== cluster mode: medians of $RUNS runs (${DURATION}s each, allocate+release, 64 connections) =="
printf 'embedded, 1 instance                %7s req/s\n' "$E"
printf 'cluster, 2 instances + Redis + PG   %7s req/s  %sx embedded  (SPEC >= 0.40)\n' "$C" \
  "$(echo "scale=2; $C / $E" | bc)"

# The throughput runs above left tables for autovacuum, and each run below leaves dirty pages to
# write: both would otherwise be done during an import, on the same two cores. They are settled
# first (VACUUM here, a CHECKPOINT before each run), so that the import is timed on its own, as
# the other figures are.
psql -q "$DATABASE_URL" -c 'VACUUM'

# A million rows into an empty cluster store, RUNS times: the schema dropped and Redis flushed
# before each run. Seconds of the whole command (COPY into PostgreSQL, and Redis taking each batch
# while the next one is copied); each run also shows the import's own split (its log line: time
# in PostgreSQL batches, in Redis, and waiting for Redis). A database and a Redis of its own, so
# the instances above never see the import.
IMPORT_REDIS_PORT=18028
redis-server --port "$IMPORT_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  > "$WORK/redis-import.log" 2>&1 &
PIDS+=($!)
psql -q "$DATABASE_URL" -c 'CREATE DATABASE import_bench'
IMPORT_URL="${DATABASE_URL%/*}/import_bench"
"$BIN" sample-csv "$WORK/million.csv" --count 1000000 2> /dev/null
IMP=
for r in $(seq "$RUNS"); do
  psql -q "$IMPORT_URL" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' -c 'CHECKPOINT' \
    2> /dev/null
  redis-cli -p "$IMPORT_REDIS_PORT" FLUSHALL > /dev/null
  t=$(date +%s.%N)
  (cd "$WORK" && DATABASE_URL="$IMPORT_URL" REDIS_URL="redis://127.0.0.1:$IMPORT_REDIS_PORT" \
     "$BIN" import "$WORK/million.csv" --no-progress 2> "$WORK/import.log") || {
    cat "$WORK/import.log"; exit 1; }
  s=$(echo "$(date +%s.%N) - $t" | bc)
  echo "   import run $r: $(tail -1 "$WORK/import.log") (wall $s s)"
  echo "      $(grep -o 'batches=.*' "$WORK/import.log")"
  IMP+="$s "
done
printf 'cluster import of 1,000,000 rows    %7.2f s      (issue 4: < 10 s)\n' "$(median "$IMP")"
