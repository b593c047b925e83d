"""Redaction of identifying details before anything is stored, logged or forwarded.

Advocates type real details into chat ("my client ... at 12 Oak St"). Every path out of the
core (database, logs, staff, other platforms) goes through `redact()` first. Placeholders keep
the question readable: "[NAME] at [ADDRESS] needs a PO".

Patterns catch what has a shape (phones, e-mails, dates, numbers, addresses, plates, links).
Names have no shape, so two rules work together, each erring towards redacting:
* a word after a cue ("my client", "her son", "Ms.", "named") that is not an ordinary word,
  whatever its case;
* a capitalised word that is not an ordinary word ("Marisol Vantreek", "ZORBELLE").
Ordinary words are the knowledge base's own (VAWA, Housing, Title), English function words and
a short list of common ones; an unknown place or programme name may be redacted too, which
costs the question nothing (the matcher gives unknown words no credit).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.normalize import STOPWORDS

_STREET = (
    r"street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|way|place|pl|"
    r"circle|cir|highway|hwy|parkway|pkwy|terrace|ter|trail|trl|route|rte|loop|row|square|sq"
)
_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_NAME_CUES = (
    r"client|survivor|resident|victim|caller|participant|advocate|named|name is|name's|"
    r"called|mom|mother|dad|father|husband|wife|boyfriend|girlfriend|bf|gf|partner|ex|"
    r"abuser|son|daughter|kid|child|baby|sister|brother|aunt|uncle|grandma|grandmother|"
    r"cousin|niece|nephew|friend|neighbor|neighbour|coworker|officer|detective|judge|"
    r"attorney|lawyer|landlord|ms|mr|mrs|mx|miss|dr|sr|jr"
)
_WORD = r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]"

_SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("[EMAIL]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("[URL]", re.compile(r"(?:\bhttps?://|\bwww\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|"
                         r"gov|edu|io|me|us|co|app|info|biz|ly|tv)/[^\s)\]\"']+",
                         re.IGNORECASE)),
    ("[SSN]", re.compile(r"\b\d{3}[- ]\d{2}[- ]\d{4}\b")),
    ("[PHONE]", re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b")),
    ("[DATE]", re.compile(rf"\b\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b|\b(?:{_MONTHS})\.?\s+"
                          rf"\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", re.IGNORECASE)),
    ("[ADDRESS]", re.compile(
        rf"\b\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:[A-Za-z0-9.'-]+\s+){{1,3}}(?:{_STREET})\b\.?"
        r"(?:,?\s+(?:apt|unit|suite|ste|#)\.?\s*[\w-]+)?", re.IGNORECASE)),
    ("[CASE NUMBER]", re.compile(
        r"\b(?:case|docket|file|record|claim|cause|petition|order)\s*(?:no\.?|number|num|#)?"
        r"\s*[:#]?\s*(?=[\w-]*\d)[A-Za-z0-9][A-Za-z0-9-]{3,}\b", re.IGNORECASE)),
    ("[PLATE]", re.compile(
        r"\b(?:plates?|tags?|license|licence|lic)\s*(?:no\.?|number|#|plate)?\s*[:#]?\s*"
        r"(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]{3,9}\b",
        re.IGNORECASE)),
]
_CUED = re.compile(rf"\b((?i:{_NAME_CUES})\.?,?\s+)((?:{_WORD})(?:\s+(?:{_WORD}))?)")
_CAPITALISED_RUN = re.compile(r"(?<!\[)\b[A-Z](?:[a-z'’-]*[a-z]|[A-Z'’-]*[A-Z])?"
                              r"(?:\s+[A-Z](?:[a-z'’-]*[a-z]|[A-Z'’-]*[A-Z])?)*\b")
# Ordinary words that often start a message and may not be in the knowledge base.
COMMON_WORDS = frozenset("""
    also quick question hey thanks thank yes yeah sorry hello hi update fyi help urgent today
    yesterday tomorrow tonight last next another since after before during anyway btw actually
    basically honestly currently recently unfortunately hopefully apparently maybe perhaps still
    well sure wait following ok okay good great morning afternoon evening weekend monday tuesday
    wednesday thursday friday saturday sunday january february march april may june july august
    september october november december i im ive id its lol ugh hmm new old first second one two
    three four five six seven eight nine ten every each any some many much more most our your
    their this that these those there here where when why how what which who whom whose would
    could should can will shall might must does did done had has have having been being was were
    ms mr mrs mx miss dr
    """.split())
_PLACEHOLDER = re.compile(r"\[[A-Z ]+\]")
_PLACEHOLDER_SPLIT = re.compile(r"(\[[A-Z ]+\])")


def without_placeholders(text: str) -> str:
    """What the matcher sees: the redacted question with its placeholders taken out."""
    return " ".join(_PLACEHOLDER.sub(" ", text).split())
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)


@dataclass(frozen=True)
class Redaction:
    text: str
    kinds: frozenset[str]

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


class Redactor:
    """Knows which words are ordinary (the knowledge base's and English function words)."""

    def __init__(self, vocabulary: Iterable[str] = ()) -> None:
        self.known = frozenset(w.casefold() for w in vocabulary) | STOPWORDS | COMMON_WORDS

    def _ordinary(self, word: str) -> bool:
        return _POSSESSIVE.sub("", word).casefold().strip("'’-") in self.known

    def redact(self, text: str) -> Redaction:
        kinds: set[str] = set()
        for placeholder, pattern in _SHAPES:
            text, count = pattern.subn(placeholder, text)
            if count:
                kinds.add(placeholder)
        parts = _PLACEHOLDER_SPLIT.split(text)  # placeholders sit at odd positions
        for i in range(0, len(parts), 2):
            for rule in (self._cued_names, self._capitalised_names):
                parts[i], count = rule(parts[i])
                if count:
                    kinds.add("[NAME]")
        return Redaction("".join(parts), frozenset(kinds))

    def _cued_names(self, text: str) -> tuple[str, int]:
        def replace(found: re.Match[str]) -> str:
            words = found.group(2).split()
            kept = 0
            while kept < len(words) and not self._ordinary(words[kept]):
                kept += 1
            if kept == 0:
                return found.group(0)
            tail = " ".join(words[kept:])
            return found.group(1) + _name(words[kept - 1]) + (" " + tail if tail else "")
        return _count_changes(_CUED, replace, text)

    def _capitalised_names(self, text: str) -> tuple[str, int]:
        def replace(found: re.Match[str]) -> str:
            words = found.group(0).split()
            unknown = [w for w in words if not self._ordinary(w)]
            if not unknown:
                return found.group(0)
            if len(unknown) < len(words):
                return " ".join(_name(w) if not self._ordinary(w) else w for w in words)
            return _name(words[-1])
        return _count_changes(_CAPITALISED_RUN, replace, text)


def _name(last_word: str) -> str:
    """Keep a possessive so the question still reads: "[NAME]'s ex"."""
    found = _POSSESSIVE.search(last_word)
    return "[NAME]" + (found.group(0) if found else "")


def _count_changes(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str],
                   text: str) -> tuple[str, int]:
    changes = 0

    def counted(found: re.Match[str]) -> str:
        nonlocal changes
        new = replace(found)
        changes += new != found.group(0)
        return new

    return pattern.sub(counted, text), changes


_DEFAULT = Redactor()


def redact(text: str, redactor: Redactor | None = None) -> Redaction:
    return (redactor or _DEFAULT).redact(text)
