"""Reports and gaps on a generated history of 5,000 interactions, with exact expectations."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from bot.chat.messages import Message
from bot.insights import gaps, reports
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.store.retention import purge
from bot.store.tables import Escalation, Interaction
from bot.triage import workflow
from bot.triage.escalations import Reason
from bot.triage.workflow import Actor, Triage
from tests.conftest import new_escalation

PLATFORMS = ("slack", "telegram", "console")
PROGRAMS = (*(f"Program {n}" for n in range(7)), None)
OUTCOMES = ("answer", "answer", "answer", "suggest", "escalate")
START = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
NEW_YORK = ZoneInfo("America/New_York")
EVENING = dt.datetime(2026, 6, 1, 2, tzinfo=dt.UTC)  # 10 pm on May 31 in New York
BOUNDARY = (dt.datetime(2026, 5, 1, 3, tzinfo=dt.UTC),  # April 30, 11 pm in New York
            dt.datetime(2026, 5, 1, 5, tzinfo=dt.UTC), EVENING,
            dt.datetime(2026, 6, 30, 23, tzinfo=dt.UTC),
            dt.datetime(2026, 7, 1, 3, 59, tzinfo=dt.UTC),  # June 30, 11:59 pm in New York
            dt.datetime(2026, 7, 1, 4, tzinfo=dt.UTC))  # midnight, July 1, in New York


def history(kb: KnowledgeBase, n: int = 5000, seed: int = 3) -> list[Interaction]:
    rng = random.Random(seed)
    entries = sorted(kb.entries)[:20]
    rows = []
    for i in range(n):
        outcome = rng.choice(OUTCOMES)
        rows.append(Interaction(
            platform=rng.choice(PLATFORMS), user_id=f"U{i % 50}", program=rng.choice(PROGRAMS),
            text="(generated)", outcome=outcome,
            entry_id=rng.choice(entries) if outcome == "answer" else None, score=0.5,
            created_at=START + dt.timedelta(minutes=rng.randrange(0, 183 * 24 * 60))))
    for i in range(400):  # feedback on answers
        rows.append(Interaction(platform="slack", user_id=f"U{i}", program="Program 1",
                                text="(generated)", outcome="feedback",
                                entry_id=entries[i % 4], score=0.0,
                                feedback="not-helped" if i % 4 == 0 or i % 3 == 0
                                else "helped",
                                created_at=START + dt.timedelta(days=i % 150)))
    return rows


async def asked_at(db: Database, *moments: dt.datetime) -> None:
    """One question at each moment, its program named after the moment to tell them apart."""
    async with db.session() as session, session.begin():
        session.add_all(Interaction(platform="slack", user_id="U1", program=f"{at:%m-%d %H:%M}Z",
                                    text="(generated)", outcome="escalate", score=0.5,
                                    created_at=at) for at in moments)


@pytest.fixture
async def filled(database: Database, shipped_kb: KnowledgeBase) -> list[Interaction]:
    rows = history(shipped_kb)
    expected = [(r.created_at, r.platform, r.program, r.outcome, r.entry_id, r.feedback)
                for r in rows]
    async with database.session() as session, session.begin():
        session.add_all(rows)
    return expected


async def test_counts_are_exact(database: Database, shipped_kb: KnowledgeBase, filled) -> None:
    report = await reports.build_report(database, shipped_kb, dt.date(2026, 5, 1),
                                        dt.date(2026, 10, 31))
    questions = [r for r in filled if r[3] != "feedback"]
    assert report.contacts == len(questions) == 5000
    assert report.by_month == dict(sorted(Counter(r[0].strftime("%Y-%m")
                                                  for r in questions).items()))
    assert report.by_outcome == dict(Counter(r[3] for r in questions))
    assert report.by_platform == dict(Counter(r[1] for r in questions))
    assert report.by_program == dict(Counter(r[2] or "(not known)" for r in questions))
    assert report.programs_served == 7
    categories = Counter(shipped_kb.get(r[4]).category if r[4] else f"({r[3]})"
                         for r in questions)
    assert report.by_category == dict(categories)
    first = sorted(shipped_kb.entries)[0]
    helped = sum(1 for r in filled if r[4] == first and r[5] == "helped")
    assert report.feedback[first]["helped"] == helped


async def test_a_narrower_period_counts_only_its_days(database: Database,
                                                      shipped_kb: KnowledgeBase, filled) -> None:
    report = await reports.build_report(database, shipped_kb, dt.date(2026, 6, 1),
                                        dt.date(2026, 6, 30))
    june = [r for r in filled if r[3] != "feedback" and r[0].month == 6]
    assert report.contacts == len(june) and list(report.by_month) == ["2026-06"]


@pytest.mark.parametrize("zone", [dt.UTC, NEW_YORK], ids=["UTC", "New York"])
async def test_counts_survive_the_purge(database: Database, shipped_kb: KnowledgeBase,
                                        filled, zone: dt.tzinfo) -> None:
    await asked_at(database, *BOUNDARY)
    period = (dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    before = await reports.build_report(database, shipped_kb, *period, zone=zone)
    result = await purge(database, dt.timedelta(days=60), dt.timedelta(days=30), "cli:test",
                         now=dt.datetime(2026, 9, 15, tzinfo=dt.UTC), zone=zone)
    assert result.interactions > 1000
    after = await reports.build_report(database, shipped_kb, *period, zone=zone)
    assert after.contacts == before.contacts and after.by_program == before.by_program
    assert after.by_month == before.by_month


async def test_an_evening_question_is_in_the_month_of_the_coalitions_zone(
        database: Database, shipped_kb: KnowledgeBase) -> None:
    await asked_at(database, EVENING)
    period = (dt.date(2026, 5, 1), dt.date(2026, 6, 30))
    new_york = await reports.build_report(database, shipped_kb, *period, zone=NEW_YORK)
    utc = await reports.build_report(database, shipped_kb, *period)
    assert (new_york.by_month, utc.by_month) == ({"2026-05": 1}, {"2026-06": 1})


async def test_a_period_is_whole_days_in_the_coalitions_zone(
        database: Database, shipped_kb: KnowledgeBase) -> None:
    await asked_at(database, *BOUNDARY)
    may = (dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    new_york = await reports.build_report(database, shipped_kb, *may, zone=NEW_YORK)
    assert set(new_york.by_program) == {"05-01 05:00Z", "06-01 02:00Z"}
    assert new_york.by_month == {"2026-05": 2}
    utc = await reports.build_report(database, shipped_kb, *may)
    assert set(utc.by_program) == {"05-01 03:00Z", "05-01 05:00Z"}
    june = await reports.build_report(database, shipped_kb, dt.date(2026, 6, 1),
                                      dt.date(2026, 6, 30), zone=NEW_YORK)
    assert set(june.by_program) == {"06-30 23:00Z", "07-01 03:59Z"}


async def test_months_folded_by_the_purge_stay_in_the_coalitions_zone(
        database: Database, shipped_kb: KnowledgeBase) -> None:
    await asked_at(database, *BOUNDARY)
    await purge(database, dt.timedelta(days=1), dt.timedelta(days=30), "cli:test",
                now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), zone=NEW_YORK)
    may = await reports.build_report(database, shipped_kb, dt.date(2026, 5, 1),
                                     dt.date(2026, 5, 31), zone=NEW_YORK)
    assert set(may.by_program) == {"05-01 05:00Z", "06-01 02:00Z"}


async def test_staff_answers_count_the_same_days(database: Database,
                                                 shipped_kb: KnowledgeBase) -> None:
    async with database.session() as session, session.begin():
        session.add(Escalation(question="q", platform="slack", user_id="U", tags="",
                               conversation_id="c", reason="no-match", state="answered",
                               created_at=EVENING, updated_at=EVENING,
                               answered_at=EVENING + dt.timedelta(hours=3)))
    may = (dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    new_york = await reports.build_report(database, shipped_kb, *may, zone=NEW_YORK)
    utc = await reports.build_report(database, shipped_kb, *may)
    assert (new_york.escalations, new_york.staff_answers, new_york.staff_answer_hours_median,
            utc.escalations) == (1, 1, 3.0, 0)


async def test_off_topic_messages_are_counted_apart_from_contacts(
        database: Database, shipped_kb: KnowledgeBase, filled) -> None:
    off_topic = [Interaction(platform="slack", user_id=f"U{i}", program="Program 2",
                             text="(generated)", outcome="off-topic", score=0.0,
                             created_at=START + dt.timedelta(days=i)) for i in range(37)]
    async with database.session() as session, session.begin():
        session.add_all(off_topic)
    period = (dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    report = await reports.build_report(database, shipped_kb, *period)
    assert (report.contacts, report.off_topic) == (5000, 37)
    assert "not counted: 37" in reports.as_table(report)
    assert "summary,off-topic messages,37" in reports.as_csv(report)
    await purge(database, dt.timedelta(days=60), dt.timedelta(days=30), "cli:test",
                now=dt.datetime(2026, 12, 15, tzinfo=dt.UTC))
    kept = await reports.build_report(database, shipped_kb, *period)
    assert (kept.contacts, kept.off_topic) == (5000, 37)


async def test_time_to_a_staff_answer(database: Database, shipped_kb: KnowledgeBase) -> None:
    hours = [1, 2, 3, 4, 5, 6, 7, 8, 9, 30]
    async with database.session() as session, session.begin():
        for n, h in enumerate(hours):
            created = START + dt.timedelta(days=n)
            session.add(Escalation(question="q", platform="slack", user_id="U", tags="",
                                   conversation_id="c", reason="no-match", state="answered",
                                   created_at=created, updated_at=created,
                                   answered_at=created + dt.timedelta(hours=h)))
        session.add(Escalation(question="q", platform="slack", user_id="U", tags="",
                               conversation_id="c", reason="no-match", state="open",
                               created_at=START, updated_at=START))
    report = await reports.build_report(database, shipped_kb, dt.date(2026, 5, 1),
                                        dt.date(2026, 5, 31))
    assert (report.escalations, report.staff_answers) == (11, 10)
    # Nearest rank: the 90th percentile of ten is the ninth smallest (rank ceil(0.9 * 10)),
    # the value nine in ten answers did not exceed; 30 is the slowest, the 100th.
    assert report.staff_answer_hours_median == 5.5 and report.staff_answer_hours_p90 == 9


async def test_every_format_renders(database: Database, shipped_kb: KnowledgeBase,
                                    filled) -> None:
    report = await reports.build_report(database, shipped_kb, dt.date(2026, 5, 1),
                                        dt.date(2026, 10, 31))
    assert "TA contacts 2026-05-01 to 2026-10-31: 5000" in reports.as_table(report)
    csv_text = reports.as_csv(report)
    assert csv_text.splitlines()[0] == "section,key,value"
    assert "summary,contacts,5000" in csv_text
    assert '"contacts": 5000' in reports.as_json(report)
    png = reports.as_png(report)
    assert png.startswith(b"\x89PNG") and len(png) > 20_000


PARAPHRASES = {
    "van": ["does our insurance cover staff driving the agency van",
            "agency van insurance when advocates drive clients",
            "who pays if an advocate crashes the program van",
            "insurance for the van we use to transport residents"],
    "bylaws": ["how do we amend our board bylaws",
               "changing the bylaws of our nonprofit board",
               "board wants to rewrite the bylaws, what is the process",
               "bylaws amendment vote for the board"],
    "payroll": ["which payroll software do other programs use",
                "recommend payroll software for a small nonprofit",
                "our payroll software is too expensive, alternatives",
                "payroll software for a 12 person program"],
}


def test_paraphrases_of_one_gap_are_grouped_together(shipped_kb: KnowledgeBase) -> None:
    questions = [q for group in PARAPHRASES.values() for q in group]
    random.Random(5).shuffle(questions)
    clusters = gaps.cluster(questions, shipped_kb)
    assert [c.count for c in clusters] == [4, 4, 4]
    for cluster in clusters:
        topics = {topic for topic, group in PARAPHRASES.items()
                  if any(e in group for e in cluster.examples)}
        assert len(topics) == 1


async def test_gaps_lists_groups_unhelpful_and_never_matched_entries(
        database: Database, shipped_kb: KnowledgeBase, filled) -> None:
    async with database.session() as session, session.begin():
        for group in PARAPHRASES.values():
            for question in group:
                session.add(Escalation(question=question, platform="slack", user_id="U",
                                       conversation_id="c", tags="", reason="no-match",
                                       state="open"))
    found = await gaps.find_gaps(database, shipped_kb, START - dt.timedelta(days=1))
    generated = [c for c in found.clusters if c.examples == ["(generated)"]]
    assert [c.count for c in generated] == [sum(1 for r in filled if r[5] == "not-helped")]
    asked = [c.count for c in found.clusters if c not in generated]
    assert asked == [4, 4, 4]
    first = sorted(shipped_kb.entries)[0]  # every piece of feedback on it was "Not quite"
    assert [entry for entry, _, _ in found.unhelpful] == [first]
    used = set(sorted(shipped_kb.entries)[:20])
    assert set(found.never_matched) == set(shipped_kb.entries) - used


def test_review_lists_stale_entries_oldest_first(shipped_kb: KnowledgeBase) -> None:
    later = dt.date(2028, 1, 1)
    due = gaps.due_for_review(shipped_kb, later, 12)
    assert len(due) == len(shipped_kb.entries)
    assert [e.reviewed for e in due] == sorted(e.reviewed for e in due)
    assert gaps.due_for_review(shipped_kb, dt.date(2026, 11, 24), 12) == []
    assert "(no owner)" in gaps.review_text(due[:1], 12)




async def one_question_a_day_in_january(db: Database) -> None:
    """January 2026, one question at noon UTC each day; then purged at February 1 keeping ten
    days, so January 1-21 survive only as January's count and January 22-31 as records."""
    await asked_at(db, *(dt.datetime(2026, 1, day, 12, tzinfo=dt.UTC) for day in range(1, 32)))
    await purge(db, dt.timedelta(days=10), dt.timedelta(days=30), "cli:test",
                now=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))


