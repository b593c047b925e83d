"""What encoding one question costs, with its word pieces padded to a multiple of four (as
shipped) against unpadded (the baseline), in the same run.

Run with `make bench`. OpenBLAS multiplies a matrix with 11 rows markedly slower than one with
12, so the encoder pads every sequence to a multiple of `PAD_TO`; this measures what that buys
on real questions, the shipped held-out set, one at a time as the bot encodes them. The two
encoders take turns, round by round, so a busy neighbour slows both alike. Everything runs on
one core with one BLAS thread, as the bot does. Prints p50 and p99 in ms and their ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from benchmarks.bench_matcher import percentile
from bot.knowledge.evaluation import read_questions
from bot.knowledge.semantic import PAD_TO, SentenceEncoder, model_folder, shared_encoder

QUESTIONS = Path(__file__).resolve().parents[1] / "tests" / "data" / "questions-heldout.jsonl"


def timings(encoder: SentenceEncoder, texts: list[str]) -> list[float]:
    spent = []
    for text in texts:
        start = time.perf_counter()
        encoder.encode([text])
        spent.append((time.perf_counter() - start) * 1000)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    padded = shared_encoder()  # also keeps BLAS to one thread, as in the bot
    assert padded is not None, "unset TABOT_SENTENCE_MODEL=off to measure the encoder"
    unpadded = SentenceEncoder(model_folder(), pad_to=1)
    texts = [q.text for q in read_questions(QUESTIONS)]
    results: dict[str, list[float]] = {"unpadded (baseline)": [], f"padded to {PAD_TO}": []}
    encoders = dict(zip(results, (unpadded, padded), strict=True))
    for round_ in range(args.rounds):
        order = list(results) if round_ % 2 == 0 else list(reversed(results))
        for name in order:
            results[name] += timings(encoders[name], texts)
    base_p50 = statistics.median(results["unpadded (baseline)"])
    base_p99 = percentile(sorted(results["unpadded (baseline)"]), 0.99)
    print(f"one question encoded, {len(texts)} held-out questions x {args.rounds} rounds")
    print(f"{'encoder':<22}{'p50 ms':>9}{'p99 ms':>9}{'p50 x':>8}{'p99 x':>8}")
    for name, spent in results.items():
        p50, p99 = statistics.median(spent), percentile(sorted(spent), 0.99)
        print(f"{name:<22}{p50:>9.2f}{p99:>9.2f}{p50 / base_p50:>8.2f}{p99 / base_p99:>8.2f}")


if __name__ == "__main__":
    main()
