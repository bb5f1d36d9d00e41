#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets, docs/RELIABILITY.md) for SECONDS each and prints,
# per target, the executions, executions per second, coverage (libFuzzer's cov: edges, ft:
# features) and the corpus size; a crash leaves its input in fuzz/artifacts/<target>/ and makes
# the script exit 1 after the other targets ran.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     SECONDS defaults to 60
# Env:   FUZZ_JOBS     targets fuzzed at once (default 1; each uses one core)
#        FUZZ_PROFILE  release (default) or dev: an unoptimized build, quicker to build and
#                      slower to run, for CI's smoke (docs/RELIABILITY.md has the figures)
# Needs a nightly toolchain (libFuzzer's instrumentation); installs cargo-fuzz when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
jobs=${FUZZ_JOBS:-1}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "error: the fuzz targets need a nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# No sanitizer: altdist forbids unsafe code, and AddressSanitizer would halve the executions.
# Debug assertions and overflow checks stay on (cargo fuzz's default), so arithmetic that
# overflows is a crash here, not a wrong answer in a release build. 16 codegen units: the build
# is most of a short run's time on two cores.
build=(--fuzz-dir fuzz --target-dir fuzz/target --sanitizer none --codegen-units 16)
case ${FUZZ_PROFILE:-release} in
  release) bin=fuzz/target/x86_64-unknown-linux-gnu/release ;;
  dev) build+=(--dev) bin=fuzz/target/x86_64-unknown-linux-gnu/debug ;;
  *) echo "error: FUZZ_PROFILE is release or dev" >&2; exit 1 ;;
esac
cargo +nightly fuzz build "${build[@]}"

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi

logs=fuzz/logs
mkdir -p "$logs"

run() {
  local target=$1 dict
  case $target in
    jws_*) dict=fuzz/dicts/jws.dict ;;
    *) dict=fuzz/dicts/$target.dict ;;
  esac
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  # The first corpus directory receives what the run finds; the committed seeds are in it.
  "$bin/$target" "fuzz/corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$target/" ${dict:+-dict="$dict"} \
    >"$logs/$target.log" 2>&1
}

failed=()
running=0
pids=()
names=()
for target in "${targets[@]}"; do
  run "$target" &
  pids+=($!)
  names+=("$target")
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" 2>/dev/null || true
done

printf '%-16s %8s %12s %8s %7s %7s %6s  %s\n' target seconds executions exec/s cov ft corpus result
for target in "${targets[@]}"; do
  log=$logs/$target.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  if grep -qE '^==[0-9]+== ERROR: libFuzzer|^SUMMARY: libFuzzer|panicked at' "$log"; then
    result="CRASH: $(ls -t "fuzz/artifacts/$target" | head -1) (see $log)"
    failed+=("$target")
  else
    result=ok
  fi
  printf '%-16s %8s %12s %8s %7s %7s %6s  %s\n' "$target" "$seconds" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "error: crashed: ${failed[*]}" >&2
  exit 1
fi
