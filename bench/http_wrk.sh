#!/usr/bin/env bash
# HTTP throughput of infergate next to nginx and bare ONNX Runtime, side by side
# in one run (docs/benchmarks.md, "HTTP frontend").
#
# wrk posts one KServe v2 JSON infer request (tests/models/mlp16.onnx, FP32
# [1,16]) to each target:
#   nginx          returns a fixed v2 JSON reply of the same shape: the ceiling
#                  for any HTTP server on this machine
#   infergate      the server's defaults (ONNX Runtime pool of one thread per core)
#   ...intra1      onnxruntime.intra_op_threads: 1 (no pool hand-off for a tiny model)
#   ...batched     the same plus dynamic_batching {max_queue_delay_microseconds: 0}
#                  (requests that wait while the model runs form the next batch)
# and bare ORT: Session::Run of the model at batch 1 in one thread
# (bench/ort_overhead_bench, BM_BareOrt/1).
#
# The targets alternate, round after round, so background load hits them
# alike. Reported: medians over the rounds; each ratio to nginx is the median
# of the per-round ratios. Next to throughput, the CPU time the server
# processes used per request (utime+stime from /proc), which depends less on
# other load on the machine.
#
# Usage: bench/http_wrk.sh [rounds=5] [seconds=5] [connections=16] [io_threads=2]
# Needs a build (scripts/build.sh), wrk and nginx. Loopback only; everything
# started here is stopped on exit; any error reply fails the run.
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

body='{"id":"1","inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0,1.1,1.2,1.3,1.4,1.5]}]}'
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/json"
LUA

# start_infergate NAME INTRA_OP_THREADS: a server with models mlp and mlp_batched;
# sets port_NAME and pid_NAME.
start_infergate() {
  local dir="$work/$1"
  mkdir -p "$dir/models/mlp/1" "$dir/models/mlp_batched/1"
  cp "$root/tests/models/mlp16.onnx" "$dir/models/mlp/1/model.onnx"
  cp "$root/tests/models/mlp16.onnx" "$dir/models/mlp_batched/1/model.onnx"
  echo "dynamic_batching: {max_queue_delay_microseconds: 0}" > "$dir/models/mlp_batched/config.yaml"
  cat > "$dir/infergate.yaml" <<YAML
model_repository: $dir/models
model_control_mode: none
onnxruntime:
  intra_op_threads: $2
http:
  address: 127.0.0.1
  port: 0
  io_threads: $io_threads
grpc:
  enabled: false
YAML
  "$build/src/infergate" serve --config "$dir/infergate.yaml" > "$dir/log" 2>&1 &
  pids+=($!)
  printf -v "pid_$1" '%s' "$!"
  for _ in $(seq 100); do
    grep -q "infergate ready" "$dir/log" && break
    sleep 0.1
  done
  local port
  port=$(sed -n 's/.*http: listening on [0-9.]*:\([0-9]*\).*/\1/p' "$dir/log")
  [ -n "$port" ] || { cat "$dir/log" >&2; exit 1; }
  printf -v "port_$1" '%s' "$port"
}
start_infergate default 0
start_infergate intra1 1
reply=$(curl -sf -X POST --data "$body" "http://127.0.0.1:$port_default/v2/models/mlp/infer")

# nginx answering that reply, one worker per core (its best on this machine).
ng_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes $(nproc);
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
ng_pid=$!
pids+=($ng_pid)
for _ in $(seq 100); do
  curl -sf -X POST --data "$body" "http://127.0.0.1:$ng_port/" > /dev/null && break
  sleep 0.1
done
ng_workers=$(pgrep -P "$ng_pid" | tr '\n' ' ')

# Targets: name, URL, the server processes whose CPU time counts.
names=(nginx infergate intra1 intra1_batched)
urls=("http://127.0.0.1:$ng_port/v2/models/mlp/infer"
      "http://127.0.0.1:$port_default/v2/models/mlp/infer"
      "http://127.0.0.1:$port_intra1/v2/models/mlp/infer"
      "http://127.0.0.1:$port_intra1/v2/models/mlp_batched/infer")
procs=("$ng_workers" "$pid_default" "$pid_intra1" "$pid_intra1")

cpu_ticks() {  # pids... -> utime+stime summed, in clock ticks
  for pid in "$@"; do awk '{print $14 + $15}' "/proc/$pid/stat"; done | awk '{t += $1} END {print t}'
}

run_wrk() {  # url seconds pids... -> "req/s p50_ms p99_ms server_cpu_us_per_request"
  local url=$1 secs=$2
  shift 2
  local before after
  before=$(cpu_ticks "$@")
  wrk -t2 -c"$connections" -d"$secs"s --latency -s "$work/post.lua" "$url" > "$work/wrk.out"
  after=$(cpu_ticks "$@")
  if grep -qE "Non-2xx|Socket errors" "$work/wrk.out"; then
    echo "wrk saw errors from $url:" >&2
    cat "$work/wrk.out" >&2
    return 1
  fi
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    /Requests\/sec/ {rps=$2}
    / requests in / {n=$1}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    END {printf "%.0f %.3f %.3f %.1f\n", rps, ms(p50), ms(p99), ticks / hz * 1e6 / n}' "$work/wrk.out"
}

for i in "${!names[@]}"; do  # warm-up
  # shellcheck disable=SC2086
  run_wrk "${urls[$i]}" 1 ${procs[$i]} > /dev/null
done
: > "$work/rounds.txt"
for r in $(seq "$rounds"); do
  line=""
  for i in "${!names[@]}"; do
    # shellcheck disable=SC2086
    line+="$(run_wrk "${urls[$i]}" "$seconds" ${procs[$i]}) "
  done
  echo "$line" >> "$work/rounds.txt"
  echo "round $r (req/s p50_ms p99_ms cpu_us/req per target: ${names[*]}): $line" >&2
done

ort_ns=$("$build/bench/ort_overhead_bench" --benchmark_filter='BM_BareOrt/1$' --benchmark_min_time=1 \
  --benchmark_format=csv 2>/dev/null | awk -F, '/BM_BareOrt\/1"/ {print $3}')

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { awk -v c="$1" '{print $c}' "$work/rounds.txt" | median; }
ratio() { awk -v c="$1" -v d="$2" '{printf "%.4f\n", $c / $d}' "$work/rounds.txt" | median | xargs printf '%.2f'; }

echo
echo "wrk -t2 -c$connections -d${seconds}s --latency; $rounds rounds, targets alternating; medians;"
echo "infergate http.io_threads=$io_threads, nginx worker_processes=$(nproc); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| target | req/s | p50 ms | p99 ms | req/s vs nginx | server CPU us/request | CPU vs nginx |"
echo "|---|---|---|---|---|---|---|"
for i in "${!names[@]}"; do
  c=$((i * 4 + 1))
  echo "| ${names[$i]} | $(col $c) | $(col $((c + 1))) | $(col $((c + 2))) | $(ratio $c 1) | $(col $((c + 3))) | $(ratio $((c + 3)) 4) |"
done
echo "| bare ORT Session::Run, batch 1, one thread | $(awk -v ns="$ort_ns" 'BEGIN {printf "%.0f", 1e9 / ns}') | $(awk -v ns="$ort_ns" 'BEGIN {printf "%.4f", ns / 1e6}') | | | $(awk -v ns="$ort_ns" 'BEGIN {printf "%.1f", ns / 1e3}') (wall) | |"
