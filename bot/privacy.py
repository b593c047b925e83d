"""Redaction of identifying details before anything is stored, logged or forwarded.

Advocates type real details into chat ("my client ... at 12 Oak St"). Every path out of the
core (database, logs, staff, other platforms) goes through `redact()` first. Placeholders keep
the question readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STREET = (
    r"street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|way|place|pl|"
    r"circle|cir|highway|hwy|parkway|pkwy|terrace|trail|route|rte"
)
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("[EMAIL]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("[URL]", re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)),
    ("[SSN]", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("[PHONE]", re.compile(r"(?<!\w)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b")),
    ("[DATE]", re.compile(r"\b\d{1,2}[/-]\d{1,2}[/-]\d{2,4}\b")),
    ("[ADDRESS]", re.compile(
        rf"\b\d{{1,6}}\s+(?:[A-Za-z0-9.'-]+\s+){{1,3}}(?:{_STREET})\b\.?", re.IGNORECASE)),
    ("[CASE NUMBER]", re.compile(
        r"\b(?:case|docket|file|record|claim)\s*(?:no\.?|number|#)?\s*:?\s*[A-Z0-9][A-Z0-9-]{3,}\b",
        re.IGNORECASE)),
    ("[NAME]", re.compile(
        r"\b((?i:client|survivor|resident|victim|named|name is|mom|mother|father|husband|wife|"
        r"boyfriend|girlfriend|partner|son|daughter),?\s)[A-Z][a-z'-]+(?:\s[A-Z][a-z'-]+)?")),
]
_KEEP_PREFIX = {"[NAME]"}


@dataclass(frozen=True)
class Redaction:
    text: str
    kinds: frozenset[str]

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


def redact(text: str) -> Redaction:
    kinds: set[str] = set()
    for placeholder, pattern in _PATTERNS:
        replacement = rf"\g<1>{placeholder}" if placeholder in _KEEP_PREFIX else placeholder
        text, count = pattern.subn(replacement, text)
        if count:
            kinds.add(placeholder)
    return Redaction(text, frozenset(kinds))
