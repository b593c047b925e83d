"""The figures funders ask for, from redacted records only.

TA contacts by month, topic, category, member program and platform; answered by the assistant
or by staff; how long staff took; and how often each entry helped. Interactions older than the
retention period survive as monthly counts (`interaction_counts`), so a report over a long
period adds those in for whole months. A month's count cannot be split by day, so a period that
covers a folded month only in part counts the records still kept and says, in `notes`, which of
its days are not available.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import statistics
import textwrap
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from sqlalchemy import ColumnElement, DateTime, func, select

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.confidence import Outcome
from bot.store.database import Database
from bot.store.interactions import SHOWN
from bot.store.retention import local_month
from bot.store.tables import Escalation, EscalationEvent, Interaction, InteractionCount
from bot.triage.workflow import as_utc

QUESTION_OUTCOMES = ("answer", "suggest", "escalate", "crisis")
LABELS = {"answer": "answered by the assistant", "suggest": "offered choices",
          "escalate": "sent to TA staff", "crisis": "crisis: hotlines given",
          "(answer)": "(answered)", "(suggest)": "(choices offered)",
          "(escalate)": "(sent to TA staff)", "(crisis)": "(crisis)"}


def _labelled(data: dict[str, int]) -> dict[str, int]:
    """Plain words for people; CSV and JSON keep the short keys for spreadsheets and scripts."""
    return {LABELS.get(key, key): value for key, value in data.items()}


@dataclass
class Report:
    since: dt.date
    until: dt.date
    contacts: int = 0
    off_topic: int = 0  # messages told they are outside tabot's domain: not TA contacts
    by_month: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_topic: dict[str, int] = field(default_factory=dict)
    by_program: dict[str, int] = field(default_factory=dict)
    by_platform: dict[str, int] = field(default_factory=dict)
    programs_served: int = 0
    escalations: int = 0
    staff_answers: int = 0
    staff_answer_hours_median: float | None = None
    staff_answer_hours_p90: float | None = None
    feedback: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the figures cannot include, and why

    def as_dict(self) -> dict:
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        return data


@dataclass(frozen=True)
class _Row:
    month: str
    platform: str
    program: str
    outcome: str
    entry_id: str
    feedback: str
    count: int


async def build_report(db: Database, kb: KnowledgeBase, since: dt.date, until: dt.date, *,
                       zone: dt.tzinfo = dt.UTC) -> Report:
    """Contacts from `since` up to and including `until`, whole days and months in `zone`,
    where the coalition works: its May ends at midnight local time, not UTC."""
    start, end = (_midnight(day, zone) for day in (since, until + dt.timedelta(days=1)))
    rows, notes = await _rows(db, _Span(start, end, zone))
    report = Report(since, until, notes=notes)
    _count_contacts(report, rows, kb)
    _count_feedback(report, rows)
    await _count_staff_answers(report, db, start, end)
    return report


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The UTC moment `day` begins in `zone`."""
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class _Span:
    """A report's period as UTC moments, `start` included and `end` not, in `zone`'s days."""

    start: dt.datetime
    end: dt.datetime
    zone: dt.tzinfo

    def month_bounds(self, month: str) -> tuple[dt.datetime, dt.datetime]:
        """When the folded month `month` (YYYY-MM, in `zone`) begins and ends."""
        first = dt.date.fromisoformat(f"{month}-01")
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return _midnight(first, self.zone), _midnight(following, self.zone)

    def holds(self, month: str) -> bool:
        begins, ends = self.month_bounds(month)
        return self.start <= begins and ends <= self.end


async def _rows(db: Database, span: _Span) -> tuple[list[_Row], list[str]]:
    """The period's records, with folded counts only for months wholly inside it; and a note
    for each folded month it covers in part, whose purged days cannot be counted.

    `start` and `end` are UTC: SQLite compares the stored UTC wall times."""
    first = local_month(span.start, span.zone)
    last = local_month(span.end - dt.timedelta(seconds=1), span.zone)
    async with db.session() as session:
        live = await session.execute(
            select(Interaction.created_at, Interaction.platform, Interaction.program,
                   Interaction.outcome, Interaction.entry_id, Interaction.feedback)
            .where(Interaction.created_at >= span.start, Interaction.created_at < span.end))
        rows = [_Row(local_month(at, span.zone), platform, program or "", outcome,
                     entry or "", feedback or "", 1)
                for at, platform, program, outcome, entry, feedback in live]
        folded = list(await session.scalars(select(InteractionCount).where(
            InteractionCount.month >= first, InteractionCount.month <= last)))
        cut = sorted({c.month for c in folded if not span.holds(c.month)})
        oldest = await session.scalar(select(func.min(Interaction.created_at))) if cut else None
    rows += [_Row(c.month, c.platform, c.program, c.outcome, c.entry_id, c.feedback, c.count)
             for c in folded if span.holds(c.month)]
    notes = [note for month in cut
             if (note := _unavailable(span, month, as_utc(oldest) if oldest else None))]
    return rows, notes


