#!/usr/bin/env bash
# What TLS and token authentication cost: HTTP and gRPC requests per second
# on keep-alive connections, plain against TLS + a bearer token, side by side
# in one run. Two servers run at once on free loopback ports (one plain, one
# with a test CA's certificate and a tokens file, both made here); the rounds
# alternate between them (plain, secured, plain, secured, ...) so that a
# change in the machine's load falls on both, and the table gives the median
# of the rounds and the ratio secured / plain.
#
# Usage: bench/security.sh [--rounds N] [--warmup S] [--duration S]
#                          [--concurrency N] [--no-build] [--out DIR] [--smoke]
#   --smoke  one short round, no build (ctest runs this: the secured path works)
# Results (one JSON per run, summary.md) go to --out (default
# build/bench-results/security-<UTC date-time>).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_BUILD_DIR:-$root/build}
py=/usr/bin/python3

rounds=5
warmup=1
duration=5
concurrency=8
do_build=1
out=""
smoke_warmup=0.1
smoke_duration=0.3
. "$root/bench/lib.sh"
bench_options bench/security.sh 2,15 -- "$@"
out=${out:-$build/bench-results/security-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
bench_setup bench/security.sh "$do_build"

# A test CA and a server certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/san.ext" -out "$work/server.crt" 2>/dev/null

# A token with the infer scope, as `infergate token new` makes one.
"$infergate" token new --name bench --scopes infer > "$work/token.out"
token=$(sed -n 's/^token: *//p' "$work/token.out")
sed -n '/^- name:/,$p' "$work/token.out" > "$work/tokens.yaml"
[ -n "$token" ] || { log "no token in: $(cat "$work/token.out")"; exit 1; }

mkdir -p "$work/models/mlp16/1"
cp "$root/tests/models/mlp16.onnx" "$work/models/mlp16/1/model.onnx"
common=(serve --model-repository "$work/models" --model-control-mode none
        --http-address 127.0.0.1 --http-port 0 --grpc-address 127.0.0.1 --grpc-port 0)

# start NAME ARGS...: a server whose log is $work/NAME.log.
start() {
  local name=$1; shift
  "$infergate" "${common[@]}" "$@" > "$work/$name.log" 2>&1 &
  pids+=($!)
}
# address NAME FRONTEND: host:port from the server's "listening on" line.
address() {
  local end=$((SECONDS + 30)) line
  while [ $SECONDS -lt $end ]; do
    if line=$(grep -m1 -E "$2: listening on" "$work/$1.log"); then
      grep -oE '[0-9.]+:[0-9]+' <<<"$line" | tail -1
      return 0
    fi
    sleep 0.1
  done
  log "$1: no '$2: listening on' line: $(tail -2 "$work/$1.log")"
  return 1
}
start plain
plain_pid=${pids[-1]}
start secured --tls-cert "$work/server.crt" --tls-key "$work/server.key" --auth-tokens "$work/tokens.yaml"
secured_pid=${pids[-1]}
plain_http=$(address plain http); plain_grpc=$(address plain grpc)
secured_http=$(address secured http); secured_grpc=$(address secured grpc)

# run LABEL SERVER-PID ARGS...: one measured run into $out/LABEL.json (fails
# on any error), and the server's CPU time over the whole run (warm-up
# included) into $out/LABEL.cpu, in clock ticks.
run() {
  local label=$1 pid=$2 before; shift 2
  before=$(cpu_ticks "$pid")
  "$bench" "$@" --model mlp16 --input input:FP32:1,16 --concurrency "$concurrency" \
    --warmup "$warmup" --duration "$duration" --label "$label" --format json \
    --output "$out/$label.json" --progress off --strict
  echo $(( $(cpu_ticks "$pid") - before )) > "$out/$label.cpu"
}
secured_tls=(--tls-ca "$work/ca.crt" --token "$token")
for r in $(seq 1 "$rounds"); do
  log "round $r of $rounds"
  run "http-plain-$r" "$plain_pid" --target http --url "http://$plain_http"
  run "http-secured-$r" "$secured_pid" --target http --url "https://$secured_http" "${secured_tls[@]}"
  run "grpc-plain-$r" "$plain_pid" --target grpc --grpc-address "$plain_grpc"
  run "grpc-secured-$r" "$secured_pid" --target grpc --grpc-address "$secured_grpc" "${secured_tls[@]}"
done

{
  echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ); machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
       "$(nproc) cores; commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "Command: bench/security.sh --rounds $rounds --warmup $warmup --duration $duration --concurrency $concurrency"
  echo
  "$py" - "$out" "$rounds" "$(getconf CLK_TCK)" "$warmup" "$duration" <<'EOF'
import json, statistics, sys
out, rounds, tck = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
share = float(sys.argv[5]) / (float(sys.argv[4]) + float(sys.argv[5]))  # measured part of each run
def row(label):
    return json.load(open(f"{out}/{label}.json"))["rows"][0]
def cpu_us(label):  # server CPU per request, warm-up requests estimated at the measured rate
    r = row(label)
    return int(open(f"{out}/{label}.cpu").read()) / tck * 1e6 / (r["requests"] / share)
def med(f, kind, fn):
    return statistics.median(fn(f"{f}-{kind}-{r}") for r in range(1, rounds + 1))
print("| frontend | plain req/s | TLS + token req/s | ratio | plain p50 ms | TLS + token p50 ms "
      "| server CPU us/req plain | TLS + token |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for f in ("http", "grpc"):
    ratios = [row(f"{f}-secured-{r}")["throughput_rps"] / row(f"{f}-plain-{r}")["throughput_rps"]
              for r in range(1, rounds + 1)]
    print(f"| {f} | {med(f, 'plain', lambda l: row(l)['throughput_rps']):.0f} "
          f"| {med(f, 'secured', lambda l: row(l)['throughput_rps']):.0f} | {statistics.median(ratios):.2f}x "
          f"| {med(f, 'plain', lambda l: row(l)['latency_ms']['p50']):.3f} "
          f"| {med(f, 'secured', lambda l: row(l)['latency_ms']['p50']):.3f} "
          f"| {med(f, 'plain', cpu_us):.1f} | {med(f, 'secured', cpu_us):.1f} |")
EOF
} | tee "$out/summary.md"
