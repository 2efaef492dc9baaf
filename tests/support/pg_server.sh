#!/usr/bin/env bash
# A private PostgreSQL 15 server for the tests, on 127.0.0.1 and a port the kernel picks.
#
#   pg_server.sh start STATE_DIR    initdb a fresh cluster in a temp dir, start it (fsync on), and
#                                   record its data dir and port in STATE_DIR/{pgdata,port}
#   pg_server.sh stop STATE_DIR     stop it (immediate) and remove the cluster; safe to repeat
#   pg_server.sh kill STATE_DIR     stop it as a crash would (pg_ctl stop -m immediate), keep data
#   pg_server.sh restart STATE_DIR  start the killed server again on the same port
#   pg_server.sh freeze STATE_DIR   SIGSTOP the server and its backends (a hung server: the port
#                                   accepts, nothing answers); thaw sends SIGCONT
#
# PostgreSQL refuses to run as root, and CI runs as root: then every server command runs as the
# `postgres` user (runuser), in a temp dir owned by it. Registered as a CTest fixture
# (tests/store/postgres/CMakeLists.txt), so the server is stopped even when tests fail.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg_server.sh start|stop|kill|restart|freeze|thaw STATE_DIR}
state=${2:?usage: pg_server.sh start|stop|kill|restart|freeze|thaw STATE_DIR}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A port nothing listens on, from the range the kernel does not hand out as ephemeral ports (so
# no outgoing connection takes it meanwhile). Bash only: no python on a fresh machine.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "pg_server.sh: no free port found" >&2
  return 1
}

start_server() {  # start_server PGDATA PORT
  as_pg "$PG_BIN/pg_ctl" -D "$1" -l "$1/server.log" -w -t 30 -o \
    "-c listen_addresses=127.0.0.1 -c port=$2 -c unix_socket_directories=$1 -c fsync=on" \
    start > /dev/null
}

case "$cmd" in
  start)
    mkdir -p "$state"
    "$0" stop "$state" 2> /dev/null || true  # a server left over by a killed run
    pgdata=$(mktemp -d /tmp/cidrotor-pg.XXXXXX)
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pgdata"; fi
    chmod 700 "$pgdata"
    as_pg "$PG_BIN/initdb" -D "$pgdata" -U postgres --auth=trust --no-sync -E UTF8 \
      --locale=C > "$state/initdb.log" 2>&1 || { cat "$state/initdb.log" >&2; exit 1; }
    echo "$pgdata" > "$state/pgdata"
    for attempt in 1 2 3; do  # another process may take the port between pick and bind
      port=$(free_port)
      echo "$port" > "$state/port"
      if start_server "$pgdata" "$port"; then exit 0; fi
    done
    cat "$pgdata/server.log" >&2
    exit 1
    ;;
  stop)
    [ -f "$state/pgdata" ] || exit 0
    pgdata=$(cat "$state/pgdata")
    if [ -f "$pgdata/postmaster.pid" ]; then
      as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -m immediate -w stop > /dev/null 2>&1 || true
    fi
    rm -rf "$pgdata" "$state/pgdata" "$state/port"
    ;;
  kill)
    as_pg "$PG_BIN/pg_ctl" -D "$(cat "$state/pgdata")" -m immediate -w stop > /dev/null
    ;;
  restart)
    start_server "$(cat "$state/pgdata")" "$(cat "$state/port")"
    ;;
  freeze|thaw)
    # Only this server's processes: the postmaster (first line of postmaster.pid) and its children.
    postmaster=$(head -1 "$(cat "$state/pgdata")/postmaster.pid")
    signal=$([ "$cmd" = freeze ] && echo STOP || echo CONT)
    kill -"$signal" "$postmaster" $(ps -o pid= --ppid "$postmaster")
    ;;
  *)
    echo "pg_server.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
