"""What the crisis check costs per message, against one regular expression of its danger
phrases (what the check was before it read people, acts, places and pleas).

Run with `make bench` (or `python -m benchmarks.bench_crisis`). Every message of the planted
corpus and the question sets is assessed once per repeat by each, alternating, so a noisy
machine slows both alike; the table shows p50 and p99 over the messages of each one's median
time, and the ratio to the baseline's p50.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable

from benchmarks.bench_redaction import messages, percentile
from bot.knowledge.crisis import load_crisis
from bot.knowledge.normalize import fold
from tests.conftest import SHIPPED_KNOWLEDGE


def phrase_regex(phrases: list[str]) -> Callable[[str], bool]:
    """The baseline: any danger phrase, folded, as a whole word sequence."""
    folded = sorted({fold(p) for p in phrases if fold(p)}, key=len, reverse=True)
    pattern = re.compile(r" (?:" + "|".join(map(re.escape, folded)) + r") ")
    return lambda text: bool(pattern.search(f" {fold(text)} "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    check, _ = load_crisis(SHIPPED_KNOWLEDGE)
    assert check is not None, "the shipped crisis.yaml does not load"
    checks = {"phrase regex (baseline)": phrase_regex(check.config.danger),
              "crisis check (chat)": check.assess}
    texts = messages()
    times: dict[str, list[list[float]]] = {name: [[] for _ in texts] for name in checks}
    for _ in range(args.repeats):
        for i, text in enumerate(texts):
            for name, assess in checks.items():
                start = time.perf_counter()
                assess(text)
                times[name][i].append((time.perf_counter() - start) * 1000)
    print(f"crisis check: {len(texts)} messages x {args.repeats} repeats")
    print(f"{'check':<24} {'p50 ms':>8} {'p99 ms':>8} {'x baseline p50':>15}")
    base = None
    for name, per_message in times.items():
        medians = [statistics.median(runs) for runs in per_message]
        p50 = percentile(medians, 0.5)
        base = base or p50
        print(f"{name:<24} {p50:>8.3f} {percentile(medians, 0.99):>8.3f} {p50 / base:>15.1f}")


if __name__ == "__main__":
    main()
