#!/usr/bin/env bash
# Load benchmark of `altdist serve` on 127.0.0.1 with wrk (Debian's `wrk` package).
#
# Measures, in one run against one release build:
#   * GET /health (the baseline route: no auth, one `SELECT 1`)
#   * authenticated GET /v1/alternativeDistributionKeys/{id} (token cache warm)
#   * create+delete pairs of app-specific keys (POST then DELETE, fsynced SQLite writes), last,
#     so that the reads do not run against the long WAL they leave
#   * time from exec to the ready line (first start with bootstrap, and a restart)
#   * idle RSS after start, and RSS after the load
#   * then, on PostgreSQL (a fresh database, dropped at the end): GET /health, and the same
#     authenticated read against SQLite's in ROUNDS alternating pairs of runs (the SQLite
#     server stays up, idle, meanwhile), each pair's ratio and their median: on a shared
#     machine throughput drifts by a quarter from minute to minute, and only runs next to each
#     other compare
#
# Usage: scripts/load-bench.sh [SECONDS_PER_RUN (default 10)] [CONNECTIONS (default 32)]
# Env:   ALTDIST_BIN (a built binary to measure instead of building target/release/altdist, to
#        compare two builds), WRK_THREADS (default 2), PAIR_CONNECTIONS (default 8), ROUNDS (default 3), CARGO_TARGET_DIR,
#        BENCH_POSTGRES_URL (server to create the database on; default
#        postgres://postgres@127.0.0.1:5432/postgres; "none" skips PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
THREADS="${WRK_THREADS:-2}"
PAIR_CONNECTIONS="${PAIR_CONNECTIONS:-8}"
ROUNDS="${ROUNDS:-3}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "error: wrk not found; install it (apt-get install wrk)" >&2
    exit 1
  fi
fi

if [ -n "${ALTDIST_BIN:-}" ]; then
  ALTDIST="$ALTDIST_BIN"
else
  cargo build --release -p altdist-cli --quiet
  ALTDIST="$TARGET_DIR/release/altdist"
fi

WORK="$(mktemp -d)"
SERVER_PID=""
SQLITE_PID=""
PG_SERVER_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DATABASE=""
cleanup() {
  for pid in $SERVER_PID $SQLITE_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -n "$PG_DATABASE" ]; then psql "$PG_SERVER_URL" -qAtc "DROP DATABASE IF EXISTS \"$PG_DATABASE\" WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

now_ns() { date +%s%N; }

# Starts the server on the data directory $DATA_DIR (extra arguments go to `altdist serve`),
# waits for its ready line; sets SERVER_PID, ADDRESS, READY_MS.
start_server() {
  local out="$WORK/stdout.$1"; local name="$1"; shift
  rm -f "$out.fifo"; mkfifo "$out.fifo"
  local started; started="$(now_ns)"
  ADDRESS=""
  RUST_LOG=warn "$ALTDIST" serve --listen 127.0.0.1:0 --data-dir "$DATA_DIR" \
    --rate-limit 1000000000 "$@" >"$out.fifo" 2>"$WORK/stderr.$name" &
  SERVER_PID=$!
  exec 3<"$out.fifo"
  local line
  while IFS= read -r line <&3; do
    case "$line" in
      "altdist listening on http://"*)
        READY_MS="$(( ($(now_ns) - started) / 1000000 ))"
        ADDRESS="${line#altdist listening on http://}"; ADDRESS="${ADDRESS%% *}"
        break ;;
    esac
  done
  # Keep draining stdout so the server never blocks on it.
  cat <&3 >/dev/null &
  exec 3<&-
  [ -n "${ADDRESS:-}" ] || { echo "error: the server did not become ready" >&2; cat "$WORK/stderr.$name" >&2; exit 1; }
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

stop_server() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

DATA_DIR="$WORK/data"
start_server first
FIRST_READY_MS="$READY_MS"
stop_server
start_server second
RESTART_READY_MS="$READY_MS"
sleep 1
IDLE_RSS_KIB="$(rss_kib "$SERVER_PID")"
BASE="http://$ADDRESS"

