#!/usr/bin/python3
"""Simulated IoT devices that publish telemetry to an MQTT broker.

The messages follow the device contracts in examples/models/*/config.yaml, so
infergate turns them into inferences and publishes a result whenever a device's
verdict changes. The default topic, infergate/devices/<device>/<model>, is the
MQTT frontend's default telemetry route; results come back on
infergate/devices/<device>/<model>/result.

  vibration_anomaly       accelerometers sampled at 1 kHz; each message holds
                          --samples-per-message samples: {"accel": [...], "ts": T}
  predictive_maintenance  pumps sending one telemetry row per message:
                          {"temperature_c": .., "vibration_rms_g": .., ..., "ts": T}

Devices start healthy; with --fault-after S, the devices picked by
--faulty-fraction develop a fault S seconds in (bearing impulses and shaft
harmonics for vibration; overheating for the pumps).

Needs Debian's python3-paho-mqtt (scripts/deps.env installs it). Examples:

  /usr/bin/python3 examples/device_simulator.py --port 1883 --devices 3 --duration 10 --fault-after 4
  /usr/bin/python3 examples/device_simulator.py --model predictive_maintenance --dry-run --count 2

Runs until --duration seconds have passed or --count messages per device are
sent, whichever comes first; --dry-run prints the messages instead.
"""

import argparse
import json
import math
import random
import sys
import time

SAMPLE_RATE_HZ = 1000.0


class Accelerometer:
    """One sensor on a rotating shaft: a shaft-rate sinusoid plus noise; when
    faulty, decaying bearing-defect ring-downs and 2x/3x harmonics."""

    def __init__(self, rng):
        self.rng = rng
        self.shaft_hz = rng.uniform(20.0, 40.0)
        self.amplitude = rng.uniform(0.8, 1.2)
        self.phase = rng.uniform(0.0, 2.0 * math.pi)
        self.resonance_hz = rng.uniform(180.0, 350.0)
        self.defect_hz = self.shaft_hz * rng.uniform(3.0, 5.5)
        self.impulse_g = rng.uniform(0.4, 1.0)
        self.n = 0

    def samples(self, count, faulty):
        out = []
        for _ in range(count):
            t = self.n / SAMPLE_RATE_HZ
            w = 2.0 * math.pi * self.shaft_hz * t + self.phase
            v = self.amplitude * math.sin(w) + self.rng.gauss(0.0, 0.05)
            if faulty:
                since = math.fmod(t, 1.0 / self.defect_hz)
                v += self.impulse_g * math.exp(-since * 400.0) * math.sin(2.0 * math.pi * self.resonance_hz * since)
                v += 0.3 * math.sin(2.0 * w) + 0.2 * math.sin(3.0 * w)
            out.append(round(v, 4))
            self.n += 1
        return out


class Pump:
    """One pump's telemetry row; overheating when faulty (hotter, lower oil pressure)."""

    def __init__(self, rng):
        self.rng = rng
        self.rpm = rng.uniform(1200.0, 2400.0)
        self.hours = rng.uniform(200.0, 2000.0)

    def row(self, faulty):
        g = self.rng.gauss
        load = self.rpm / 3000.0
        temperature = 40.0 + 20.0 * load + g(0.0, 1.0) + (25.0 if faulty else 0.0)
        pressure = 5.0 + 1.5 * load + g(0.0, 0.1) - (1.2 if faulty else 0.0)
        self.hours += 0.01
        return {
            "temperature_c": round(temperature, 2),
            "vibration_rms_g": round(0.1 + 0.1 * load + abs(g(0.0, 0.01)), 4),
            "pressure_bar": round(pressure, 3),
            "rpm": round(self.rpm + g(0.0, 5.0), 1),
            "hours_since_service": round(self.hours, 2),
        }


