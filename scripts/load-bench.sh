#!/usr/bin/env bash
# Load benchmark of `altdist serve` on 127.0.0.1 with wrk (Debian's `wrk` package).
#
# Measures, in one run against one release build, with the server's default logging on (to a
# file), the server pinned to one CPU and wrk to the other (on a machine with two or more):
#   * three authenticated reads, each in ROUNDS alternating pairs of runs against an empty axum
#     route (examples/empty-route: same axum, tokio and pinning, driven by the same wrk command),
#     each pair's ratio, their median, and the server's p99: the key read by id, the app's key
#     (GET /v1/apps/{id}/alternativeDistributionKey) and a page of 50 keys; on a shared machine
#     throughput drifts by a quarter from minute to minute, and only runs next to each other
#     compare
#   * then, on PostgreSQL (a fresh database, dropped at the end): the key read by id against
#     SQLite's in ROUNDS alternating pairs (the SQLite server stays up, idle, meanwhile), with
#     nothing pinned from here on: PostgreSQL's backends need a CPU of their own
#   * create+delete pairs of app-specific keys (POST then DELETE, fsynced SQLite writes), last,
#     so that the reads do not run against the long WAL they leave
#   * time from exec to the ready line (first start with bootstrap, and a restart)
#   * idle RSS after start, and RSS after the reads and after all the load
#
# Usage: scripts/load-bench.sh [SECONDS_PER_RUN (default 6)] [CONNECTIONS (default 32)]
# Env:   ALTDIST_BIN (a built binary to measure instead of building target/release/altdist, to
#        compare two builds; EMPTY_ROUTE_BIN likewise), WRK_THREADS (default 2),
#        PAIR_CONNECTIONS (default 8), ROUNDS (default 5), CARGO_TARGET_DIR, SERVER_CPU and
#        CLIENT_CPU (default 0 and 1; PIN=0 pins nothing), BENCH_POSTGRES_URL (server to create
#        the database on; default postgres://postgres@127.0.0.1:5432/postgres; "none" skips
#        PostgreSQL), RUST_LOG (the server's, default: its own default, info).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-6}"
CONNECTIONS="${2:-32}"
THREADS="${WRK_THREADS:-2}"
PAIR_CONNECTIONS="${PAIR_CONNECTIONS:-8}"
ROUNDS="${ROUNDS:-5}"
PIN="${PIN:-1}"
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  ON_SERVER_CPU=(taskset -c "${SERVER_CPU:-0}"); ON_CLIENT_CPU=(taskset -c "${CLIENT_CPU:-1}")
else
  ON_SERVER_CPU=(); ON_CLIENT_CPU=()
fi
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "error: wrk not found; install it (apt-get install wrk)" >&2
    exit 1
  fi
fi

if [ -z "${ALTDIST_BIN:-}" ] || [ -z "${EMPTY_ROUTE_BIN:-}" ]; then
  cargo build --release -p altdist-cli -p empty-route --quiet
fi
ALTDIST="${ALTDIST_BIN:-$TARGET_DIR/release/altdist}"
EMPTY_ROUTE="${EMPTY_ROUTE_BIN:-$TARGET_DIR/release/empty-route}"

WORK="$(mktemp -d)"
SERVER_PID=""
SQLITE_PID=""
EMPTY_PID=""
PG_SERVER_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DATABASE=""
cleanup() {
  for pid in $SERVER_PID $SQLITE_PID $EMPTY_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
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
  "${ON_SERVER_CPU[@]}" "$ALTDIST" serve --listen 127.0.0.1:0 --data-dir "$DATA_DIR" \
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

# Starts the empty route pinned like the server; sets EMPTY_PID, EMPTY_BASE.
start_empty_route() {
  rm -f "$WORK/empty.fifo"; mkfifo "$WORK/empty.fifo"
  "${ON_SERVER_CPU[@]}" "$EMPTY_ROUTE" 127.0.0.1:0 >"$WORK/empty.fifo" &
  EMPTY_PID=$!
  exec 3<"$WORK/empty.fifo"
  local line
  IFS= read -r line <&3 || true
  exec 3<&-
  EMPTY_BASE="${line#listening on }"
  case "$EMPTY_BASE" in http://*) ;; *) echo "error: the empty route did not start" >&2; exit 1 ;; esac
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

# Creates a key on $BASE with $TOKEN, for the app $1 or account-wide; prints its id.
create_key() {
  local id relationships=""
  if [ -n "${1:-}" ]; then relationships=",\"relationships\":{\"app\":{\"data\":{\"type\":\"apps\",\"id\":\"$1\"}}}"; fi
  id="$(curl -sS -X POST "$BASE/v1/alternativeDistributionKeys" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"data\":{\"type\":\"alternativeDistributionKeys\",\"attributes\":{\"publicKey\":\"$PUBLIC_KEY\"}$relationships}}" \
    | sed -n 's/.*"data":{"type":"alternativeDistributionKeys","id":"\([^"]*\)".*/\1/p')"
  [ -n "$id" ] || { echo "error: could not create the key to read" >&2; exit 1; }
  printf '%s' "$id"
}
KEY_ID="$(create_key)"
# A page of 50 keys: the account-wide one and 49 apps' keys.
PAGE_APP=""
for n in $(seq 1 49); do
  app="$("$ALTDIST" admin --data-dir "$WORK/data" app create --name "Page $n" --bundle-id "com.example.page$n")"
  create_key "$app" >/dev/null
  PAGE_APP="${PAGE_APP:-$app}"
done

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
  "${ON_CLIENT_CPU[@]}" wrk --latency "$@" >"$WORK/wrk.$name" 2>&1
  if [ -n "${BENCH_DEBUG:-}" ]; then cat "$WORK/wrk.$name" >&2; fi
  local rps p50 p99
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk.$name")"
  p50="$(awk '$1 == "50%" { print $2 }' "$WORK/wrk.$name")"
  p99="$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.$name")"
  printf '%-34s %12s %10s %10s\n' "$name" "$rps" "$p50" "$p99"
  eval "RPS_${name//[^a-zA-Z0-9_]/_}=$rps P99_${name//[^a-zA-Z0-9_]/_}=$p99"
  if grep -q "non-2xx\|Socket errors" "$WORK/wrk.$name"; then grep "non-2xx\|Socket errors" "$WORK/wrk.$name" | sed 's/^/    /'; fi
}

