"""Turning what advocates type into comparable tokens.

Case, accents and punctuation are folded; misspelt words are corrected against the knowledge
base's own vocabulary; acronyms and synonyms from synonyms.yaml become one concept token; words
are stemmed so "releases" meets "release".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import snowballstemmer
from rapidfuzz import fuzz, process

# Function words carry little meaning in a question, whatever the knowledge base is about.
_STOPWORD_TEXT = """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing don down during each few for from
    further had has have having he her here hers him his how i if im in into is it its itll
    ive just let lets me might more most must my no nor not now of off ok okay on once only
    or other our ours out over own please same she should so some such than that thats the
    their them then there these they this those through to too under until up us very want
    was we were what whats when where which while who whom why will with would you your
    yours s t d ll re ve m hi hey hello thanks thank get got anyone someone something yes yeah
yep nope sure cool great good morning afternoon evening bye goodbye
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
# How people type on a phone, in any field: spelled out before anything else, so "w/ her bf"
# meets an entry that says "with her boyfriend". General English chat shorthand only; a
# field's own abbreviations belong in its synonyms.yaml.
_SLASHED = [(re.compile(pattern, re.IGNORECASE), words) for pattern, words in (
    (r"\bw/o\b", " without "), (r"\bw/", " with "), (r"\bb/c\b", " because "),
    (r"\b(\d+)\s*(?:yo|y/o|yrs? old)\b", r" \1 year old "))]
SHORTHAND = {
    "u": "you", "ur": "your", "r": "are", "w": "with", "bc": "because", "cuz": "because",
    "b4": "before", "abt": "about", "thru": "through", "tho": "though", "rn": "right now",
    "yr": "year", "yrs": "years", "mo": "month", "mos": "months", "wk": "week", "wks": "weeks",
    "hr": "hour", "hrs": "hours", "nite": "night", "ppl": "people", "bf": "boyfriend",
    "gf": "girlfriend", "govt": "government", "dept": "department", "mgr": "manager",
    "appt": "appointment", "info": "information", "msg": "message", "pls": "please",
    "plz": "please", "thx": "thanks", "gonna": "going to", "wanna": "want to",
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "isnt": "is not",
    "arent": "are not", "wasnt": "was not", "werent": "were not", "cant": "can not",
    "couldnt": "could not", "shouldnt": "should not", "wouldnt": "would not",
    "wont": "will not", "hes": "he is", "shes": "she is", "theyre": "they are",
    "youre": "you are",
}
_MIN_TYPO_LENGTH = 5
_TYPO_CUTOFF = 80.0
_CACHE_LIMIT = 50_000


def fold(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces."""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if "/" in text or "yo" in text or "old" in text:
        for pattern, words in _SLASHED:
            text = pattern.sub(words, text)
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


def concept_token(term: str) -> str:
    return "_".join(fold(term).split())


class Normalizer:
    """Knows one knowledge base's vocabulary and synonyms; turns text into tokens."""

    def __init__(self, synonyms: dict[str, list[str]], vocabulary: Iterable[str] = ()) -> None:
        """`vocabulary`: texts whose words are the targets for typo correction."""
        self._stemmer = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}
        variants = self._variants(synonyms)
        self._synonym_of = variants
        self._synonym_pattern = self._compile(variants)
        self._synonym_words = {w for variant in variants for w in variant.split()}
        self.learn(fold(text) for text in vocabulary)

    @property
    def terms(self) -> frozenset[str]:
        """Words staff declared in synonyms.yaml ("TJ", "SANE"): their own words, never names."""
        return frozenset(self._synonym_words)

    def learn(self, folded_texts: Iterable[str]) -> None:
        """Set the typo-correction vocabulary from already folded texts."""
        words = {w for text in folded_texts for w in text.split()} | self._synonym_words
        self.vocabulary = frozenset(words)
        self._by_length: dict[int, list[str]] = {}
        for word in sorted(words):
            self._by_length.setdefault(len(word), []).append(word)
        self._corrections: dict[str, str | None] = {}

    @staticmethod
    def _variants(synonyms: dict[str, list[str]]) -> dict[str, str]:
        variants: dict[str, str] = {}
        for canonical, words in synonyms.items():
            token = concept_token(canonical)
            for variant in [canonical, *words]:
                folded = fold(variant)
                if folded:
                    variants.setdefault(folded, token)
        return variants

    @staticmethod
    def _compile(variants: dict[str, str]) -> re.Pattern[str] | None:
        if not variants:
            return None
        alternatives = sorted(variants, key=len, reverse=True)
        return re.compile(r"\b(?:" + "|".join(map(re.escape, alternatives)) + r")\b")

    def correct(self, word: str) -> str | None:
        """The knowledge base's closest word to a misspelt one, or None."""
        if word in self.vocabulary or len(word) < _MIN_TYPO_LENGTH or not word.isalpha():
            return None
        if word in self._corrections:
            return self._corrections[word]
        lengths = range(len(word) - 2, len(word) + 3)
        candidates = [w for n in lengths for w in self._by_length.get(n, ())]
        best = process.extractOne(word, candidates, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF)
        corrected = best[0] if best else None
        if len(self._corrections) < _CACHE_LIMIT:
            self._corrections[word] = corrected
        return corrected

    def stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = word if "_" in word else self._stemmer.stemWord(word)
            if len(self._stems) < _CACHE_LIMIT:
                self._stems[word] = stem
        return stem

    def words(self, text: str, correct_typos: bool = True, folded: bool = False) -> list[str]:
        """Folded words with typos corrected and synonyms joined into concept tokens."""
        words = (text if folded else fold(text)).split()
        words = [part for w in words for part in SHORTHAND.get(w, w).split()]
        if correct_typos:  # a function word ("thanks") is never a misspelt content word
            words = [w if w in STOPWORDS else self.correct(w) or w for w in words]
        joined = " ".join(words)
        if self._synonym_pattern is not None:
            joined = self._synonym_pattern.sub(lambda m: self._synonym_of[m.group(0)], joined)
        return joined.split()

    def tokens(self, text: str, correct_typos: bool = True, folded: bool = False) -> list[str]:
        stems = self._stems
        return [stems.get(w) or self.stem(w) for w in self.words(text, correct_typos, folded)]
