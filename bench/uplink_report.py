"""The table of bench/uplink.sh: medians of the rounds, per system and number
of devices, from the runs' JSON, CPU samples and /metrics scrapes.

Usage: uplink_report.py OUT ROUNDS CONCURRENCY_LIST CLK_TCK
Exits 1 when a run shows the uplink did not do its job (results not
forwarded or not written to the outbox, the connected uplink not sending,
the plain server forwarding), so the smoke test catches a broken set-up.
"""
import json
import sys

from rounds_lib import Rounds, delta, prom

out, rounds, levels, tck = (sys.argv[1], int(sys.argv[2]),
                            [int(c) for c in sys.argv[3].split(",")], int(sys.argv[4]))
SYSTEMS = [("plain", "infergate, no uplink"),
           ("uplink", "uplink connected, forward: results"),
           ("down", "uplink broker down (outbox filling)")]
OUTBOX = '{outbox="uplink"}'


def total(values, name):
    """The sum of every sample of `name` (any labels)."""
    return sum(v for k, v in values.items() if k == name or k.startswith(name + "{"))


def measure(sys_name, c, r):
    label = f"{sys_name}-c{c}-{r}"
    row = json.load(open(f"{out}/{label}.json"))["rows"][0]
    server, local, cloud, t0, t1 = open(f"{out}/{label}.cpu").read().split()
    wall = float(t1) - float(t0)
    before, after = prom(f"{out}/{label}.prom.before"), prom(f"{out}/{label}.prom.after")
    requests = max(row["ok"], 1)
    commits = total(after, "infergate_journal_commit_seconds_count") - total(before, "infergate_journal_commit_seconds_count")
    return {
        "rps": row["throughput_rps"], "p50": row["latency_ms"]["p50"], "p99": row["latency_ms"]["p99"],
        "requests": row["ok"],
        "server_us": int(server) / tck * 1e6 / requests,
        "local_us": int(local) / tck * 1e6 / requests,
        "cloud_us": int(cloud) / tck * 1e6 / requests,
        "forwarded": delta(before, after, "infergate_uplink_forwarded_total"),
        "written": delta(before, after, "infergate_outbox_written_total" + OUTBOX),
        # acknowledged by the broker before their commit: never written
        "skipped": delta(before, after, "infergate_outbox_writes_skipped_total" + OUTBOX),
        "sent": delta(before, after, "infergate_outbox_sent_total" + OUTBOX),
        "backlog": after.get("infergate_outbox_messages" + OUTBOX, 0.0),
        "connected": after.get("infergate_uplink_connected", -1.0),
        "commits_s": commits / wall,
        "commit_ms": (1e3 * (total(after, "infergate_journal_commit_seconds_sum")
                             - total(before, "infergate_journal_commit_seconds_sum")) / commits if commits else 0.0),
    }


runs = {(s, c, r): measure(s, c, r) for s, _ in SYSTEMS for c in levels for r in range(1, rounds + 1)}
problems = []
for (s, c, r), m in runs.items():
    name = f"{s}-c{c}-{r}"
    if s == "plain":
        if m["forwarded"] or m["written"]:
            problems.append(f"{name}: the server without an uplink forwarded results")
        continue
    # A result still being answered at either scrape may be on either side of
    # it; a message counts once its group commit is done (written) or the
    # broker acknowledged it first (skipped), which trails the results by up
    # to a few commits.
    safe = m["written"] + m["skipped"]
    if m["forwarded"] < m["requests"] - 2 * c or safe < 0.9 * m["requests"]:
        problems.append(f"{name}: {m['forwarded']:.0f} forwarded, {m['written']:.0f} written and "
                        f"{m['skipped']:.0f} acknowledged before their write for {m['requests']} results")
    if s == "uplink" and (m["connected"] != 1 or m["sent"] < 0.9 * m["forwarded"]):
        problems.append(f"{name}: connected {m['connected']:.0f}, {m['sent']:.0f} sent of {m['forwarded']:.0f}")
    if s == "down" and (m["connected"] != 0 or m["sent"] != 0):
        problems.append(f"{name}: connected {m['connected']:.0f}, {m['sent']:.0f} sent with the broker down")


table = Rounds(runs, rounds)
med, ratio = table.med, table.ratio
print(f"Medians of {rounds} round(s); device telemetry at QoS 1, results answered at QoS 1, identity_fp32 under a "
      "device contract, closed loop (one reading in flight per device, each device its own connection).")
print()
print("| system | devices | results/s | p50 ms | p99 ms | server CPU us/result | local broker CPU us/result "
      "| uplink broker CPU us/result | forwarded per result | outbox commits/s | commit ms | outbox backlog at the end |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for c in levels:
    for s, what in SYSTEMS:
        cells = [f"{med(s, c, 'rps'):.0f}", f"{med(s, c, 'p50'):.3f}", f"{med(s, c, 'p99'):.3f}",
                 f"{med(s, c, 'server_us'):.1f}", f"{med(s, c, 'local_us'):.1f}", f"{med(s, c, 'cloud_us'):.1f}"]
        if s == "plain":
            cells += ["-", "-", "-", "-"]
        else:
            cells += [f"{med(s, c, 'forwarded') / max(med(s, c, 'requests'), 1):.3f}", f"{med(s, c, 'commits_s'):.0f}",
                      f"{med(s, c, 'commit_ms'):.2f}", f"{med(s, c, 'backlog'):.0f}"]
        print(f"| {what} | {c} | " + " | ".join(cells) + " |")
print()
print("Ratios (medians of the per-round ratios; p50 ratio in brackets) and the server CPU the uplink adds per result:")
print()
print("| devices | uplink / plain (target >= 0.8x) | down / plain | uplink - plain CPU us/result "
      "| down - plain CPU us/result |")
print("|---:|---:|---:|---:|---:|")
for c in levels:
    print(f"| {c} | {ratio('uplink', 'plain', c):.2f}x (p50 {ratio('uplink', 'plain', c, 'p50'):.2f}x) "
          f"| {ratio('down', 'plain', c):.2f}x (p50 {ratio('down', 'plain', c, 'p50'):.2f}x) "
          f"| {table.diff('uplink', 'plain', c, 'server_us'):+.1f} | {table.diff('down', 'plain', c, 'server_us'):+.1f} |")
print()
table.print_per_round(SYSTEMS, levels, "results/s")
if problems:
    print()
    print("Problems: " + "; ".join(problems))
    sys.exit(1)
