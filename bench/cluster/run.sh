#!/usr/bin/env bash
# Cluster mode's throughput against embedded mode's (SPEC: >= 0.40), allocate+release with wrk on
# loopback: one embedded instance, and two cluster instances on one Redis and one PostgreSQL
# (each instance driven by its own wrk with half the connections, the throughputs summed). The
# same 1,000-number pool in both. Medians of RUNS interleaved runs. Called by bench/run.sh; runs
# alone too: bench/cluster/run.sh [runs] [seconds]. Everything on 127.0.0.1, stopped at exit.
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
