import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, text

from bot.chat.messages import Message
from bot.store import audit
from bot.store.database import Database
from bot.store.retention import PURGED, PurgeRaced, purge
from bot.store.tables import Escalation, Interaction, InteractionCount, LearnedPhrasing
from bot.triage.escalations import Reason
from bot.triage.workflow import Actor, Triage
from tests.conftest import new_escalation, new_interaction

STAFF = Actor("cli", "maria")


async def test_old_interactions_become_monthly_counts_and_are_deleted(database: Database) -> None:
    message = Message("slack", "U1", "D1", "x", program="Riverside")
    for outcome in ("answer", "answer", "escalate"):
        await new_interaction(database, message, "q", outcome, "e1" if outcome == "answer"
                                 else None)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=100)
    result = await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id,
                         now=later)
    assert result.interactions == 3
    async with database.session() as session:
        assert list(await session.scalars(select(Interaction))) == []
        counts = {(c.outcome, c.entry_id, c.program): c.count
                  for c in await session.scalars(select(InteractionCount))}
    assert counts == {("answer", "e1", "Riverside"): 2, ("escalate", "", "Riverside"): 1}
    again = await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id,
                        now=later)
    assert again.interactions == 0


@pytest.mark.parametrize(("zone", "month"), [(dt.UTC, "2026-06"),
                                             (ZoneInfo("America/New_York"), "2026-05")],
                         ids=["UTC", "New York"])
async def test_interactions_are_folded_into_the_month_of_the_coalitions_zone(
        database: Database, zone: dt.tzinfo, month: str) -> None:
    evening = dt.datetime(2026, 6, 1, 2, tzinfo=dt.UTC)  # 10 pm on May 31 in New York
    async with database.session() as session, session.begin():
        session.add(Interaction(platform="slack", user_id="U1", text="q", outcome="answer",
                                score=0.5, created_at=evening))
    await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id,
                now=evening + dt.timedelta(days=100), zone=zone)
    async with database.session() as session:
        assert list(await session.scalars(select(InteractionCount.month))) == [month]


async def test_phrasing_proposals_nobody_confirmed_again_go_with_the_interactions(
        database: Database) -> None:
    """A proposal is a redacted question; staff's decisions (dismissed keys) are kept."""
    now = dt.datetime.now(dt.UTC)
    async with database.session() as session, session.begin():
        for key, state, seen in [("old", "pending", 100), ("fresh", "pending", 10),
                                 ("decided", "dismissed", 100)]:
            session.add(LearnedPhrasing(entry_id="e1", key=key, text=key, state=state,
                                        first_seen=now - dt.timedelta(days=seen),
                                        last_seen=now - dt.timedelta(days=seen)))
    result = await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id)
    assert result.proposals == 1 and "1 phrasing proposals" in str(result)
    async with database.session() as session:
        kept = set(await session.scalars(select(LearnedPhrasing.key)))
    assert kept == {"fresh", "decided"}


async def test_recent_records_and_open_questions_are_kept(database: Database) -> None:
    message = Message("slack", "U1", "D1", "x")
    await new_interaction(database, message, "q", "answer", "e1")
    escalation = await new_escalation(database, message, "still open", Reason.NO_MATCH, [])
    result = await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id)
    assert (result.interactions, result.escalations) == (0, 0)
    async with database.session() as session:
        kept = await session.get(Escalation, escalation.id)
    assert kept.question == "still open"


async def test_closed_questions_lose_their_text_but_keep_their_facts(database: Database) -> None:
    triage = Triage(database, frozenset({STAFF.id}))
    message = Message("slack", "U1", "D1", "x")
    escalation = await new_escalation(database, message, "a question", Reason.NO_MATCH,
                                         ["housing"])
    await triage.note(escalation.reference, STAFF, "internal detail")
    await triage.answer(escalation.reference, STAFF, "the answer")
    await triage.close(escalation.reference, STAFF)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    result = await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id,
                         now=later)
    assert result.escalations == 1
    view = await triage.show(escalation.reference, STAFF)
    assert view.question == PURGED and view.answer is None and view.tags == ("housing",)
    assert all(e.detail in ("", PURGED, "no-match") for e in view.events)
    log = await audit.entries(database)
    assert log[0].action == "purge" and log[0].actor == STAFF.id
    assert {"note", "answered", "closed"} <= {e.action for e in log}


@pytest.mark.postgres
async def test_a_purge_that_another_purge_beat_to_a_count_says_so_and_counts_nothing_twice(
        postgres_database: Database) -> None:
    """Two purges at once (`tabot purge` during the daily one): the second is refused with a
    message, not a database error, and the month is counted once."""
    db = postgres_database
    await new_interaction(db, Message("slack", "U1", "D1", "x"), "q", "escalate", None)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=100)
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    async with db.engine.connect() as other:
        first = await other.begin()  # the other purge, mid-way: its count is not committed
        await other.execute(insert(InteractionCount).values(
            month=month, platform="slack", program="", outcome="escalate", entry_id="",
            feedback="", count=1))
        racing = asyncio.create_task(purge(db, dt.timedelta(days=90), dt.timedelta(days=30),
                                           STAFF.id, now=later))
        await _until_blocked_on_a_lock(db)
        await first.commit()
    with pytest.raises(PurgeRaced, match="another process purged"):
        await racing
    async with db.session() as session:
        counts = list(await session.scalars(select(InteractionCount.count)))
        assert counts == [1]
        assert len(list(await session.scalars(select(Interaction)))) == 1  # undone whole


async def _until_blocked_on_a_lock(db: Database) -> None:
    for _ in range(200):
        async with db.engine.connect() as probe:
            waiting = await probe.scalar(text(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and wait_event_type = 'Lock'"))
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the racing purge never waited on the other's count")
