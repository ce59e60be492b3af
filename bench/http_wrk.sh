#!/usr/bin/env bash
# HTTP throughput of infergate next to nginx and bare ONNX Runtime, side by side
# in one run (see docs/benchmarks.md, "HTTP frontend").
#
#   infergate: wrk posts a KServe v2 JSON infer request for tests/models/mlp16.onnx,
#              once as the model comes (no config.yaml: every request runs alone)
#              and once with dynamic_batching {max_queue_delay_microseconds: 0}
#              (requests that wait while the model runs form the next batch)
#   nginx:     wrk posts the same request to nginx returning a fixed v2 JSON reply
#              of the same shape (the ceiling for any HTTP server on this machine)
#   bare ORT:  Session::Run of the same model at batch 1 in one thread
#              (bench/ort_overhead_bench, BM_BareOrt/1)
#
# The wrk targets alternate, round after round, so background load hits them
# alike; the medians over the rounds are reported, and each infergate figure's
# ratio to nginx is the median of the per-round ratios.
#
# Usage: bench/http_wrk.sh [rounds=5] [seconds=5] [connections=16] [io_threads=2]
# Needs: a build (scripts/build.sh), wrk, nginx. Loopback only; everything
# started here is stopped on exit.
set -euo pipefail
rounds=${1:-5}
seconds=${2:-5}
connections=${3:-16}
io_threads=${4:-2}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_BUILD_DIR:-$root/build}
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install -y $tool)" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The request: 16 features, batch 1.
body='{"id":"1","inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0,1.1,1.2,1.3,1.4,1.5]}]}'
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/json"
LUA

# infergate on a free port, read from its log line.
mkdir -p "$work/models/mlp/1" "$work/models/mlp_batched/1"
cp "$root/tests/models/mlp16.onnx" "$work/models/mlp/1/model.onnx"
cp "$root/tests/models/mlp16.onnx" "$work/models/mlp_batched/1/model.onnx"
echo "dynamic_batching: {max_queue_delay_microseconds: 0}" > "$work/models/mlp_batched/config.yaml"
cat > "$work/infergate.yaml" <<YAML
model_repository: $work/models
model_control_mode: none
log_level: warn
http:
  address: 127.0.0.1
  port: 0
  io_threads: $io_threads
YAML
"$build/src/infergate" serve --config "$work/infergate.yaml" --log-level info > "$work/infergate.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q "infergate ready" "$work/infergate.log" && break
  sleep 0.1
done
ig_port=$(sed -n 's/.*http: listening on [0-9.]*:\([0-9]*\).*/\1/p' "$work/infergate.log")
[ -n "$ig_port" ] || { cat "$work/infergate.log" >&2; exit 1; }
ig_url="http://127.0.0.1:$ig_port/v2/models/mlp/infer"
ib_url="http://127.0.0.1:$ig_port/v2/models/mlp_batched/infer"
reply=$(curl -sf -X POST --data "$body" "$ig_url")

# nginx answering the same reply, with as many workers as infergate has IO threads.
ng_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes $io_threads;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$ng_port;
    location / {
      default_type application/json;
      return 200 '$reply';
    }
  }
}
NGINX
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" > "$work/nginx/out.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf -X POST --data "$body" "http://127.0.0.1:$ng_port/" > /dev/null && break
  sleep 0.1
done
ng_url="http://127.0.0.1:$ng_port/v2/models/mlp/infer"

run_wrk() {  # url seconds -> "requests_per_sec p50_ms p99_ms"; fails on any error reply
  wrk -t2 -c"$connections" -d"$2"s --latency -s "$work/post.lua" "$1" > "$work/wrk.out"
  if grep -qE "Non-2xx|Socket errors" "$work/wrk.out"; then
    echo "wrk saw errors from $1:" >&2
    cat "$work/wrk.out" >&2
    return 1
  fi
  awk '
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    END {printf "%.0f %.3f %.3f\n", rps, ms(p50), ms(p99)}' "$work/wrk.out"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

run_wrk "$ig_url" 1 > /dev/null  # warm-up
run_wrk "$ib_url" 1 > /dev/null
run_wrk "$ng_url" 1 > /dev/null
: > "$work/rounds.txt"
for r in $(seq "$rounds"); do
  ng=$(run_wrk "$ng_url" "$seconds")
  ig=$(run_wrk "$ig_url" "$seconds")
  ib=$(run_wrk "$ib_url" "$seconds")
  echo "$ng $ig $ib" >> "$work/rounds.txt"
  echo "round $r (req/s p50_ms p99_ms): nginx $ng | infergate $ig | batched $ib" >&2
done
failures=$(curl -s "http://127.0.0.1:$ig_port/metrics" | grep -c 'outcome="failure"} [1-9]' || true)

ort_ns=$("$build/bench/ort_overhead_bench" --benchmark_filter='BM_BareOrt/1$' --benchmark_min_time=1 \
  --benchmark_format=csv 2>/dev/null | awk -F, '/BM_BareOrt\/1"/ {print $3}')
ort_rps=$(awk -v ns="$ort_ns" 'BEGIN {printf "%.0f", 1e9 / ns}')

col() { awk -v c="$1" '{print $c}' "$work/rounds.txt" | median; }
ratio() { awk -v c="$1" '{printf "%.4f\n", $c / $1}' "$work/rounds.txt" | median; }
echo
echo "wrk -t2 -c$connections -d${seconds}s --latency, $rounds rounds alternating, medians;" \
     "infergate io_threads=$io_threads, nginx worker_processes=$io_threads"
echo "| target | req/s | p50 ms | p99 ms | vs nginx |"
echo "|---|---|---|---|---|"
echo "| nginx, fixed v2 JSON reply | $(col 1) | $(col 2) | $(col 3) | 1.00 |"
echo "| infergate, v2 JSON infer, mlp16 as it comes | $(col 4) | $(col 5) | $(col 6) | $(ratio 4 | xargs printf '%.2f') |"
echo "| infergate, the same with dynamic batching | $(col 7) | $(col 8) | $(col 9) | $(ratio 7 | xargs printf '%.2f') |"
echo "| bare ORT Session::Run, mlp16 batch 1, one thread | $ort_rps | $(awk -v ns="$ort_ns" 'BEGIN {printf "%.4f", ns / 1e6}') | | $(awk -v a="$ort_rps" -v b="$(col 1)" 'BEGIN {printf "%.2f", a / b}') |"
[ "$failures" = "0" ] || echo "warning: infergate counted failed inferences" >&2
