#!/usr/bin/env bash
# Local request/reply throughput with and without the edge uplink, side by
# side in one run through one local mosquitto (set_tcp_nodelay true): device
# telemetry at QoS 1 (infergate-bench in MQTT mode, closed loop, one reading
# in flight per device), answered on the local broker with the result:
#   plain   infergate without an uplink;
#   uplink  `uplink: {forward: results, qos: 1, max_rate: 0}` connected to a
#           second local mosquitto: every result is also written to the
#           uplink's outbox (SQLite WAL, group commit) and published there
#           (max_rate 0: the default 1000 messages/s would hold back a
#           connected uplink that is given more results than that);
#   down    the same uplink with its broker down: every result stays in the
#           outbox (it fills; a run writes far less than its max_bytes).
# The model is identity_fp32 under a device contract (score = the reading,
# an alert above 0.5, every result answered: `on: always`), the cheapest
# inference there is, so the uplink's cost per result is as large a share of
# the whole as it gets. The contract names the result's label member
# `outputs`, which is what infergate-bench counts as an answer.
# The servers run at once on their own topics; rounds interleave them (the
# order rotates each round) and the table gives medians of the rounds. Per
# run the server's CPU time and both brokers' (/proc/PID/stat utime+stime)
# are sampled around the measured window, and infergate's /metrics before
# and after it (results forwarded, outbox written / sent / commits).
#
# Usage: bench/uplink.sh [--rounds N] [--warmup S] [--duration S]
#                        [--concurrency LIST] [--no-build] [--out DIR] [--smoke]
#   --concurrency  devices, one reading in flight each (default 16,1)
#   --smoke        one short round, no build (ctest runs this: results reach the uplink)
# Results (one JSON per run, metrics, summary.md) go to --out (default
# build/bench-results/uplink-<UTC date-time>); the outboxes are
# <out>/outbox-{uplink,down}.db.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_BUILD_DIR:-$root/build}
py=/usr/bin/python3

