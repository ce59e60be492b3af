#!/usr/bin/env bash
# Whole-system throughput of the 16-feature MLP (tests/models/mlp16.onnx,
# FP32 [1,16] -> [1,4]) through the real infergate binary, measured with
# h2load (Debian: nghttp2-client) at 16 concurrent streams, side by side in
# one run:
#   grpc-infer  ModelInfer over gRPC: 1 connection, 16 streams (-c 1 -m 16)
#   grpc-infer-c4   the same 16 streams over 4 connections (-c 4 -m 4)
#   grpc-infer-c16  16 connections of 1 stream each (-c 16 -m 1), the load
#               http-infer puts on the HTTP frontend
#   grpc-live   ServerLive over gRPC, 1 connection, 16 streams: the transport alone, no model
#   grpc-live-c16   ServerLive over 16 connections of 1 stream each
#   base-*      with BASELINE=path/to/another/infergate: grpc-infer and
#               grpc-infer-c16 against a second server run from that binary
#               (same repository), interleaved with the rest (before/after)
#   http-infer  POST /v2/models/mlp/infer (KServe v2 JSON) over HTTP/1.1,
#               16 connections; only when the binary has --http-port
#   bare-ort    one bare ONNX Runtime Session::Run of the same file at batch 1
#               (bench/ort_overhead_bench BM_BareOrt/1), as runs per second of one thread
# Each h2load case runs ROUNDS times interleaved; the medians are printed,
# with the server's CPU time per request (user + system, from /proc, over
# the case's run; all the server's threads).
# A gRPC error still has HTTP status 200, so the model's success and failure
# counts are checked through ModelStatistics afterwards.
#
# Usage: bench/grpc_h2load.sh          (env: N=requests per case, ROUNDS, BATCHING=1
#                                       for a dynamic_batching block in the model config,
#                                       BASELINE=infergate binary to compare against)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_BUILD_DIR:-$root/build}
n=${N:-20000}
rounds=${ROUNDS:-3}
command -v h2load >/dev/null || { echo "h2load not found: apt-get install nghttp2-client" >&2; exit 2; }

