#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: installs what is
# missing, then
#   1. the normal build (build/) and every ctest test (labels unit, e2e and
#      the bench smoke runs);
#   2. the sanitizer build (build-sanitize/: clang, AddressSanitizer +
#      UndefinedBehaviorSanitizer, see docs/development.md), its unit and
#      e2e tests, then short fuzz runs (scripts/fuzz.sh, when present).
# Exits non-zero when any test fails in either part.
# Usage: scripts/test.sh [--sanitize | --no-sanitize] [extra ctest arguments, e.g. -L unit]
#   --sanitize     only part 2;  --no-sanitize  only part 1
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_BUILD_DIR:-$root/build}
sanitize_build=${INFERGATE_SANITIZE_BUILD_DIR:-$root/build-sanitize}
suppressions=$root/tests/sanitizers

normal=1 sanitize=1 ctest_args=()
for arg in "$@"; do
  case "$arg" in
    --sanitize) normal=0 ;;
    --no-sanitize) sanitize=0 ;;
    *) ctest_args+=("$arg") ;;
  esac
done

log() { printf 'test: %s\n' "$*" >&2; }

# Each step returns on failure itself: `set -e` does not apply inside a
# function called as `f || ...`.
run_normal() {
  "$root/scripts/build.sh" || return 1
  ctest --test-dir "$build" --output-on-failure --timeout 300 -j "$(nproc)" ${ctest_args[@]+"${ctest_args[@]}"}
}

# The one sanitizer configuration (shared with scripts/fuzz.sh, so the build
# directory and ccache serve both).
build_sanitize() {
  CC=clang CXX=clang++ cmake -S "$root" -B "$sanitize_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DINFERGATE_SANITIZE=ON -DINFERGATE_FUZZ=ON -DINFERGATE_BUILD_BENCH=OFF >/dev/null || return 1
  cmake --build "$sanitize_build" --parallel "$(nproc)"
}

# Every sanitizer report ends the process that hit it with exit code 86 and
# is printed to its stderr: a test binary then fails in ctest, and an
# infergate server started by an e2e test fails that test when it ends
# (tests/testing/process.h looks for the report in the server's output).
# LeakSanitizer is on: a leak fails the process at exit like any report.
# Suppressions cover third-party code only (tests/sanitizers/*.supp).
# Deadlines of waiting tests are scaled by INFERGATE_TEST_TIME_SCALE.
run_sanitize() {
  build_sanitize || return 1
  local common="halt_on_error=1:abort_on_error=0:exitcode=86:print_summary=1"
  ASAN_OPTIONS="$common:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_odr_violation=2" \
  LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS="$common:print_stacktrace=1:suppressions=$suppressions/ubsan.supp" \
  INFERGATE_TEST_TIME_SCALE=${INFERGATE_TEST_TIME_SCALE:-4} \
    ctest --test-dir "$sanitize_build" --output-on-failure --timeout 900 -j "$(nproc)" -L 'unit|e2e' \
      ${ctest_args[@]+"${ctest_args[@]}"}
}

"$root/scripts/setup.sh"
failed=()
if [ "$normal" = 1 ]; then run_normal || failed+=("normal build tests"); fi
if [ "$sanitize" = 1 ]; then
  run_sanitize || failed+=("sanitizer build tests")
  # Short runs of the libFuzzer targets (same build directory), once
  # scripts/fuzz.sh exists.
  if [ -x "$root/scripts/fuzz.sh" ]; then
    "$root/scripts/fuzz.sh" --seconds 10 || failed+=("fuzz")
  fi
fi
if [ ${#failed[@]} -gt 0 ]; then log "FAILED: ${failed[*]}"; exit 1; fi
log "all passed"
