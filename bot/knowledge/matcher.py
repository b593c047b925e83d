"""Finding the knowledge entry a question is about.

The index scores every phrasing of every entry and keeps the best per entry. An entry's score
blends three views of the same question, each between 0 and 1 on any knowledge base:

* coverage: how much of the question's informative weight (IDF over entries) the entry's
  words account for; words the knowledge base has never seen count against it;
* overlap: weighted Dice overlap between the question and the entry's closest phrasing;
* fuzzy: rapidfuzz's token-sort similarity to that phrasing, which forgives word order and
  spelling the normaliser could not fix;
* neighbours: the mean overlap of the entry's two closest phrasings. On a knowledge base with
  many phrasings per entry one lucky phrasing of the wrong entry can beat the right entry's
  closest; two agreeing phrasings rarely do;
* posterior: a naive Bayes estimate, over the shortlisted entries, that the question was drawn
  from this entry's phrasings. It counts how often each word appears across an entry's
  phrasings, which the other views (sets of words) ignore, and adds POSTERIOR_WEIGHT to the
  blend;
* semantic: the cosine between the question's sentence vector and the entry's closest phrasing
  or title (`bot.knowledge.semantic`), which finds the entry when the words differ. It weighs
  SEMANTIC_WEIGHT against all the word views together, and its closest entries join the
  shortlist even when they share no word with the question.

Whether to answer, suggest or escalate is decided in `bot.confidence` from the same
scale-free figures. See "How matching works" in the README.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz

from bot.knowledge.confidence import (
    DEFAULT_MODEL,
    Lines,
    LogisticModel,
    Outcome,
    QueryToken,
    Thresholds,
    decide,
    domain_vector,
)
from bot.knowledge.entries import Entry
from bot.knowledge.normalize import STOPWORDS, Normalizer, fold
from bot.knowledge.semantic import PHRASING_VECTORS, SentenceEncoder

if TYPE_CHECKING:
    from bot.knowledge.calibration import Calibration

STOPWORD_FACTOR = 0.1
CANDIDATES = 20
POSTERIOR_WEIGHT = 0.2
SMOOTHING = 0.1  # added to every word count of an entry in the naive Bayes estimate
NEAREST = 5  # closest phrasings per entry kept, for the vote in bot.knowledge.confidence
WEIGHTS = (0.5, 0.3, 0.2, 0.65)  # coverage, overlap, fuzzy, neighbours
SEMANTIC_WEIGHT = 1.0  # the sentence vectors' cosine, against the word views' blend
SEMANTIC_SHORTLIST = 10  # entries closest in meaning, shortlisted whatever their words
ANSWER_CREDIT = 0.5  # a question word found only in an entry's answer counts this much
TITLE_BONUS = 0.3  # question words in the title (staff's own summary) count this much more


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    score: float
    coverage: float
    overlap: float
    fuzzy: float
    recall: float  # the largest share of one phrasing's weight found in the question
    specificity: float  # how rare the rarest shared word is: 1 = used by this entry alone
    phrasing: str
    matched: tuple[str, ...]
    neighbours: float = 0.0
    nearest: tuple[float, ...] = ()  # overlaps of its closest phrasings, highest first
    missing: float = 0.0  # how rare the rarest question word the entry lacks: 1 = unknown
    posterior: float = 0.0
    semantic: float = 0.0  # cosine to the entry's closest phrasing or title in meaning


@dataclass(frozen=True)
class Match:
    question: str
    outcome: Outcome
    candidates: tuple[Candidate, ...]
    query: tuple[QueryToken, ...] = field(default=())
    confidence: float = 0.0

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def score(self) -> float:
        return self.best.score if self.best else 0.0

    @property
    def margin(self) -> float:
        if not self.candidates:
            return 0.0
        runner_up = self.candidates[1].score if len(self.candidates) > 1 else 0.0
        return self.candidates[0].score - runner_up

    @property
    def has_content(self) -> bool:
        return any(q.informative for q in self.query)

    def suggestions(self, limit: int = 3) -> list[Entry]:
        return [c.entry for c in self.candidates[:limit]]


@dataclass(frozen=True)
class _Phrasing:
    text: str
    tokens: frozenset[str]
    weight: float


class _Query:
    """What every candidate's score needs from the question, worked out once per question.

    Sums keep the question's word order, so every score is the same float as summing
    `query` directly."""

    __slots__ = ("query", "text", "tokens", "total", "weights")

    def __init__(self, query: list[QueryToken], total: float) -> None:
        self.query = query
        self.total = total
        self.weights = list({q.token: q.weight for q in query}.items())
        self.tokens = frozenset(t for t, _ in self.weights)
        self.text = " ".join(q.token for q in query)


class Index:
    """Every phrasing of every entry, prepared once so each question costs milliseconds."""

    def __init__(self, entries: Sequence[Entry], synonyms: dict[str, list[str]],
                 encoder: SentenceEncoder | None = None) -> None:
        """Without an `encoder` the index matches by words alone."""
        self.entries = list(entries)
        self.encoder = encoder if self.entries else None
        self.calibration: Calibration | None = None  # set by the knowledge base that loads it
        # Fold every text once: phrasings (title, questions, tags) first, the answer last.
        folded = [[fold(t) for t in (e.title, *e.questions, " ".join(e.tags), e.answer)]
                  for e in self.entries]
        self.normalizer = Normalizer(synonyms)
        self.normalizer.learn(t for texts in folded for t in texts)
        raw = [[self._tokens(t) for t in texts[:-1]] for texts in folded]
        self._vocab: list[Counter[str]] = [Counter(t for p in ps for t in set(p)) for ps in raw]
        self._answer_tokens = [frozenset(self._tokens(texts[-1])) for texts in folded]
        self._answer_vocab = [
            answer - vocab.keys()
            for answer, vocab in zip(self._answer_tokens, self._vocab, strict=True)
        ]
        documents = [vocab.keys() | answer
                     for vocab, answer in zip(self._vocab, self._answer_vocab, strict=True)]
        self._entries_with = Counter(t for document in documents for t in document)
        self._idf = self._inverse_document_frequency(documents)
        self._unknown_weight = math.log(1 + (len(self.entries) + 0.5) / 0.5)
        self._stop = {self.normalizer.stem(w) for w in STOPWORDS}
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for i, (vocab, answer) in enumerate(zip(self._vocab, self._answer_vocab, strict=True)):
            for token in vocab.keys() - self._stop:
                self._postings.setdefault(token, []).append((i, 1.0))
            for token in answer - self._stop:
                self._postings.setdefault(token, []).append((i, ANSWER_CREDIT))
        self._phrasings = [[self._phrasing(p) for p in ps] for ps in raw]
        self._counts = [Counter(t for p in ps for t in p.tokens) for ps in self._phrasings]
        self._totals = [sum(c.values()) for c in self._counts]
        self._prepare_vectors()

    def _prepare_vectors(self) -> None:
        """One row per title and question, entry by entry: row `_first[i] + j` is phrasing j of
        entry i, numbered as `exclude` numbers them (0 is the title)."""
        texts = self.phrasing_texts()
        sizes = [1 + len(e.questions) for e in self.entries]
        self._first = np.cumsum([0, *sizes[:-1]]).astype(np.intp)
        self._vectors = (PHRASING_VECTORS.vectors(self.encoder, texts) if self.encoder
                         else np.zeros((0, 0), np.float32))

    def phrasing_texts(self) -> list[str]:
        """Every title and question, entry by entry: the texts the index holds vectors of."""
        return [t for e in self.entries for t in (e.title, *e.questions)]

    def vector(self, text: str) -> np.ndarray:
        """The question's sentence vector; `candidates` compares it with every phrasing."""
        if self.encoder is None:
            return np.zeros(0, np.float32)
        return self.encoder.encode([text])[0]

    def cached_vectors(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Vectors of fixed texts (the shipped off-topic questions), cached like phrasings."""
        if self.encoder is None:
            return [np.zeros(0, np.float32) for _ in texts]
        return list(PHRASING_VECTORS.vectors(self.encoder, texts))

    def phrasing_vector(self, i: int, j: int) -> np.ndarray:
        """Phrasing j of entry i's stored vector (0 is the title), for calibration."""
        if self.encoder is None:
            return np.zeros(0, np.float32)
        return self._vectors[self._first[i] + j]

    def semantic(self, vector: np.ndarray, exclude: tuple[int, int] | None = None
                 ) -> np.ndarray:
        """Each entry's closest cosine to the question, leaving out phrasing `exclude`."""
        if not self.entries or not len(vector):
            return np.zeros(len(self.entries), np.float32)
        cosines = self._vectors @ vector
        if exclude is not None:
            cosines[self._first[exclude[0]] + exclude[1]] = -1.0
        return np.maximum(np.maximum.reduceat(cosines, self._first), 0.0)

    def _tokens(self, folded_text: str) -> list[str]:
        return self.normalizer.tokens(folded_text, correct_typos=False, folded=True)

    @staticmethod
    def _inverse_document_frequency(vocabs: list[set[str]]) -> dict[str, float]:
        frequency = Counter(t for vocab in vocabs for t in vocab)
        n = len(vocabs)
        return {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}

    def domain(self, query: Sequence[QueryToken], exclude: tuple[int, int] | None = None,
               without: int | None = None) -> tuple[float, float]:
        """How far the question is in the knowledge base's domain: the share of its informative
        words the knowledge base uses anywhere, by count and by weight (a rare or unknown word
        counts more than a common one). `exclude` leaves out one phrasing and `without` a whole
        entry, as calibration asks."""
        informative = [q for q in query if q.informative]
        if not informative:
            return 1.0, 1.0  # nothing to judge by: greetings and thanks are not off-topic
        known = [q for q in informative if self._known(q.token, exclude, without)]
        return (len(known) / len(informative),
                sum(q.weight for q in known) / sum(q.weight for q in informative))

    def _known(self, token: str, exclude: tuple[int, int] | None, without: int | None) -> bool:
        users = self._entries_with.get(token, 0)
        i = exclude[0] if exclude is not None else without
        if users == 0 or i is None or users > 1:
            return users > 0
        if token not in self._vocab[i] and token not in self._answer_tokens[i]:
            return True  # its one user is another entry
        if exclude is None:
            return False  # only the removed entry used it
        in_left_out = token in self._phrasings[i][exclude[1]].tokens
        return self._vocab[i][token] > in_left_out or token in self._answer_tokens[i]

    def is_stopword(self, token: str) -> bool:
        return token in self._stop

    def weight(self, token: str) -> float:
        base = self._idf.get(token, self._unknown_weight)
        return base * STOPWORD_FACTOR if token in self._stop else base

    def _phrasing(self, tokens: list[str]) -> _Phrasing:
        unique = frozenset(tokens)
        return _Phrasing(" ".join(tokens), unique, sum(self.weight(t) for t in unique))

    def analyse(self, text: str) -> list[QueryToken]:
        seen: dict[str, QueryToken] = {}
        for surface in self.normalizer.words(text):
            token = self.normalizer.stem(surface)
            if token not in seen:
                seen[token] = QueryToken(surface, token, self.weight(token), token in self._idf,
                                         token in self._stop)
        return list(seen.values())

    def candidates(self, query: list[QueryToken], vector: np.ndarray,
                   exclude: tuple[int, int] | None = None, limit: int = CANDIDATES,
                   without: int | None = None) -> list[Candidate]:
        """The best entries for the question (its tokens and sentence vector), best first.
        `exclude` leaves out one phrasing (entry, phrasing) and `without` a whole entry, as
        calibration asks."""
        total = sum(q.weight for q in query)
        if total <= 0:
            return []
        semantic = self.semantic(vector, exclude)
        prepared = _Query(query, total)
        shortlist = self._shortlist(query, semantic, limit, without)
        scored = [(i, c) for i in shortlist if (c := self._score(i, prepared, exclude))]
        posteriors = self._posteriors([i for i, _ in scored], query, exclude)
        meaning = SEMANTIC_WEIGHT if len(vector) else 0.0  # by words alone, their scale
        blended = [replace(c, posterior=p, semantic=float(semantic[i]),
                           score=((c.score + POSTERIOR_WEIGHT * p) / (1 + POSTERIOR_WEIGHT)
                                  + meaning * float(semantic[i])) / (1 + meaning))
                   for (i, c), p in zip(scored, posteriors, strict=True)]
        return sorted(blended, key=lambda c: c.score, reverse=True)

    def _shortlist(self, query: list[QueryToken], semantic: np.ndarray, limit: int,
                   without: int | None) -> list[int]:
        """The entries sharing the most informative weight with the question, and those
        closest to it in meaning."""
        accumulated: Counter[int] = Counter()
        for q in query:
            for i, credit in self._postings.get(q.token, ()):
                accumulated[i] += q.weight * credit
        accumulated.pop(without, None)
        shortlist = [i for i, _ in accumulated.most_common(limit)]
        if self.encoder is None:
            return shortlist
        closest = [i for i in np.argsort(-semantic).tolist() if i != without]
        return list(dict.fromkeys(shortlist + closest[:SEMANTIC_SHORTLIST]))

    def _posteriors(self, shortlist: list[int], query: list[QueryToken],
                    exclude: tuple[int, int] | None) -> list[float]:
        tokens = [q.token for q in query if not q.stopword]
        size = SMOOTHING * len(self._idf)
        likelihoods = []
        for i in shortlist:
            counts, total = self._counts[i], self._totals[i]
            if exclude is not None and exclude[0] == i:
                left_out = self._phrasings[i][exclude[1]].tokens
                counts, total = counts - Counter(left_out), total - len(left_out)
            likelihoods.append(sum(math.log((counts.get(t, 0) + SMOOTHING) / (total + size))
                                   for t in tokens))
        if not likelihoods:
            return []
        top = max(likelihoods)
        odds = [math.exp(x - top) for x in likelihoods]
        return [o / sum(odds) for o in odds]

    def _score(self, i: int, prepared: _Query, exclude: tuple[int, int] | None
               ) -> Candidate | None:
        query, total, weights = prepared.query, prepared.total, prepared.weights
        vocab = self._vocab[i]
        phrasings = self._phrasings[i]
        answer = self._answer_vocab[i]
        if exclude is not None and exclude[0] == i:
            vocab = vocab - Counter(phrasings[exclude[1]].tokens)
            answer = self._answer_tokens[i] - vocab.keys()
            phrasings = [p for j, p in enumerate(phrasings) if j != exclude[1]]
        if not phrasings:
            return None
        hits = [q for q in query if q.token in vocab or q.token in answer]
        matched = tuple(q.surface for q in hits)
        covered = sum(q.weight * (1.0 if q.token in vocab else ANSWER_CREDIT) for q in hits)
        coverage = covered / total
        rarest = max((q.weight for q in hits), default=0)
        specificity = rarest / self._unknown_weight
        lacking = max((q.weight for q in query if q.informative and q not in hits), default=0)
        missing = lacking / self._unknown_weight
        overlap, recall, best = 0.0, 0.0, phrasings[0]
        dices: list[float] = []
        for phrasing in phrasings:
            if phrasing.tokens.isdisjoint(prepared.tokens):
                continue  # shares no word: its overlap and recall are 0 and change nothing
            shared = sum([w for t, w in weights if t in phrasing.tokens])
            dice = 2 * shared / (total + phrasing.weight)
            dices.append(dice)
            if dice > overlap:
                overlap, best = dice, phrasing
            if phrasing.weight and shared / phrasing.weight > recall:
                recall = shared / phrasing.weight
        fuzzy = fuzz.token_sort_ratio(prepared.text, best.text) / 100
        title = phrasings[0].tokens if not (exclude and exclude[0] == i and exclude[1] == 0) else ()
        in_title = sum([w for t, w in weights if t in title]) / total
        nearest = tuple(heapq.nlargest(NEAREST, dices))
        neighbours = sum(nearest[:2]) / 2
        score = (WEIGHTS[0] * coverage + WEIGHTS[1] * overlap + WEIGHTS[2] * fuzzy
                 + WEIGHTS[3] * neighbours + TITLE_BONUS * in_title) / (sum(WEIGHTS) + TITLE_BONUS)
        return Candidate(self.entries[i], score, coverage, overlap, fuzzy, recall, specificity,
                         best.text, matched, neighbours, nearest, missing)


class Matcher:
    """Decides with the knowledge base's calibrated model and lines (see
    `bot.knowledge.calibration`), or with staff's own lines where `thresholds` sets them."""

    def __init__(self, index: Index, thresholds: Thresholds | None = None) -> None:
        self.index = index
        self.thresholds = thresholds or Thresholds()
        calibration = index.calibration
        self.model: LogisticModel = calibration.model if calibration else DEFAULT_MODEL
        self.off_topic_model = calibration.off_topic_model if calibration else None
        base = calibration.lines if calibration else Lines()
        self.lines = base.overridden(self.thresholds)

    def match(self, text: str, exclude: tuple[int, int] | None = None) -> Match:
        """`exclude` (entry, phrasing) asks that phrasing, whose text is `text`, against the
        rest of the knowledge base, with the vector stored for it."""
        query = self.index.analyse(text)
        vector = (self.index.phrasing_vector(*exclude) if exclude is not None
                  else self.index.vector(text))
        candidates = self.index.candidates(query, vector, exclude)
        off_topic = 0.0
        if self.off_topic_model is not None:
            found = domain_vector(candidates, query, self.index.domain(query, exclude))
            off_topic = self.off_topic_model.probability(found)
        outcome, confidence = decide(candidates, query, self.lines, self.model, off_topic,
                                     self.thresholds.margin)
        return Match(text, outcome, tuple(candidates), tuple(query), confidence)
