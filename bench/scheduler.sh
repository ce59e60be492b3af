#!/usr/bin/env bash
# The scheduler benchmarks (docs/benchmarks.md, "Dynamic batching"): each
# figure is a ratio of two things measured alternately in one run, on one
# server, so the shared machine's load falls on both sides alike.
#
#   1. mlp_heavy (512 -> 2048 -> 2048 -> 16, 5.2 M parameters), 64 HTTP
#      clients: dynamic batching on vs off (target >= 3x throughput);
#   2. mlp16 (tests/models), 64 HTTP clients: batching on vs off; throughput
#      must not drop and p99 must stay within max_queue_delay + 2 ms;
#   3. mobilenet_v2 (torchvision, random weights), through the server over
#      HTTP with the binary tensor extension vs raw ONNX Runtime in-process at
#      the same thread settings (bench/ort_throughput; target >= 0.97x); and
#      the same with the input in system shared memory (infergate-bench
#      --shared-memory system: no 600 KB through loopback TCP).
#
# Usage: bench/scheduler.sh [--rounds N] [--seconds S] [--only mobilenet] [--out FILE] [--smoke]
# (--only mobilenet: the MobileNet cases alone, for many short rounds)
# Needs a build (scripts/build.sh) and Debian's python3-torch and
# python3-torchvision for the models (installed here when missing; with
# --smoke, one short round that exits 77, "skipped", when they are missing).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_BUILD_DIR:-$root/build}
rounds=3
seconds=5
out=""
smoke=0
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1; rounds=1; seconds=0.3; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--seconds S] [--only mobilenet] [--out FILE] [--smoke]" >&2; exit 2 ;;
  esac
done

if ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
  [ "$smoke" = 1 ] && { echo "python3-torch/torchvision missing: skipped" >&2; exit 77; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    python3-torch python3-torchvision >/dev/null
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

repo=$work/models
/usr/bin/python3 "$root/bench/models/make_bench_models.py" "$work/gen" >/dev/null
# One model file, two names: the same weights with and without batching.
add_model() {  # name source-file config-text
  mkdir -p "$repo/$1/1"
  ln -s "$2" "$repo/$1/1/model.onnx"
  printf '%b' "$3" > "$repo/$1/config.yaml"
}
batched='max_batch_size: 64\ndynamic_batching: {max_queue_delay_microseconds: 500}\n'
unbatched='max_batch_size: 64\n'
add_model mlp_heavy_batched "$work/gen/mlp_heavy/1/model.onnx" "$batched"
add_model mlp_heavy_unbatched "$work/gen/mlp_heavy/1/model.onnx" "$unbatched"
add_model mlp16_batched "$root/tests/models/mlp16.onnx" "$batched"
add_model mlp16_unbatched "$root/tests/models/mlp16.onnx" "$unbatched"
add_model mobilenet_v2 "$work/gen/mobilenet_v2/1/model.onnx" 'max_batch_size: 8\n'
# The same with a pool of one thread of its own, leaving a core to the
# server's IO, scheduler and the load generator.
add_model mobilenet_v2_t1 "$work/gen/mobilenet_v2/1/model.onnx" \
  'max_batch_size: 8\nonnxruntime: {intra_op_threads: 1}\n'

printf 'shared_memory: {enabled: true}\n' >"$work/infergate.yaml"
"$build/src/infergate" serve --config "$work/infergate.yaml" --model-repository "$repo" \
  --http-address 127.0.0.1 --http-port 0 --grpc-address 127.0.0.1 --grpc-port 0 \
  --model-control-mode none --log-level info >"$work/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*http: listening on [^ ]*:\([0-9]\+\).*/\1/p' "$work/server.log" | head -1)
  [ -n "$port" ] && grep -q "infergate ready" "$work/server.log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "the server did not report its HTTP port" >&2; cat "$work/server.log" >&2; exit 1; }

bench() {  # label model input concurrency [extra flags] -> JSON row file
  local label=$1 model=$2 input=$3 concurrency=$4; shift 4
  "$build/tools/infergate-bench/infergate-bench" --target http --url "http://127.0.0.1:$port" \
    --model "$model" --input "$input" --concurrency "$concurrency" --warmup 1 --duration "$seconds" \
    --label "$label" --format json --progress off --strict "$@" >>"$work/rows.jsonl"
}
raw() {  # label [ort_throughput flags] -> a line of <label>.csv
  local label=$1; shift
  "$build/bench/ort_throughput" "$work/gen/mobilenet_v2/1/model.onnx" --seconds "$seconds" --csv "$@" \
    | tail -1 >>"$work/raw_$label.csv"
}
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds" >&2
  if [ "$only" != mobilenet ]; then
    bench heavy_on mlp_heavy_batched features:FP32:1,512 64 --binary
    bench heavy_off mlp_heavy_unbatched features:FP32:1,512 64 --binary
    bench mlp16_on mlp16_batched input:FP32:1,16 64
    bench mlp16_off mlp16_unbatched input:FP32:1,16 64
  fi
  # Two requests in flight keep the one instance busy without queueing more
  # 600 KB bodies than that; raw ORT runs back to back on one caller. Each
  # server run sits between two raw runs, and its ratio is taken against
  # their mean: the machine's drift within a round falls on both sides.
  raw mobilenet
  bench mobilenet_server mobilenet_v2 image:FP32:1,3,224,224 2 --binary
  raw mobilenet
  bench mobilenet_server_shm mobilenet_v2 image:FP32:1,3,224,224 2 --shared-memory system
  raw mobilenet
  raw mobilenet_t1 --intra-op-threads 1
  bench mobilenet_server_t1 mobilenet_v2_t1 image:FP32:1,3,224,224 2 --binary
  raw mobilenet_t1 --intra-op-threads 1
done

/usr/bin/python3 - "$work/rows.jsonl" "$work/raw_mobilenet.csv" "$work/raw_mobilenet_t1.csv" "$rounds" "$seconds" <<'PY' | tee ${out:+"$out"}
import json, statistics, sys
rows_file, raw_file, raw_t1_file, rounds, seconds = sys.argv[1:6]
rounds = int(rounds)
docs, buf = [], ""
for line in open(rows_file):
    buf += line
    if line.startswith("}"):
        docs.append(json.loads(buf)); buf = ""
by = {}
for d in docs:
    for r in d["rows"]:
        by.setdefault(r["label"], []).append(r)
def med(label, f):
    return statistics.median(f(r) for r in by[label])
thr = lambda r: r["throughput_rps"]
p99 = lambda r: r["latency_ms"]["p99"]
errs = lambda r: r["errors"]
def raw_rates(path):
    return [float(l.split(",")[4]) for l in open(path) if l.strip()]
raw, raw_t1 = raw_rates(raw_file), raw_rates(raw_t1_file)  # 3 and 2 per round
def paired(label, raws, per_round, before):
    """Per round: the server's rate over the mean of the raw runs either side of it."""
    out = []
    for i, row in enumerate(by[label]):
        a = raws[i * per_round + before]
        b = raws[i * per_round + before + 1]
        out.append(thr(row) / ((a + b) / 2))
    return out
def ratio_line(name, ratios):
    return (f"- {name}: **{statistics.median(ratios):.3f}x** (rounds: "
            + ", ".join(f"{x:.3f}" for x in ratios) + "; target >= 0.97x)")
print(f"rounds: {rounds}, {seconds} s each; medians over rounds\n")
print("| case | throughput (req/s) | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|")
for label in ["heavy_on", "heavy_off", "mlp16_on", "mlp16_off", "mobilenet_server", "mobilenet_server_shm",
              "mobilenet_server_t1"]:
    if label not in by: continue
    print(f"| {label} | {med(label, thr):.0f} | {med(label, lambda r: r['latency_ms']['p50']):.2f} | "
          f"{med(label, p99):.2f} | {sum(errs(r) for r in by[label])} |")
print(f"| mobilenet raw ORT (1 caller) | {statistics.median(raw):.1f} | | | |")
print(f"| mobilenet raw ORT (1 caller, 1 thread) | {statistics.median(raw_t1):.1f} | | | |")
print()
if "heavy_on" in by:
    print(f"- mlp_heavy batching on / off: {med('heavy_on', thr) / med('heavy_off', thr):.2f}x (target >= 3x)")
    print(f"- mlp16 batching on / off: {med('mlp16_on', thr) / med('mlp16_off', thr):.2f}x (target >= 1x); "
          f"p99 on - off: {med('mlp16_on', p99) - med('mlp16_off', p99):+.2f} ms (target <= 0.5 + 2 ms)")
print("- mobilenet_v2 server / raw ORT, each round's server run over the raw runs beside it, median of rounds:")
print("  " + ratio_line("shared pool of 2, input over HTTP (binary)", paired("mobilenet_server", raw, 3, 0)))
print("  " + ratio_line("shared pool of 2, input in shared memory", paired("mobilenet_server_shm", raw, 3, 1)))
print("  " + ratio_line("1 intra-op thread, input over HTTP (binary)", paired("mobilenet_server_t1", raw_t1, 2, 0)))
PY