rounds=5
warmup=2
duration=10
concurrency=16,1
do_build=1
out=""
command_line="bench/uplink.sh $*"
smoke_warmup=0.2
smoke_duration=0.5
smoke_concurrency=4
. "$root/bench/lib.sh"
bench_options bench/uplink.sh 2,31 -- "$@"
out=${out:-$build/bench-results/uplink-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
rm -f "$out"/outbox-*.db*  # an outbox of an earlier run would be sent first
out=$(cd "$out" && pwd)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
bench_setup bench/uplink.sh "$do_build"

# --- the brokers: local (devices and replies) and uplink ---------------------
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
# broker NAME: a mosquitto on a free port; sets ${NAME}_port and ${NAME}_pid.
broker() {
  local port
  port=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nmax_queued_messages 100000\n' \
    "$port" > "$work/$1.conf"
  "$mosquitto_bin" -c "$work/$1.conf" > "$work/$1-broker.log" 2>&1 &
  pids+=($!)
  printf -v "${1}_port" %s "$port"
  printf -v "${1}_pid" %s "$!"
  wait_for_line "$work/$1-broker.log" 'mosquitto version .* running' 10 >/dev/null
}
broker local
broker cloud
down_port=$(free_port)  # nothing listens there
broker="127.0.0.1:$local_port"

# --- the three servers ---------------------------------------------------------
mkdir -p "$work/models/reading/1"
cp "$root/tests/models/identity_fp32.onnx" "$work/models/reading/1/model.onnx"
cat > "$work/models/reading/config.yaml" <<'EOF'
max_batch_size: 64
device:
  inputs: [{name: INPUT0, fields: [v]}]
  result: {output: OUTPUT0, kind: score, threshold: 0.5, on: always, fields: {label: outputs}}
EOF
echo '[{"inputs": [], "v": 0.875}, {"inputs": [], "v": 0.125}]' > "$work/telemetry.json"

# start NAME [UPLINK_PORT]: infergate on topics NAME/devices/+/+, with an
# uplink to 127.0.0.1:UPLINK_PORT if given; its log is $work/NAME.log.
start() {
  local name=$1 uplink=""
  if [ $# -gt 1 ]; then
    uplink="uplink:
  broker: mqtt://127.0.0.1:$2
  client_id: bench-$name-uplink
  topic_prefix: sites/bench/$name
  forward: results
  qos: 1
  max_rate: 0
  outbox: {path: $out/outbox-$name.db}"
  fi
  cat > "$work/$name.yaml" <<EOF
model_repository: $work/models
model_control_mode: none
mqtt:
  broker: mqtt://$broker
  client_id: bench-$name
  topic_prefix: $name
$uplink
EOF
  "$infergate" serve --config "$work/$name.yaml" --http-address 127.0.0.1 --http-port 0 \
    --grpc-address 127.0.0.1 --grpc-port 0 > "$work/$name.log" 2>&1 &
  pids+=($!)
  printf -v "${name}_pid" %s "$!"
}
start plain
start uplink "$cloud_port"
start down "$down_port"
for name in plain uplink down; do
  address=$(wait_for_line "$work/$name.log" 'http: listening on' 30 | grep -oE '[0-9.]+:[0-9]+' | tail -1)
  printf -v "${name}_http" %s "$address"
  wait_for_line "$work/$name.log" "mqtt: subscribed to $name/devices" 30 >/dev/null
done
# uplink_connected NAME: the server's infergate_uplink_connected (empty when absent).
uplink_connected() {
  local address="${1}_http"
  curl -sf "http://${!address}/metrics" | awk '$1 == "infergate_uplink_connected" {print $2}'
}
for _ in $(seq 100); do [ "$(uplink_connected uplink)" = 1 ] && break; sleep 0.1; done
if [ "$(uplink_connected uplink)" != 1 ]; then log "the uplink did not connect: $(tail -3 "$work/uplink.log")"; exit 1; fi

# run SYSTEM C ROUND: an unmeasured warm-up, then the measured run into
# $out/SYSTEM-cC-ROUND.json (fails on any error), with the CPU times
# (server, local broker, uplink broker), the wall time and the metrics
# around it in $out/SYSTEM-cC-ROUND.{cpu,prom.*}.
run() {
  local sys=$1 c=$2 r=$3 label="$1-c$2-$3" pid address t0 s0 b0 u0 t1 s1 b1 u1
  pid="${sys}_pid"; pid=${!pid}
  address="${sys}_http"; address=${!address}
  local load=(--target mqtt --broker "$broker" --model reading --input-file "$work/telemetry.json" --qos 1
              --concurrency "$c" --request-topic "$sys/devices/bench/reading" --progress off --strict)
  "$bench" "${load[@]}" --warmup 0 --duration "$warmup" --format json --output "$work/warmup.json"
  curl -sf "http://$address/metrics" > "$out/$label.prom.before"
  s0=$(cpu_ticks "$pid"); b0=$(cpu_ticks "$local_pid"); u0=$(cpu_ticks "$cloud_pid"); t0=$(date +%s.%N)
  "$bench" "${load[@]}" --warmup 0 --duration "$duration" --label "$label" --format json \
    --output "$out/$label.json"
  s1=$(cpu_ticks "$pid"); b1=$(cpu_ticks "$local_pid"); u1=$(cpu_ticks "$cloud_pid"); t1=$(date +%s.%N)
  curl -sf "http://$address/metrics" > "$out/$label.prom.after"
  echo "$((s1 - s0)) $((b1 - b0)) $((u1 - u0)) $t0 $t1" > "$out/$label.cpu"
}

bench_rounds plain uplink down

outbox_fs=$(df -T "$out" | awk 'NR==2 {print $2 " on " $1 " (" $7 ")"}')
{
  bench_machine_line
  echo "Outboxes: $out, $outbox_fs"
  echo "Command: $command_line (rounds $rounds, warm-up $warmup s, $duration s measured)"
  echo
  "$py" "$root/bench/uplink_report.py" "$out" "$rounds" "$concurrency" "$(getconf CLK_TCK)"
} | tee "$out/summary.md"
