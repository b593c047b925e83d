"""How sure the matcher is: answer, suggest, or hand the question to staff.

A wrong answer about confidentiality can harm a survivor, so "answer" needs more than a high
score. The decision reads a few figures that mean the same thing on any knowledge base, large or
small, in any domain: the best entry's blended score and its margin over the runner-up, how much
of the question the entry covers, how much of its closest phrasing the question contains, how
much of the question the knowledge base has never seen, and how many informative words there
are. A logistic model turns them into a probability that the best entry is the right one.

The model's coefficients are fitted by `scripts/calibrate.py` on the shipped knowledge base's
own phrasings (each left out in turn, and each entry left out to make realistic near misses)
and the calibration question set; see the README.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    ESCALATE = "escalate"
    OFF_TOPIC = "off-topic"  # nothing in the knowledge base's domain: say what tabot is for


@dataclass(frozen=True)
class Thresholds:
    """When to answer, suggest or escalate; see the README before changing them."""

    confidence: float = 0.5  # answer when the model's probability reaches this
    margin: float = 0.02  # never answer when the runner-up is closer than this
    suggest: float = 0.25  # below this blended score nothing is close: escalate


@dataclass(frozen=True)
class QueryToken:
    surface: str
    token: str
    weight: float
    known: bool
    stopword: bool

    @property
    def informative(self) -> bool:
        """A word that says what the question is about (not "how do I", not a bare number)."""
        return not self.stopword and not self.surface.isdigit()


class Scored(Protocol):
    @property
    def score(self) -> float: ...
    @property
    def coverage(self) -> float: ...
    @property
    def overlap(self) -> float: ...
    @property
    def recall(self) -> float: ...
    @property
    def specificity(self) -> float: ...
    @property
    def fuzzy(self) -> float: ...


FEATURES = ("score", "margin", "coverage", "overlap", "recall", "specificity", "unknown",
            "informative", "fuzzy", "agreement")


@dataclass(frozen=True)
class Evidence:
    score: float
    margin: float
    coverage: float
    overlap: float
    recall: float
    specificity: float
    unknown: float  # share of the question's weight in words the knowledge base never uses
    informative: float  # log(1 + number of informative words)
    fuzzy: float
    agreement: float  # share of the three scorers whose own favourite is the best entry

    def vector(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in FEATURES)


def evidence(candidates: Sequence[Scored], query: Sequence[QueryToken]) -> Evidence | None:
    if not candidates:
        return None
    best = candidates[0]
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    total = sum(q.weight for q in query) or 1.0
    unknown = sum(q.weight for q in query if not q.known) / total
    informative = math.log1p(sum(q.informative for q in query))
    agreement = sum(max(candidates, key=lambda c, f=f: getattr(c, f)) is best
                    for f in ("coverage", "overlap", "fuzzy")) / 3
    return Evidence(best.score, best.score - runner_up, best.coverage, best.overlap,
                    best.recall, best.specificity, unknown, informative, best.fuzzy, agreement)


@dataclass(frozen=True)
class LogisticModel:
    """P(best entry is right) = sigmoid(bias + sum(weight * (feature - mean) / scale))."""

    means: tuple[float, ...]
    scales: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, features: Sequence[float]) -> float:
        z = self.bias + sum(w * (x - m) / s for x, m, s, w in
                            zip(features, self.means, self.scales, self.weights, strict=True))
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))


# Fitted by scripts/calibrate.py; rerun it and paste its output here after changing scoring.
DEFAULT_MODEL = LogisticModel(
    means=(0.4533, 0.1535, 0.6361, 0.3980, 0.4319, 0.5259, 0.0152, 1.5158, 0.4696, 0.6670),
    scales=(0.1816, 0.1684, 0.2813, 0.1973, 0.2625, 0.1717, 0.0879, 0.5160, 0.1780, 0.2859),
    weights=(-0.2559, 1.8263, 1.4328, -1.0012, 1.4618, 0.4295, -0.0398, 0.4522, 0.5775, -0.0467),
    bias=0.3561,
)


def decide(candidates: Sequence[Scored], query: Sequence[QueryToken], thresholds: Thresholds,
           model: LogisticModel = DEFAULT_MODEL) -> tuple[Outcome, float]:
    """The outcome, and the model's probability that the best entry is right."""
    found = evidence(candidates, query)
    if found is None:
        return Outcome.ESCALATE, 0.0
    confidence = model.probability(found.vector())
    if confidence >= thresholds.confidence and found.margin >= thresholds.margin:
        return Outcome.ANSWER, confidence
    return (Outcome.SUGGEST if found.score >= thresholds.suggest else Outcome.ESCALATE), confidence
