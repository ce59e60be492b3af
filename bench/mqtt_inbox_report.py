"""The table of bench/mqtt_inbox.sh: medians of the rounds, per system and
number of devices, from the runs' JSON, CPU samples and /metrics scrapes.

Usage: mqtt_inbox_report.py OUT ROUNDS CONCURRENCY_LIST CLK_TCK [SYSTEMS]
SYSTEMS: the systems run, space-separated (default "echo plain inbox"; "outbox" adds
the server with the reply outbox).
Exits 1 when a run shows the inbox did not do its job (nothing journaled,
requests left unacknowledged, the plain server acknowledging after a
journal), so the smoke test catches a broken set-up.
"""
import json
import sys

from rounds_lib import Rounds, delta, prom

out, rounds, levels, tck = (sys.argv[1], int(sys.argv[2]),
                            [int(c) for c in sys.argv[3].split(",")], int(sys.argv[4]))
ALL_SYSTEMS = [("echo", "broker echo ceiling (mqtt-echo, no inference)"),
               ("plain", "infergate, no inbox (acknowledged once answered)"),
               ("inbox", "infergate, inbox journal on (acknowledged once journaled or answered)"),
               ("outbox", "infergate, inbox and reply outbox on (answered once the reply is committed or acknowledged)")]
RUN = (sys.argv[5] if len(sys.argv) > 5 else "echo plain inbox").split()
SYSTEMS = [(s, what) for s, what in ALL_SYSTEMS if s in RUN]


def measure(sys_name, c, r):
    label = f"{sys_name}-c{c}-{r}"
    row = json.load(open(f"{out}/{label}.json"))["rows"][0]
    server_ticks, broker_ticks, t0, t1 = open(f"{out}/{label}.cpu").read().split()
    wall = float(t1) - float(t0)
    before, after = prom(f"{out}/{label}.prom.before"), prom(f"{out}/{label}.prom.after")
    m = {"rps": row["throughput_rps"], "p50": row["latency_ms"]["p50"],
         "p99": row["latency_ms"]["p99"], "errors": row["errors"]}
    if sys_name == "echo":
        requests = row["ok"]
    else:
        requests = delta(before, after, "infergate_mqtt_requests_total")
        j = '{journal="mqtt_inbox"}'
        m["after_journal"] = delta(before, after, 'infergate_mqtt_acknowledgements_total{after="journal"}')
        m["after_answer"] = delta(before, after, 'infergate_mqtt_acknowledgements_total{after="answer"}')
        m["after_outbox"] = delta(before, after, 'infergate_mqtt_acknowledgements_total{after="outbox"}')
        m["outbox_sent"] = delta(before, after, 'infergate_outbox_sent_total{outbox="mqtt"}')
        m["outbox_written"] = delta(before, after, 'infergate_outbox_written_total{outbox="mqtt"}')
        m["outbox_skipped"] = delta(before, after, 'infergate_outbox_writes_skipped_total{outbox="mqtt"}')
        m["outbox_written_pct"] = 100.0 * m["outbox_written"] / max(m["outbox_sent"], 1)
        m["outbox_skipped_pct"] = 100.0 * m["outbox_skipped"] / max(m["outbox_sent"], 1)
        m["journaled"] = delta(before, after, 'infergate_mqtt_inbox_requests_total{outcome="journaled"}')
        m["commits_s"] = delta(before, after, "infergate_journal_commits_total" + j) / wall
        m["rows_req"] = delta(before, after, "infergate_journal_commit_changes_sum" + j) / max(requests, 1)
        commits = delta(before, after, "infergate_journal_commit_seconds_count" + j)
        m["commit_ms"] = (1e3 * delta(before, after, "infergate_journal_commit_seconds_sum" + j) / commits
                          if commits else 0.0)
        m["journal_pct"] = 100.0 * m["after_journal"] / max(requests, 1)
        m["answer_pct"] = 100.0 * m["after_answer"] / max(requests, 1)
        m["requests"] = requests
    m["server_us"] = int(server_ticks) / tck * 1e6 / max(requests, 1)
    m["broker_us"] = int(broker_ticks) / tck * 1e6 / max(requests, 1)
    return m


