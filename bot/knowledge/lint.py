"""`tabot kb lint`: every problem in a knowledge directory, with its file and line."""

from __future__ import annotations

import datetime as dt

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.matcher import Matcher, Outcome
from bot.knowledge.normalize import fold
from bot.knowledge.problems import Problem, Severity

STALE_AFTER = dt.timedelta(days=365)


def lint(kb: KnowledgeBase, today: dt.date | None = None) -> list[Problem]:
    today = today or dt.date.today()
    problems = list(kb.problems)
    problems += _shared_phrasings(kb)
    problems += _misleading_phrasings(kb)
    problems += _references_and_dates(kb, today)
    return sorted(problems, key=lambda p: (str(p.path), p.line))


def _shared_phrasings(kb: KnowledgeBase) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for entry in kb.entries.values():
        for question, line in zip(entry.questions, entry.question_lines, strict=True):
            key = fold(question)
            owner = seen.setdefault(key, entry.id)
            if owner != entry.id:
                problems.append(Problem(entry.path, line, Severity.ERROR,
                                        f"phrasing {question!r} is also a phrasing of '{owner}'; "
                                        "keep it in one entry"))
    return problems


def _misleading_phrasings(kb: KnowledgeBase) -> list[Problem]:
    """A phrasing that, left out of its own entry, would be answered with another entry.

    Leaving it out asks: if an advocate typed these words, would the bot confidently give the
    wrong entry? That means two entries overlap and one of them needs clearer phrasings.
    """
    matcher = Matcher(kb.index)
    problems = []
    for i, entry in enumerate(kb.index.entries):
        for j, (question, line) in enumerate(zip(entry.questions, entry.question_lines,
                                                 strict=True)):
            match = matcher.match(question, exclude=(i, j + 1))
            best = match.best
            if match.outcome is Outcome.ANSWER and best is not None and best.entry.id != entry.id:
                problems.append(Problem(
                    entry.path, line, Severity.ERROR,
                    f"phrasing {question!r} matches '{best.entry.id}' better than its own entry "
                    f"'{entry.id}'; reword it with words specific to this entry, or make the "
                    "two entries' phrasings less alike"))
    return problems


def _references_and_dates(kb: KnowledgeBase, today: dt.date) -> list[Problem]:
    problems = []
    for entry in kb.entries.values():
        if today - entry.reviewed > STALE_AFTER:
            problems.append(Problem(entry.path, entry.line, Severity.WARNING,
                                    f"'{entry.id}' was last reviewed {entry.reviewed}, over a "
                                    "year ago; check it and update 'reviewed'"))
        problems += [
            Problem(entry.path, entry.line, Severity.WARNING,
                    f"'{entry.id}' lists related entry '{rid}', which does not exist")
            for rid in entry.related if rid not in kb.entries
        ]
    return problems
