#!/usr/bin/env bash
# MQTT request/reply at QoS 1 with the inbox journal, side by side in one run
# through one mosquitto (set_tcp_nodelay true), mlp16, closed loop:
#   echo   the broker's ceiling: `infergate-bench mqtt-echo --qos 1` answers
#          every request at once, without inference;
#   plain  infergate without the inbox (no state dir): a request is
#          acknowledged to the broker once answered;
#   inbox  infergate with the inbox journal (--state-dir on this machine's
#          disk, under the results folder): acknowledged once journaled
#          (SQLite WAL, group commit, synchronous=FULL) or answered; no
#          outbox (mqtt.outbox.enabled false);
#   outbox (with --outbox) infergate with the inbox and the reply outbox
#          (mqtt.outbox): each QoS 1 reply published at once while it is
#          written beside; the request is answered once the reply is
#          committed or acknowledged (an acknowledgement first cancels the
#          write).
# All run at once on their own topics; rounds interleave them (the
# order rotates each round) and the table gives medians of the rounds. Per run
# the server's CPU time (/proc/PID/stat utime+stime) and the broker's are
# sampled around the measured window, and infergate's /metrics before and
# after it: requests, acknowledgements after journal / answer, journal
# commits and the rows they wrote.
#
# Usage: bench/mqtt_inbox.sh [--rounds N] [--warmup S] [--duration S]
#                            [--concurrency LIST] [--no-build] [--out DIR] [--smoke]
#                            [--outbox]
#   --concurrency  devices, one request in flight each (default 16,1)
#   --smoke        one short round, no build (ctest runs this: the inbox journals)
#   --outbox       also the server with the reply outbox (system "outbox")
# Results (one JSON per run, metrics, summary.md) go to --out (default
# build/bench-results/mqtt-inbox-<UTC date-time>); the inbox's state dir is
# <out>/state.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_BUILD_DIR:-$root/build}
py=/usr/bin/python3

rounds=3
warmup=2
duration=10
concurrency=16,1
do_build=1
out=""
with_outbox=0
command_line="bench/mqtt_inbox.sh $*"
smoke_warmup=0.2
smoke_duration=0.5
. "$root/bench/lib.sh"
bench_options bench/mqtt_inbox.sh 2,32 --outbox=with_outbox -- "$@"
out=${out:-$build/bench-results/mqtt-inbox-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out/state" "$out/state-outbox"
# A journal of an earlier run would be answered first.
rm -f "$out/state"/mqtt-*.db* "$out/state-outbox"/mqtt-*.db*
out=$(cd "$out" && pwd)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
bench_setup bench/mqtt_inbox.sh "$do_build"

# --- the broker and the echo responder -------------------------------------
mqtt_port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nmax_queued_messages 100000\n' \
  "$mqtt_port" > "$work/mosquitto.conf"
"$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
pids+=($!)
broker_pid=$!
wait_for_line "$work/mosquitto.log" 'mosquitto version .* running' 10 >/dev/null
broker="127.0.0.1:$mqtt_port"

"$bench" mqtt-echo --broker "$broker" --qos 1 --filter 'echo/models/+/infer' > "$work/echo.log" 2>&1 &
pids+=($!)
echo_pid=$!
wait_for_line "$work/echo.log" 'mqtt-echo: subscribed to' 10 >/dev/null

# --- the two servers: without and with the inbox ----------------------------
mkdir -p "$work/models/mlp16/1"
cp "$root/tests/models/mlp16.onnx" "$work/models/mlp16/1/model.onnx"
# start NAME ARGS...: infergate on topics NAME/models/+/infer; its log is $work/NAME.log.
start() {
  local name=$1; shift
  "$infergate" serve --model-repository "$work/models" --model-control-mode none \
    --http-address 127.0.0.1 --http-port 0 --grpc-address 127.0.0.1 --grpc-port 0 \
    --mqtt-broker "mqtt://$broker" --mqtt-topic-prefix "$name" "$@" > "$work/$name.log" 2>&1 &
  pids+=($!)
}
start plain
plain_pid=${pids[-1]}
printf 'mqtt:\n  outbox: {enabled: false}\n' > "$work/no-outbox.yaml"
start inbox --state-dir "$out/state" --config "$work/no-outbox.yaml"
inbox_pid=${pids[-1]}
systems=(echo plain inbox)
if [ "$with_outbox" = 1 ]; then
  start outbox --state-dir "$out/state-outbox"
  outbox_pid=${pids[-1]}
  systems+=(outbox)
fi
http_address() {
  wait_for_line "$work/$1.log" 'http: listening on' 30 | grep -oE '[0-9.]+:[0-9]+' | tail -1
}
plain_http=$(http_address plain)
inbox_http=$(http_address inbox)
wait_for_line "$work/plain.log" 'mqtt: subscribed to plain/models' 30 >/dev/null
wait_for_line "$work/inbox.log" 'mqtt: subscribed to inbox/models' 30 >/dev/null
wait_for_line "$work/inbox.log" 'mqtt: inbox .*mqtt-inbox.db' 1 >/dev/null
if [ "$with_outbox" = 1 ]; then
  outbox_http=$(http_address outbox)
  wait_for_line "$work/outbox.log" 'mqtt: subscribed to outbox/models' 30 >/dev/null
  wait_for_line "$work/outbox.log" 'mqtt: outbox .*mqtt-outbox.db' 1 >/dev/null
fi

# scrape SYSTEM FILE: infergate's /metrics (nothing for the echo).
scrape() {
  case "$1" in
    plain) curl -sf "http://$plain_http/metrics" > "$2" ;;
    inbox) curl -sf "http://$inbox_http/metrics" > "$2" ;;
    outbox) curl -sf "http://$outbox_http/metrics" > "$2" ;;
    *) : > "$2" ;;
  esac
}
server_pid() {
  case "$1" in
    plain) echo "$plain_pid" ;; inbox) echo "$inbox_pid" ;; outbox) echo "$outbox_pid" ;; *) echo "$echo_pid" ;;
  esac
}

