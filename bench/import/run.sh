#!/usr/bin/env bash
# The import and start-up targets of SPEC (issue 3), on a 1,000,000-row sample pool:
#   sample-csv of 1M rows (seconds); `cidrotor import` of it into an empty store (SPEC < 2 s);
#   `serve` start-up with 1M numbers to the first successful GET /next-cid (SPEC < 1 s);
#   resident memory of that server per number, the whole process (SPEC < 100 B).
# Medians of RUNS runs. Called by bench/run.sh; runs alone too: bench/import/run.sh [runs] [rows]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
ROWS=${2:-1000000}
BIN=${CIDROTOR_BIN:-$PWD/build/cidrotor}
PORT=${IMPORT_BENCH_PORT:-18010}
WORK=$(mktemp -d /tmp/cidrotor-import-bench.XXXXXX)
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }
median() { tr ' ' '\n' <<< "$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

GEN= IMP= START= RSS=
for r in $(seq "$RUNS"); do
  rm -rf "$WORK/data" "$WORK/pool.csv"
  t=$(now); "$BIN" sample-csv "$WORK/pool.csv" --count "$ROWS" --seed "$r" 2> /dev/null
  GEN+="$(elapsed "$t") "

  t=$(now)
  CIDROTOR_DATA_DIR="$WORK/data" "$BIN" import "$WORK/pool.csv" --no-progress 2> "$WORK/import.log"
  IMP+="$(elapsed "$t") "

  t=$(now)
  (cd "$WORK" && API_PORT=$PORT AGI_PORT=0 CIDROTOR_DATA_DIR="$WORK/data" exec "$BIN" serve) \
    > "$WORK/serve.log" 2>&1 &
  SERVER=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$PORT/next-cid?to=2125559876"; do
    kill -0 "$SERVER" 2> /dev/null || { echo "serve died:"; cat "$WORK/serve.log"; exit 1; }
    sleep 0.005
  done
  START+="$(elapsed "$t") "
  kb=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
  RSS+="$(echo "scale=1; $kb * 1024 / $ROWS" | bc) "
  kill "$SERVER"; wait "$SERVER" 2> /dev/null || true; SERVER=
  printf '   run %s: sample-csv %.2f s, import %.2f s, start-up to first /next-cid %.2f s, VmRSS %s kB\n' \
    "$r" "$(echo $GEN | awk '{print $NF}')" "$(echo $IMP | awk '{print $NF}')" "$(echo $START | awk '{print $NF}')" "$kb"
done
echo "   $(tail -1 "$WORK/import.log")"
echo
echo "== import: medians of $RUNS runs, $ROWS rows =="
printf 'sample-csv                          %6.2f s\n' "$(median "$GEN")"
printf 'import into an empty store          %6.2f s   (SPEC < 2 s)\n' "$(median "$IMP")"
printf 'serve start-up to first /next-cid   %6.2f s   (SPEC < 1 s)\n' "$(median "$START")"
printf 'serve resident memory per number    %6s B   (SPEC < 100 B, whole process)\n' "$(median "$RSS")"
