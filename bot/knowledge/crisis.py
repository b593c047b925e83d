"""Crisis safety: someone in danger gets the hotlines first, and staff are told at once.

The bot never counsels. It recognises a message that reads as a person in danger now (a
survivor who reached it by mistake, or an advocate in distress), answers with the national
hotlines, and flags the message urgent to TA staff. An advocate asking *about* crisis response
still gets the knowledge answer, with the hotlines added. The phrases and numbers live in
`crisis.yaml` in the knowledge directory, which the coalition edits.

Danger is read one sentence at a time (split at . ? ! ; and new lines), so a match never runs
from one sentence into the next ("is he here? now can we start"). What reads as danger (each
part is a list in `crisis.yaml`):
- a `danger` phrase ("going to kill me", "i overdosed");
- one of `people`, then within three words one of `acts`, then one of `targets` ("he" "kicked"
  "me", "my dad" "beats" "me", "hes going to" "kill" "the kids"), so a blow nobody listed in
  that exact form is still caught; not when the words between start another subject ("he said
  the audit broke us"), nor when one of `ordinary_objects` follows ("he threatened us" "with a
  lawsuit", "he locked me" "out of the database");
- one of `people`, then one of `places`, with only small words between ("hes" "at the door",
  "my ex is still" "outside the window"), or one of `places_last` that ends the sentence ("hes"
  "outside");
- `fear` ("im scared") with one of `fear_now` next to it ("tonight", "right now"); otherwise
  fear only adds the hotlines, since "im so scared of the audit" is fear too;
- a message that is only a `plea` ("help me", "call 911"), give or take "please" and "now",
  or only one of `pleas_if_urgent` ("need help") with "now", "asap" or the like; "i need help"
  alone only adds the hotlines.
A `not_danger` phrase ("kicked me out", "end it with") cancels the danger it overlaps, unless a
longer `danger` phrase holds it whole. Only the first and last `MAX_ASSESSED_CHARS` characters of
a message are read: a message in danger is never longer, and the check runs before any limit.

Who the danger is about decides what may outweigh it:
- danger that names the writer (i, me, my, us, we, our) is never outweighed: "they said he
  would kill me if i left" is a survivor, whatever "they said" suggests;
- danger that names only him ("he has a gun") is outweighed by framing that names a third
  party or the program ("client", "the caller", "our policy"), by `someone_else` ("she") in a
  message without i, me or my, by a `past` time with no `now` ("last week"), or by a
  `hypothetical` just before it ("does it matter if he has a gun"); not by framing the writer
  speaks in ("what do i say to 911", "what do we do"), which a survivor writes too;
- danger that names no one ("suicidal", "has a gun") is outweighed by any of these.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
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


class CrisisConfig(BaseModel):  # the lists of crisis.yaml, described there
    model_config = ConfigDict(extra="forbid")
    last_verified: dt.date
    hotlines: list[Hotline] = Field(min_length=1)
    spellings: dict[str, str] = Field(default_factory=dict)
    danger: list[str] = Field(min_length=1)
    people: list[str] = Field(default_factory=list)
    acts: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    ordinary_objects: list[str] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    places_last: list[str] = Field(default_factory=list)
    fear: list[str] = Field(default_factory=list)
    now: list[str] = Field(default_factory=list)
    fear_now: list[str] = Field(default_factory=list)
    pleas: list[str] = Field(default_factory=list)
    pleas_if_urgent: list[str] = Field(default_factory=list)
    not_danger: list[str] = Field(default_factory=list)
    advocate_framing: list[str] = Field(default_factory=list)
    someone_else: list[str] = Field(default_factory=list)
    hypothetical: list[str] = Field(default_factory=list)
    past: list[str] = Field(default_factory=list)
    crisis_topics: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Assessment:
    crisis: bool  # reads as someone in danger now: hotlines first, urgent to staff
    topic: bool  # touches on danger or crisis: add the hotlines to the answer


# Danger with one of these names the writer: nothing outweighs it.
_WRITER = frozenset({"i", "im", "ive", "id", "me", "my", "mine", "myself", "us", "we", "our"})
# A message with one of these is the writer speaking of themselves: `someone_else` ("she")
# does not make it an advocate's question.
_I = frozenset({"i", "im", "ive", "id", "me", "my", "mine", "myself"})
# Danger with one of these (and none of _WRITER) names him, or her.
_HIM = frozenset({"he", "hes", "hed", "hell", "his", "him", "she", "shes", "her"})
# Framing with one of these is the writer speaking as themselves ("what do i say", "how do we"),
# which a survivor writes too. Not "our": a family does not write "our policy" or "our shelter".
_SELF_SPOKEN = frozenset({"i", "im", "we"})
# Between one of `people` and one of `places`: "my ex is still outside the window".
_PLACE_FILLERS = frozenset({"is", "s", "still", "just", "already", "now", "right", "back",
                            "again", "literally", "been", "standing", "sitting", "waiting",
                            "hiding", "parked", "got"})
# Besides a plea, a message that is only a plea may hold these: "please help me now".
_PLEA_FILLERS = frozenset({"please", "now", "right", "asap", "someone", "somebody", "anyone",
                           "i", "need", "me", "us", "oh", "god", "omg", "hurry", "quick",
                           "quickly", "help"})
# What makes one of `pleas_if_urgent` a plea for help now: "need help now".
_URGENT = frozenset({"now", "asap", "hurry", "quick", "quickly", "911"})
_WORDS_BETWEEN_PERSON_AND_ACT = 3
# Between one of `people` and one of `acts`, these start another subject or a report of what he
# said: "he said the audit broke us", "my ex thinks the court hit us hard".
_NOT_BETWEEN_PERSON_AND_ACT = frozenset({"said", "says", "told", "tells", "thinks", "thought",
                                         "the", "a", "an", "this", "that", "our", "their",
                                         "your", "its"})
_WORDS_BETWEEN_FEAR_AND_NOW = 2
# Read of a longer message: its start and its end, so a plea typed after a pasted document
# still counts. Longer messages are refused by the length limit anyway.
MAX_ASSESSED_CHARS = 5000
_SENTENCE = re.compile(r"([^.?!;\n\r]*)([.?!;\n\r]*)")
_WORDS_AFTER_HYPOTHETICAL = 3
# "we're" is "we are" before the apostrophe goes: dropped, it would read "were".
_ARE = re.compile(r"\b(we|they|you)['\u2019]re\b", re.IGNORECASE)

Span = tuple[int, int]  # word positions, end exclusive


def _plain(text: str) -> list[str]:
    """Apostrophes dropped before folding, so "he's" meets the phrase "hes"."""
    return fold(_ARE.sub(r"\1 are", text).replace("'", "").replace("\u2019", "")).split()


class _Spellings:
    """Typed forms read as one spelling, in messages and phrases alike ("gonna": "going to")."""

    def __init__(self, spellings: dict[str, str]) -> None:
        self._longest = 1
        self._map: dict[tuple[str, ...], list[str]] = {}
        for typed, meant in spellings.items():
            key = tuple(_plain(typed))
            if key:
                self._map[key] = _plain(meant)
                self._longest = max(self._longest, len(key))

    def __call__(self, text: str) -> list[str]:
        words, out, i = _plain(text), [], 0
        while i < len(words):
            for size in range(min(self._longest, len(words) - i), 0, -1):
                meant = self._map.get(tuple(words[i:i + size]))
                if meant is not None:
                    out += meant
                    i += size
                    break
            else:
                out.append(words[i])
                i += 1
        return out


class _Phrases:
    """A list of phrases, found in a message's words wherever they start."""

    def __init__(self, phrases: Iterable[tuple[str, ...]]) -> None:
        self._by_first: dict[str, set[tuple[str, ...]]] = {}
        for phrase in phrases:
            if phrase:
                self._by_first.setdefault(phrase[0], set()).add(phrase)
        self.longest = max((len(p) for group in self._by_first.values() for p in group),
                           default=0)

    def ends(self, words: list[str], start: int) -> list[int]:
        """Where each phrase that starts at `start` ends."""
        if start >= len(words):
            return []
        return [start + len(p) for p in self._by_first.get(words[start], ())
                if tuple(words[start:start + len(p)]) == p]

    def find(self, words: list[str]) -> list[Span]:
        return [(i, end) for i in range(len(words)) for end in self.ends(words, i)]