async def test_a_period_that_cuts_a_folded_month_counts_only_the_records_kept(
        database: Database, shipped_kb: KnowledgeBase) -> None:
    await one_question_a_day_in_january(database)
    late = await reports.build_report(database, shipped_kb, dt.date(2026, 1, 20),
                                      dt.date(2026, 1, 31))
    assert late.contacts == 10 and late.by_month == {"2026-01": 10}  # January 22-31, kept
    assert len(late.notes) == 1
    note = late.notes[0]
    assert "from 2026-01-20 until 2026-01-22 12:00 UTC are not available" in note
    assert "TABOT_KEEP_INTERACTIONS_DAYS" in note
    assert note in reports.as_table(late) and "note,1," in reports.as_csv(late)
    last_day = await reports.build_report(database, shipped_kb, dt.date(2026, 1, 31),
                                          dt.date(2026, 1, 31))
    assert (last_day.contacts, last_day.notes) == (1, [])  # nothing of it was purged
    whole = await reports.build_report(database, shipped_kb, dt.date(2026, 1, 1),
                                       dt.date(2026, 1, 31))
    assert (whole.contacts, whole.notes) == (31, [])


async def test_a_corrected_answer_keeps_the_time_to_the_first_answer(
        database: Database, shipped_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    """Answered 2 hours after it was asked, corrected at 30 hours: the asker waited 2 hours,
    and still did after the closed question's text is purged."""
    staff = Actor("slack", "USTAFF1")
    triage = Triage(database, frozenset({staff.id}), unclaimed_after=dt.timedelta(hours=4),
                    answer_due=dt.timedelta(hours=24))
    message = Message("telegram", "4242", "chat-4242", "how do we budget for a new roof")
    asked = await new_escalation(database, message, message.text, Reason.NO_MATCH, ["finance"])
    created = workflow.as_utc(asked.created_at)
    for hours, text in ((2, "Use restricted funds."), (30, "Correction: unrestricted.")):
        monkeypatch.setattr(workflow, "utcnow", lambda h=hours: created + dt.timedelta(hours=h))
        await triage.answer(asked.reference, staff, text)
    await triage.close(asked.reference, staff)
    period = (created.date() - dt.timedelta(days=1), created.date() + dt.timedelta(days=1))
    report = await reports.build_report(database, shipped_kb, *period)
    assert (report.staff_answers, report.staff_answer_hours_median) == (1, 2.0)
    await purge(database, dt.timedelta(days=90), dt.timedelta(days=1), "cli:test",
                now=created + dt.timedelta(days=5))
    kept = await reports.build_report(database, shipped_kb, *period)
    assert (kept.staff_answers, kept.staff_answer_hours_median) == (1, 2.0)


@pytest.mark.parametrize(("n", "rank"), [(1, 1), (9, 9), (10, 9), (11, 10), (70, 63), (100, 90)])
def test_the_90th_percentile_is_the_nearest_rank(n: int, rank: int) -> None:
    """The rank is ceil(0.9 * n), counted from 1: never past the 90th in a hundred."""
    assert reports._nearest_rank([float(v) for v in range(1, n + 1)], 0.9) == rank


def test_names_with_dollar_signs_are_drawn_as_written_in_the_png() -> None:
    """Matplotlib reads text between two `$` as mathematics: a name must not be garbled, and
    one that is not valid mathematics must not stop the page being drawn."""
    names = {"Safe $pace $helter": 3, "Fund $^$ Partners": 2}
    report = reports.Report(dt.date(2026, 1, 1), dt.date(2026, 1, 31), contacts=5,
                            by_program=names, by_topic=names)
    assert reports.as_png(report).startswith(b"\x89PNG")
    from matplotlib import pyplot as plt

    figure = reports._figure(report)
    drawn = [label.get_text() for label in figure.axes[2].get_yticklabels()]
    plt.close(figure)
    assert drawn == [r"Fund \$^\$ Partners", r"Safe \$pace \$helter"]  # "\$" draws a "$"


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_made_text() -> None:
    names = {"=HYPERLINK(\"http://x\",\"Riverside\")": 1, "+1 Shelter": 1, "-Program": 1,
             "@SUM(A1)": 1, "\tTabbed": 1, "\rReturned": 1, "Safe Haven - North": 1}
    report = reports.Report(dt.date(2026, 1, 1), dt.date(2026, 1, 31), by_program=names,
                            staff_answer_hours_median=-1.5)
    rows = list(csv.reader(io.StringIO(reports.as_csv(report))))
    programs = [key for section, key, _ in rows if section == "program"]
    assert programs == ["'" + name for name in list(names)[:-1]] + ["Safe Haven - North"]
    assert ["summary", "staff answer hours median", "-1.5"] in rows  # numbers stay numbers