runs = {(s, c, r): measure(s, c, r) for s, _ in SYSTEMS for c in levels for r in range(1, rounds + 1)}
problems = []
for (s, c, r), m in runs.items():
    if s == "echo":
        continue
    acked = m["after_journal"] + m["after_answer"] + m["after_outbox"]
    if acked < m["requests"] - c:
        problems.append(f"{s}-c{c}-{r}: {acked:.0f} acknowledgements for {m['requests']:.0f} requests")
    if s == "inbox" and m["journaled"] < m["requests"] - c:
        problems.append(f"inbox-c{c}-{r}: {m['journaled']:.0f} journaled of {m['requests']:.0f} requests")
    if s == "plain" and (m["after_journal"] or m["journaled"]):
        problems.append(f"plain-c{c}-{r}: the server without an inbox journaled requests")
    if s == "outbox" and m["outbox_sent"] < m["requests"] - 2 * c:
        problems.append(f"outbox-c{c}-{r}: {m['outbox_sent']:.0f} replies sent from the outbox for "
                        f"{m['requests']:.0f} requests")
    if s != "outbox" and m["outbox_sent"]:
        problems.append(f"{s}-c{c}-{r}: replies went through an outbox")


table = Rounds(runs, rounds)
med, ratio = table.med, table.ratio
print(f"Medians of {rounds} round(s); QoS 1 requests and replies, mlp16, closed loop "
      "(one request in flight per device, each device its own connection).")
print()
print("| system | devices | req/s | p50 ms | p99 ms | server CPU us/req | broker CPU us/req "
      "| acked after journal | acked after answer | journal commits/s | commit ms | rows written per request |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for c in levels:
    for s, what in SYSTEMS:
        cells = [f"{med(s, c, 'rps'):.0f}", f"{med(s, c, 'p50'):.3f}", f"{med(s, c, 'p99'):.3f}",
                 f"{med(s, c, 'server_us'):.1f}", f"{med(s, c, 'broker_us'):.1f}"]
        if s in ("inbox", "outbox"):
            cells += [f"{med(s, c, 'journal_pct'):.1f}%", f"{med(s, c, 'answer_pct'):.1f}%",
                      f"{med(s, c, 'commits_s'):.0f}", f"{med(s, c, 'commit_ms'):.2f}",
                      f"{med(s, c, 'rows_req'):.3f}"]
        elif s == "plain":
            cells += ["0%", f"{med(s, c, 'answer_pct'):.1f}%", "-", "-", "-"]
        else:
            cells += ["-", "-", "-", "-", "-"]
        print(f"| {what} | {c} | " + " | ".join(cells) + " |")
print()
print("Ratios (medians of the per-round ratios; p50 ratio in brackets):")
print()
print("| devices | inbox / echo (target >= 0.5x) | plain / echo | inbox / plain | inbox - plain server CPU us/req |")
print("|---:|---:|---:|---:|---:|")
for c in levels:
    cpu = table.diff("inbox", "plain", c, "server_us")
    print(f"| {c} | {ratio('inbox', 'echo', c):.2f}x (p50 {ratio('inbox', 'echo', c, 'p50'):.2f}x) "
          f"| {ratio('plain', 'echo', c):.2f}x (p50 {ratio('plain', 'echo', c, 'p50'):.2f}x) "
          f"| {ratio('inbox', 'plain', c):.2f}x (p50 {ratio('inbox', 'plain', c, 'p50'):.2f}x) | {cpu:+.1f} |")
if "outbox" in RUN:
    print()
    print("| devices | outbox / inbox | outbox / plain | outbox - inbox server CPU us/req "
          "| replies written | writes skipped (acknowledged first) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for c in levels:
        cpu = table.diff("outbox", "inbox", c, "server_us")
        print(f"| {c} | {ratio('outbox', 'inbox', c):.2f}x (p50 {ratio('outbox', 'inbox', c, 'p50'):.2f}x) "
              f"| {ratio('outbox', 'plain', c):.2f}x (p50 {ratio('outbox', 'plain', c, 'p50'):.2f}x) | {cpu:+.1f} "
              f"| {med('outbox', c, 'outbox_written_pct'):.0f}% | {med('outbox', c, 'outbox_skipped_pct'):.0f}% |")
print()
table.print_per_round(SYSTEMS, levels, "req/s")
if problems:
    print()
    print("Problems: " + "; ".join(problems))
    sys.exit(1)
