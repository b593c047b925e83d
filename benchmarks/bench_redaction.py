"""What redaction from data costs: time per message and memory of the loaded lists.

Run with `make bench` (or `python -m benchmarks.bench_redaction`). It redacts every message
of the planted corpus and every clean question (about 1,360 messages, 20 to 600 characters)
with the shipped knowledge base's vocabulary, in the same run with:
* the redactor with its lists (names, places, English words, domain lexicon), as chat uses it;
* the pattern-only redactor (`lists=False`: the shapes, the cues and capitalisation only).
Each repeat times every message once with each, alternating, so a noisy machine slows both
alike; the table shows p50 and p99 over the messages of each one's median time, and the raw
p99 of every timing. Memory is what loading the lists adds to the process's resident size and
what it keeps as Python objects (tracemalloc). Targets (issue #13): p99 <= 1 ms, lists <= 30 MB.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import time
import tracemalloc

from bot.knowledge.base import KnowledgeBase
from bot.privacy import lexicon
from bot.privacy.redaction import Redactor
from tests.conftest import DATA, SHIPPED_KNOWLEDGE

P99_TARGET_MS = 1.0
MEMORY_TARGET_MB = 30.0


def messages() -> list[str]:
    texts = [json.loads(line)["text"] for line in
             (DATA / "pii_corpus.jsonl").read_text().splitlines() if line.strip()]
    for name in ("questions.jsonl", "questions-heldout.jsonl", "clean_questions.jsonl"):
        texts += [json.loads(line)["text"] for line in
                  (DATA / name).read_text().splitlines() if line.strip()]
    return texts


def list_memory() -> tuple[float, float]:
    """MB that loading the lists adds to the resident size (measured first, untraced), and MB
    of Python objects they keep (tracemalloc, on a second load)."""
    lexicon.load.cache_clear()
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lexicon.load()
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    lexicon.load.cache_clear()
    gc.collect()
    tracemalloc.start()
    lexicon.load()
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return kept / 2**20, rss


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timings(redactors: dict[str, Redactor], texts: list[str], repeats: int
            ) -> dict[str, list[list[float]]]:
    """ms per message: times[name][message][repeat]."""
    times = {name: [[] for _ in texts] for name in redactors}
    for _ in range(repeats):
        for i, text in enumerate(texts):
            for name, redactor in redactors.items():
                start = time.perf_counter()
                redactor.redact(text)
                times[name][i].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    kept, rss = list_memory()
    kb = KnowledgeBase.load(SHIPPED_KNOWLEDGE)
    vocabulary, correct = kb.index.normalizer.vocabulary, kb.index.normalizer.correct
    redactors = {"with lists (chat)": Redactor(vocabulary, correct),
                 "pattern-only": Redactor(vocabulary, correct, lists=False)}
    texts = messages()
    times = timings(redactors, texts, args.repeats)
    print(f"redaction: {len(texts)} messages x {args.repeats} repeats; 'p99' is over each "
          "message's median of the repeats, 'raw p99' over every single timing (GC pauses "
          "and other processes on the machine included)")
    print(f"{'redactor':<20} {'p50 ms':>8} {'p99 ms':>8} {'raw p99':>8} {'mean ms':>8}")
    for name, per_message in times.items():
        medians = [statistics.median(runs) for runs in per_message]
        every = [t for runs in per_message for t in runs]
        print(f"{name:<20} {percentile(medians, 0.5):>8.3f} {percentile(medians, 0.99):>8.3f} "
              f"{percentile(every, 0.99):>8.3f} {statistics.fmean(every):>8.3f}")
    print(f"lists loaded: {kept:.1f} MB of Python objects kept (tracemalloc), "
          f"+{rss:.1f} MB resident; targets p99 <= {P99_TARGET_MS} ms, "
          f"lists <= {MEMORY_TARGET_MB:.0f} MB")


if __name__ == "__main__":
    main()
