#!/usr/bin/env bash
# Installs the Debian 12 packages that cidrotor's build needs (`test` and `bench` add theirs), only
# those that are missing, then web/'s npm packages (scripts/web-deps.sh). Idempotent, and silent
# when everything is present.
#   scripts/bootstrap.sh          build packages (make build, make run)
#   scripts/bootstrap.sh test     plus the servers and browser the tests start (make test)
#   scripts/bootstrap.sh bench    plus those and wrk, nginx-light, curl, bc and sqlite3
# The test packages stay off a machine that only builds and serves: installing Debian's
# postgresql-15 and redis-server also starts their daemons (on 5432 and 6379).
# Uses sudo when not run as root.
set -euo pipefail

# Everything CMakeLists.txt find_package()s, plus the compiler, generator and time-zone data.
BUILD_PACKAGES=(
  cmake ninja-build g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libexpected-dev libhowardhinnant-date-dev libsqlite3-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  tzdata
  libpq-dev libhiredis-dev libjwt-dev libssl-dev
  python3-phonenumbers
  nodejs
)
# (nodejs above: the build embeds the dashboard's uPlot, installed from npm.)
# Servers and tools the tests start or drive: cluster mode's PostgreSQL 15 and Redis 7, the
# dashboard's headless Chromium (driven by playwright-core, installed from npm).
TEST_PACKAGES=(postgresql-15 redis-server chromium)
BENCH_PACKAGES=(wrk nginx-light curl bc sqlite3)  # bench/run.sh: wrk, nginx, curl to poll, bc to divide, sqlite3 for the pools

packages=("${BUILD_PACKAGES[@]}")
for group in "$@"; do
  case "$group" in
    build) ;;
    test) packages+=("${TEST_PACKAGES[@]}") ;;
    bench) packages+=("${TEST_PACKAGES[@]}" "${BENCH_PACKAGES[@]}") ;;
    *)
      echo "usage: $0 [build|test|bench]..." >&2
      exit 2
      ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$package")
  fi
done
# Debian's nodejs comes without npm (NodeSource's includes it, and conflicts with Debian's npm
# package): ask for the package only when no npm command exists.
if ! command -v npm > /dev/null; then
  missing+=(npm)
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo > /dev/null; then
      echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
      echo "bootstrap: run as root (there is no sudo here): apt-get install ${missing[*]}" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  echo "bootstrap: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The dashboard's npm packages (uPlot; playwright-core for the browser test), when web/node_modules
# is missing or older than web/package-lock.json. The build runs the same script.
"$(dirname "$0")/web-deps.sh"
