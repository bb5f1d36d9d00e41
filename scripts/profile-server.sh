#!/usr/bin/env bash
# Where `altdist serve` spends its instructions on the authenticated key read by id, counted by
# callgrind: instruction counts do not depend on what else the machine runs, unlike req/s.
#
# Starts the server under valgrind with the default logging (stderr to a file), warms the token
# cache, zeroes the counters, runs wrk (4 connections) for SECONDS, dumps, and prints
# instructions per answered request and the functions with the most instructions (self and
# inclusive). Under valgrind the server answers a few hundred requests a second.
#
# Usage: scripts/profile-server.sh [SECONDS (default 40)]
# Env:   ALTDIST_BIN (default: target/release/altdist, built if missing), TOP (default 25),
#        OUT (keep the callgrind file there).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_OF_LOAD="${1:-40}"
TOP="${TOP:-25}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
for tool in valgrind callgrind_control callgrind_annotate wrk curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install valgrind wrk curl)" >&2; exit 1; }
done
if [ -n "${ALTDIST_BIN:-}" ]; then
  ALTDIST="$ALTDIST_BIN"
else
  cargo build --release -p altdist-cli --quiet
  ALTDIST="$TARGET_DIR/release/altdist"
fi

WORK="$(mktemp -d)"
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

mkfifo "$WORK/stdout"
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
  "$ALTDIST" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --rate-limit 1000000000 \
  >"$WORK/stdout" 2>"$WORK/stderr" &
PID=$!
exec 3<"$WORK/stdout"
ADDRESS=""
while IFS= read -r line <&3; do
  case "$line" in
    "altdist listening on http://"*) ADDRESS="${line#altdist listening on http://}"; ADDRESS="${ADDRESS%% *}"; break ;;
  esac
done
cat <&3 >/dev/null &
exec 3<&-
[ -n "$ADDRESS" ] || { echo "error: the server did not start" >&2; cat "$WORK/stderr" >&2; exit 1; }
BASE="http://$ADDRESS"

TOKEN="$("$ALTDIST" token api --credentials "$WORK/data/credentials.json" --ttl 1200)"
PUBLIC_KEY='-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXw4x3bUY198B/YiUjX6jzBu+xSP9\n56WkUJ1dMFm9EZQd9xo9+JjorbHXESfvQqXnSDN6tISmfBQDAGfxInMxnQ==\n-----END PUBLIC KEY-----\n'
KEY_ID="$(curl -sS -X POST "$BASE/v1/alternativeDistributionKeys" \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"data\":{\"type\":\"alternativeDistributionKeys\",\"attributes\":{\"publicKey\":\"$PUBLIC_KEY\"}}}" \
  | sed -n 's/.*"data":{"type":"alternativeDistributionKeys","id":"\([^"]*\)".*/\1/p')"
[ -n "$KEY_ID" ] || { echo "error: could not create the key to read" >&2; exit 1; }
URL="$BASE/v1/alternativeDistributionKeys/$KEY_ID"
# Warm: the token cache, the prepared statement, the connections.
for _ in 1 2 3 4 5; do curl -sS -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL"; done

cat >"$WORK/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
callgrind_control --zero "$PID" >/dev/null
wrk -t4 -c4 -d"${SECONDS_OF_LOAD}s" -s "$WORK/auth.lua" "$URL" >"$WORK/wrk" 2>&1
callgrind_control --dump "$PID" >/dev/null
sleep 1
kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=""

DONE="$(awk '/requests in/ { print $1 }' "$WORK/wrk")"
LOGGED="$(grep -c 'altdist_server::access\|finished processing request' "$WORK/stderr" || true)"
DUMP="$(ls -S "$WORK"/callgrind.out* | head -1)"
if [ -n "${OUT:-}" ]; then cp "$DUMP" "$OUT"; fi
callgrind_annotate --threshold=100 "$DUMP" >"$WORK/self" 2>/dev/null
callgrind_annotate --inclusive=yes --threshold=100 "$DUMP" >"$WORK/inclusive" 2>/dev/null
TOTAL="$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$WORK/self")"
# The rows after the "file:function" header, without the library paths.
rows() { awk '/file:function/ { on = 1; next } on && NF' "$1" | sed 's/ \[[^]]*\]$//' | head -n "$TOP"; }
set +o pipefail
echo "requests answered: $DONE (access lines in the log: $LOGGED)"
echo "instructions per request: $(( TOTAL / DONE )) (total $TOTAL)"
echo
echo "top $TOP functions by their own instructions (share of the total):"
rows "$WORK/self"
echo
echo "top $TOP functions by inclusive instructions:"
rows "$WORK/inclusive"
if [ -n "${OUT:-}" ]; then echo "(callgrind file: $OUT)"; fi
