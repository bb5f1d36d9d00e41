#!/usr/bin/env bash
# The whole test suite: unit, CLI black-box, openssl interop, server black-box on SQLite and
# on PostgreSQL.
# Usage: scripts/test.sh [extra cargo test args]
# Env:   TEST_DATABASE_URL  PostgreSQL server the tests create their databases on (one per test,
#                           dropped after it); default: postgres://postgres@127.0.0.1:5432/postgres
#                           when that answers. Without one the PostgreSQL tests skip with a
#                           notice; under CI=true that is an error.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v openssl >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: the interop tests need the openssl binary (apt-get install openssl)" >&2
    exit 1
  fi
  echo "NOTICE: openssl not found; the openssl interop tests will skip" >&2
fi

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  candidate="postgres://postgres@127.0.0.1:5432/postgres"
  if command -v pg_isready >/dev/null 2>&1; then
    answers() { pg_isready -q -d "$candidate" -t 3; }
  elif command -v psql >/dev/null 2>&1; then
    answers() { psql "$candidate" -Atqc 'SELECT 1' >/dev/null 2>&1; }
  else
    # Neither client: ask the port itself.
    answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
  fi
  if answers; then
    export TEST_DATABASE_URL="$candidate"
  elif [ "${CI:-}" = "true" ]; then
    echo "error: PostgreSQL does not answer at 127.0.0.1:5432 and TEST_DATABASE_URL is not set; CI runs every server test on PostgreSQL too" >&2
    exit 1
  else
    echo "NOTICE: PostgreSQL does not answer at 127.0.0.1:5432; the PostgreSQL tests will skip (see CONTRIBUTING.md)" >&2
  fi
fi
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  # Never print a password: drop the user part and any password= parameter.
  echo "PostgreSQL tests on $(printf '%s' "$TEST_DATABASE_URL" | sed -E 's#//[^/@]*@#//#; s#([?&]password=)[^&]*#\1***#')" >&2
fi

cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
