#!/usr/bin/env bash
# Runs unmodified third-party App Store Connect clients against a fresh `altdist serve` and
# reports, per client, the steps passed and the time taken. Installs the clients when missing
# (npm ci, a venv in compat/.venv, apt-get for ruby and ruby-jwt).
#
#   compat/run.sh              # builds target/debug/altdist first
#   ALTDIST_BIN=/path/altdist compat/run.sh
#   compat/run.sh rage ruby    # only these clients
#
# Under CI=true a client that cannot be installed counts as failed; otherwise it is skipped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

if [[ -n ${ALTDIST_BIN:-} ]]; then
  bin=$ALTDIST_BIN
else
  (cd "$root" && cargo build --quiet -p altdist-cli)
  bin=${CARGO_TARGET_DIR:-$root/target}/debug/altdist
fi

work=$(mktemp -d)
server=
cleanup() {
  if [[ -n $server ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- the clients: how to install each, how to run it -------------------------------------

install_node() {
  # npm writes node_modules/.package-lock.json; older than the lock file means out of date.
  [[ $here/node/node_modules/.package-lock.json -nt $here/node/package-lock.json ]] && return
  (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error)
}

install_python() {
  local venv=$here/.venv
  [[ $venv/.installed -nt $here/python/requirements.txt ]] && return
  rm -rf "$venv"
  # Debian ships venv's ensurepip separately.
  python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
  touch "$venv/.installed"
}

install_ruby() {
  command -v ruby >/dev/null && ruby -rjwt -e '' 2>/dev/null && return
  apt_install ruby ruby-jwt
}

apt_install() {
  local sudo=
  [[ $(id -u) == 0 ]] || sudo=sudo
  # A fresh machine may have no package lists yet.
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# name | installer | what it is | command, run in compat/
clients=(
  "rage|install_node|@rage-against-the-pixel/app-store-connect-api 4.4.1 (Node)|node node/rage.mjs"
  "sdk|install_node|appstore-connect-sdk 2.0.0 (Node)|node node/sdk.mjs"
  "asconnect|install_python|asconnect 7.1.1 (Python)|.venv/bin/python python/asconnect_exercise.py"
  "ruby|install_ruby|Debian's ruby-jwt minting like fastlane's Spaceship, Net::HTTP (Ruby)|ruby ruby/spaceship_jwt.rb"
)

# --- the server ---------------------------------------------------------------------------

# Warnings and errors only: the clients print what went wrong on their side.
RUST_LOG=${RUST_LOG:-warn} "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
  >"$work/server.out" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$work/server.out" && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.out" "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
grep -q 'listening on' "$work/server.out" || { echo "altdist serve did not start" >&2; exit 1; }

field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
creds=$work/data/credentials.json
export ASC_BASE_URL ASC_ISSUER_ID ASC_KEY_ID ASC_PRIVATE_KEY_PATH
ASC_BASE_URL=$(field "$creds" base_url)
ASC_ISSUER_ID=$(field "$creds" issuer_id)
ASC_KEY_ID=$(field "$creds" key_id)
ASC_PRIVATE_KEY_PATH=$(field "$creds" private_key_path)
echo "altdist serve at $ASC_BASE_URL ($("$bin" --version))"

# --- each client, on its own app, keys and domain -----------------------------------------

secs() { awk -v ns=$(($2 - $1)) 'BEGIN { printf "%.1f", ns / 1e9 }'; }
passed=0 failed=0 skipped=0
for entry in "${clients[@]}"; do
  IFS='|' read -r name installer what command <<<"$entry"
  if [[ $# -gt 0 && " $* " != *" $name "* ]]; then continue; fi
  echo
  echo "== $name: $what"
  start=$(date +%s%N)
  if ! $installer >"$work/install-$name.log" 2>&1; then
    cat "$work/install-$name.log"
    if [[ ${CI:-} == true ]]; then
      echo "$name: FAILED, could not be installed"
      failed=$((failed + 1))
    else
      echo "$name: skipped, could not be installed (a failure under CI=true)"
      skipped=$((skipped + 1))
    fi
    continue
  fi

  dir=$work/$name
  mkdir -p "$dir"
  for k in 1 2; do
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/private_key_$k.pem"
    openssl ec -in "$dir/private_key_$k.pem" -pubout -out "$dir/public_key_$k.pem" 2>/dev/null
  done
  export ASC_BUNDLE_ID=com.example.compat.$name COMPAT_DOMAIN=$name.compat.example.com
  export COMPAT_PUBLIC_KEY=$dir/public_key_1.pem COMPAT_PUBLIC_KEY_2=$dir/public_key_2.pem
  export ASC_APP_ID
  ASC_APP_ID=$("$bin" admin app create --name "Compat $name" --bundle-id "$ASC_BUNDLE_ID" \
    --data-dir "$work/data" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')

  installed=$(date +%s%N)
  status=0
  (cd "$here" && timeout 120 $command) >"$dir/out" 2>&1 || status=$?
  sed 's/^/  /' "$dir/out"
  ok=$(grep -c '^ok ' "$dir/out" || true)
  total=$(grep -cE '^(ok|FAIL) ' "$dir/out" || true)
  took="$(secs "$installed" "$(date +%s%N)")s (install check $(secs "$start" "$installed")s)"
  if [[ $status == 0 && $ok == "$total" && $total -gt 0 ]]; then
    echo "$name: $ok/$total steps passed in $took"
    passed=$((passed + 1))
  else
    echo "$name: FAILED, $ok/$total steps passed in $took, exit $status"
    failed=$((failed + 1))
  fi
done

if [[ -s $work/server.log ]]; then
  echo
  echo "server warnings and errors:"
  sed 's/^/  /' "$work/server.log"
fi
echo
[[ $skipped -gt 0 ]] && echo "$skipped skipped"
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
