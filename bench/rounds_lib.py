"""What the reports of the side-by-side bench scripts share (bench/mqtt_inbox.sh,
bench/uplink.sh): /metrics scrapes and medians over interleaved rounds.

runs maps (system, devices, round) to that run's measurements (a dict).
"""
import re
import statistics

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def prom(path):
    """One /metrics scrape: {"name{labels}": value}."""
    values = {}
    for line in open(path):
        m = LINE.match(line.strip())
        if m:
            values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return values


def delta(before, after, key):
    return after.get(key, 0.0) - before.get(key, 0.0)


class Rounds:
    def __init__(self, runs, rounds):
        self.runs, self.rounds = runs, rounds

    def each(self, s, c, key):
        return [self.runs[(s, c, r)][key] for r in range(1, self.rounds + 1)]

    def med(self, s, c, key):
        """The median of `key` over the rounds."""
        return statistics.median(self.each(s, c, key))

    def ratio(self, a, b, c, key="rps"):
        """The median of the per-round ratios a / b."""
        return statistics.median(x / y for x, y in zip(self.each(a, c, key), self.each(b, c, key)))

    def diff(self, a, b, c, key):
        """The median of the per-round differences a - b."""
        return statistics.median(x - y for x, y in zip(self.each(a, c, key), self.each(b, c, key)))

    def print_per_round(self, systems, levels, unit):
        """One line per number of devices: every round's rates, system after system."""
        names = " / ".join(s for s, _ in systems)
        print(f"Per round ({unit} {names}):")
        print()
        for c in levels:
            per = ["/".join(f"{self.runs[(s, c, r)]['rps']:.0f}" for s, _ in systems)
                   for r in range(1, self.rounds + 1)]
            print(f"- {c} devices: " + ", ".join(per))
