"""`tabot eval`: how well the matcher does on a labeled question set, with default settings."""

from __future__ import annotations

import difflib
import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.matcher import Matcher, Outcome
from bot.privacy.redaction import Redactor, without_placeholders

GREETED = "greeted"  # a route beside the outcomes: see `Outcomes.greeted`


class QuestionFileError(Exception):
    pass


@dataclass(frozen=True)
class LabeledQuestion:
    text: str
    expect: str | None
    line: int


@dataclass(frozen=True)
class EvalResult:
    n: int
    in_scope: int
    out_of_scope: int
    in_scope_accuracy: float
    resolved: float
    oos_recall: float
    wrong_answer_rate: float
    suggest_rate: float
    escalate_rate: float
    p50_ms: float
    p99_ms: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Outcomes:
    """One question's fate, for the figures and for `--failures`."""

    question: LabeledQuestion
    outcome: Outcome
    entry_id: str | None
    suggestions: tuple[str, ...]
    ms: float
    # Nothing informative ("hi", "thanks!"): the bot greets and says what it is for, whatever
    # the matcher decided (`Conversation._ask`), so it is never filed for staff.
    greeted: bool = False

    @property
    def route(self) -> str:
        """Where the asker ends up: the outcome's name, or "greeted"."""
        return GREETED if self.greeted else self.outcome.value


def read_questions(path: Path) -> list[LabeledQuestion]:
    questions = []
    for number, line in enumerate(_text(path).splitlines(), 1):
        if line.strip():
            questions.append(_question(path, number, line))
    if not questions:
        raise QuestionFileError(f"{path}: no questions found")
    return questions


def _text(path: Path) -> str:
    """The file as UTF-8 text. Bytes that are not (a set saved by a spreadsheet, say) are the
    file's fault, so they are named by line rather than raised from the decoder."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise QuestionFileError(f"{path}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                                "save the file as UTF-8") from None


def _question(path: Path, number: int, line: str) -> LabeledQuestion:
    try:
        item = json.loads(line)
        text, expect = str(item["text"]), item["expect"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise QuestionFileError(
            f"{path}:{number}: expected {{\"text\": ..., \"expect\": \"entry-id\" or null}} "
            f"({exc.__class__.__name__})") from None
    if expect is not None and not isinstance(expect, str):
        raise QuestionFileError(
            f"{path}:{number}: \"expect\" is one entry id (a string) or null, not a "
            f"{type(expect).__name__}; label the question with the entry that answers it best")
    return LabeledQuestion(text, expect, number)


def check_labels(questions: list[LabeledQuestion], kb: KnowledgeBase, path: Path) -> list[str]:
    """Refuse labels naming no entry of `kb` (a typo, or another knowledge base's set): each
    would be scored as a wrong answer and quietly lower every figure. A label whose entry is in
    a file that failed to load is not refused, since the set is right and the file is wrong;
    the notices returned say how many questions count as wrong until it is fixed."""
    unknown: dict[str, list[int]] = {}
    for q in questions:
        if q.expect is not None and kb.get(q.expect) is None:
            unknown.setdefault(q.expect, []).append(q.line)
    unloaded = {label: lines for label, lines in unknown.items()
                if kb.load_errors_naming(label)}
    missing = [(lines[0], label) for label, lines in unknown.items() if label not in unloaded]
    if missing:
        raise QuestionFileError(_unknown_labels(sorted(missing), kb, path))
    return [f"{path}: {len(lines)} question(s) expect '{label}', whose file did not load (see "
            "above); they count as wrong until it is fixed" for label, lines in unloaded.items()]


def _unknown_labels(missing: list[tuple[int, str]], kb: KnowledgeBase, path: Path) -> str:
    """Up to five labels naming no entry, each at its first line, with close ids."""
    named = []
    for line, label in missing[:5]:
        close = difflib.get_close_matches(label, list(kb.entries), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        named.append(f"{path}:{line}: '{label}'{hint}")
    more = f"; and {len(missing) - 5} more" if len(missing) > 5 else ""
    return (f"\"expect\" names no entry of the knowledge base at {kb.directory}: "
            f"{'; '.join(named)}{more}. Fix the labels, or pass --kb with the knowledge base "
            "the questions were labelled for")


def run(matcher: Matcher, questions: list[LabeledQuestion],
        redactor: Redactor | None = None) -> list[Outcomes]:
    """Match each question as the bot would; with a redactor, after redaction, as in chat."""
    results = []
    for q in questions:
        start = time.perf_counter()
        redaction = redactor.redact(q.text) if redactor else None
        match = matcher.match(without_placeholders(redaction.text) if redaction else q.text)
        ms = (time.perf_counter() - start) * 1000
        best = match.best
        results.append(Outcomes(
            q, match.outcome, best.entry.id if best and match.outcome is Outcome.ANSWER else None,
            tuple(e.id for e in match.suggestions(3)), ms,
            greeted=not match.has_content and not (redaction and redaction.changed)))
    return results


def summarise(outcomes: list[Outcomes]) -> EvalResult:
    in_scope = [o for o in outcomes if o.question.expect is not None]
    oos = [o for o in outcomes if o.question.expect is None]
    answers = [o for o in outcomes if o.outcome is Outcome.ANSWER]
    right = [o for o in in_scope if o.entry_id == o.question.expect]
    offered = [o for o in in_scope
               if o.outcome is Outcome.SUGGEST and o.question.expect in o.suggestions]
    wrong = [o for o in answers if o.entry_id != o.question.expect]
    latencies = sorted(o.ms for o in outcomes)
    return EvalResult(
        n=len(outcomes),
        in_scope=len(in_scope),
        out_of_scope=len(oos),
        in_scope_accuracy=_ratio(len(right), len(in_scope)),
        resolved=_ratio(len(right) + len(offered), len(in_scope)),
        oos_recall=_ratio(sum(o.outcome is not Outcome.ANSWER for o in oos), len(oos)),
        wrong_answer_rate=_ratio(len(wrong), len(answers)),
        suggest_rate=_ratio(sum(o.outcome is Outcome.SUGGEST for o in outcomes), len(outcomes)),
        escalate_rate=_ratio(sum(o.outcome is Outcome.ESCALATE for o in outcomes), len(outcomes)),
        p50_ms=statistics.median(latencies),
        p99_ms=latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    )


@dataclass(frozen=True)
class Routing:
    """Where the out-of-scope questions went: to staff (an escalation is filed) or told what
    tabot is for (off-topic). Neither answered nor offered, each costs something different."""

    escalated: float
    off_topic: float
    greeted: float = 0.0


def oos_routing(outcomes: list[Outcomes]) -> Routing:
    oos = [o.route for o in outcomes if o.question.expect is None]
    return Routing(escalated=_ratio(oos.count(Outcome.ESCALATE.value), len(oos)),
                   off_topic=_ratio(oos.count(Outcome.OFF_TOPIC.value), len(oos)),
                   greeted=_ratio(oos.count(GREETED), len(oos)))


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def failures(outcomes: list[Outcomes]) -> list[Outcomes]:
    """Questions not answered as labeled (for tuning the knowledge base, not the thresholds)."""
    return [o for o in outcomes if o.entry_id != o.question.expect]
