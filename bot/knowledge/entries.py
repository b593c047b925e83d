"""A knowledge entry as the running bot holds it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.chat.messages import Source


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    title: str
    questions: tuple[str, ...]
    answer: str
    tags: tuple[str, ...]
    sources: tuple[Source, ...]
    reviewed: dt.date
    path: Path
    line: int
    related: tuple[str, ...] = ()
    escalate: bool = False
    owner: str | None = None
    language: str = "en"
    question_lines: tuple[int, ...] = ()
