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

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.knowledge.normalize import STOPWORDS

_STREET = (
    r"street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|way|place|pl|"
    r"circle|cir|highway|hwy|parkway|pkwy|terrace|ter|trail|trl|route|rte|loop|row|square|sq"
)
_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_NAME_CUES = (
    r"client|clinet|cleint|cient|clent|survivor|resident|victim|caller|participant|advocate|"
    r"named|name is|name's|called|mom|mother|dad|father|husband|wife|boyfriend|girlfriend|"
    r"bf|gf|partner|ex|"
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
    ("[DATE]", re.compile(r"\b(?:19|20)\d{2}-\d{1,2}-\d{1,2}\b")),
    ("[SSN]", re.compile(r"\b\d{3}[-. ]\d{2}[-. ]\d{4}\b|\b\d{9}\b")),
    ("[PHONE]", re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?"
                           r"\d{4}\b|(?<![\w-])\d{3}[-.]\d{4}\b")),
    ("[DATE]", re.compile(rf"\b\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b|\b(?:{_MONTHS})\.?\s+"
                          rf"\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", re.IGNORECASE)),
    ("[ADDRESS]", re.compile(
        rf"\b\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:[A-Za-z0-9.'-]+\s+){{1,3}}(?:{_STREET})\b\.?"
        r"(?:,?\s+(?:apt|unit|suite|ste|#)\.?\s*[\w-]+)?", re.IGNORECASE)),
    ("[CASE NUMBER]", re.compile(
        r"\b(?:case|docket|file|record|claim|cause)\s*(?:no\.?|number|num|#)?"
        r"\s*[:#]?\s*(?=[\w-]*\d)[A-Za-z0-9][A-Za-z0-9-]{3,}\b", re.IGNORECASE)),
    ("[PLATE]", re.compile(
        r"\b(?:plates?|tags?|license|licence|lic)\s*(?:no\.?|number|#|plate)?\s*[:#]?\s*"
        r"(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]{3,9}\b",
        re.IGNORECASE)),
    # Any code mixing capitals and digits: case numbers, plates, record ids ("26CV04041").
    ("[ID]", re.compile(r"\b(?=[A-Z0-9-]*\d[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z][A-Z0-9-]*[A-Z])"
                        r"[A-Z0-9]+(?:-[A-Z0-9]+)+\b|\b(?=[A-Z0-9]*\d[A-Z0-9]*\d)"
                        r"(?=[A-Z0-9]*[A-Z][A-Z0-9]*[A-Z])[A-Z0-9]{5,12}\b")),
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
    ms mr mrs mx miss dr ss ssn dob tia pls thx asap
    """.split())
_AGED = re.compile(r"\b((?:[A-Za-z][A-Za-z'’-]+\s+){0,2}[A-Za-z][A-Za-z'’-]+)"
                   r"(?=\s*(?:,\s*(?:age\s*)?\d{1,2}\b|\(\s*(?:age\s*)?\d{1,2}\s*\)))",
                   re.IGNORECASE)
# Lower-case words with these endings are verbs, adverbs and abstract nouns, rarely names.
_WORD_LIKE = re.compile(r"(?:ing|ed|ly|tion|sion|ment|ness|able|ible|ful|less|ous|ive|ies)$")
_VERBS = frozenset("""wrote writes says said told tells went goes came comes got gets put puts took
    takes gave gives made makes left sent felt knew knows found keeps kept wants thinks thought
    needs seems said brought bought ran runs saw sees heard hears met meets lost won wont cant
    dont didnt doesnt isnt wasnt shes hes theyre were""".split())
_LOWER_WORD = re.compile(r"\b[a-z][a-z'’-]{2,}\b")
_PLACEHOLDER = re.compile(r"\[[A-Z ]+\]")
_PLACEHOLDER_SPLIT = re.compile(r"(\[[A-Z ]+\])")


REDACTED_TOKEN = "0redacted"  # no knowledge base uses it, and it is never "corrected"


def without_placeholders(text: str) -> str:
    """What the matcher sees: each placeholder as words the knowledge base doesn't know (two
    for a name), so a redacted detail weighs against a match as the detail itself would."""
    counter = itertools.count()

    def unknown_words(found: re.Match[str]) -> str:
        words = 2 if found.group(0) == "[NAME]" else 1
        return " " + " ".join(f"{REDACTED_TOKEN}{next(counter)}" for _ in range(words)) + " "

    return " ".join(_PLACEHOLDER.sub(unknown_words, text).split())
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n]\s*|[\"“(]\s*)$")
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

    def __init__(self, vocabulary: Iterable[str] = (),
                 correct: Callable[[str], str | None] | None = None) -> None:
        self.known = frozenset(w.casefold() for w in vocabulary) | STOPWORDS | COMMON_WORDS
        self._correct = correct

    def _ordinary(self, word: str) -> bool:
        """A word of the knowledge base or of plain English (names are neither)."""
        bare = _bare(word)
        return bare in self.known or bare.isdigit()

    def _wordlike(self, word: str) -> bool:
        """Plainly an English word by its form, though the knowledge base lacks it."""
        bare = _bare(word)
        return word.islower() and (bare in _VERBS or _WORD_LIKE.search(bare) is not None)

    def _misspelt(self, word: str) -> bool:
        """Close to an ordinary word: a typo, probably, rather than a lower-case name."""
        return self._correct is not None and self._correct(_bare(word)) is not None

    def redact(self, text: str) -> Redaction:
        kinds: set[str] = set()
        for placeholder, pattern in _SHAPES:
            text, count = pattern.subn(placeholder, text)
            if count:
                kinds.add(placeholder)
        parts = _PLACEHOLDER_SPLIT.split(text)  # placeholders sit at odd positions
        for i in range(0, len(parts), 2):
            for rule in (self._cued_names, self._aged_names, self._lowercase_names,
                         self._capitalised_names):
                parts[i], count = rule(parts[i])
                if count:
                    kinds.add("[NAME]")
        return Redaction("".join(parts), frozenset(kinds))

    def _cued_names(self, text: str) -> tuple[str, int]:
        def replace(found: re.Match[str]) -> str:
            words = found.group(2).split()
            kept = 0
            while kept < len(words) and not (self._ordinary(words[kept])
                                             or self._wordlike(words[kept])):
                kept += 1
            if kept == 0:
                return found.group(0)
            tail = " ".join(words[kept:])
            return found.group(1) + _name(words[kept - 1]) + (" " + tail if tail else "")
        return _count_changes(_CUED, replace, text)

    def _aged_names(self, text: str) -> tuple[str, int]:
        """ "elsquine mossgravel, 29," and "rini (5)": a name right before an age."""
        def replace(found: re.Match[str]) -> str:
            words = found.group(1).split()
            unknown = 0
            while unknown < len(words) and not self._ordinary(words[-1 - unknown]):
                unknown += 1
            if not unknown:
                return found.group(0)
            return " ".join([*words[: len(words) - unknown], _name(words[-1])])
        return _count_changes(_AGED, replace, text)

    def _lowercase_names(self, text: str) -> tuple[str, int]:
        """Two unknown words in a row, typed in lower case: "quetzany hollinvar"."""
        words = list(_LOWER_WORD.finditer(text))
        marked: list[tuple[int, int]] = []
        for first, second in itertools.pairwise(words):
            adjacent = not text[first.end():second.start()].strip()
            if adjacent and self._lowercase_name(first.group(0), second.group(0)):
                joined = marked and marked[-1][1] == first.end()
                start = marked.pop()[0] if joined else first.start()
                marked.append((start, second.end()))
        for start, end in reversed(marked):
            text = text[:start] + _name(text[start:end].split()[-1]) + text[end:]
        return text, len(marked)

    def _lowercase_name(self, first: str, second: str) -> bool:
        if any(self._ordinary(w) or self._wordlike(w) for w in (first, second)):
            return False
        return not (self._misspelt(first) and self._misspelt(second))  # "neds hlep": typos

    def _capitalised_names(self, text: str) -> tuple[str, int]:
        def replace(found: re.Match[str]) -> str:
            words = found.group(0).split()
            at_start = _SENTENCE_START.search(text[: found.start()]) is not None
            unknown = [w for w in words if not self._ordinary(w)]
            if not unknown or (len(words) == 1 and self._not_a_name(words[0], at_start)):
                return found.group(0)
            if len(unknown) < len(words):
                return " ".join(_name(w) if not self._ordinary(w) else w for w in words)
            return _name(words[-1])
        return _count_changes(_CAPITALISED_RUN, replace, text)

    def _not_a_name(self, word: str, at_start: bool) -> bool:
        """A misspelt word capitalised only because it starts the sentence ("Shleter?")."""
        return at_start and not word.isupper() and self._misspelt(word)


def _bare(word: str) -> str:
    return _POSSESSIVE.sub("", word).casefold().replace("'", "").replace("’", "").strip("-")


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