class CrisisCheck:
    def __init__(self, config: CrisisConfig) -> None:
        self.config = config
        self._read = _Spellings(config.spellings)

        def phrases(items: list[str]) -> _Phrases:
            return _Phrases(tuple(self._read(item)) for item in items)

        self._danger = phrases(config.danger)
        self._people = phrases(config.people)
        self._acts = phrases(config.acts)
        self._targets = phrases(config.targets)
        self._ordinary_objects = phrases(config.ordinary_objects)
        self._places = phrases(config.places)
        self._places_last = phrases(config.places_last)
        self._fear = phrases(config.fear)
        self._now = phrases(config.now)
        self._fear_now = phrases(config.fear_now)
        self._pleas = phrases(config.pleas)
        self._pleas_if_urgent = phrases(config.pleas_if_urgent)
        self._not_danger = phrases(config.not_danger)
        framing = [tuple(self._read(item)) for item in config.advocate_framing]
        self._framing = _Phrases(p for p in framing if not set(p) & _SELF_SPOKEN)
        self._self_framing = _Phrases(p for p in framing if set(p) & _SELF_SPOKEN)
        self._someone_else = phrases(config.someone_else)
        self._hypothetical = phrases(config.hypothetical)
        self._past = phrases(config.past)
        self._topics = phrases(config.crisis_topics)

    def _harm(self, words: list[str]) -> list[Span]:
        """One of `people`, up to three words, one of `acts`, one of `targets`, and not one of
        `ordinary_objects` after it."""
        found = []
        for start, person in self._people.find(words):
            for act in range(person, min(person + _WORDS_BETWEEN_PERSON_AND_ACT, len(words)) + 1):
                if act > person and words[act - 1] in _NOT_BETWEEN_PERSON_AND_ACT:
                    break
                for target in self._acts.ends(words, act):
                    found += [(start, end) for end in self._targets.ends(words, target)
                              if not self._ordinary_objects.ends(words, end)]
        return found

    def _near(self, words: list[str], asked: bool) -> list[Span]:
        """One of `people`, then small words only, then one of `places`, or one of
        `places_last` that ends a sentence that is not a question ("hes here", not "is he
        here?")."""
        def ends(at: int) -> list[int]:
            return self._places.ends(words, at) + [
                end for end in self._places_last.ends(words, at)
                if end == len(words) and not asked]

        found = []
        for start, place in self._people.find(words):
            while place < len(words) and not ends(place) and words[place] in _PLACE_FILLERS:
                place += 1
            found += [(start, end) for end in ends(place)]
        return found

    def _only(self, words: list[str], pleas: _Phrases) -> bool:
        """The message is only one of `pleas` and small words."""
        found = pleas.find(words)
        covered = {i for start, end in found for i in range(start, end)}
        return bool(found) and all(i in covered or w in _PLEA_FILLERS
                                   for i, w in enumerate(words))

    def _plea(self, words: list[str]) -> list[Span]:
        """A message that is only a plea ("help me", "call 911"), or only a plea that needs
        urgency ("need help") with it ("need help now")."""
        if self._only(words, self._pleas) or (
                self._only(words, self._pleas_if_urgent) and set(words) & _URGENT):
            return [(0, len(words))]
        return []

    def _afraid_now(self, words: list[str]) -> list[Span]:
        """`fear` with one of `fear_now` at most two words before or after it ("i dont feel
        safe tonight"), or anywhere in a sentence about him ("im scared he will come
        tonight"); not "im scared we will miss the deadline tonight"."""
        nows = self._fear_now.find(words)
        about_him = bool(nows) and bool(set(words) & _HIM)
        return [(start, end) for start, end in self._fear.find(words)
                if about_him or any(
                    -_WORDS_BETWEEN_FEAR_AND_NOW <= now - end <= _WORDS_BETWEEN_FEAR_AND_NOW
                    or 0 <= start - now_end <= _WORDS_BETWEEN_FEAR_AND_NOW
                    for now, now_end in nows)]

    def _dangers(self, words: list[str], asked: bool) -> list[Span]:
        """The danger in one sentence; `asked`: it ends with a question mark."""
        phrases = self._danger.find(words)
        spans = (phrases + self._harm(words) + self._near(words, asked)
                 + self._afraid_now(words))
        # Everyday speech cancels the danger it overlaps ("he kicked me out"), unless a longer
        # danger phrase holds it whole. A mark on each word it covers, counted up to each word,
        # so that each span is tested at once, however many there are.
        holds: dict[int, list[int]] = {}
        for start, end in phrases:
            holds.setdefault(start, []).append(end)
        excused = [0] * (len(words) + 1)
        for start, end in self._not_danger.find(words):
            if not any(end <= end_ and (s, end_) != (start, end)
                       for s in range(max(0, end - self._danger.longest), start + 1)
                       for end_ in holds.get(s, ())):
                excused[start] += 1
                excused[end] -= 1
        marked, covered = 0, [0]
        for change in excused:
            marked += change
            covered.append(covered[-1] + (marked > 0))
        return [s for s in spans if covered[s[1]] == covered[s[0]]]

    def assess(self, text: str) -> Assessment:
        if len(text) > 2 * MAX_ASSESSED_CHARS:
            text = f"{text[:MAX_ASSESSED_CHARS]}\n{text[-MAX_ASSESSED_CHARS:]}"
        words: list[str] = []
        dangers: list[Span] = []
        for sentence, ending in _SENTENCE.findall(text):
            said = self._read(sentence)
            dangers += [(len(words) + s, len(words) + e)
                        for s, e in self._dangers(said, "?" in ending)]
            words += said
        dangers += self._plea(words)
        # Said of someone else, or of the past: an advocate's question, unless the writer
        # speaks of themselves ("she"), or of now ("last week", "tonight").
        framed = bool(self._framing.find(words)
                      or (self._someone_else.find(words) and not set(words) & _I)
                      or (self._past.find(words) and not self._now.find(words)))
        self_framed = bool(self._self_framing.find(words))
        ifs = {end for _, end in self._hypothetical.find(words)}

        def outweighed(span: Span) -> bool:
            named = set(words[span[0]:span[1]])
            if named & _WRITER:
                return False
            supposed = any(span[0] - gap in ifs for gap in range(_WORDS_AFTER_HYPOTHETICAL + 1))
            if named & _HIM:
                return framed or supposed
            return framed or self_framed or supposed

        crisis = any(not outweighed(span) for span in dangers)
        topic = bool(dangers or self._fear.find(words) or self._topics.find(words)
                     or self._only(words, self._pleas_if_urgent))
        return Assessment(crisis=crisis, topic=topic)

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
