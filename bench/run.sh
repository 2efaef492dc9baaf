#!/usr/bin/env bash
# make bench: the core benchmark (pool size 1k → 1M, 90 % reserved), then HTTP on loopback with
# wrk: nginx's fixed JSON (this machine's HTTP ceiling), cidrotor's /health, and allocate+release
# (GET /next-cid then POST /release), each repeated; medians and the ratios SPEC targets.
# Everything runs on 127.0.0.1 and stops by itself. Usage: bench/run.sh [runs] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SECONDS_PER_RUN=${2:-10}
export CIDROTOR_BENCH_DIR="$PWD/bench/http"
BIN=build/cidrotor
WORK=$(mktemp -d /tmp/cidrotor-bench.XXXXXX)
NGINX_PORT=18080
APP_PORT=18000
TOKEN=bench-token-$$
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== core: allocate+release in the index, by pool size =="
build/bench/allocator_bench --benchmark_min_time=0.5 2>/dev/null | sed -n '/^throughput relative/,$p'

echo
echo "== http: starting nginx (reference) and cidrotor on 127.0.0.1 =="
HEALTH_BODY='{"status":"healthy","timestamp":"2026-11-25T14:00:00.000Z","database":"healthy","redis":{"status":"not_configured"},"mode":"embedded","version":"0.1.0"}'
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

mkdir -p "$WORK/data"
( cd "$WORK" && API_PORT=$APP_PORT ADMIN_TOKEN=$TOKEN CIDROTOR_DATA_DIR="$WORK/data" \
    DEFAULT_HOURLY_LIMIT=65535 DEFAULT_DAILY_LIMIT=65535 DEFAULT_RATE_LIMIT_PER_AGENT=0 \
    exec "$OLDPWD/$BIN" serve ) > "$WORK/cidrotor.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$APP_PORT/health" > /dev/null && curl -sf "http://127.0.0.1:$NGINX_PORT/" > /dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$APP_PORT/health" > /dev/null || { echo "cidrotor did not start:"; cat "$WORK/cidrotor.log"; exit 1; }

# 1,000 numbers over the ten area codes the script dials (caps high: no 503 during the run).
for npa in 212 310 415 312 305 713 404 617 206 702; do
  for i in $(seq -w 0 99); do
    printf '{"caller_id":"%s55500%s","carrier":"bench","hourly_limit":65535,"daily_limit":65535}\n' "$npa" "$i"
  done
done | while read -r body; do
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data "$body" "http://127.0.0.1:$APP_PORT/api/numbers"
done

# run NAME URL SCRIPT CONNECTIONS → "rps p50_us p99_us errors"
run() {
  local out
  out=$(wrk -t2 -c"$4" -d"${SECONDS_PER_RUN}s" --latency -s "$CIDROTOR_BENCH_DIR/$3" "$2" | grep '^RESULT')
  echo "$out" | sed -E 's/RESULT rps=([0-9]+) p50_us=([0-9]+) p99_us=([0-9]+) errors=([0-9]+).*/\1 \2 \3 \4/'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A RPS P50 P99
for name in nginx health alloc; do RPS[$name]=""; P50[$name]=""; P99[$name]=""; done
declare -A P99_8
for r in $(seq "$RUNS"); do
  echo "-- run $r/$RUNS"
  for spec in "nginx http://127.0.0.1:$NGINX_PORT/health health.lua" \
              "health http://127.0.0.1:$APP_PORT/health health.lua" \
              "alloc http://127.0.0.1:$APP_PORT allocate_release.lua"; do
    read -r name url script <<< "$spec"
    read -r rps p50 p99 errors <<< "$(run "$name" "$url" "$script" 64)"
    read -r _ _ p99_8 _ <<< "$(run "$name" "$url" "$script" 8)"
    printf '   %-7s 64 conns: %7s req/s  p50 %5s us  p99 %6s us  errors %s | 8 conns: p99 %6s us\n' \
      "$name" "$rps" "$p50" "$p99" "$errors" "$p99_8"
    RPS[$name]+="$rps "; P50[$name]+="$p50 "; P99[$name]+="$p99 "; P99_8[$name]+="$p99_8 "
  done
done

med() { tr ' ' '\n' <<< "$1" | grep . | median; }
N=$(med "${RPS[nginx]}"); H=$(med "${RPS[health]}"); A=$(med "${RPS[alloc]}")
N99=$(med "${P99_8[nginx]}"); A99=$(med "${P99_8[alloc]}"); A50=$(med "${P50[alloc]}")
echo
echo "== medians of $RUNS runs (${SECONDS_PER_RUN}s each, wrk -t2, loopback, same 2 cores) =="
printf 'nginx fixed JSON          %8s req/s\n' "$N"
printf 'cidrotor /health          %8s req/s   %.2fx nginx       (SPEC >= 0.75)\n' "$H" "$(echo "$H / $N" | bc -l)"
printf 'allocate+release          %8s req/s   %.2fx /health     (SPEC >= 0.70; %s calls/s)\n' "$A" "$(echo "$A / $H" | bc -l)" "$((A / 2))"
printf 'allocate+release p50 @64  %8s us                       (SPEC < 1000 us)\n' "$A50"
printf 'p99 @8 conns              %8s us   %.2fx nginx p99 %s us (SPEC <= 2x)\n' "$A99" "$(echo "$A99 / $N99" | bc -l)" "$N99"
