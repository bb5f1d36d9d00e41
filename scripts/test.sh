#!/usr/bin/env bash
# The whole test suite: unit, CLI black-box, openssl interop, server black-box.
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v openssl >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: the interop tests need the openssl binary (apt-get install openssl)" >&2
    exit 1
  fi
  echo "NOTICE: openssl not found; the openssl interop tests will skip" >&2
fi

cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
