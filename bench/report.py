#!/usr/bin/python3
"""Turns one bench/run's results folder into the Markdown section of
docs/benchmarks.md: the machine, the command, the ratios, every row.

  report.py RESULTS_DIR                  print the section
  report.py RESULTS_DIR --update FILE    replace the section in FILE (between
                                         its markers, or appended at the end)
"""
import json
import os
import sys

BEGIN = "<!-- bench/run:begin -->"
END = "<!-- bench/run:end -->"
HEADING = "## Whole-system comparison with the load generator: infergate against raw ORT, nginx, Node.js and the broker ceiling"

# (name in results, what it is)
ROWS = [
    ("nginx", "nginx 1 worker, fixed v2 reply, HTTP/1.1 keep-alive"),
    ("node-peer", "Node.js `http` + onnxruntime-node (bench/node-peer), v2 JSON"),
    ("mqtt-echo", "mosquitto + `infergate-bench mqtt-echo` (no inference), QoS 0"),
    ("infergate-http", "infergate, HTTP v2 JSON"),
    ("infergate-http-binary", "infergate, HTTP v2 binary tensor extension"),
    ("infergate-grpc", "infergate, gRPC ModelInfer (raw_input_contents)"),
    ("infergate-mqtt", "infergate through mosquitto, MQTT 5 request/reply, the tool at QoS 0"),
]

# (label, numerator row, denominator row or "raw-ort")
RATIOS = [
    ("infergate HTTP / raw ORT", "infergate-http", "raw-ort"),
    ("infergate gRPC / raw ORT", "infergate-grpc", "raw-ort"),
    ("infergate HTTP / nginx", "infergate-http", "nginx"),
    ("infergate HTTP / Node.js peer", "infergate-http", "node-peer"),
    ("infergate HTTP binary / Node.js peer", "infergate-http-binary", "node-peer"),
    ("infergate MQTT / broker echo ceiling", "infergate-mqtt", "mqtt-echo"),
    ("Node.js peer / raw ORT (context)", "node-peer", "raw-ort"),
    ("Node.js peer / nginx (context)", "node-peer", "nginx"),
    ("broker echo ceiling / nginx (context)", "mqtt-echo", "nginx"),
]


def load(results):
    rows, missing = {}, {}
    for name, _ in ROWS:
        path = os.path.join(results, name + ".json")
        unavailable = os.path.join(results, name + ".unavailable")
        if os.path.exists(unavailable):
            missing[name] = open(unavailable).read().strip()
        elif os.path.exists(path):
            rows[name] = {r["concurrency"]: r for r in json.load(open(path))["rows"]}
        else:
            missing[name] = "not run"
    return rows, missing


def load_raw_ort(results):
    """{(batch, threads): {"calls_per_s":, "ns_per_call":}} from the medians
    of repeated runs, or from the single run when not repeated."""
    path = os.path.join(results, "raw_ort.json")
    out = {}
    if not os.path.exists(path):
        return out
    benchmarks = json.load(open(path))["benchmarks"]
    repeated = any(b.get("aggregate_name") == "median" for b in benchmarks)
    for b in benchmarks:
        if (b.get("aggregate_name") != "median") if repeated else (b.get("run_type") != "iteration"):
            continue
        # BM_RawOrt/<batch>/real_time/threads:<n>
        parts = b["run_name"].split("/")
        batch = int(parts[1])
        threads = int(parts[-1].split(":")[1])
        out[(batch, threads)] = {"calls_per_s": b["items_per_second"], "ns_per_call": b["real_time"]}
    return out


def raw_ort_for(raw, concurrency):
    """The in-process figure a level is compared with: batch 1, as many
    threads as requests in flight, at most the 2 cores."""
    return raw.get((1, min(concurrency, 2)))


def fmt_ratio(num, den):
    if num is None or den is None or den == 0:
        return None
    r = num / den
    return ("%.2fx" if r >= 0.1 else "%.3fx") % r


