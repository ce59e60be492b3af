#!/usr/bin/env bash
# A remote model through an edge infergate vs the cloud infergate called
# directly (docs/benchmarks.md, "Remote models"): two servers on loopback,
# the cloud serving tests/models/mlp16.onnx as `mlp`, the edge serving
# `mlp_remote` (backend: remote, grpc:// to the cloud, instance_count 16 so
# that 16 remote calls can be in flight) and `mlp_batched` (the same with
# dynamic batching: up to 16 requests per remote call, 200 us queue delay,
# 4 calls in flight). infergate-bench drives ModelInfer
# over gRPC at 1 and 16 requests in flight, alternating cloud and edge in
# each round; the medians of the rounds are printed with the edge's overhead
# (edge p50 - cloud p50 at c=1) and the throughput ratio at c=16.
#
# Usage: bench/remote_model.sh [--rounds N] [--seconds S] [--smoke]
# (--smoke: one short round that fails when any request failed)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_BUILD_DIR:-$root/build}
rounds=3
seconds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) rounds=1; seconds=0.5; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--seconds S] [--smoke]" >&2; exit 2 ;;
  esac
done
# shellcheck source=lib.sh
source "$root/bench/lib.sh"
bench_setup remote_model 0

start_server() {  # name repo -> sets <name>_grpc
  "$infergate" serve --model-repository "$2" --http-port 0 --grpc-port 0 --log-level info >"$work/$1.log" 2>&1 &
  pids+=($!)
  wait_for_line "$work/$1.log" "infergate ready" 30 >/dev/null
  local port
  port=$(grep -m1 -oE 'grpc: listening on 127\.0\.0\.1:[0-9]+' "$work/$1.log" | grep -oE '[0-9]+$')
  printf -v "$1_grpc" '%s' "$port"
}

mkdir -p "$work/cloud/mlp/1" "$work/edge/mlp_remote" "$work/edge/mlp_batched"
cp "$root/tests/models/mlp16.onnx" "$work/cloud/mlp/1/model.onnx"
start_server cloud "$work/cloud"
# shellcheck disable=SC2154  # set by start_server
printf 'instance_count: 16\nremote: {url: "grpc://127.0.0.1:%s", model: mlp, timeout_ms: 2000}\n' "$cloud_grpc" \
  >"$work/edge/mlp_remote/config.yaml"
printf 'instance_count: 4\nmax_batch_size: 16\ndynamic_batching: {max_queue_delay_microseconds: 200}\nremote: {url: "grpc://127.0.0.1:%s", model: mlp, timeout_ms: 2000}\n' \
  "$cloud_grpc" >"$work/edge/mlp_batched/config.yaml"
start_server edge "$work/edge"

run() {  # port model -> CSV rows for c=1 and c=16
  "$bench" --target grpc --grpc-address "127.0.0.1:$1" --model "$2" --input input:FP32:1,16 \
    --concurrency 1,16 --duration "$seconds" --warmup 0.5 --format csv --strict
}
: >"$work/rows.csv"
for ((r = 1; r <= rounds; r++)); do
  # shellcheck disable=SC2154
  run "$cloud_grpc" mlp | tail -n +2 | sed 's/^/cloud,/' >>"$work/rows.csv"
  # shellcheck disable=SC2154
  run "$edge_grpc" mlp_remote | tail -n +2 | sed 's/^/edge,/' >>"$work/rows.csv"
  run "$edge_grpc" mlp_batched | tail -n +2 | sed 's/^/batched,/' >>"$work/rows.csv"
  log "round $r of $rounds done"
done

/usr/bin/python3 - "$work/rows.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.reader(open(sys.argv[1])))
# side, then infergate-bench's columns: label,target,mode,concurrency,rate,duration_s,requests,ok,errors,
# throughput_rps,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors_by_kind
med = {}
names = {"cloud": "cloud directly", "edge": "edge -> cloud (remote model)",
         "batched": "edge -> cloud, dynamic batching at the edge"}
for side in names:
    for c in ("1", "16"):
        sel = [r for r in rows if r[0] == side and r[4] == c]
        med[side, c] = {k: statistics.median(float(r[i]) for r in sel)
                        for k, i in (("rps", 10), ("p50", 12), ("p99", 14))}
print("| path | c | req/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|")
for side in names:
    for c in ("1", "16"):
        m = med[side, c]
        print(f"| {names[side]} | {c} | "
              f"{m['rps']:.0f} | {m['p50']:.3f} | {m['p99']:.3f} |")
print(f"\nedge overhead at c=1 (p50): {(med['edge','1']['p50'] - med['cloud','1']['p50']) * 1000:.0f} us; "
      f"throughput at c=16: {med['edge','16']['rps'] / med['cloud','16']['rps']:.2f}x the cloud's, "
      f"{med['batched','16']['rps'] / med['cloud','16']['rps']:.2f}x with batching at the edge")
PY
