#!/usr/bin/env bash
# Conformance gate: schemathesis property-based tests of a real `altdist serve` against Apple's
# OpenAPI subset (crates/altdist-server/openapi/app-store-connect-subset.openapi.json) and against the
# server's own /openapi.json. Fails on any check failure. Takes about 2-4 minutes.
#
# Usage: scripts/conformance.sh            (MAX_EXAMPLES=N to change the examples per operation)
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0
MAX_EXAMPLES=${MAX_EXAMPLES:-40}
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
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A budget schemathesis cannot exhaust: the rate limiter has its own tests.
"$ALTDIST" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --rate-limit 1000000 >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  grep -q '^altdist listening on ' "$WORK/stdout" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/stderr" >&2; exit 1; }
  sleep 0.1
done
BASE_URL=$(sed -n 's/^altdist listening on \([^ ]*\).*/\1/p' "$WORK/stdout")
[ -n "$BASE_URL" ] || { echo "error: the server did not start" >&2; cat "$WORK/stderr" >&2; exit 1; }

for n in 1 2 3; do
  "$ALTDIST" admin --data-dir "$WORK/data" app create --name "Conformance App $n" --bundle-id "com.example.conformance$n" --sku "SKU$n" >/dev/null
done
"$ALTDIST" admin --data-dir "$WORK/data" app create --name "Marketplace" --bundle-id com.example.marketplace --marketplace >/dev/null

TOKEN=$("$ALTDIST" token api --credentials "$WORK/data/credentials.json")

# The one exception to Apple's document, with its reason: conformance/hooks.py, docs/CONFORMANCE.md.
export PYTHONPATH="$PWD/conformance${PYTHONPATH:+:$PYTHONPATH}"
export SCHEMATHESIS_HOOKS=hooks

run_schemathesis() {
  local spec=$1
  echo "schemathesis: $spec against $BASE_URL ($MAX_EXAMPLES examples per operation)"
  "$VENV/bin/schemathesis" run "$spec" \
    --url "$BASE_URL" \
    --header "Authorization: Bearer $TOKEN" \
    --checks all \
    --max-examples "$MAX_EXAMPLES" \
    --seed 1 \
    --no-color \
    --generation-database none \
    --suppress-health-check all
}

run_schemathesis "$SPEC"

# The server's own document: fetched from the running server, checked to be valid OpenAPI 3,
# then tested the same way (it adds the sandbox and /health to Apple's operations).
curl -fsS "$BASE_URL/openapi.json" -o "$WORK/openapi.json"
"$VENV/bin/python" - "$WORK/openapi.json" <<'PY'
import sys
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
spec, _ = read_from_filename(sys.argv[1])
validate(spec)
print(f"{sys.argv[1]}: a valid OpenAPI {spec['openapi']} document with {len(spec['paths'])} paths")
PY
run_schemathesis "$BASE_URL/openapi.json"