def ratio_cell(rows, missing, raw, num_name, den_name, c):
    num = rows.get(num_name, {}).get(c)
    if num is None:
        return "not available" if num_name in missing else "n/a"
    if den_name == "raw-ort":
        den = raw_ort_for(raw, c)
        if den is None:
            return "n/a"
        return fmt_ratio(num["throughput_rps"], den["calls_per_s"])
    den = rows.get(den_name, {}).get(c)
    if den is None:
        return "n/a"
    t = fmt_ratio(num["throughput_rps"], den["throughput_rps"])
    lat = fmt_ratio(num["latency_ms"]["p50"], den["latency_ms"]["p50"])
    return "%s (p50 %s)" % (t, lat)


def section(results):
    meta = json.load(open(os.path.join(results, "meta.json")))
    rows, missing = load(results)
    raw = load_raw_ort(results)
    levels = [int(c) for c in meta["concurrency"].split(",")]
    L = []
    L.append(HEADING)
    L.append("")
    L.append(BEGIN)
    L.append("Made by one `%s` on %s (commit %s), %s s warm-up and %s s measured per level." %
             (meta["command"].strip(), meta["date"], meta["commit"], meta["warmup"], meta["duration"]))
    L.append("")
    L.append("- machine: %s, %s cores, %s, %s, Linux %s; load average at the start %s" %
             (meta["cpu"], meta["nproc"], meta["mem"], meta["os"], meta["kernel"], meta["load"]))
    L.append("- build: %s; %s" % (meta["compiler"], meta["flags"].strip(";").replace(";", "; ")))
    L.append("- model: `tests/models/mlp16.onnx` (FP32 `[1,16]` -> `[1,4]`), one row per request, random "
             "inputs; every server and the load generator share the same 2 cores, on loopback")
    L.append("")
    L.append("### Ratios")
    L.append("")
    L.append("Throughput ratio (successful requests per second) at each number of requests in flight, "
             "with the ratio of median latencies in brackets. Raw ORT is `BM_RawOrt` at batch 1 from as "
             "many threads as requests in flight, at most 2 (the cores).")
    L.append("")
    L.append("| ratio | " + " | ".join("c=%d" % c for c in levels) + " |")
    L.append("|---|" + "---|" * len(levels))
    for label, num, den in RATIOS:
        L.append("| %s | %s |" % (label, " | ".join(ratio_cell(rows, missing, raw, num, den, c) for c in levels)))
    L.append("")
    L.append("### Rows")
    L.append("")
    L.append("| row | what | c | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for name, what in ROWS:
        if name in missing:
            L.append("| %s | %s | | not available: %s | | | | | |" % (name, what, missing[name].replace("|", "/")))
            continue
        for c in levels:
            r = rows[name].get(c)
            if r is None:
                continue
            lat = r["latency_ms"]
            errors = ", ".join("%s %d" % kv for kv in sorted(r["errors_by_kind"].items())) or "0"
            L.append("| %s | %s | %d | %.0f | %.3f | %.3f | %.3f | %.3f | %s |" %
                     (name, what, c, r["throughput_rps"], lat["p50"], lat["p90"], lat["p99"], lat["max"], errors))
    L.append("")
    runs = "one run" if meta["ort_reps"] == "1" else "medians of %s runs" % meta["ort_reps"]
    L.append("### Raw ONNX Runtime in-process (`BM_RawOrt`, %s)" % runs)
    L.append("")
    L.append("| batch | threads | Run calls/s | rows/s | wall time per call |")
    L.append("|---|---|---|---|---|")
    for (batch, threads), v in sorted(raw.items()):
        L.append("| %d | %d | %.0f | %.0f | %.0f ns |" %
                 (batch, threads, v["calls_per_s"], v["calls_per_s"] * batch, v["ns_per_call"]))
    L.append(END)
    return "\n".join(L) + "\n"


def update(path, text):
    doc = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if BEGIN in doc and END in doc:
        start = doc.index(BEGIN)
        # The heading line just before the marker belongs to the section too.
        heading_at = doc.rfind(HEADING, 0, start)
        if heading_at != -1:
            start = heading_at
        end = doc.index(END) + len(END)
        doc = doc[:start] + text.rstrip("\n") + doc[end:]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    open(path, "w").write(doc)


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--update"):
        sys.stderr.write(__doc__)
        return 2
    text = section(argv[1])
    if len(argv) == 4:
        update(argv[3], text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
