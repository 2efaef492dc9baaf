#!/usr/bin/env bash
# Installs web/'s npm packages (uPlot for the dashboard, playwright-core for the browser tests)
# from web/package-lock.json with `npm ci`, quietly, when web/node_modules is missing or older
# than the lock file. Run by the CMake build (src/http/CMakeLists.txt) and by scripts/bootstrap.sh.
set -euo pipefail
web="$(cd "$(dirname "$0")/../web" && pwd)"
stamp="$web/node_modules/.package-lock.json"  # written by npm ci
if [[ -f "$stamp" && "$stamp" -nt "$web/package-lock.json" && "$stamp" -nt "$web/package.json" ]]; then
  exit 0
fi
if ! command -v npm > /dev/null; then
  echo "web-deps: npm not found: install Node.js with npm (scripts/bootstrap.sh)" >&2
  exit 1
fi
cd "$web"
npm ci --no-audit --no-fund --loglevel=error > /dev/null
touch "$stamp"
