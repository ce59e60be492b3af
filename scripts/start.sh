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

# State that outlives a run (the broker's database, infergate's inbox) lives in
# $INFERGATE_STATE_DIR (default .state/ in the checkout, git-ignored).
state=${INFERGATE_STATE_DIR:-$root/.state}
mkdir -p "$state/mosquitto" "$state/infergate"

broker_pid=""
cleanup() { [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true; }
trap cleanup EXIT
if (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null; then
  echo "start: an MQTT broker already listens on 127.0.0.1:$mqtt_port; using it" >&2
else
  # The settings README.md "Running with a broker" explains. `user` keeps a
  # broker started as root as that user, so it can write its state folder.
  conf="$state/mosquitto/mosquitto.conf"
  cat > "$conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence true
persistence_location $state/mosquitto/
autosave_interval 1
max_queued_messages 100000
max_queued_bytes 268435456
max_inflight_messages 256
user $(id -un)
CONF
  mosquitto -c "$conf" >"$state/mosquitto/mosquitto.log" 2>&1 &
  broker_pid=$!
  echo "start: mosquitto broker on 127.0.0.1:$mqtt_port (state and log: $state/mosquitto/)" >&2
fi

# infergate's own state (the MQTT inbox journal) next to the broker's.
"$build/src/infergate" serve --config "$root/examples/infergate.yaml" \
  --mqtt-broker "mqtt://127.0.0.1:$mqtt_port" --state-dir "$state/infergate" "$@"