def _unavailable(span: _Span, month: str, oldest: dt.datetime | None) -> str | None:
    """What a period covering the folded `month` only in part cannot count: its days there
    before the oldest record kept (`oldest`; None when none is), whose records survive only
    in the whole month's count."""
    begins, ends = span.month_bounds(month)
    lost_from = max(span.start, begins)
    lost_until = min(span.end, ends, oldest or ends)
    if lost_from >= lost_until:
        return None
    first = lost_from.astimezone(span.zone).date()
    # The purge's own cut is not kept; the oldest record kept bounds it.
    if oldest is not None and lost_until == oldest:
        days = f"from {first} until {oldest.astimezone(span.zone):%Y-%m-%d %H:%M %Z}"
    else:
        last = (lost_until - dt.timedelta(microseconds=1)).astimezone(span.zone).date()
        days = f"from {first} to {last}"
    return (f"Figures {days} are not available: interaction records from then "
            "were purged (TABOT_KEEP_INTERACTIONS_DAYS) and survive only as counts for the "
            f"whole of {begins.astimezone(span.zone):%B %Y}, which this period covers only in "
            "part. The figures here count the records still kept.")


def _count_contacts(report: Report, rows: list[_Row], kb: KnowledgeBase) -> None:
    tallies: dict[str, Counter[str]] = {name: Counter() for name in
                                        ("month", "outcome", "category", "topic", "program",
                                         "platform")}
    for row in rows:
        report.off_topic += row.count if row.outcome == Outcome.OFF_TOPIC else 0  # not a TA contact
        if row.outcome not in QUESTION_OUTCOMES:
            continue
        entry = kb.get(row.entry_id) if row.entry_id else None
        keys = {"month": row.month, "outcome": row.outcome, "platform": row.platform,
                "program": row.program or "(not known)",
                "category": entry.category if entry else f"({row.outcome})",
                "topic": entry.tags[0] if entry and entry.tags else f"({row.outcome})"}
        for name, key in keys.items():
            tallies[name][key] += row.count
    report.contacts = sum(tallies["outcome"].values())
    report.by_month = dict(sorted(tallies["month"].items()))
    for name in ("outcome", "category", "topic", "program", "platform"):
        setattr(report, f"by_{name}", dict(tallies[name].most_common()))
    report.programs_served = len([p for p in tallies["program"] if p != "(not known)"])


def _count_feedback(report: Report, rows: list[_Row]) -> None:
    answered: Counter[str] = Counter()
    verdicts: dict[str, Counter[str]] = {}
    for row in rows:
        if row.outcome in SHOWN and row.entry_id:
            answered[row.entry_id] += row.count
        if row.feedback and row.entry_id:
            verdicts.setdefault(row.entry_id, Counter())[row.feedback] += row.count
    for entry_id in sorted(set(answered) | set(verdicts)):
        helped = verdicts.get(entry_id, Counter())["helped"]
        not_helped = verdicts.get(entry_id, Counter())["not-helped"]
        shown = answered[entry_id]
        report.feedback[entry_id] = {
            "answered": shown, "helped": helped, "not_helped": not_helped,
            "feedback_rate": round((helped + not_helped) / shown, 4) if shown else 0.0}


async def _count_staff_answers(report: Report, db: Database, start: dt.datetime,
                               end: dt.datetime) -> None:
    async with db.session() as session:
        rows = list(await session.execute(
            select(Escalation.created_at, _first_answered())
            .where(Escalation.created_at >= start, Escalation.created_at < end)))
    report.escalations = len(rows)
    hours = sorted((as_utc(answered) - as_utc(created)).total_seconds() / 3600
                   for created, answered in rows if answered is not None)
    report.staff_answers = len(hours)
    if hours:
        report.staff_answer_hours_median = round(statistics.median(hours), 2)
        report.staff_answer_hours_p90 = round(_nearest_rank(hours, 0.9), 2)


