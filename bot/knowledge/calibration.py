"""Each knowledge base sets its own answer, suggestion and off-topic lines when it loads.

Constants fitted on one knowledge base do not carry to another: on a set with ten phrasings per
entry a score that is safe on ours answers wrongly one time in four. So the knowledge base
examines itself. Every sampled phrasing is asked as a question against the rest (its entry
should win), and again with its whole entry removed (a question that sounds in-domain but that
no entry answers), and a shipped list of everyday off-topic questions is asked too. From those
examples:

* the confidence model is refitted, pulled towards the shipped model so that a small
  knowledge base cannot talk it into nonsense;
* the answer line is the lowest confidence at which the expected share of wrong answers
  stays within `max_wrong` (TABOT_MAX_WRONG);
* the suggestion line keeps nearly every question whose entry is among the top three above it;
* an off-topic model is fitted to tell the off-topic questions from the rest by how much of a
  question the knowledge base's words cover and how close its closest entry comes, and its
  line is drawn so that almost no in-domain question reaches it, whether it is a phrasing or
  a question no entry answers.

The result is cached by the knowledge base's content hash, in memory and on disk, so a reload
of unchanged files costs nothing.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import platformdirs

from bot.knowledge.confidence import (
    DEFAULT_MODEL,
    Lines,
    LogisticModel,
    domain_vector,
    evidence,
)
from bot.knowledge.matcher import Candidate, Index

log = logging.getLogger(__name__)

# The code and data that score and calibrate: a new version of any of it calibrates afresh.
_CODE = [Path(__file__).resolve().parent / name for name in (
    "calibration.py", "confidence.py", "matcher.py", "normalize.py", "semantic.py",
    "data/off_topic.txt")]
DEFAULT_MAX_WRONG = 0.05
SAMPLE = 1000  # phrasings asked; enough for stable lines, and a bound on the time it takes
MIN_PHRASINGS = 40  # below this there is too little evidence: the shipped defaults are used
PRIOR_STRENGTH = 30.0  # how hard the fit is pulled towards the shipped model
SHARES = {"phrasing": 0.75, "no-entry": 0.2, "off-topic": 0.05}  # assumed mix of questions
MARGIN_OF_ERROR = 0.5  # standard errors of the expected wrong-answer rate kept in hand
SUGGEST_KEEP = 0.995  # share of findable questions kept above the suggestion line
IN_DOMAIN_SLACK = 0.01  # share of in-domain questions the off-topic line may catch
# Each in-domain kind is held to IN_DOMAIN_SLACK on its own. Pooled, the phrasings (three in
# four examples, and easy to tell from off-topic) let the line catch several times the slack of
# the questions no entry answers: the very questions that must reach staff.
IN_DOMAIN_KINDS = ("phrasing", "no-entry")
# When nothing is close enough to suggest, a question more likely outside the domain than in it
# (the off-topic model's classes weigh the same) is off-topic: filing it would only add to
# staff's queue, and the off-topic reply still offers staff in one word.
FAR_OFF_TOPIC = 0.5
OFF_TOPIC_FILE = Path(__file__).resolve().parent / "data" / "off_topic.txt"


@dataclass(frozen=True)
class Calibration:
    model: LogisticModel
    lines: Lines
    off_topic_model: LogisticModel | None
    max_wrong: float
    expected_wrong: float  # among answers
    expected_answered: float  # share of answerable questions answered
    expected_resolved: float  # answered rightly, or the entry offered
    off_topic_caught: float  # share of the shipped off-topic questions judged off-topic
    in_domain_off_topic: float  # share of in-domain questions judged off-topic
    examples: int
    seconds: float
    calibrated: bool = True

    def describe(self) -> list[str]:
        """What `tabot kb calibrate` and `tabot kb lint` print."""
        if not self.calibrated:
            return [f"calibration: too few phrasings (< {MIN_PHRASINGS}) to calibrate; using "
                    f"the shipped lines (answer at confidence {self.lines.confidence:.2f}, "
                    f"suggest from score {self.lines.suggest:.2f})"]
        return [
            f"calibration: {self.examples} examples in {self.seconds:.2f} s, target wrong "
            f"answers <= {self.max_wrong:.0%}",
            f"  answer line: confidence >= {self.lines.confidence:.3f} (expected wrong among "
            f"answers {self.expected_wrong:.1%}, answered {self.expected_answered:.1%})",
            f"  suggestion line: score >= {self.lines.suggest:.3f} (expected resolved "
            f"{self.expected_resolved:.1%})",
            f"  off-topic line: probability outside the domain >= {self.lines.off_topic:.3f} "
            f"(shipped off-topic questions caught {self.off_topic_caught:.1%}, in-domain "
            f"questions judged off-topic {self.in_domain_off_topic:.1%})",
        ]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        data = json.loads(text)
        model, off_topic = (_model(data.pop(key)) for key in ("model", "off_topic_model"))
        return cls(model=model, off_topic_model=off_topic, lines=Lines(**data.pop("lines")),
                   **data)


def _model(data: dict | None) -> LogisticModel | None:
    if data is None:
        return None
    return LogisticModel(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


UNCALIBRATED = Calibration(DEFAULT_MODEL, Lines(), None, DEFAULT_MAX_WRONG, 0.0, 0.0, 0.0, 0.0, 0.0,
                           0, 0.0, calibrated=False)


@dataclass(frozen=True)
class Example:
    features: tuple[float, ...]
    kind: str  # "phrasing", "no-entry" or "off-topic"
    right: bool  # the best candidate is the entry the question came from
    offered: bool  # that entry is among the top three
    score: float
    domain: tuple[float, ...]  # bot.knowledge.confidence.domain_vector


def off_topic_questions() -> list[str]:
    lines = OFF_TOPIC_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def calibrate(index: Index, max_wrong: float = DEFAULT_MAX_WRONG,
              sample: int = SAMPLE) -> Calibration:
    start = time.perf_counter()
    if sum(len(e.questions) for e in index.entries) < MIN_PHRASINGS or len(index.entries) < 3:
        return UNCALIBRATED
    examples = examples_for(index, sample)
    weights = weights_for(examples)
    model = fit(examples, weights)
    off_topic_model = _fit_off_topic(examples, weights)
    found = _lines(examples, weights, model, off_topic_model, max_wrong)
    return Calibration(model=model, lines=found.lines, off_topic_model=off_topic_model,
                       max_wrong=max_wrong,
                       expected_wrong=found.wrong, expected_answered=found.answered,
                       expected_resolved=found.resolved, off_topic_caught=found.caught,
                       in_domain_off_topic=found.in_domain_off, examples=len(examples),
                       seconds=time.perf_counter() - start)


def examples_for(index: Index, sample: int = SAMPLE) -> list[Example]:
    """Up to `sample` phrasings asked two ways each, and the shipped off-topic questions."""
    examples = [e for i, j in sampled_phrasings(index, sample) for e in _asked(index, i, j)]
    texts = off_topic_questions()
    return examples + [e for text, vector in zip(texts, index.cached_vectors(texts), strict=True)
                       if (e := _off_topic(index, text, vector))]


def sampled_phrasings(index: Index, sample: int = SAMPLE) -> list[tuple[int, int]]:
    """The phrasings (entry, phrasing) asked as questions: at most `sample` of them."""
    phrasings = [(i, j) for i, entry in enumerate(index.entries)
                 for j in range(1, len(entry.questions) + 1)]
    return sorted(heapq.nsmallest(sample, phrasings, key=lambda p: _draw(index, *p)))


def _draw(index: Index, i: int, j: int) -> bytes:
    """A phrasing's place in the sample, fixed by its own text: adding or rewording a few
    phrasings changes a few examples, not the whole sample (and with it every line)."""
    entry = index.entries[i]
    return hashlib.blake2b(f"{entry.id}\n{entry.questions[j - 1]}".encode(),
                           digest_size=8).digest()


def _asked(index: Index, i: int, j: int) -> list[Example]:
    """Phrasing j of entry i as a question: against the rest, and with its entry gone."""
    question = index.entries[i].questions[j - 1]
    query = index.analyse(question)
    vector = index.phrasing_vector(i, j)
    candidates = index.candidates(query, vector, exclude=(i, j))
    others = index.candidates(query, vector, without=i)
    examples = []
    if (example := _example(candidates, query, "phrasing", index.entries[i].id,
                            index.domain(query, exclude=(i, j)))):
        examples.append(example)
    if (example := _example(others, query, "no-entry", None,
                            index.domain(query, without=i))):
        examples.append(example)
    return examples


def _off_topic(index: Index, text: str, vector: np.ndarray) -> Example | None:
    query = index.analyse(text)
    return _example(index.candidates(query, vector), query, "off-topic", None,
                    index.domain(query))


def _example(candidates: Sequence[Candidate], query: Sequence, kind: str, expect: str | None,
             known: tuple[float, float]) -> Example | None:
    found = evidence(candidates, query)
    if found is None:
        return None
    top = [c.entry.id for c in candidates[:3]]
    return Example(found.vector(), kind, expect is not None and top[0] == expect,
                   expect in top, found.score, domain_vector(candidates, query, known))


def weights_for(examples: list[Example]) -> np.ndarray:
    """Each kind weighs its assumed share of real questions, whatever its count here."""
    counts = {kind: sum(e.kind == kind for e in examples) for kind in SHARES}
    present = sum(share for kind, share in SHARES.items() if counts[kind])
    return np.array([SHARES[e.kind] / present / counts[e.kind] * len(examples)
                     for e in examples])


def fit(examples: list[Example], weights: np.ndarray, prior: LogisticModel | None = DEFAULT_MODEL,
        strength: float = PRIOR_STRENGTH, rounds: int = 12) -> LogisticModel:
    """The confidence model: is the best candidate the right entry?"""
    return fit_logistic(np.array([e.features for e in examples]),
                        np.array([e.right for e in examples], dtype=float),
                        weights, prior, strength, rounds)


def _fit_off_topic(examples: list[Example], weights: np.ndarray) -> LogisticModel | None:
    """The off-topic model: is the question outside the domain? The two classes weigh the
    same, so the line drawn on it, not the mix of examples, decides how often it says yes.
    None when no off-topic question came anywhere near an entry: there is nothing to tell
    apart, and questions that nothing comes close to go to staff as before."""
    off = np.array([e.kind == "off-topic" for e in examples])
    if off.all() or not off.any():
        return None
    balanced = np.where(off, weights / weights[off].sum(), weights / weights[~off].sum())
    balanced *= len(examples) / balanced.sum()
    return fit_logistic(np.array([e.domain for e in examples]), off.astype(float), balanced,
                        prior=None, strength=1.0, rounds=25)


def fit_logistic(features: np.ndarray, y: np.ndarray, weights: np.ndarray,
                 prior: LogisticModel | None, strength: float, rounds: int) -> LogisticModel:
    """Weighted logistic regression by Newton's method, with an L2 pull towards `prior` (in
    the prior's standardised units, so the pull means the same for every feature). Without a
    prior (fitting the shipped model itself) the pull is towards zero."""
    if prior is None:
        prior = LogisticModel(tuple(features.mean(0)), tuple(features.std(0) + 1e-9),
                              (0.0,) * features.shape[1], 0.0)
    means, scales = np.array(prior.means), np.array(prior.scales)
    x = np.hstack([np.ones((len(features), 1)), (features - means) / scales])
    anchor = np.array([prior.bias, *prior.weights])
    pull = np.full(len(anchor), strength)
    pull[0] = strength / 10  # the base rate differs most between knowledge bases
    def loss(beta: np.ndarray) -> float:
        z = np.clip(x @ beta, -50, 50)
        return float(weights @ (np.logaddexp(0, z) - y * z)
                     + pull @ (beta - anchor) ** 2 / 2)

    beta = anchor.copy()
    for _ in range(rounds):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -50, 50)))
        gradient = x.T @ (weights * (p - y)) + pull * (beta - anchor)
        hessian = (x * (weights * p * (1 - p))[:, None]).T @ x + np.diag(pull)
        step = np.linalg.solve(hessian, gradient)
        before = loss(beta)
        while loss(beta - step) > before and np.abs(step).max() > 1e-9:
            step = step / 2  # a full Newton step can overshoot where the data nearly separate
        beta = beta - step
    return LogisticModel(prior.means, prior.scales, tuple(float(b) for b in beta[1:]),
                         float(beta[0]))


@dataclass(frozen=True)
class _Found:
    lines: Lines
    wrong: float
    answered: float
    resolved: float
    caught: float
    in_domain_off: float


def _lines(examples: list[Example], weights: np.ndarray, model: LogisticModel,
           off_topic_model: LogisticModel | None, max_wrong: float) -> _Found:
    confidence = np.array([model.probability(e.features) for e in examples])
    wrong = np.array([not e.right for e in examples])
    answer_line = _answer_line(confidence, wrong, weights, max_wrong)
    answered = confidence >= answer_line
    kinds = np.array([e.kind for e in examples])
    asked = kinds == "phrasing"
    offered = np.array([e.offered for e in examples])
    score = np.array([e.score for e in examples])
    suggest_line = _quantile(score[asked & offered], weights[asked & offered], 1 - SUGGEST_KEEP)
    outside = np.array([off_topic_model.probability(e.domain) if off_topic_model else 0.0
                        for e in examples])
    in_domain = np.array([e.kind != "off-topic" for e in examples])
    off_topic_line = max(_off_topic_line(outside[kinds == kind], weights[kinds == kind])
                         for kind in IN_DOMAIN_KINDS if (kinds == kind).any())
    suggested = score >= suggest_line
    off = ((outside >= off_topic_line) | (~suggested & (outside >= FAR_OFF_TOPIC))) & ~answered
    resolved = (answered & ~wrong) | (~answered & offered & (score >= suggest_line) & ~off)
    lines = Lines(answer_line, suggest_line)
    if off_topic_model is not None:
        lines = lines.with_off_topic(off_topic_line, FAR_OFF_TOPIC)
    return _Found(
        lines,
        wrong=_share(wrong, answered, weights),
        answered=_share(answered, asked, weights),
        resolved=_share(resolved, asked, weights),
        caught=_share(off, ~in_domain, weights),
        in_domain_off=_share(off, in_domain, weights),
    )


def _answer_line(confidence: np.ndarray, wrong: np.ndarray, weights: np.ndarray,
                 max_wrong: float) -> float:
    """The lowest confidence whose answers (everything at or above it) are wrong at most
    `max_wrong` of the time, allowing for the sampling error of a few hundred examples (the
    rate plus MARGIN_OF_ERROR standard errors, over the examples' effective number); 1.0
    (never answer) if none is."""
    order = np.argsort(-confidence)
    answered = np.cumsum(weights[order])
    wrongs = np.cumsum(weights[order] * wrong[order])
    effective = answered ** 2 / np.cumsum(weights[order] ** 2)
    rate = wrongs / answered
    upper = rate + MARGIN_OF_ERROR * np.sqrt(rate * (1 - rate) / effective)
    enough = answered >= 0.01 * weights.sum()  # not a line drawn through a handful
    ok = np.nonzero((upper <= max_wrong) & enough)[0]
    if not len(ok):
        return 1.0
    return float(confidence[order][ok[-1]])


def _quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    if not len(values):
        return Lines.suggest
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cumulative, q)])


def _off_topic_line(outside: np.ndarray, weights: np.ndarray) -> float:
    """The lowest off-topic probability at or above which at most IN_DOMAIN_SLACK of in-domain
    questions fall."""
    order = np.argsort(-outside)
    above = np.cumsum(weights[order]) / weights.sum()
    over = np.nonzero(above > IN_DOMAIN_SLACK)[0]
    if not len(over):
        return float(outside.min())
    return float(np.nextafter(outside[order][over[0]], 2.0))


def _share(hit: np.ndarray, among: np.ndarray, weights: np.ndarray) -> float:
    whole = weights[among].sum()
    return float(weights[hit & among].sum() / whole) if whole else 0.0


@functools.cache
def code_version() -> str:
    digest = hashlib.sha256()
    for path in _CODE:
        digest.update(path.read_bytes())
    return digest.hexdigest()


class CalibrationCache:
    """Calibrations by content hash: in memory for this process, on disk across restarts."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._memory: dict[str, Calibration] = {}

    def _folder(self) -> Path:
        return self.directory or Path(platformdirs.user_cache_dir("tabot")) / "calibration"

    def get(self, index: Index, content_hash: str, max_wrong: float) -> Calibration:
        model = index.encoder.version if index.encoder else "none"
        key = hashlib.sha256(
            f"{code_version()}:{model}:{max_wrong}:{content_hash}".encode()).hexdigest()
        if (found := self._memory.get(key)) is not None:
            return found
        path = self._folder() / f"{key[:32]}.json"
        found = self._read(path)
        if found is None:
            found = calibrate(index, max_wrong)
            self._write(path, found)
        self._memory[key] = found
        return found

    @staticmethod
    def _read(path: Path) -> Calibration | None:
        try:
            return Calibration.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            return None  # missing or unreadable: calibrate again

    @staticmethod
    def _write(path: Path, calibration: Calibration) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(calibration.to_json(), encoding="utf-8")
            temporary.replace(path)
        except OSError as exc:  # a read-only disk costs time at the next start, nothing else
            log.warning("calibration not cached (%s)", type(exc).__name__)


CACHE = CalibrationCache()
