#!/usr/bin/env bash
# The seed article's commands as processes, next to what people would otherwise run, in one run
# on one machine (hyperfine, release build):
#   altdist keygen         vs  openssl ecparam -name prime256v1 -genkey -noout
#   altdist pubkey         vs  openssl ec -pubout
#   altdist token install  vs  a PyJWT one-liner minting the same token
#   altdist keys list      vs  curl with a pre-minted token, both against a local altdist serve
# and prints each pair's mean times and ratio (altdist / the other; below 1.0 is faster).
#
# Usage: scripts/bench-cli.sh [RUNS (default 200)]
# Installs hyperfine (apt) and PyJWT (a virtual environment under target/) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${1:-200}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

if ! command -v hyperfine >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y hyperfine >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y hyperfine >/dev/null; }
  else
    echo "error: hyperfine not found; install it (apt-get install hyperfine)" >&2
    exit 1
  fi
fi
VENV="$TARGET_DIR/bench-venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import jwt, cryptography' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'PyJWT[crypto]==2.10.1'
fi

cargo build --release -p altdist-cli --quiet
ALTDIST="$(realpath "$TARGET_DIR/release/altdist")"
# Not realpath: the venv's python is a symlink to the system one, which lacks PyJWT.
PYTHON="$(cd "$VENV/bin" && pwd)/python"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

openssl ecparam -name prime256v1 -genkey -noout -out private_key.pem
"$ALTDIST" pubkey --out public_key.pem

RUST_LOG=warn "$ALTDIST" serve --listen 127.0.0.1:0 --data-dir data --rate-limit 1000000000 >serve.out 2>serve.err &
SERVER_PID=$!
for _ in $(seq 100); do grep -q '^altdist listening on' serve.out 2>/dev/null && break; sleep 0.05; done
BASE="$(sed -n 's#^altdist listening on \(http://[^ ]*\).*#\1#p' serve.out)"
[ -n "$BASE" ] || { echo "error: altdist serve did not start" >&2; cat serve.err >&2; exit 1; }
CREDENTIALS="$WORK/data/credentials.json"
TOKEN="$("$ALTDIST" token api --credentials "$CREDENTIALS")"

KID=52c5cb04-1163-4a30-ad4f-a3433cd6a4f6
# What `altdist token install` writes, minted by PyJWT: header alg/kid/typ, fresh nonce.
PYJWT_INSTALL='import jwt, time, uuid
now = int(time.time())
print(jwt.encode({"iss": "6476788026", "iat": now, "exp": now + 600, "aud": "AppleDownloadVerification-v1",
                  "bid": "com.example.app", "dtype": "download", "nonce": str(uuid.uuid4())},
                 open("private_key.pem").read(), algorithm="ES256", headers={"kid": "'"$KID"'", "typ": "JWT"}))'
printf '%s\n' "$PYJWT_INSTALL" >pyjwt_install.py

bench() {
  local name="$1"; shift
  hyperfine --shell=none --warmup 10 --runs "$RUNS" --export-json "$name.json" --style basic "$@" >"$name.log"
}
bench keygen --prepare 'rm -f k.pem' -n 'altdist keygen' "$ALTDIST keygen --out k.pem" \
  -n 'openssl ecparam -genkey' 'openssl ecparam -name prime256v1 -genkey -noout -out k.pem'
bench pubkey -n 'altdist pubkey' "$ALTDIST pubkey --in private_key.pem" \
  -n 'openssl ec -pubout' 'openssl ec -in private_key.pem -pubout'
bench install -n 'altdist token install' "$ALTDIST token install --kid $KID --iss 6476788026 --bid com.example.app" \
  -n 'PyJWT one-liner' "$PYTHON pyjwt_install.py"
bench keys -n 'altdist keys list' "$ALTDIST keys list --credentials $CREDENTIALS" \
  -n 'curl, pre-minted token' "curl -sf -o /dev/null -H 'Authorization: Bearer $TOKEN' $BASE/v1/alternativeDistributionKeys"
# Keygen against openssl's once more, last, so a drift of the machine over the run shows.
bench keygen2 --prepare 'rm -f k.pem' -n 'altdist keygen' "$ALTDIST keygen --out k.pem" \
  -n 'openssl ecparam -genkey' 'openssl ecparam -name prime256v1 -genkey -noout -out k.pem'

python3 - keygen pubkey install keys keygen2 <<'EOF'
import json, sys
print(f"{'altdist':<24} {'mean':>9} {'other':<26} {'mean':>9} {'ratio':>6}")
for name in sys.argv[1:]:
    ours, theirs = json.load(open(f"{name}.json"))["results"]
    ms = lambda r: r["mean"] * 1000
    print(f"{ours['command']:<24} {ms(ours):7.2f}ms {theirs['command']:<26} {ms(theirs):7.2f}ms {ms(ours) / ms(theirs):6.2f}")
EOF
