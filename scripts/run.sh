#!/usr/bin/env bash
# `make run`: first-run set-up, then `cidrotor serve` in the foreground (127.0.0.1:8000 unless
# .env or the environment say otherwise).
#  1. creates the data directory (CIDROTOR_DATA_DIR, default ./var);
#  2. when neither the environment nor .env sets ADMIN_TOKEN / SECRET_KEY, writes random ones
#     into .env and says where they are;
#  3. `cidrotor init-db --sample-data`: creates the schema and loads a sample pool, only when the
#     store has no numbers yet (it says which);
#  4. exec `cidrotor serve` with any arguments given to this script.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=build/cidrotor
ENV_FILE=.env

# The value of NAME in .env (last assignment wins; quotes and a trailing comment removed), as
# cidrotor reads it: `NAME=   # set me` is empty.
dotenv_get() {
  [[ -f "$ENV_FILE" ]] || return 0
  # `|| true`: no line for NAME is no value, not a failure (set -e and pipefail would end the
  # script there, silently, at the second `make run`).
  # A UTF-8 BOM before the first line (an editor's) is not part of its name, as for cidrotor.
  { sed '1s/^\xEF\xBB\xBF//' "$ENV_FILE" | grep -E "^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=" ||
    true; } | tail -n 1 |
    sed -E "s/^[^=]*=[[:space:]]*//; s/^#.*$//; s/[[:space:]]+#.*$//; s/^[\"'](.*)[\"']$/\\1/; s/[[:space:]]+$//"
}

# NAME's value as cidrotor will see it: the environment wins over .env.
setting() {
  local from_env="${!1:-}"
  if [[ -n "$from_env" ]]; then echo "$from_env"; else dotenv_get "$1"; fi
}

random_hex() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex 32
  else
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
  fi
}

# Sets NAME=VALUE in .env: fills an existing empty assignment, or appends one (later lines win).
# The file holds secrets from then on: only its owner reads it, also when it was copied from
# .env.example (0644).
dotenv_set() {
  if [[ ! -f "$ENV_FILE" ]]; then
    printf '# cidrotor settings (see .env.example). Written by make run.\n' >"$ENV_FILE"
  fi
  chmod 600 "$ENV_FILE"
  if grep -qE "^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=[[:space:]]*$" "$ENV_FILE"; then
    sed -i -E "s|^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=[[:space:]]*$|$1=$2|" "$ENV_FILE"
  else
    [[ -z "$(tail -c 1 "$ENV_FILE")" ]] || echo >>"$ENV_FILE"
    echo "$1=$2" >>"$ENV_FILE"
  fi
}

if [[ ! -x "$BIN" ]]; then
  echo "run: $BIN is missing; run 'make run' (which builds it first)" >&2
  exit 1
fi

# The store holds the call history (destinations, agents, leads): only its owner reads what
# cidrotor writes from here on (the systemd unit sets UMask=0027 likewise).
umask 077
data_dir=$(setting CIDROTOR_DATA_DIR)
data_dir=${data_dir:-./var}
mkdir -p -m 700 "$data_dir"

for name in ADMIN_TOKEN SECRET_KEY; do
  if [[ -z "$(setting "$name")" ]]; then
    dotenv_set "$name" "$(random_hex)"
    echo "run: wrote a random $name to $(pwd)/$ENV_FILE (see: grep $name $ENV_FILE)"
  fi
done
# A .env filled in by hand (copied from .env.example, 0644) holds the secrets too.
[[ ! -f "$ENV_FILE" ]] || chmod 600 "$ENV_FILE"

"$BIN" init-db --sample-data
exec "$BIN" serve "$@"