# run SYSTEM C ROUND: an unmeasured warm-up, then the measured run into
# $out/SYSTEM-cC-ROUND.json (fails on any error), with the CPU times, the
# wall time and the metrics around it in $out/SYSTEM-cC-ROUND.{cpu,prom.*}.
run() {
  local sys=$1 c=$2 r=$3 label="$1-c$2-$3" pid t0 s0 b0 t1 s1 b1
  pid=$(server_pid "$sys")
  local load=(--target mqtt --broker "$broker" --model mlp16 --input input:FP32:1,16 --qos 1
              --concurrency "$c" --request-topic "$sys/models/mlp16/infer" --progress off --strict)
  "$bench" "${load[@]}" --warmup 0 --duration "$warmup" --format json --output "$work/warmup.json"
  scrape "$sys" "$out/$label.prom.before"
  s0=$(cpu_ticks "$pid"); b0=$(cpu_ticks "$broker_pid"); t0=$(date +%s.%N)
  "$bench" "${load[@]}" --warmup 0 --duration "$duration" --label "$label" --format json \
    --output "$out/$label.json"
  s1=$(cpu_ticks "$pid"); b1=$(cpu_ticks "$broker_pid"); t1=$(date +%s.%N)
  scrape "$sys" "$out/$label.prom.after"
  echo "$((s1 - s0)) $((b1 - b0)) $t0 $t1" > "$out/$label.cpu"
}

bench_rounds "${systems[@]}"

state_fs=$(df -T "$out/state" | awk 'NR==2 {print $2 " on " $1 " (" $7 ")"}')
{
  bench_machine_line
  echo "Inbox state dir: $out/state, $state_fs"
  echo "Command: $command_line (rounds $rounds, warm-up $warmup s, $duration s measured)"
  echo
  "$py" "$root/bench/mqtt_inbox_report.py" "$out" "$rounds" "$concurrency" "$(getconf CLK_TCK)" "${systems[*]}"
} | tee "$out/summary.md"