TOKEN="$("$ALTDIST" token api --credentials "$WORK/data/credentials.json" --ttl 1200)"
PUBLIC_KEY='-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXw4x3bUY198B/YiUjX6jzBu+xSP9\n56WkUJ1dMFm9EZQd9xo9+JjorbHXESfvQqXnSDN6tISmfBQDAGfxInMxnQ==\n-----END PUBLIC KEY-----\n'

# Creates the account-wide key on $BASE with $TOKEN; prints its id.
create_key() {
  local id
  id="$(curl -sS -X POST "$BASE/v1/alternativeDistributionKeys" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"data\":{\"type\":\"alternativeDistributionKeys\",\"attributes\":{\"publicKey\":\"$PUBLIC_KEY\"}}}" \
    | sed -n 's/.*"data":{"type":"alternativeDistributionKeys","id":"\([^"]*\)".*/\1/p')"
  [ -n "$id" ] || { echo "error: could not create the key to read" >&2; exit 1; }
  printf '%s' "$id"
}
KEY_ID="$(create_key)"

# Lua reads "\n" in a string literal as a newline; the JSON needs the two characters.
PUBLIC_KEY_LUA="${PUBLIC_KEY//\\/\\\\}"

# One app per pair connection, so each connection owns one app-specific key slot.
APPS=""
for n in $(seq 1 "$PAIR_CONNECTIONS"); do
  APPS="$APPS\"$("$ALTDIST" admin --data-dir "$WORK/data" app create --name "Bench $n" --bundle-id "com.example.bench$n")\","
done

cat >"$WORK/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA

# One connection per wrk thread: request() and response() then strictly alternate, so each
# thread POSTs a key for its own app, then DELETEs the key it got back.
cat >"$WORK/pairs.lua" <<LUA
local apps = { ${APPS%,} }
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("app", apps[counter])
end
local pending = nil
local body = nil
function init(args)
  body = '{"data":{"type":"alternativeDistributionKeys","attributes":{"publicKey":"$PUBLIC_KEY_LUA"},"relationships":{"app":{"data":{"type":"apps","id":"' .. app .. '"}}}}}'
end
function request()
  local headers = { ["Authorization"] = "Bearer $TOKEN", ["Content-Type"] = "application/json" }
  if pending then
    local id = pending
    pending = nil
    return wrk.format("DELETE", "/v1/alternativeDistributionKeys/" .. id, headers)
  end
  return wrk.format("POST", "/v1/alternativeDistributionKeys", headers, body)
end
errors = 0
function response(status, headers, body)
  if status == 201 then
    pending = string.match(body, '"id":"([0-9a-f%-]+)"')
  elseif status ~= 204 then
    errors = errors + 1
    if errors <= 3 then io.write("unexpected " .. status .. ": " .. body .. "\n") end
  end
end
function done(summary, latency, requests)
  io.write(string.format("non-2xx responses: %d\n", summary.errors.status))
end
LUA

run_wrk() { # name, wrk args...
  local name="$1"; shift
  wrk --latency "$@" >"$WORK/wrk.$name" 2>&1
  if [ -n "${BENCH_DEBUG:-}" ]; then cat "$WORK/wrk.$name" >&2; fi
  local rps p50 p99
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk.$name")"
  p50="$(awk '$1 == "50%" { print $2 }' "$WORK/wrk.$name")"
  p99="$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.$name")"
  printf '%-34s %12s %10s %10s\n' "$name" "$rps" "$p50" "$p99"
  eval "RPS_${name//[^a-zA-Z0-9_]/_}=$rps"
  if grep -q "non-2xx\|Socket errors" "$WORK/wrk.$name"; then grep "non-2xx\|Socket errors" "$WORK/wrk.$name" | sed 's/^/    /'; fi
}

echo "altdist load benchmark: $(nproc) CPUs, ${DURATION}s per run, wrk $THREADS threads"
printf '%-34s %12s %10s %10s\n' "route (connections)" "req/s" "p50" "p99"
run_wrk "health_c$CONNECTIONS" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$BASE/health"
run_wrk "key_read_c$CONNECTIONS" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/auth.lua" "$BASE/v1/alternativeDistributionKeys/$KEY_ID"

