#!/usr/bin/env bash
# Drives the web console (GET /console) in Debian's headless Chromium against a fresh
# `altdist serve`: sign-in (keyboard only), the guided web-distribution setup, keys, domains,
# the token inspector, roles and errors, with axe-core on every page (docs/CONSOLE.md).
# Installs what is missing: chromium with apt (apt-get update once), playwright-core and
# axe-core with npm ci (no browser download: the tests launch /usr/bin/chromium).
#
#   console-tests/run.sh                       # builds target/debug/altdist first
#   ALTDIST_BIN=/path/altdist console-tests/run.sh
#   CONSOLE_ARTIFACTS=/tmp/shots console-tests/run.sh   # where screenshots go (default: a temp dir)
#
# Under CI=true anything missing that cannot be installed is an error, never a skip.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

missing() {
  if [[ ${CI:-} == true ]]; then
    echo "error: $1" >&2
    exit 1
  fi
  echo "console tests: skipped, $1 (an error under CI=true)" >&2
  exit 0
}

apt_updated=
apt_install() {
  local sudo=
  [[ $(id -u) == 0 ]] || sudo=sudo
  # A fresh machine may have no package lists yet; update them once.
  if [[ -z $apt_updated ]]; then
    $sudo apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

chromium=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $chromium ]]; then
  apt_install chromium || true
  [[ -x $chromium ]] || missing "no Chromium at $chromium and apt-get install chromium failed"
fi
command -v openssl >/dev/null || apt_install openssl || true
command -v openssl >/dev/null || missing "the tests check the downloaded keys with openssl, which is not installed"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm || true
fi
command -v node >/dev/null || missing "node is not installed and apt-get install nodejs failed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[[ $node_major -ge 20 ]] || missing "node $node_major is too old; playwright-core needs 20 or newer"

# npm writes node_modules/.package-lock.json; older than the lock file means out of date.
if [[ ! $here/node_modules/.package-lock.json -nt $here/package-lock.json ]]; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
    missing "npm ci failed"
fi

if [[ -n ${ALTDIST_BIN:-} ]]; then
  bin=$ALTDIST_BIN
else
  (cd "$root" && cargo build --quiet -p altdist-cli)
  bin=${CARGO_TARGET_DIR:-$root/target}/debug/altdist
fi
[[ -x $bin ]] || { echo "error: no altdist binary at $bin" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# A path given relative to where run.sh was started, before the cd below.
if [[ -n ${CONSOLE_SCREENSHOT:-} && $CONSOLE_SCREENSHOT != /* ]]; then
  export CONSOLE_SCREENSHOT=$PWD/$CONSOLE_SCREENSHOT
fi
if [[ -n ${CONSOLE_ARTIFACTS:-} && $CONSOLE_ARTIFACTS != /* ]]; then
  export CONSOLE_ARTIFACTS=$PWD/$CONSOLE_ARTIFACTS
fi

echo "console tests: $("$bin" --version), $("$chromium" --version 2>/dev/null | head -1), node $(node --version)"
cd "$here"
ALTDIST_BIN=$bin CHROMIUM=$chromium node --test --test-concurrency=1 --test-reporter=spec console.test.mjs
