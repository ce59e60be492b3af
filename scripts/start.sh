#!/usr/bin/env bash
# Starts infergate on the example model repository from a fresh Debian 12
# machine: installs what is missing, builds, starts a local mosquitto broker
# (unless one already listens on the MQTT port) and runs the server in the
# foreground until Ctrl-C.
# Usage: scripts/start.sh [extra `infergate serve` flags]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${INFERGATE_BUILD_DIR:-$root/build}
mqtt_port=${INFERGATE_MQTT_PORT:-1883}
"$root/scripts/setup.sh"
"$root/scripts/build.sh"

broker_pid=""
cleanup() { [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true; }
trap cleanup EXIT
if (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null; then
  echo "start: an MQTT broker already listens on 127.0.0.1:$mqtt_port; using it" >&2
else
  conf=$(mktemp)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mqtt_port" > "$conf"
  mosquitto -c "$conf" >"${TMPDIR:-/tmp}/infergate-mosquitto.log" 2>&1 &
  broker_pid=$!
  echo "start: mosquitto broker on 127.0.0.1:$mqtt_port (log: ${TMPDIR:-/tmp}/infergate-mosquitto.log)" >&2
fi

"$build/src/infergate" serve --config "$root/examples/infergate.yaml" \
  --mqtt-broker "mqtt://127.0.0.1:$mqtt_port" "$@"