health="RPS_health_c$CONNECTIONS"; read="RPS_key_read_c$CONNECTIONS"
# Kept up, idle, for the alternating rounds against PostgreSQL.
SQLITE_PID="$SERVER_PID"; SERVER_PID=""
SQLITE_BASE="$BASE"; SQLITE_KEY_ID="$KEY_ID"; cp "$WORK/auth.lua" "$WORK/sqlite-auth.lua"

# PostgreSQL: the same read on a fresh database.
RATIOS=""
if [ "$PG_SERVER_URL" = "none" ]; then
  echo "(PostgreSQL skipped: BENCH_POSTGRES_URL=none)"
elif ! command -v psql >/dev/null 2>&1 || ! psql "$PG_SERVER_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
  echo "NOTICE: PostgreSQL does not answer (or psql is missing); skipping the PostgreSQL runs" >&2
else
  PG_DATABASE="altdist_bench_$$"
  psql "$PG_SERVER_URL" -qAtc "CREATE DATABASE \"$PG_DATABASE\"" >/dev/null
  PG_URL="${PG_SERVER_URL%/*}/$PG_DATABASE"
  DATA_DIR="$WORK/pg-data"
  start_server postgres --database-url "$PG_URL"
  PG_READY_MS="$READY_MS"
  BASE="http://$ADDRESS"
  TOKEN="$("$ALTDIST" token api --credentials "$WORK/pg-data/credentials.json" --ttl 1200)"
  cat >"$WORK/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
  KEY_ID="$(create_key)"
  run_wrk "pg_health_c$CONNECTIONS" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$BASE/health"
  for round in $(seq 1 "$ROUNDS"); do
    run_wrk "sqlite_key_read_round$round" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/sqlite-auth.lua" "$SQLITE_BASE/v1/alternativeDistributionKeys/$SQLITE_KEY_ID"
    run_wrk "pg_key_read_round$round" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/auth.lua" "$BASE/v1/alternativeDistributionKeys/$KEY_ID"
    sqlite_rps="RPS_sqlite_key_read_round$round"; pg_rps="RPS_pg_key_read_round$round"
    RATIOS="$RATIOS $(awk -v a="${!pg_rps}" -v b="${!sqlite_rps}" 'BEGIN { printf "%.1f", 100 * a / b }')"
  done
  PG_RSS_KIB="$(rss_kib "$SERVER_PID")"
  stop_server
fi

# Writes last: tens of thousands of them leave SQLite a long WAL, which would slow the reads
# compared above.
SERVER_PID="$SQLITE_PID"; SQLITE_PID=""; BASE="$SQLITE_BASE"
run_wrk "create_delete_c$PAIR_CONNECTIONS" -t"$PAIR_CONNECTIONS" -c"$PAIR_CONNECTIONS" -d"${DURATION}s" -s "$WORK/pairs.lua" "$BASE/"
LOADED_RSS_KIB="$(rss_kib "$SERVER_PID")"
stop_server

echo
echo "authenticated read / health (SQLite): $(awk -v a="${!read}" -v b="${!health}" 'BEGIN { printf "%.0f%%", 100 * a / b }')"
if [ -n "$RATIOS" ]; then
  median="$(printf '%s\n' $RATIOS | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
  echo "authenticated read, PostgreSQL / SQLite, rounds side by side:$(printf ' %s%%' $RATIOS); median ${median}% (target >= 70%)"
  echo "PostgreSQL: ready after exec (first start, migrates) ${PG_READY_MS} ms, RSS after its runs $((PG_RSS_KIB / 1024)) MiB"
fi
echo "ready after exec: first start ${FIRST_READY_MS} ms (creates the database and the first API key), restart ${RESTART_READY_MS} ms"
echo "RSS: idle $((IDLE_RSS_KIB / 1024)) MiB ($IDLE_RSS_KIB KiB), after the load $((LOADED_RSS_KIB / 1024)) MiB"
echo "(create+delete: each pair is one POST and one DELETE, both fsync'd; req/s counts requests, pairs/s is half)"
