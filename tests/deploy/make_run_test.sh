#!/usr/bin/env bash
# `make run`'s script (scripts/run.sh) in a scratch copy of the tree: the first run writes the
# tokens into .env and loads the sample pool; the second run, and a run from a .env copied from
# .env.example, start again (the second once died silently: grep found no CIDROTOR_DATA_DIR
# line under `set -e -o pipefail`). Usage: make_run_test.sh SOURCE_DIR CIDROTOR_BINARY
set -euo pipefail
SRC=$1
BIN=$2
T=$(mktemp -d /tmp/cidrotor-make-run.XXXXXX)
PID=
cleanup() {
  [[ -n "$PID" ]] && kill "$PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/scripts" "$T/build"
cp "$SRC/scripts/run.sh" "$T/scripts/"
cp "$SRC/.env.example" "$T/"
ln -s "$BIN" "$T/build/cidrotor"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# One `make run`: serves until /health answers, then SIGTERM. Fails with the log otherwise.
run_once() {
  (cd "$T" && API_PORT=$PORT AGI_PORT=0 exec scripts/run.sh) >"$T/run.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/health', timeout=1)" 2>/dev/null; then
      kill -TERM "$PID"
      wait "$PID" || true
      PID=
      return 0
    fi
    if ! kill -0 "$PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "FAIL: $1: make run did not serve"; cat "$T/run.log"; exit 1
}

run_once "first run"
grep -q '^ADMIN_TOKEN=[0-9a-f]\{64\}$' "$T/.env" || { echo "FAIL: no ADMIN_TOKEN in .env"; exit 1; }
grep -q '^SECRET_KEY=[0-9a-f]\{64\}$' "$T/.env" || { echo "FAIL: no SECRET_KEY in .env"; exit 1; }
[[ $(stat -c %a "$T/.env") == 600 ]] || { echo "FAIL: .env is not 0600"; exit 1; }
# The store (call history) is its owner's alone: the directory and the files serve wrote in it.
[[ $(stat -c %a "$T/var") == 700 ]] || { echo "FAIL: var is not 0700"; exit 1; }
[[ $(stat -c %a "$T/var/cidrotor.db") == 600 ]] || { echo "FAIL: the database is not 0600"; exit 1; }
token=$(grep '^ADMIN_TOKEN=' "$T/.env")
run_once "second run"
[[ $(grep -c '^ADMIN_TOKEN=' "$T/.env") == 1 && $(grep '^ADMIN_TOKEN=' "$T/.env") == "$token" ]] ||
  { echo "FAIL: the second run changed the token"; exit 1; }

rm -rf "$T/var" "$T/.env"
cp "$T/.env.example" "$T/.env"
run_once "run from .env.example"
grep -q '^ADMIN_TOKEN=[0-9a-f]\{64\}$' "$T/.env" || { echo "FAIL: .env.example's token not filled"; exit 1; }

# A .env filled in by hand, world-readable as copied: made the owner's alone too.
chmod 644 "$T/.env"
run_once "run from a hand-filled .env"
[[ $(stat -c %a "$T/.env") == 600 ]] || { echo "FAIL: a hand-filled .env stayed readable"; exit 1; }
# A .env an editor saved with a UTF-8 BOM: its ADMIN_TOKEN on the first line is the user's, not
# one to append (cidrotor, which skips the BOM, took the appended random one, and the user's
# token stopped working).
rm -rf "$T/var"
printf '\xEF\xBB\xBFADMIN_TOKEN=the-users-own-token-0123456789\nSECRET_KEY=the-users-own-secret-0123456789\n' >"$T/.env"
run_once "run from a .env with a BOM"
[[ $(grep -c 'ADMIN_TOKEN=' "$T/.env") == 1 ]] || { echo "FAIL: a second ADMIN_TOKEN was appended"; cat "$T/.env"; exit 1; }
echo "make run: first run, second run, .env.example, a hand-filled .env and a BOM: ok"
