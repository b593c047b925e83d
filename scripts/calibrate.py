"""Fit the shipped confidence model (`DEFAULT_MODEL` in bot/knowledge/confidence.py) and print
it, ready to paste.

Every knowledge base refits this model for itself when it loads (bot/knowledge/calibration.py),
pulled towards the shipped one; the shipped model is what a small knowledge base falls back on
and where every refit starts. It is fitted here the same way, on the shipped knowledge base's
examples (every phrasing asked against the rest and with its entry removed, and the shipped
off-topic questions) plus, if given, labeled question files, each question counting
QUESTION_WEIGHT times.

    python scripts/calibrate.py --kb knowledge --questions tests/data/questions.jsonl
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.calibration import Example, _example, examples_for, fit, weights_for
from bot.knowledge.confidence import FEATURES, LogisticModel
from bot.knowledge.evaluation import read_questions
from bot.knowledge.matcher import Index

QUESTION_WEIGHT = 3.0  # real questions count more than examples made from the phrasings


def labeled(index: Index, path: Path) -> list[Example]:
    examples = []
    for question in read_questions(path):
        query = index.analyse(question.text)
        kind = "phrasing" if question.expect else "off-topic"
        vector = index.vector(question.text)
        if example := _example(index.candidates(query, vector), query, kind, question.expect,
                               index.domain(query)):
            examples.append(example)
    return examples


def fit_shipped_model(kb_dirs: list[Path], question_files: list[Path]
                      ) -> tuple[LogisticModel, list[Example]]:
    """The shipped model as it is fitted from scratch, and the examples it was fitted on."""
    indexes = [KnowledgeBase.load(directory).index for directory in kb_dirs]
    examples: list[Example] = []
    weights = np.array([])
    for index in indexes:
        own = examples_for(index, sample=10**9)
        examples += own
        weights = np.concatenate([weights, weights_for(own)])
    for path in question_files:
        questions = labeled(indexes[0], path)
        examples += questions
        weights = np.concatenate([weights, np.full(len(questions), QUESTION_WEIGHT)])
    return fit(examples, weights, prior=None, strength=1.0, rounds=25), examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, action="append", required=True)
    parser.add_argument("--questions", type=Path, action="append", default=[])
    args = parser.parse_args()
    model, examples = fit_shipped_model(args.kb, args.questions)
    print(f"# {len(examples)} examples, {sum(e.right for e in examples)} right; "
          f"features {FEATURES}")
    print("DEFAULT_MODEL = LogisticModel(")
    for name in ("means", "scales", "weights"):
        values = [f"{v:.4f}" for v in getattr(model, name)]
        rows = [", ".join(values[k:k + 6]) for k in range(0, len(values), 6)]
        print(f"    {name}=(" + ",\n        ".join(rows) + "),")
    print(f"    bias={model.bias:.4f},\n)")


if __name__ == "__main__":
    main()
