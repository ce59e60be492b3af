#!/usr/bin/env bash
# Whole-system throughput of the 16-feature MLP (tests/models/mlp16.onnx,
# FP32 [1,16] -> [1,4]) through the real infergate binary, measured with
# h2load (Debian: nghttp2-client) at 16 concurrent streams, side by side in
# one run:
#   grpc-infer  ModelInfer over gRPC: 1 connection, 16 streams (-c 1 -m 16)
#   grpc-live   ServerLive over gRPC, same load: the transport alone, no model
#   http-infer  POST /v2/models/mlp/infer (KServe v2 JSON) over HTTP/1.1,
#               16 connections; only when the binary has --http-port
#   bare-ort    one bare ONNX Runtime Session::Run of the same file at batch 1
#               (bench/ort_overhead_bench BM_BareOrt/1), as runs per second of one thread
# Each h2load case runs ROUNDS times interleaved; the medians are printed.
# A gRPC error still has HTTP status 200, so the model's success and failure
# counts are checked through ModelStatistics afterwards.
#
# Usage: bench/grpc_h2load.sh          (env: N=requests per case, ROUNDS, BATCHING=1
#                                       for a dynamic_batching block in the model config)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_BUILD_DIR:-$root/build}
n=${N:-20000}
rounds=${ROUNDS:-3}
command -v h2load >/dev/null || { echo "h2load not found: apt-get install nghttp2-client" >&2; exit 2; }

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
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
"$build/src/infergate" "${flags[@]}" > "$tmp/log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do
  grep -q "infergate ready" "$tmp/log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/log" >&2; exit 1; }
  sleep 0.1
done
grep -q "infergate ready" "$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
grpc_port=$(sed -n 's/.*grpc: listening on [^ ]*:\([0-9]*\).*/\1/p' "$tmp/log" | head -1)
http_port=$(sed -n 's/.*http: listening on [^ ]*:\([0-9]*\).*/\1/p' "$tmp/log" | head -1)

grpc_h=(-H 'content-type: application/grpc' -H 'te: trailers')
run() {  # name, h2load arguments...; prints req/s
  local name=$1
  shift
  h2load "$@" | tee -a "$tmp/h2load.$name" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p'
}
declare -A results
for round in $(seq "$rounds"); do
  results[grpc-infer]+="$(run grpc-infer -n "$n" -c 1 -m 16 -d "$tmp/infer.grpc" "${grpc_h[@]}" \
    "http://127.0.0.1:$grpc_port/inference.GRPCInferenceService/ModelInfer") "
  results[grpc-live]+="$(run grpc-live -n "$n" -c 1 -m 16 -d "$tmp/live.grpc" "${grpc_h[@]}" \
    "http://127.0.0.1:$grpc_port/inference.GRPCInferenceService/ServerLive") "
  if [ "$http" = 1 ] && [ -n "$http_port" ]; then
    results[http-infer]+="$(run http-infer --h1 -n "$n" -c 16 -m 1 -d "$tmp/infer.json" \
      -H 'content-type: application/json' "http://127.0.0.1:$http_port/v2/models/mlp/infer") "
  fi
done
for f in "$tmp"/h2load.*; do
  if ! grep -q " 0 failed, 0 errored, 0 timeout" "$f"; then echo "h2load reported failures in $f:" >&2; cat "$f" >&2; exit 1; fi
done
stats=$("$build/bench/grpc_payload" stats "127.0.0.1:$grpc_port" mlp)
expected=$((n * rounds * (1 + http)))
echo "model mlp: $stats (expected success $expected fail 0)"
case "$stats" in "success $expected fail 0 "*) ;; *) echo "unexpected inference outcome" >&2; exit 1;; esac

ort_ns=$("$build/bench/ort_overhead_bench" --benchmark_filter='^BM_BareOrt/1$' --benchmark_min_time=0.5 \
  --benchmark_format=csv 2>/dev/null | awk -F, '/BM_BareOrt\/1"/ {print $3}')
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
printf '%-12s %12s   %s\n' case "median req/s" "rounds"
for name in grpc-infer grpc-live http-infer; do
  [ -n "${results[$name]:-}" ] || continue
  printf '%-12s %12.0f   %s\n' "$name" "$(echo "${results[$name]}" | median)" "${results[$name]}"
done
printf '%-12s %12.0f   (one thread, %s ns per run)\n' bare-ort "$(awk -v ns="$ort_ns" 'BEGIN {print 1e9 / ns}')" "$ort_ns"
