"""Fit the confidence model in bot/confidence.py and print it, ready to paste.

Examples come from three places, so the model learns what "right" and "near miss" look like on
any knowledge base rather than the quirks of one question set:

* every phrasing of every entry, left out of its entry in turn: the right answer is its entry;
* the same, with its whole entry removed: there is no right answer (a realistic near miss);
* single words from the knowledge base's vocabulary: a word used by one entry should find it,
  a word many entries use ("shelter") is too vague to answer;
* labeled question files (`{"text": ..., "expect": id or null}`) for the first knowledge base,
  if given; each counts QUESTION_WEIGHT times, as real questions are what matters.

The label is 1 when the best candidate is the expected entry. The fit is L2-regularised
logistic regression by Newton's method, in plain Python.

    python scripts/calibrate.py --kb knowledge --questions tests/data/questions.jsonl
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.confidence import FEATURES, LogisticModel, evidence
from bot.knowledge.evaluation import read_questions
from bot.knowledge.matcher import Index

Example = tuple[tuple[float, ...], int]
QUESTION_WEIGHT = 3  # real questions count more than examples made from the phrasings


def leave_one_out(index: Index) -> list[Example]:
    examples = []
    for i, entry in enumerate(index.entries):
        for j, question in enumerate(entry.questions):
            query = index.analyse(question)
            candidates = index.candidates(query, exclude=(i, j + 1))
            examples += _example(candidates, query, entry.id)
            others = [c for c in candidates if c.entry.id != entry.id]
            examples += _example(others, query, None)
    return examples


def single_words(index: Index, limit: int = 400) -> list[Example]:
    """One-word questions: answerable only when the word belongs to one entry."""
    users: dict[str, set[str]] = {}
    for entry in index.entries:
        for text in (entry.title, *entry.questions):
            for word in index.normalizer.words(text, correct_typos=False):
                users.setdefault(word, set()).add(entry.id)
    examples = []
    for word in sorted(users)[:: max(1, len(users) // limit)]:
        query = index.analyse(word)
        if not any(q.informative for q in query):
            continue
        owners = users[word]
        examples += _example(index.candidates(query), query,
                             next(iter(owners)) if len(owners) == 1 else None)
    return examples


def labeled(index: Index, path: Path) -> list[Example]:
    examples = []
    for question in read_questions(path):
        query = index.analyse(question.text)
        examples += _example(index.candidates(query), query, question.expect)
    return examples


def _example(candidates, query, expect: str | None) -> list[Example]:
    found = evidence(candidates, query)
    if found is None:
        return []
    right = expect is not None and candidates[0].entry.id == expect
    return [(found.vector(), int(right))]


def fit(examples: list[Example], weights: list[float], l2: float = 1.0,
        rounds: int = 25) -> LogisticModel:
    columns = list(zip(*(x for x, _ in examples), strict=True))
    means = tuple(statistics.fmean(c) for c in columns)
    scales = tuple(statistics.pstdev(c) or 1.0 for c in columns)
    rows = [[1.0, *((v - m) / s for v, m, s in zip(x, means, scales, strict=True))]
            for x, _ in examples]
    labels = [y for _, y in examples]
    w = [0.0] * len(rows[0])
    for _ in range(rounds):
        gradient = [l2 * wi if k else 0.0 for k, wi in enumerate(w)]
        hessian = [[(l2 if a == b and a else 0.0) for b in range(len(w))] for a in range(len(w))]
        for row, y, weight in zip(rows, labels, weights, strict=True):
            p = 1 / (1 + math.exp(-sum(wi * xi for wi, xi in zip(w, row, strict=True))))
            for a, xa in enumerate(row):
                gradient[a] += weight * (p - y) * xa
                for b, xb in enumerate(row):
                    hessian[a][b] += weight * p * (1 - p) * xa * xb
        step = _solve(hessian, gradient)
        w = [wi - si for wi, si in zip(w, step, strict=True)]
    return LogisticModel(means, scales, tuple(w[1:]), w[0])


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting; the systems here are 8 x 8."""
    n = len(vector)
    a = [[*row, vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, n + 1):
                a[r][c] -= factor * a[col][c]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, action="append", required=True)
    parser.add_argument("--questions", type=Path, action="append", default=[])
    args = parser.parse_args()
    examples: list[Example] = []
    indexes = [KnowledgeBase.load(directory).index for directory in args.kb]
    for index in indexes:
        examples += leave_one_out(index) + single_words(index)
    weights = [1.0] * len(examples)
    for path in args.questions:
        questions = labeled(indexes[0], path)
        examples += questions
        weights += [float(QUESTION_WEIGHT)] * len(questions)
    model = fit(examples, weights)
    print(f"# {len(examples)} examples, {sum(y for _, y in examples)} right; features {FEATURES}")
    print("DEFAULT_MODEL = LogisticModel(")
    for name in ("means", "scales", "weights"):
        print(f"    {name}=({', '.join(f'{v:.4f}' for v in getattr(model, name))}),")
    print(f"    bias={model.bias:.4f},\n)")


if __name__ == "__main__":
    main()
