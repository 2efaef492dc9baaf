#!/usr/bin/env bash
# The layer rule of STYLE §1, checked without a compiler: the allocation core includes no
# Boost, database or Redis header, and the service layer no networking (Asio/Beast).
# Exit 0 when clean; 1 listing every offending include.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
check() {  # check DIR PATTERN WHAT
  local hits
  hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($2)" "$1" \
           --include='*.h' --include='*.hpp' --include='*.cc' --include='*.cpp' || true)
  if [[ -n "$hits" ]]; then
    echo "layer violation: $1 must not include $3:" >&2
    echo "$hits" >&2
    status=1
  fi
}

check src/core 'boost/|sqlite3\.h|libpq-fe\.h|hiredis' "Boost, SQLite, libpq or hiredis"
if [[ -d src/service ]]; then
  check src/service 'boost/asio|boost/beast' "Boost.Asio or Boost.Beast"
fi

# HTTP and FastAGI share code only through service/ and store/ (STYLE §10: no copy-paste, no
# dependency between the two protocol layers).
if [[ -d src/agi ]]; then
  check src/agi 'http/' "the HTTP layer"
  check src/http 'agi/' "the FastAGI layer"
fi

if [[ $status -eq 0 ]]; then
  echo "layers ok: src/core and src/service include nothing they must not"
fi
exit $status