def parse_args(argv):
    p = argparse.ArgumentParser(description="Publish simulated device telemetry to an MQTT broker.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--model", choices=["vibration_anomaly", "predictive_maintenance"], default="vibration_anomaly")
    p.add_argument("--topic", default="infergate/devices/{device}/{model}",
                   help="topic template; {device} and {model} are filled in (default %(default)s)")
    p.add_argument("--devices", type=int, default=3, help="simulated devices (default %(default)s)")
    p.add_argument("--device-prefix", default="sim-", help="device ids are PREFIX0, PREFIX1, ...")
    p.add_argument("--samples-per-message", type=int, default=32,
                   help="vibration samples per message (default %(default)s: one message every 32 ms)")
    p.add_argument("--rate", type=float, default=None,
                   help="messages per second per device (default: real time for vibration, 1 for pumps)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds to run (default %(default)s)")
    p.add_argument("--count", type=int, default=0, help="stop after this many messages per device (0: no limit)")
    p.add_argument("--fault-after", type=float, default=None, help="seconds after which faulty devices turn faulty")
    p.add_argument("--faulty-fraction", type=float, default=0.34, help="share of devices that turn faulty")
    p.add_argument("--qos", type=int, choices=[0, 1], default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dry-run", action="store_true", help="print the messages instead of publishing them")
    args = p.parse_args(argv)
    if args.devices < 1 or args.samples_per_message < 1 or args.duration <= 0:
        p.error("--devices, --samples-per-message and --duration must be positive")
    if args.rate is None:
        args.rate = SAMPLE_RATE_HZ / args.samples_per_message if args.model == "vibration_anomaly" else 1.0
    return args


def make_devices(args):
    rng = random.Random(args.seed)
    faulty = set(range(max(1, round(args.devices * args.faulty_fraction)))) if args.fault_after is not None else set()
    devices = []
    for i in range(args.devices):
        sensor = Accelerometer(rng) if args.model == "vibration_anomaly" else Pump(rng)
        devices.append({"id": f"{args.device_prefix}{i}", "sensor": sensor, "turns_faulty": i in faulty})
    return devices


def message(args, device, elapsed, now):
    faulty = device["turns_faulty"] and elapsed >= args.fault_after
    if args.model == "vibration_anomaly":
        body = {"accel": device["sensor"].samples(args.samples_per_message, faulty)}
    else:
        body = device["sensor"].row(faulty)
    body["ts"] = round(now, 6)
    return json.dumps(body, separators=(",", ":"))


class Publisher:
    def __init__(self, args):
        self.args = args
        self.client = None
        if args.dry_run:
            return
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            sys.exit("device_simulator: python3-paho-mqtt is missing (apt-get install python3-paho-mqtt)")
        self.client = mqtt.Client(client_id=f"infergate-sim-{args.seed}", clean_session=True)
        try:
            self.client.connect(args.host, args.port, keepalive=30)
        except OSError as e:
            sys.exit(f"device_simulator: cannot connect to {args.host}:{args.port}: {e}")
        self.client.loop_start()

    def publish(self, topic, payload):
        if self.client is None:
            print(f"{topic} {payload}")
            return
        self.client.publish(topic, payload, qos=self.args.qos).wait_for_publish()

    def close(self):
        if self.client is not None:
            self.client.loop_stop()
            self.client.disconnect()


def main(argv):
    args = parse_args(argv)
    devices = make_devices(args)
    publisher = Publisher(args)
    interval = 1.0 / args.rate
    start = time.monotonic()
    sent = 0
    rounds = 0
    try:
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= args.duration or (args.count and rounds >= args.count):
                break
            now = time.time()
            for d in devices:
                topic = args.topic.format(device=d["id"], model=args.model)
                publisher.publish(topic, message(args, d, elapsed, now))
                sent += 1
            rounds += 1
            if not args.dry_run:
                time.sleep(max(0.0, start + rounds * interval - time.monotonic()))
    except KeyboardInterrupt:
        pass
    finally:
        publisher.close()
    print(f"device_simulator: {sent} messages from {len(devices)} devices in {time.monotonic() - start:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
