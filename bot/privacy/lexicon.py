"""What the public lists say of a word: how common a first name, surname or English word it is,
and whether it names a US place. Built by scripts/build_name_lists.py; see data/SOURCES.md.

The lists are loaded once, on first use, into one dict of small integers (about 250,000 words),
so a process that never redacts pays nothing and one that does pays a few MB once.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
# Bits of the packed value: English tier (0-3), first-name tier, surname tier, place flag.
_ENGLISH, _FIRST, _SURNAME, _PLACE = 0, 2, 4, 6
MAX_PLACE_WORDS = 4


@dataclass(frozen=True)
class Claims:
    """How strongly each list claims one word: tiers 0 (absent) to 3 (among the most common)."""

    english: int = 0
    first: int = 0
    surname: int = 0
    place: bool = False

    @property
    def name(self) -> int:
        return max(self.first, self.surname)


_NONE = Claims()


@dataclass(frozen=True)
class Lexicon:
    words: dict[str, int]
    places: frozenset[str]  # multi-word place names ("grand forks", "cass county")
    domain: frozenset[str]

    def claims(self, word: str) -> Claims:
        packed = self.words.get(word)
        if packed is None:
            return _NONE
        return Claims(packed >> _ENGLISH & 3, packed >> _FIRST & 3, packed >> _SURNAME & 3,
                      bool(packed >> _PLACE & 1))

    def is_place(self, words: str) -> bool:
        """A place name of one or more (casefolded, space-separated) words."""
        if " " in words:
            return words in self.places
        return self.claims(words).place


def _add_tiers(words: dict[str, int], name: str, shift: int) -> None:
    """Stream one list into the packed dict (no second dict: the peak stays near the result)."""
    with gzip.open(DATA / name, "rt", encoding="utf-8") as lines:
        for line in lines:
            word, _, tier = line.rstrip("\n").partition("\t")
            words[word] = words.get(word, 0) | int(tier) << shift


def _domain() -> frozenset[str]:
    text = (DATA / "domain_lexicon.txt").read_text(encoding="utf-8")
    return frozenset(word.casefold() for line in text.splitlines()
                     for word in line.partition("#")[0].split())


@cache
def load() -> Lexicon:
    """The lists, packed into one dict; cached, so every Redactor shares one copy."""
    words: dict[str, int] = {}
    for name, shift in (("english.tsv.gz", _ENGLISH), ("first_names.tsv.gz", _FIRST),
                        ("surnames.tsv.gz", _SURNAME)):
        _add_tiers(words, name, shift)
    multi = set()
    with gzip.open(DATA / "places.txt.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            place = line.strip()
            if " " in place:
                if place.count(" ") < MAX_PLACE_WORDS:
                    multi.add(place)
            elif place:
                words[place] = words.get(place, 0) | 1 << _PLACE
    return Lexicon(words, frozenset(multi), _domain())
