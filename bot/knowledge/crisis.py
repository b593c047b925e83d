"""Crisis safety: someone in danger gets the hotlines first, and staff are told at once.

The bot never counsels. It recognises a message that reads as a person in danger now (a
survivor who reached it by mistake, or an advocate in distress), answers with the national
hotlines, and flags the message urgent to TA staff. An advocate asking *about* crisis response
still gets the knowledge answer, with the hotlines added. The phrases and numbers live in
`crisis.yaml` in the knowledge directory, which the coalition edits.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.knowledge.files import CRISIS_FILE, FileResult, line_of, parse_yaml
from bot.knowledge.normalize import fold
from bot.knowledge.problems import Problem, Severity


class Hotline(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    contact: str = Field(min_length=1)


class CrisisConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    last_verified: dt.date
    hotlines: list[Hotline] = Field(min_length=1)
    danger: list[str] = Field(min_length=1)
    advocate_framing: list[str] = Field(default_factory=list)
    crisis_topics: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Assessment:
    crisis: bool  # reads as someone in danger now: hotlines first, urgent to staff
    topic: bool  # touches on danger or crisis: add the hotlines to the answer


def _flat(text: str) -> str:
    """Apostrophes dropped before folding, so "he's" meets the phrase "hes"."""
    return f" {fold(text.replace(chr(39), '').replace(chr(8217), ''))} "


def _phrases(items: list[str]) -> re.Pattern[str] | None:
    folded = sorted({_flat(p).strip() for p in items if _flat(p).strip()}, key=len, reverse=True)
    if not folded:
        return None
    return re.compile(r" (?:" + "|".join(re.escape(p) for p in folded) + r") ")


class CrisisCheck:
    def __init__(self, config: CrisisConfig) -> None:
        self.config = config
        self._danger = _phrases(config.danger)
        self._framing = _phrases(config.advocate_framing)
        self._topics = _phrases(config.crisis_topics)

    def assess(self, text: str) -> Assessment:
        flat = _flat(text)
        danger = bool(self._danger and self._danger.search(flat))
        framed = bool(self._framing and self._framing.search(flat))
        topic = danger or bool(self._topics and self._topics.search(flat))
        return Assessment(crisis=danger and not framed, topic=topic)

    def hotlines(self) -> str:
        lines = "\n".join(f"- {h.name}: {h.contact}" for h in self.config.hotlines)
        return f"{lines}\n(Numbers last verified {self.config.last_verified:%Y-%m-%d}.)"


def load_crisis(directory: Path) -> tuple[CrisisCheck | None, list[Problem]]:
    """The crisis settings of a knowledge directory, or None when it has none."""
    path = Path(directory) / CRISIS_FILE
    if not path.exists():
        return None, []
    result = FileResult(path)
    data, node = parse_yaml(result)
    if node is None:
        return None, result.problems or [Problem(path, 1, Severity.ERROR, "file is empty")]
    try:
        return CrisisCheck(CrisisConfig.model_validate(data)), []
    except ValidationError as exc:
        return None, [Problem(path, line_of(node, tuple(err["loc"])), Severity.ERROR,
                              f"{'.'.join(map(str, err['loc']))}: {err['msg']}")
                      for err in exc.errors()]