baseline=${BASELINE:-}
tmp=$(mktemp -d)
server_pid=
base_pid=
cleanup() {
  for pid in $server_pid $base_pid; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/repo/mlp/1"
cp "$root/tests/models/mlp16.onnx" "$tmp/repo/mlp/1/model.onnx"
if [ "${BATCHING:-0}" = 1 ]; then
  printf 'dynamic_batching:\n  max_queue_delay_microseconds: 0\n' > "$tmp/repo/mlp/config.yaml"
fi
"$build/bench/grpc_payload" infer "$tmp/infer.grpc"
"$build/bench/grpc_payload" live "$tmp/live.grpc"
values=$(seq 0 15 | awk '{printf "%s%.2f", (NR>1?",":""), ($1%7)*0.25-0.5}')
printf '{"inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[%s]}]}' "$values" > "$tmp/infer.json"

flags=(serve --model-repository "$tmp/repo" --model-control-mode none --grpc-address 127.0.0.1 --grpc-port 0)
http=0
if "$build/src/infergate" serve --help | grep -q -- --http-port; then
  flags+=(--http-port 0)
  http=1
fi
wait_ready() {  # pid, log
  for _ in $(seq 300); do
    grep -q "infergate ready" "$2" && break
    kill -0 "$1" 2>/dev/null || { cat "$2" >&2; exit 1; }
    sleep 0.1
  done
  grep -q "infergate ready" "$2" || { cat "$2" >&2; exit 1; }
}
"$build/src/infergate" "${flags[@]}" > "$tmp/log" 2>&1 &
server_pid=$!
wait_ready "$server_pid" "$tmp/log"
grpc_port=$(sed -n 's/.*grpc: listening on [^ ]*:\([0-9]*\).*/\1/p' "$tmp/log" | head -1)
if [ -n "$baseline" ]; then
  base_flags=(serve --model-repository "$tmp/repo" --model-control-mode none --grpc-address 127.0.0.1 --grpc-port 0)
  if "$baseline" serve --help | grep -q -- --http-port; then base_flags+=(--http-port 0); fi
  "$baseline" "${base_flags[@]}" > "$tmp/base.log" 2>&1 &
  base_pid=$!
  wait_ready "$base_pid" "$tmp/base.log"
  base_port=$(sed -n 's/.*grpc: listening on [^ ]*:\([0-9]*\).*/\1/p' "$tmp/base.log" | head -1)
fi
http_port=$(sed -n 's/.*http: listening on [^ ]*:\([0-9]*\).*/\1/p' "$tmp/log" | head -1)

grpc_h=(-H 'content-type: application/grpc' -H 'te: trailers')
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system time of a process
declare -A results cpu
run() {  # name, h2load arguments...: adds req/s to results[name], the server's CPU us per request to cpu[name]
  local name=$1
  shift
  local pid=$server_pid
  case "$name" in base-*) pid=$base_pid ;; esac
  local before
  before=$(cpu_ticks "$pid")
  results[$name]+="$(h2load "$@" | tee -a "$tmp/h2load.$name" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p') "
  cpu[$name]+="$(awk -v a="$before" -v b="$(cpu_ticks "$pid")" -v n="$n" -v t="$ticks" \
    'BEGIN {printf "%.1f", (b - a) / t * 1e6 / n}') "
}
infer_path=/inference.GRPCInferenceService/ModelInfer
live_path=/inference.GRPCInferenceService/ServerLive
for round in $(seq "$rounds"); do
  run grpc-infer -n "$n" -c 1 -m 16 -d "$tmp/infer.grpc" "${grpc_h[@]}" \
    "http://127.0.0.1:$grpc_port$infer_path"
  if [ -n "$baseline" ]; then
    run base-grpc-infer -n "$n" -c 1 -m 16 -d "$tmp/infer.grpc" "${grpc_h[@]}" \
      "http://127.0.0.1:$base_port$infer_path"
  fi
  run grpc-infer-c4 -n "$n" -c 4 -m 4 -d "$tmp/infer.grpc" "${grpc_h[@]}" \
    "http://127.0.0.1:$grpc_port$infer_path"
  run grpc-infer-c16 -n "$n" -c 16 -m 1 -d "$tmp/infer.grpc" "${grpc_h[@]}" \
    "http://127.0.0.1:$grpc_port$infer_path"
  if [ -n "$baseline" ]; then
    run base-grpc-infer-c16 -n "$n" -c 16 -m 1 -d "$tmp/infer.grpc" \
      "${grpc_h[@]}" "http://127.0.0.1:$base_port$infer_path"
  fi
  run grpc-live -n "$n" -c 1 -m 16 -d "$tmp/live.grpc" "${grpc_h[@]}" \
    "http://127.0.0.1:$grpc_port$live_path"
  run grpc-live-c16 -n "$n" -c 16 -m 1 -d "$tmp/live.grpc" "${grpc_h[@]}" \
    "http://127.0.0.1:$grpc_port$live_path"
  if [ "$http" = 1 ] && [ -n "$http_port" ]; then
    run http-infer --h1 -n "$n" -c 16 -m 1 -d "$tmp/infer.json" \
      -H 'content-type: application/json' "http://127.0.0.1:$http_port/v2/models/mlp/infer"
  fi
done
for f in "$tmp"/h2load.*; do
  if ! grep -q " 0 failed, 0 errored, 0 timeout" "$f"; then echo "h2load reported failures in $f:" >&2; cat "$f" >&2; exit 1; fi
done
stats=$("$build/bench/grpc_payload" stats "127.0.0.1:$grpc_port" mlp)
expected=$((n * rounds * (3 + http)))
echo "model mlp: $stats (expected success $expected fail 0)"
case "$stats" in "success $expected fail 0 "*) ;; *) echo "unexpected inference outcome" >&2; exit 1;; esac
if [ -n "$baseline" ]; then
  stats=$("$build/bench/grpc_payload" stats "127.0.0.1:$base_port" mlp)
  expected=$((n * rounds * 2))
  echo "baseline model mlp: $stats (expected success $expected fail 0)"
  case "$stats" in "success $expected fail 0 "*) ;; *) echo "unexpected inference outcome" >&2; exit 1;; esac
fi

ort_ns=$("$build/bench/ort_overhead_bench" --benchmark_filter='^BM_BareOrt/1$' --benchmark_min_time=0.5 \
  --benchmark_format=csv 2>/dev/null | awk -F, '/BM_BareOrt\/1"/ {print $3}')
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
printf '%-20s %12s %16s   %s\n' case "median req/s" "server us/req" "rounds (req/s)"
for name in grpc-infer base-grpc-infer grpc-infer-c4 grpc-infer-c16 base-grpc-infer-c16 grpc-live grpc-live-c16 \
  http-infer; do
  [ -n "${results[$name]:-}" ] || continue
  printf '%-20s %12.0f %16.1f   %s\n' "$name" "$(echo "${results[$name]}" | median)" \
    "$(echo "${cpu[$name]}" | median)" "${results[$name]}"
done
printf '%-20s %12.0f %16s   (one thread, %s ns per run)\n' bare-ort "$(awk -v ns="$ort_ns" 'BEGIN {print 1e9 / ns}')" "" "$ort_ns"
