"""`tabot kb lint`: every problem in a knowledge directory, with its file and line."""

from __future__ import annotations

import datetime as dt
import re

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.matcher import Matcher, Outcome
from bot.knowledge.normalize import fold
from bot.knowledge.problems import Problem, Severity

STALE_AFTER = dt.timedelta(days=365)
# On a phone an answer is read in parts (Telegram splits at 4,096 characters); the longest
# shipped answer is about 2,600. Past this, an answer is a document to link, not to send.
LONG_ANSWER = 6000

# A source without a URL must still be something a person can find: a statute, regulation,
# Federal Register notice or order by its citation, or a publication named with its year.
LEGAL_CITATION = re.compile(
    r"\b\d+\s*U\.\s?S\.\s?C\.?"           # 34 U.S.C. 12291(b)
    r"|\b\d+\s*C\.?\s?F\.?\s?R\.?\s*(?:part\s*)?\d"  # 28 CFR 94.115, 45 C.F.R. part 1370
    r"|\b\d+\s*FR\s*\d"                      # 90 FR 32023
    r"|\bPub(?:lic|\.)?\s?L(?:aw|\.)?\s*(?:No\.\s*)?\d+-\d+"  # Pub. L. 117-159
    r"|\b\d+\s*Stat\.\s*\d"                   # 136 Stat. 1313
    r"|(?:Executive|A\.\s?G\.)\s+Order\s+(?:No\.\s*)?\d"
    r"|\u00a7",
    re.IGNORECASE)
PUBLICATION_YEAR = re.compile(r"\b(?:19[5-9]\d|20\d\d)\b")
PRIVATE_REFERENCE = re.compile(r"\bseed\s+doc(?:ument)?s?\b", re.IGNORECASE)


def lint(kb: KnowledgeBase, today: dt.date | None = None) -> list[Problem]:
    today = today or dt.date.today()
    problems = list(kb.problems)
    problems += _shared_phrasings(kb)
    problems += _misleading_phrasings(kb)
    problems += _references_and_dates(kb, today)
    problems += _unfindable_sources(kb)
    problems += _long_answers(kb)
    problems += _stale_vector_seed(kb)
    return sorted(problems, key=lambda p: (str(p.path), p.line))


def _stale_vector_seed(kb: KnowledgeBase) -> list[Problem]:
    """Entries edited since `tabot kb vectors`: nothing is wrong, but a first start on a new
    machine encodes those texts again (a minute for the whole knowledge base)."""
    found = kb.vector_seed_missing()
    if found is None or found[1] == 0:
        return []
    path, missing, total = found
    return [Problem(path, 1, Severity.WARNING,
                    f"holds no sentence vectors for {missing} of the {total} texts (entries "
                    "edited since it was written), so a first start encodes them; run `tabot "
                    "kb vectors` and keep the new file with the entries")]


def _long_answers(kb: KnowledgeBase) -> list[Problem]:
    return [Problem(e.path, e.line, Severity.WARNING,
                    f"the answer is {len(e.answer):,} characters; past {LONG_ANSWER:,} it "
                    "arrives on a phone as many messages: shorten it, or link the full text "
                    "in `sources`")
            for e in kb.entries.values() if len(e.answer) > LONG_ANSWER]


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
                severity = misleading_severity(match.confidence, matcher.lines.confidence)
                problems.append(Problem(
                    entry.path, line, severity,
                    f"phrasing {question!r} matches '{best.entry.id}' better than its own entry "
                    f"'{entry.id}'{' (only just)' if severity is Severity.WARNING else ''}; "
                    "reword it with words specific to this entry, or make the two entries' "
                    "phrasings less alike"))
    return problems


# The answer line moves a little whenever any entry changes (it is calibrated on all of them),
# so a phrasing answered wrongly only just above it would flip between error and clean with
# unrelated edits. Within this band above the line it is a warning; beyond it, an error.
BORDERLINE = 0.05


def misleading_severity(confidence: float, answer_line: float) -> Severity:
    return Severity.ERROR if confidence >= answer_line + BORDERLINE else Severity.WARNING


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


def findable(title: str, url: str | None) -> bool:
    """Whether a person could find this source: a URL, or a citation they can look up.

    A reference only the knowledge base's authors can follow ("seed document 004") never
    counts, with or without a URL.
    """
    if PRIVATE_REFERENCE.search(title):
        return False
    return bool(url) or bool(LEGAL_CITATION.search(title) or PUBLICATION_YEAR.search(title))


def _unfindable_sources(kb: KnowledgeBase) -> list[Problem]:
    return [
        Problem(entry.path, entry.line, Severity.WARNING,
                f"'{entry.id}' cites {source.title!r}, which a reader cannot find; give its URL, "
                "a citation (34 U.S.C. 12291(b), 28 CFR 94.115) or its publisher, title and "
                "year")
        for entry in kb.entries.values() for source in entry.sources
        if not findable(source.title, source.url)
    ]
