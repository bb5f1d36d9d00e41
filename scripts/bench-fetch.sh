#!/usr/bin/env bash
# `altdist packages fetch` against curl downloading the same files from the same `altdist
# serve` on 127.0.0.1, both 4 files at a time, alternating in one run; prints each pair's
# throughput ratio (curl's time / fetch's time) and the median (docs/PERFORMANCE.md).
# Usage: scripts/bench-fetch.sh [PAIRS] [MB_PER_VARIANT]   (default 5 pairs, 4 variants of 55 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-5}
MB=${2:-55}
TARGET=${CARGO_TARGET_DIR:-target}
command -v curl >/dev/null || { echo "error: the benchmark needs curl (apt-get install curl)" >&2; exit 1; }

cargo build --quiet --release -p altdist-cli
BIN="$TARGET/release/altdist"
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --rate-limit 1000000 >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  grep -q '^altdist listening on ' "$WORK/stdout" 2>/dev/null && break
  sleep 0.1
done
BASE=$(sed -n 's/^altdist listening on \([^ ]*\).*/\1/p' "$WORK/stdout")
[ -n "$BASE" ] || { cat "$WORK/stderr" >&2; exit 1; }
C=(--credentials "$WORK/data/credentials.json")

APP=$("$BIN" admin --data-dir "$WORK/data" app create --name Bench --bundle-id com.example.bench)
"$BIN" keygen --out "$WORK/key.pem" >/dev/null
"$BIN" keys create --app "$APP" --public-key "$WORK/key.pem" "${C[@]}" --output json >/dev/null 2>&1
PACKAGES=()
for n in 1 2 3 4; do
  head -c $((MB * 1000000)) /dev/urandom >"$WORK/variant$n.ipa"
  PACKAGES+=(--package "$WORK/variant$n.ipa")
done
VERSION=$("$BIN" admin --data-dir "$WORK/data" app version create --app "$APP" --version 1.0 "${PACKAGES[@]}")
TOKEN=$("$BIN" token api "${C[@]}")
curl -fsS -X POST "$BASE/v1/alternativeDistributionPackages" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"data":{"type":"alternativeDistributionPackages","relationships":{"appStoreVersion":{"data":{"type":"appStoreVersions","id":"'"$VERSION"'"}}}}}' >/dev/null

# curl gets the same files: the version's manifest and its variants, by their signed URLs.
curl -fsS "$BASE/v1/appStoreVersions/$VERSION/alternativeDistributionPackage?include=versions" -H "Authorization: Bearer $TOKEN" >"$WORK/package.json"
python3 - "$WORK" "$BASE" "$TOKEN" <<'PY'
import json, sys, urllib.request
work, base, token = sys.argv[1:]
version = json.load(open(f"{work}/package.json"))["included"][0]
def get(path):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(request))
variants = get(f"/v1/alternativeDistributionPackageVersions/{version['id']}/variants")["data"]
with open(f"{work}/curl.cfg", "w") as config:
    config.write(f'url = "{version["attributes"]["url"]}"\noutput = "{work}/curl/manifest.json"\n')
    for variant in variants:
        config.write(f'url = "{variant["attributes"]["url"]}"\noutput = "{work}/curl/{variant["id"]}.ipa"\n')
PY

now() { date +%s%N; }
ratios=()
echo "pair  curl_s  fetch_s  ratio (fetch throughput / curl's)"
for pair in $(seq 1 "$PAIRS"); do
  rm -rf "$WORK/curl" "$WORK/fetch"; mkdir -p "$WORK/curl"
  start=$(now); curl -fsS --no-progress-meter --parallel --parallel-max 4 -K "$WORK/curl.cfg"; curl_ns=$(( $(now) - start ))
  start=$(now); "$BIN" packages fetch --app "$APP" --out "$WORK/fetch" --parallel 4 "${C[@]}" --output json >/dev/null 2>&1; fetch_ns=$(( $(now) - start ))
  ratio=$(python3 -c "print(f'{$curl_ns / $fetch_ns:.2f}')")
  ratios+=("$ratio")
  python3 -c "print(f'{$pair:>4}  {$curl_ns/1e9:6.2f}  {$fetch_ns/1e9:7.2f}  $ratio')"
done
cmp "$WORK/curl/manifest.json" "$WORK/fetch/manifest.json"
total_mb=$(du -sm "$WORK/fetch" | cut -f1)
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "package: $total_mb MB; median throughput ratio (altdist packages fetch / curl): $median (target >= 0.8)"
