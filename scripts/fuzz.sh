#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) and runs each for a while on a
# temporary copy of its seed corpus (tests/fuzz/corpus/<target>/; nothing is
# written into the repository).
#
# Usage: scripts/fuzz.sh [--seconds N] [TARGET...]
#   --seconds N   how long each target runs (default 60)
#   TARGET        v2_json_request, telemetry_json, ... (default: all of them)
# Environment: INFERGATE_FUZZ_BUILD_DIR (default build-sanitize/, configured
# with clang, INFERGATE_SANITIZE and INFERGATE_FUZZ when it is not yet).
#
# Prints per target: executions, executions per second, corpus size,
# coverage and the result. Exits non-zero when a target found a crash, a
# leak, a timeout or ran out of memory; the reproducer's path is printed
# (re-run it with: <build>/tests/fuzz/<target>_fuzzer <reproducer>).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_FUZZ_BUILD_DIR:-$root/build-sanitize}
seconds=60

# target  max_len  timeout(s)  rss_limit_mb  [seed corpus, when another target's]
limits=(
  "v2_json_request     8192 10 2560"
  "telemetry_json      8192 10 2560"
  "grpc_codec          8192 10 2560"
  "h2_connection      16384 10 2560"
  "mqtt_payload        8192 10 2560"
  "mqtt_topic_pattern  1024 10 2560"
  "mqtt_packet         4096 10 2560"
  "mqtt_inbox_record   4096 10 2560"
  "model_config_yaml   4096 10 2560"
  "server_config       8192 10 2560"
  "onnx_model_load     8192 30 3072"
  "onnx_scan           8192 10 2560 onnx_model_load"
)
all_targets=()
for l in "${limits[@]}"; do all_targets+=("${l%% *}"); done

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || usage 2; seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; usage 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz: unknown target $t (known: ${all_targets[*]})" >&2; exit 2; }
done

quiet() {  # runs a command, showing its output only when it fails
  local out
  if ! out=$("$@" 2>&1); then printf '%s\n' "$out" | tail -40 >&2; echo "fuzz: failed: $*" >&2; exit 1; fi
}
if [ ! -f "$build/build.ninja" ]; then
  echo "fuzz: configuring $build" >&2
  CC=clang CXX=clang++ quiet cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DINFERGATE_SANITIZE=ON -DINFERGATE_FUZZ=ON -DINFERGATE_BUILD_BENCH=OFF
fi
echo "fuzz: building ${targets[*]}" >&2
quiet cmake --build "$build" --target "${targets[@]/%/_fuzzer}"

work=$(mktemp -d "${TMPDIR:-/tmp}/infergate-fuzz.XXXXXX")
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0}

failed=0
printf '%-20s %10s %8s %8s %8s %8s  %s\n' target execs exec/s corpus cov ft result
for t in "${targets[@]}"; do
  read -r _ max_len timeout rss seeds <<<"$(printf '%s\n' "${limits[@]}" | grep "^$t ")"
  corpus="$work/$t/corpus"
  artifacts="$work/$t/artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp "$root/tests/fuzz/corpus/${seeds:-$t}/"* "$corpus/" 2>/dev/null || true
  log="$work/$t/log"
  rc=0
  nice "$build/tests/fuzz/${t}_fuzzer" -max_total_time="$seconds" -max_len="$max_len" -timeout="$timeout" \
    -rss_limit_mb="$rss" -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
  stat() { awk -v k="stat::$1:" '$1 == k {print $2}' "$log" | tail -1; }
  status_line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  field() { sed -n "s/.* $1: \([0-9]*\).*/\1/p" <<<"$status_line"; }
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$status_line")
  result=ok
  if [ "$rc" -ne 0 ]; then
    failed=1
    reproducer=$(ls -1 "$artifacts" 2>/dev/null | head -1)
    result="FAILED (exit $rc): ${reproducer:+$artifacts/$reproducer} log: $log"
  fi
  printf '%-20s %10s %8s %8s %8s %8s  %s\n' "$t" "$(stat number_of_executed_units)" \
    "$(stat average_exec_per_sec)" "${corp:-?}" "$(field cov)" "$(field ft)" "$result"
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -10 | sed 's/^/    /'
  fi
done

if [ "$failed" -ne 0 ]; then
  echo "fuzz: findings kept in $work" >&2
  exit 1
fi
rm -rf "$work"
