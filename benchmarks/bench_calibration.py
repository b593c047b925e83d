"""What self-calibration costs when a knowledge base loads, against building its index.

Run with `make bench`. On generated knowledge bases (`bench_matcher.make_knowledge`: 300
entries of 10 phrasings, and 2,000 of 10) it times, in the same run: building the index (the
baseline: every load pays it), `calibrate(index)`, hashing the knowledge base's content, and a
cached calibration (a second `get` in the same process, and a `get` by a fresh cache on the same
folder, as after a restart). Medians of three runs; ratios against the baseline. Then
per-question latency (p50, p99; medians of three rounds) of the calibrated matcher at 20,000
phrasings, against the same entries uncalibrated. Everything runs on one core.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_matcher import make_knowledge, make_unrelated, measure_queries, percentile
from bot.knowledge.base import content_hash
from bot.knowledge.calibration import DEFAULT_MAX_WRONG, CalibrationCache, calibrate
from bot.knowledge.matcher import Index, Matcher
from bot.knowledge.semantic import shared_encoder

SIZES = (3_000, 20_000)  # phrasings; make_knowledge gives 10 per entry at these sizes
LATENCY_SIZE = 20_000
REPEATS = 3
QUESTIONS = 250  # make_knowledge's 200 questions with answers, and 50 unrelated ones


def timed(work: Callable[[], object], repeats: int = REPEATS) -> float:
    """Median seconds over `repeats` runs."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(size: int) -> tuple[dict[str, float], Index]:
    entries, _, _ = make_knowledge(size)
    by_id = {e.id: e for e in entries}
    index = Index(entries, {}, shared_encoder())  # encodes the phrasings once; cached after
    results = {"index build (baseline)": timed(lambda: Index(entries, {}, shared_encoder())),
               "calibrate": timed(lambda: calibrate(index)),
               "content hash": timed(lambda: content_hash(by_id, {}))}
    key = content_hash(by_id, {})
    with tempfile.TemporaryDirectory() as folder:
        cache = CalibrationCache(Path(folder))
        index.calibration = cache.get(index, key, DEFAULT_MAX_WRONG)  # calibrates, writes
        results["cache hit, same process"] = timed(
            lambda: cache.get(index, key, DEFAULT_MAX_WRONG))
        results["cache hit, after restart"] = timed(
            lambda: CalibrationCache(Path(folder)).get(index, key, DEFAULT_MAX_WRONG))
    return results, index


def latencies(index: Index, size: int) -> dict[str, tuple[float, float]]:
    """Median over rounds of p50 and p99 (ms); the two matchers take turns in each round, so
    a noisy moment does not land on one of them only."""
    _, questions, _ = make_knowledge(size)
    questions = questions + make_unrelated(QUESTIONS - len(questions))
    matchers = {"uncalibrated (baseline)": Matcher(Index(index.entries, {}, index.encoder)),
                "calibrated": Matcher(index)}
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in matchers}
    for matcher in matchers.values():
        matcher.match(questions[0])  # warm up
    for _ in range(REPEATS):
        for name, matcher in matchers.items():
            values = measure_queries(matcher.match, questions)
            rounds[name].append((statistics.median(values), percentile(values, 0.99)))
    return {name: (statistics.median(r[0] for r in found), statistics.median(r[1] for r in found))
            for name, found in rounds.items()}


def _ratio(ratio: float) -> str:
    """2.42x, or 1/12,469x for a step that costs a small fraction of the baseline."""
    return f"{ratio:.2f}x" if ratio >= 0.01 else f"1/{1 / ratio:,.0f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # the targets are for one core
    print(f"{'phrasings':>10}  {'step':<26}{'median ms':>11}{'vs baseline':>13}")
    indexes: dict[int, Index] = {}
    for size in args.sizes:
        results, indexes[size] = measure(size)
        baseline = results["index build (baseline)"]
        for step, seconds in results.items():
            print(f"{size:>10,}  {step:<26}{seconds * 1000:>11.3f}{_ratio(seconds / baseline):>13}")
    if LATENCY_SIZE not in indexes:
        return
    print(f"\nper question at {LATENCY_SIZE:,} phrasings")
    print(f"{'matcher':<26}{'p50 ms':>9}{'p99 ms':>9}{'n':>5}")
    rows = latencies(indexes[LATENCY_SIZE], LATENCY_SIZE)
    for name, (p50, p99) in rows.items():
        print(f"{name:<26}{p50:>9.3f}{p99:>9.3f}{QUESTIONS:>5}")
    (base50, base99), (p50, p99) = rows["uncalibrated (baseline)"], rows["calibrated"]
    print(f"  calibrated vs uncalibrated: {p50 / base50:.2f}x at p50, {p99 / base99:.2f}x at p99")
    print(f"target p99 <= 5 ms at 20,000 phrasings: {p99:.2f} ms "
          f"({'met' if p99 <= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
