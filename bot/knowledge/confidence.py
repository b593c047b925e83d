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
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    ESCALATE = "escalate"
    OFF_TOPIC = "off-topic"  # nothing in the knowledge base's domain: say what tabot is for


@dataclass(frozen=True)
class Thresholds:
    """Staff's own lines, overriding the knowledge base's calibrated ones where set.

    None means "use the calibrated line" (see `bot.knowledge.calibration`)."""

    confidence: float | None = None  # answer when the model's probability reaches this
    margin: float = 0.0  # never answer when the runner-up is closer than this
    suggest: float | None = None  # below this blended score nothing is close: escalate


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
    @property
    def neighbours(self) -> float: ...
    @property
    def nearest(self) -> tuple[float, ...]: ...
    @property
    def missing(self) -> float: ...
    @property
    def posterior(self) -> float: ...
    @property
    def semantic(self) -> float: ...


FEATURES = ("score", "margin", "coverage", "overlap", "recall", "specificity", "unknown",
            "informative", "fuzzy", "agreement", "neighbours", "votes", "missing", "posterior",
            "semantic", "semantic_margin")


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
    neighbours: float  # mean overlap of the best entry's two closest phrasings
    votes: float  # share of the closest phrasings, across all entries, that are the best's
    missing: float  # how rare the rarest question word the best entry lacks
    posterior: float  # naive Bayes probability of the best entry among the shortlist
    semantic: float  # cosine of the question's meaning to the best entry's closest phrasing
    semantic_margin: float  # that, less the closest cosine of any other shortlisted entry

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
    closest_other = max((c.semantic for c in candidates[1:]), default=0.0)
    return Evidence(best.score, best.score - runner_up, best.coverage, best.overlap,
                    best.recall, best.specificity, unknown, informative, best.fuzzy, agreement,
                    best.neighbours, _votes(candidates), best.missing,
                    best.posterior, best.semantic, best.semantic - closest_other)


def _votes(candidates: Sequence[Scored], k: int = 5) -> float:
    """Of the k phrasings closest to the question, whichever entries they belong to, the
    share that belong to the best entry: a nearest-neighbour vote."""
    ranked = sorted(((d, n) for n, c in enumerate(candidates) for d in c.nearest), reverse=True)
    top = ranked[:k]
    return sum(n == 0 for _, n in top) / len(top) if top else 0.0


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
    means=(0.4865, 0.1146, 0.5483, 0.3501, 0.4731, 0.5052,
        0.0238, 1.9761, 0.5047, 0.4671, 0.3048, 0.4339,
        0.4929, 0.5615, 0.5724, 0.0358),
    scales=(0.1358, 0.1059, 0.2526, 0.1754, 0.2582, 0.1798,
        0.1233, 0.4698, 0.1167, 0.3305, 0.1610, 0.3265,
        0.3085, 0.3729, 0.1362, 0.1032),
    weights=(2.8113, 1.1445, -0.0373, -2.0242, 0.7238, 0.7839,
        -0.1662, -0.0103, 0.0628, 0.2041, 0.6929, 0.2053,
        -0.2647, -0.6031, -0.6044, -0.0268),
    bias=0.6837,
)


DOMAIN_FEATURES = ("known", "known_weight", "score", "coverage", "informative", "semantic")


def domain_vector(candidates: Sequence[Scored], query: Sequence[QueryToken],
                  known: tuple[float, float]) -> tuple[float, ...]:
    """What tells a question outside the knowledge base's domain from one inside it that no
    entry answers: how much of it (by count, and by weight) the knowledge base's words cover,
    and how close the closest entry comes, in words and in meaning."""
    best = candidates[0] if candidates else None
    informative = math.log1p(sum(q.informative for q in query))
    meaning = max((c.semantic for c in candidates), default=0.0)
    return (*known, best.score if best else 0.0, best.coverage if best else 0.0, informative,
            meaning)


def decide(candidates: Sequence[Scored], query: Sequence[QueryToken], lines: Lines,
           model: LogisticModel = DEFAULT_MODEL, off_topic: float = 0.0,
           margin: float = 0.0) -> tuple[Outcome, float]:
    """The outcome, and the model's probability that the best entry is right.

    `off_topic` is the calibrated probability that the question is outside the knowledge
    base's domain: at or above the off-topic line it is off-topic, unless an entry answers it
    outright."""
    found = evidence(candidates, query)
    if found is None:
        far = off_topic >= lines.off_topic_when_far
        return (Outcome.OFF_TOPIC if far else Outcome.ESCALATE), 0.0
    confidence = model.probability(found.vector())
    if confidence >= lines.confidence and found.margin >= margin:
        return Outcome.ANSWER, confidence
    if off_topic >= lines.off_topic:
        return Outcome.OFF_TOPIC, confidence
    if found.score >= lines.suggest:
        return Outcome.SUGGEST, confidence
    # Nothing is close: more likely outside the domain than in it is enough to say so.
    return (Outcome.OFF_TOPIC if off_topic >= lines.off_topic_when_far else Outcome.ESCALATE,
            confidence)


@dataclass(frozen=True)
class Lines:
    """Where the decision changes. These are the fallbacks for a knowledge base too small to
    calibrate; `bot.knowledge.calibration` sets each knowledge base's own."""

    confidence: float = 0.5  # answer at or above this probability
    suggest: float = 0.25  # below this blended score, nothing is close enough to offer
    off_topic: float = 2.0  # at or above this probability, off-topic (never, uncalibrated)
    off_topic_when_far: float = 2.0  # the same, when nothing is close enough to suggest

    def with_off_topic(self, line: float, when_far: float) -> Lines:
        return replace(self, off_topic=line, off_topic_when_far=when_far)

    def overridden(self, thresholds: Thresholds) -> Lines:
        return Lines(self.confidence if thresholds.confidence is None else thresholds.confidence,
                     self.suggest if thresholds.suggest is None else thresholds.suggest,
                     self.off_topic, self.off_topic_when_far)
