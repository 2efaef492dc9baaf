#!/usr/bin/env bash
# make bench: the core benchmark (pool size 1k → 1M, 90 % reserved), then HTTP on loopback with
# wrk: nginx's fixed JSON (this machine's HTTP ceiling), cidrotor's /health, and allocate+release
# (GET /next-cid then POST /release) on a 1,000- and a 1,000,000-number pool, interleaved and
# repeated; medians and the ratios SPEC targets. Everything runs on 127.0.0.1 and stops by itself.
# Usage: bench/run.sh [runs] [seconds per wrk run]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
DURATION=${2:-10}
ROOT=$PWD
export CIDROTOR_BENCH_DIR="$ROOT/bench/http"
BIN=$ROOT/build/cidrotor
WORK=$(mktemp -d /tmp/cidrotor-bench.XXXXXX)
NGINX_PORT=18080
SMALL_PORT=18000  # cidrotor with 1,000 numbers
LARGE_PORT=18001  # cidrotor with 1,000,000 numbers
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== core: allocate+release in the index, by pool size (medians of 3) =="
build/bench/allocator_bench --benchmark_min_time=0.5 --benchmark_repetitions=3 2>/dev/null |
  sed -n '/^throughput relative/,$p'

echo
echo "== http: nginx (reference) and two cidrotor instances on 127.0.0.1 =="
HEALTH_BODY='{"status":"healthy","timestamp":"2026-11-25T14:00:00Z","database":"healthy","redis":{"status":"not_configured"},"mode":"embedded","version":"0.1.0"}'
mkdir -p "$WORK/nginx/logs"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log crit;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type application/json; return 200 '$HEALTH_BODY'; }
  }
}
CONF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

# A pool of $2 numbers in data dir $1: ten area codes (those the wrk script dials), 100 exchanges
# each, written straight into the schema `init-db` creates (the bench's fixture, not an import
# path); caps high so no 503 appears.
make_pool() {
  local dir=$1 count=$2
  mkdir -p "$dir"
  (cd "$dir" && CIDROTOR_DATA_DIR="$dir" "$BIN" init-db > /dev/null)
  sqlite3 "$dir/cidrotor.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $count - 1),
codes(k, npa) AS (VALUES (0,212),(1,310),(2,415),(3,312),(4,305),(5,713),(6,404),(7,617),(8,206),(9,702))
INSERT INTO caller_ids (caller_id, carrier, area_code, hourly_limit, daily_limit)
SELECT npa * 10000000 + ((2 + (i / 10) % 8) * 100 + 20 + (i / 80) % 12) * 10000 + (i / 960),
       'bench', npa, 65535, 65535
FROM n JOIN codes ON codes.k = n.i % 10;
SQL
}

start_cidrotor() {  # dir port
  (cd "$1" && API_PORT=$2 AGI_PORT=0 CIDROTOR_DATA_DIR="$1" DEFAULT_RATE_LIMIT_PER_AGENT=0 \
     exec "$BIN" serve) > "$1/serve.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$2/health" > /dev/null && return 0
    sleep 0.1
  done
  echo "cidrotor on port $2 did not start:"; cat "$1/serve.log"; exit 1
}

make_pool "$WORK/small" 1000
make_pool "$WORK/large" 1000000
start_cidrotor "$WORK/small" $SMALL_PORT
start_cidrotor "$WORK/large" $LARGE_PORT
LARGE_PID=${PIDS[-1]}
echo "pools: $(sqlite3 "$WORK/small/cidrotor.db" 'SELECT count(*) FROM caller_ids') and" \
  "$(sqlite3 "$WORK/large/cidrotor.db" 'SELECT count(*) FROM caller_ids') numbers;" \
  "resident memory of the 1M instance: $(awk '/VmRSS/ {print $2, $3}' /proc/$LARGE_PID/status)"

# wrk_run URL SCRIPT CONNECTIONS → "rps p50_us p99_us errors"
wrk_run() {
  wrk -t2 -c"$3" -d"${DURATION}s" --latency -s "$CIDROTOR_BENCH_DIR/$2" "$1" | grep '^RESULT' |
    sed -E 's/RESULT rps=([0-9]+) p50_us=([0-9]+) p99_us=([0-9]+) errors=([0-9]+).*/\1 \2 \3 \4/'
}
median() { tr ' ' '\n' <<< "$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A RPS P50 P99_8
CASES=("nginx http://127.0.0.1:$NGINX_PORT/health health.lua"
       "health http://127.0.0.1:$SMALL_PORT/health health.lua"
       "alloc_1k http://127.0.0.1:$SMALL_PORT allocate_release.lua"
       "alloc_1m http://127.0.0.1:$LARGE_PORT allocate_release.lua")
for r in $(seq "$RUNS"); do
  echo "-- run $r/$RUNS"
  for spec in "${CASES[@]}"; do
    read -r name url script <<< "$spec"
    read -r rps p50 p99 errors <<< "$(wrk_run "$url" "$script" 64)"
    read -r _ _ p99_8 errors_8 <<< "$(wrk_run "$url" "$script" 8)"
    printf '   %-8s 64 conns: %7s req/s  p50 %5s us  p99 %6s us | 8 conns: p99 %6s us | non-2xx %s\n' \
      "$name" "$rps" "$p50" "$p99" "$p99_8" "$((errors + errors_8))"
    RPS[$name]+="$rps "; P50[$name]+="$p50 "; P99_8[$name]+="$p99_8 "
  done
done

N=$(median "${RPS[nginx]}"); H=$(median "${RPS[health]}")
A=$(median "${RPS[alloc_1k]}"); M=$(median "${RPS[alloc_1m]}")
ratio() { echo "scale=2; $1 / $2" | bc; }
echo
echo "== medians of $RUNS runs (${DURATION}s each, wrk -t2, loopback, the same 2 cores) =="
printf 'nginx fixed JSON               %7s req/s\n' "$N"
printf 'cidrotor /health               %7s req/s  %sx nginx            (SPEC >= 0.75)\n' "$H" "$(ratio "$H" "$N")"
printf 'allocate+release, 1k numbers   %7s req/s  %sx /health          (SPEC >= 0.70; %s calls/s)\n' "$A" "$(ratio "$A" "$H")" "$((A / 2))"
printf 'allocate+release, 1M numbers   %7s req/s  %sx the 1k pool      (SPEC >= 0.80)\n' "$M" "$(ratio "$M" "$A")"
printf 'allocate+release p50, 64 conns %7s us                          (SPEC < 1000 us)\n' "$(median "${P50[alloc_1k]}")"
printf 'p99 at 8 conns: /health %s us, allocate+release %s us, nginx %s us (SPEC: within 2x nginx)\n' \
  "$(median "${P99_8[health]}")" "$(median "${P99_8[alloc_1k]}")" "$(median "${P99_8[nginx]}")"

echo
echo "== import and start-up with 1,000,000 numbers (bench/import/run.sh) =="
CIDROTOR_BIN="$BIN" bench/import/run.sh "$RUNS"

echo
echo "== cluster mode vs embedded (bench/cluster/run.sh) =="
CIDROTOR_BIN="$BIN" bench/cluster/run.sh "$RUNS" "$DURATION"