def _nearest_rank(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at least `share` of them do not
    exceed (rank ceil(share * n), counted from 1), so of ten the 90th is the ninth. The
    rounding keeps a product such as 0.9 * n from landing a hair above a whole rank."""
    return ordered[max(0, math.ceil(round(share * len(ordered), 9)) - 1)]


def _first_answered() -> ColumnElement[dt.datetime | None]:
    """When staff first answered: the asker waited until then, however often the answer was
    corrected after (`answered_at` is the latest answer). The history's "answered" events are
    never deleted (a purge blanks their text only), so they count as long as the escalation
    does; an escalation without one (made by hand, say) falls back to `answered_at`."""
    first = (select(func.min(EscalationEvent.created_at))
             .where(EscalationEvent.escalation_id == Escalation.id,
                    EscalationEvent.kind == "answered")
             .correlate(Escalation).scalar_subquery())
    return func.coalesce(first, Escalation.answered_at, type_=DateTime(timezone=True))


# --- rendering -------------------------------------------------------------------------------

SECTIONS = (("by_month", "TA contacts by month"), ("by_outcome", "How questions were handled"),
            ("by_category", "By category"), ("by_topic", "By topic"),
            ("by_program", "By member program"), ("by_platform", "By platform"))


def as_table(report: Report) -> str:
    lines = [f"TA contacts {report.since} to {report.until}: {report.contacts} "
             f"({report.programs_served} member programs); outside the assistant's domain, "
             f"not counted: {report.off_topic}",
             f"Escalated to staff: {report.escalations}; answered by staff: "
             f"{report.staff_answers}; hours to a staff answer: median "
             f"{_hours(report.staff_answer_hours_median)}, 90th percentile "
             f"{_hours(report.staff_answer_hours_p90)}"]
    lines += [f"Note: {note}" for note in report.notes]
    for name, title in SECTIONS:
        lines += ["", title] + [f"  {key:<40} {value:>7}"
                                for key, value in _labelled(getattr(report, name)).items()]
    lines += ["", "Feedback per entry (answered, helped, not quite, feedback rate)"]
    lines += [f"  {entry:<40} {f['answered']:>5} {f['helped']:>5} {f['not_helped']:>5} "
              f"{f['feedback_rate']:>6.0%}" for entry, f in report.feedback.items()]
    return "\n".join(lines)


def _hours(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} h"


def as_csv(report: Report) -> str:
    """One tidy table (section, key, value) that opens cleanly in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([_cell(value) for value in row] for row in _csv_rows(report))
    return out.getvalue()


def _csv_rows(report: Report) -> Iterator[tuple[object, ...]]:
    yield "section", "key", "value"
    yield "summary", "contacts", report.contacts
    yield "summary", "off-topic messages", report.off_topic
    yield "summary", "member programs served", report.programs_served
    yield "summary", "escalations", report.escalations
    yield "summary", "staff answers", report.staff_answers
    yield "summary", "staff answer hours median", report.staff_answer_hours_median
    yield "summary", "staff answer hours p90", report.staff_answer_hours_p90
    for number, note in enumerate(report.notes, 1):
        yield "note", number, note
    for name, _ in SECTIONS:
        for key, value in getattr(report, name).items():
            yield name.removeprefix("by_"), key, value
    for entry, figures in report.feedback.items():
        for key, value in figures.items():
            yield f"feedback {key}", entry, value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A program's or topic's name is typed by people: one such as "=HYPERLINK(...)" would run
    as a formula in the spreadsheet the CSV is opened in. A leading apostrophe makes it text
    (OWASP's advice); numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2)


def as_png(report: Report) -> bytes:
    """One page a director can paste into a grant report."""
    from matplotlib import pyplot as plt

    figure = _figure(report)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _figure(report: Report):  # -> matplotlib.figure.Figure, imported only when drawing
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(11, 8.5), constrained_layout=True)
    figure.suptitle(f"Technical assistance, {report.since:%B %-d, %Y} to "
                    f"{report.until:%B %-d, %Y}: {report.contacts:,} contacts from "
                    f"{report.programs_served} member programs", fontsize=13)
    _bars(axes[0][0], report.by_month, "TA contacts by month", vertical=True)
    _bars(axes[0][1], _labelled(report.by_outcome), "How questions were handled")
    _bars(axes[1][0], dict(list(report.by_program.items())[:12]), "Member programs (top 12)")
    _bars(axes[1][1], _labelled(dict(list(report.by_topic.items())[:12])), "Topics (top 12)")
    if report.notes:  # a figure pasted into a grant report must carry what it leaves out
        figure.supxlabel(_plain("\n".join(textwrap.wrap(" ".join(report.notes), 160))),
                         fontsize=8)
    return figure


def _plain(text: str) -> str:
    """`text` drawn as written: matplotlib reads a pair of `$` as mathematics, so "Safe $pace
    $helter" would lose its dollar signs and spaces, and "Fund $^$" would not draw at all."""
    return text.replace("$", r"\$")


def _bars(axis, data: dict[str, int], title: str, vertical: bool = False) -> None:
    labels, values = [_plain(label) for label in data], list(data.values())
    if vertical:
        axis.bar(labels, values, color="#4a6fa5")
        axis.tick_params(axis="x", labelrotation=45)
    else:
        axis.barh(labels[::-1], values[::-1], color="#4a6fa5")
    axis.set_title(_plain(title), fontsize=11)
    axis.spines[["top", "right"]].set_visible(False)
    if not data:
        axis.text(0.5, 0.5, "no data", ha="center", va="center", transform=axis.transAxes)
