"""`tabot eval`: how well the matcher does on a labeled question set, with default settings."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

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
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            questions.append(LabeledQuestion(str(item["text"]), item["expect"], number))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QuestionFileError(
                f"{path}:{number}: expected {{\"text\": ..., \"expect\": \"entry-id\" or null}} "
                f"({exc.__class__.__name__})") from None
    if not questions:
        raise QuestionFileError(f"{path}: no questions found")
    return questions


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
