#!/usr/bin/env bash
# Conformance gate: schemathesis property-based tests of a real `altdist serve` against Apple's
# OpenAPI subset (crates/altdist-server/openapi/app-store-connect-subset.openapi.json) and against
# the server's own /openapi.json, on SQLite and on PostgreSQL, with the fixed seed 1 and with a
# fresh random seed (printed, so that a failure reproduces). Fails on any check failure.
#
# Usage: scripts/conformance.sh           fixed seed + a random seed, 40 examples per operation
#        SEED=N scripts/conformance.sh    only seed N (to reproduce a failure)
#        scripts/conformance.sh --long    500 examples per operation, before a release
# Env:   MAX_EXAMPLES (examples per operation), BACKENDS ("sqlite postgres" by default),
#        CONFORMANCE_POSTGRES_URL (server to create the database on; default
#        postgres://postgres@127.0.0.1:5432/postgres; under CI=true it must answer)
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0
MAX_EXAMPLES=${MAX_EXAMPLES:-40}
if [ "${1:-}" = "--long" ]; then
  MAX_EXAMPLES=${MAX_EXAMPLES_LONG:-500}
fi
if [ -n "${SEED:-}" ]; then
  SEEDS="$SEED"
else
  # A fresh seed each run explores inputs the fixed one never meets.
  SEEDS="1 $(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
fi
BACKENDS=${BACKENDS:-sqlite postgres}
PG_SERVER_URL=${CONFORMANCE_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SPEC=${ALTDIST_OPENAPI_SUBSET:-crates/altdist-server/openapi/app-store-connect-subset.openapi.json}
TARGET=${CARGO_TARGET_DIR:-target}
VENV="$TARGET/conformance-venv"

if [ ! -f "$SPEC" ]; then
  echo "error: Apple's OpenAPI subset is not at $SPEC (set ALTDIST_OPENAPI_SUBSET)" >&2
  exit 1
fi

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION" \
  || ! "$VENV/bin/python" -c "import openapi_spec_validator" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION"
fi

cargo build --quiet -p altdist-cli
ALTDIST="$TARGET/debug/altdist"

WORK=$(mktemp -d)
SERVER_PID=
PG_DATABASE=
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=
}
cleanup() {
  stop_server
  if [ -n "$PG_DATABASE" ]; then psql "$PG_SERVER_URL" -qAtc "DROP DATABASE IF EXISTS \"$PG_DATABASE\" WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts a server on a fresh database of `$1` (sqlite or postgres) and seeds apps; sets BASE_URL
# and DATA_DIR.
start_server() {
  local backend=$1 database=()
  DATA_DIR="$WORK/$backend"
  if [ "$backend" = postgres ]; then
    PG_DATABASE="altdist_conformance_$$"
    psql "$PG_SERVER_URL" -qAtc "CREATE DATABASE \"$PG_DATABASE\"" >/dev/null
    database=(--database-url "${PG_SERVER_URL%/*}/$PG_DATABASE")
  fi
  # A budget schemathesis cannot exhaust: the rate limiter has its own tests.
  "$ALTDIST" serve --listen 127.0.0.1:0 --data-dir "$DATA_DIR" "${database[@]}" --rate-limit 1000000 \
    >"$WORK/stdout.$backend" 2>"$WORK/stderr.$backend" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    grep -q '^altdist listening on ' "$WORK/stdout.$backend" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/stderr.$backend" >&2; exit 1; }
    sleep 0.1
  done
  BASE_URL=$(sed -n 's/^altdist listening on \([^ ]*\).*/\1/p' "$WORK/stdout.$backend")
  [ -n "$BASE_URL" ] || { echo "error: the server did not start" >&2; cat "$WORK/stderr.$backend" >&2; exit 1; }
  local app
  for n in 1 2 3; do
    app=$("$ALTDIST" admin --data-dir "$DATA_DIR" "${database[@]}" app create --name "Conformance App $n" --bundle-id "com.example.conformance$n" --sku "SKU$n")
  done
  # Versions with a build, so the package operations have something to find: 1.0, and 1.1 with a
  # delta from 1.0 that altdist computes, so the deltas have one too.
  head -c 65536 /dev/urandom >"$WORK/build.ipa"
  { cat "$WORK/build.ipa"; head -c 4096 /dev/urandom; } >"$WORK/build-1.1.ipa"
  "$ALTDIST" admin --data-dir "$DATA_DIR" "${database[@]}" app version create --app "$app" --version 1.0 --package "$WORK/build.ipa" >/dev/null
  "$ALTDIST" admin --data-dir "$DATA_DIR" "${database[@]}" app version create --app "$app" --version 1.1 --package "$WORK/build-1.1.ipa" --delta-from 1.0 >/dev/null
  "$ALTDIST" admin --data-dir "$DATA_DIR" "${database[@]}" app create --name "Marketplace" --bundle-id com.example.marketplace --marketplace >/dev/null
}

# The one exception to Apple's document, with its reason: conformance/hooks.py, docs/CONFORMANCE.md.
export PYTHONPATH="$PWD/conformance${PYTHONPATH:+:$PYTHONPATH}"
export SCHEMATHESIS_HOOKS=hooks

run_schemathesis() {
  local spec=$1 seed=$2 token
  # A token per run: a long run outlives one token's 20 minutes.
  token=$("$ALTDIST" token api --credentials "$DATA_DIR/credentials.json")
  echo "schemathesis: $spec against $BASE_URL, seed $seed ($MAX_EXAMPLES examples per operation; reproduce with SEED=$seed BACKENDS=$BACKEND scripts/conformance.sh)"
  "$VENV/bin/schemathesis" run "$spec" \
    --url "$BASE_URL" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$seed" \
    --no-color \
    --generation-database none \
    --suppress-health-check all
}

for BACKEND in $BACKENDS; do
  if [ "$BACKEND" = postgres ] && ! psql "$PG_SERVER_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
      echo "error: PostgreSQL does not answer at $PG_SERVER_URL (or psql is missing); CI runs the gate on both backends" >&2
      exit 1
    fi
    echo "NOTICE: PostgreSQL does not answer; the gate runs on SQLite only" >&2
    continue
  fi
  start_server "$BACKEND"
  # The server's own document, fetched from it and checked to be valid OpenAPI 3 (it adds the
  # sandbox and /health to Apple's operations).
  curl -fsS "$BASE_URL/openapi.json" -o "$WORK/openapi.json"
  "$VENV/bin/python" - "$WORK/openapi.json" <<'PY'
import sys
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
spec, _ = read_from_filename(sys.argv[1])
validate(spec)
print(f"{sys.argv[1]}: a valid OpenAPI {spec['openapi']} document with {len(spec['paths'])} paths")
PY
  for seed in $SEEDS; do
    run_schemathesis "$SPEC" "$seed"
    run_schemathesis "$BASE_URL/openapi.json" "$seed"
  done
  stop_server
done
