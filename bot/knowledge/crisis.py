"""Crisis safety: someone in danger gets the hotlines first, and staff are told at once.

The bot never counsels. It recognises a message that reads as a person in danger now (a
survivor who reached it by mistake, or an advocate in distress), answers with the national
hotlines, and flags the message urgent to TA staff. An advocate asking *about* crisis response
still gets the knowledge answer, with the hotlines added. The phrases and numbers live in
`crisis.yaml` in the knowledge directory, which the coalition edits.

Framing that speaks as "we" ("what do we do") is weaker than the rest: a survivor with children
writes it too. It outweighs only danger phrases that name no one ("suicidal"), never one that
names the writer or him ("going to kill me", "hes outside with").
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


# A danger phrase with one of these is about the writer, or the man they are writing about.
_PERSONAL = frozenset({"i", "im", "me", "my", "myself", "us", "he", "hes", "his", "him"})
# A framing line with this speaks as a group, which a family in danger is too. Not "our": a
# family does not write "our policy" or "our shelter".
_PLURAL = frozenset({"we"})


def _words(phrase: str) -> set[str]:
    return set(_flat(phrase).split())


def _phrases(items: list[str]) -> re.Pattern[str] | None:
    folded = sorted({_flat(p).strip() for p in items if _flat(p).strip()}, key=len, reverse=True)
    if not folded:
        return None
    return re.compile(r" (?:" + "|".join(re.escape(p) for p in folded) + r") ")


class CrisisCheck:
    def __init__(self, config: CrisisConfig) -> None:
        self.config = config
        self._danger = _phrases(config.danger)
        self._personal = _phrases([p for p in config.danger if _words(p) & _PERSONAL])
        self._framing = _phrases([p for p in config.advocate_framing if not _words(p) & _PLURAL])
        self._plural = _phrases([p for p in config.advocate_framing if _words(p) & _PLURAL])
        self._topics = _phrases(config.crisis_topics)

    def assess(self, text: str) -> Assessment:
        flat = _flat(text)

        def found(pattern: re.Pattern[str] | None) -> bool:
            return bool(pattern and pattern.search(flat))

        danger = found(self._danger)
        framed = found(self._framing) or (found(self._plural) and not found(self._personal))
        topic = danger or found(self._topics)
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