# The pair's ratio, to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
max_ms() { printf '%s\n' "$@" | awk '{ v = $1; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; if (v > m) m = v } END { printf "%.2fms", m }'; }

echo "altdist load benchmark: $(nproc) CPUs, ${DURATION}s per run, wrk $THREADS threads, $CONNECTIONS connections, ${ON_SERVER_CPU[*]:-unpinned} / wrk ${ON_CLIENT_CPU[*]:-unpinned}"
printf '%-34s %12s %10s %10s\n' "run" "req/s" "p50" "p99"
start_empty_route
SUMMARY=""
# ROUNDS pairs of (empty route, server) on the same path; ratios, their median, the p99s.
measure_route() { # label, path, lua script
  local label="$1" path="$2" script="$3" ratios="" p99s="" round
  for round in $(seq 1 "$ROUNDS"); do
    run_wrk "empty_${label}_$round" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$script" "$EMPTY_BASE$path"
    run_wrk "${label}_$round" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$script" "$BASE$path"
    local empty="RPS_empty_${label}_$round" server="RPS_${label}_$round" p99="P99_${label}_$round"
    ratios="$ratios $(ratio "${!server}" "${!empty}")"; p99s="$p99s ${!p99}"
  done
  SUMMARY="$SUMMARY$(printf '%-12s pairs:%s; median %s; server p99:%s (max %s)' "$label" "$ratios" "$(median $ratios)" "$p99s" "$(max_ms $p99s)")\n"
}
measure_route key_by_id "/v1/alternativeDistributionKeys/$KEY_ID" "$WORK/auth.lua"
measure_route app_key "/v1/apps/$PAGE_APP/alternativeDistributionKey" "$WORK/auth.lua"
measure_route page_of_50 "/v1/alternativeDistributionKeys?limit=50" "$WORK/auth.lua"
READ_RSS_KIB="$(rss_kib "$SERVER_PID")"
kill "$EMPTY_PID" 2>/dev/null || true; wait "$EMPTY_PID" 2>/dev/null || true; EMPTY_PID=""

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
  # Unpinned, both servers and wrk: PostgreSQL's backends need a CPU too, and pinning the
  # server alone would measure how they share the other one with wrk.
  if [ ${#ON_SERVER_CPU[@]} -gt 0 ]; then taskset -a -p -c "0-$(( $(nproc) - 1 ))" "$SQLITE_PID" >/dev/null; fi
  ON_SERVER_CPU=(); ON_CLIENT_CPU=()
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
  for round in $(seq 1 "$ROUNDS"); do
    run_wrk "sqlite_key_read_round$round" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/sqlite-auth.lua" "$SQLITE_BASE/v1/alternativeDistributionKeys/$SQLITE_KEY_ID"
    run_wrk "pg_key_read_round$round" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/auth.lua" "$BASE/v1/alternativeDistributionKeys/$KEY_ID"
    sqlite_rps="RPS_sqlite_key_read_round$round"; pg_rps="RPS_pg_key_read_round$round"
    RATIOS="$RATIOS $(ratio "${!pg_rps}" "${!sqlite_rps}")"
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
echo "server / empty route, SQLite, $ROUNDS alternating pairs each (target for key_by_id: median >= 0.5, p99 < 5 ms):"
printf "$SUMMARY"
if [ -n "$RATIOS" ]; then
  echo "key read by id, PostgreSQL / SQLite, pairs:$RATIOS; median $(median $RATIOS) (target >= 0.7)"
  echo "PostgreSQL: ready after exec (first start, migrates) ${PG_READY_MS} ms, RSS after its runs $((PG_RSS_KIB / 1024)) MiB"
fi
echo "ready after exec: first start ${FIRST_READY_MS} ms (creates the database and the first API key), restart ${RESTART_READY_MS} ms"
echo "RSS: idle $((IDLE_RSS_KIB / 1024)) MiB, after the reads $((READ_RSS_KIB / 1024)) MiB, after all the load $((LOADED_RSS_KIB / 1024)) MiB"
echo "access log: $(cat "$WORK"/stderr.* | grep -c 'altdist_server::access') lines written; dropped-line reports: $(cat "$WORK"/stderr.* | grep -c 'log lines dropped' || true)"
echo "(create+delete: each pair is one POST and one DELETE, both fsync'd; req/s counts requests, pairs/s is half)"
