import asyncio
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select, text, update

from bot.chat.messages import DeliveryKind, Message
from bot.store import audit, platform_state
from bot.store.database import Database
from bot.store.retention import PURGED, PurgeRaced, purge
from bot.store.tables import (
    Escalation,
    EscalationEvent,
    Interaction,
    InteractionCount,
    LearnedPhrasing,
    OutboxMessage,
)
from bot.triage import outbox
from bot.triage.drafts import write_draft
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


async def test_a_purge_of_more_rows_than_one_statement_may_name_succeeds(
        database: Database) -> None:
    """PostgreSQL takes at most 32,767 parameters a statement; a purge that named each row
    failed on every run once that many were due, and the daily work stopped with it."""
    n = 32_767 + 233
    old = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    async with database.engine.begin() as connection:
        for start in range(0, n, 5000):
            await connection.execute(insert(Interaction), [
                {"platform": "slack", "user_id": f"U{i % 40}", "program": None, "text": "q",
                 "outcome": "answer", "entry_id": "e1", "score": 0.5, "feedback": None,
                 "created_at": old + dt.timedelta(minutes=i)}
                for i in range(start, min(start + 5000, n))])
            await connection.execute(insert(Escalation), [
                {"question": "q", "platform": "slack", "user_id": "U1", "conversation_id": "D1",
                 "tags": "", "reason": "no-match", "state": "closed", "created_at": old,
                 "updated_at": old} for _ in range(start, min(start + 5000, n))])
    result = await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id)
    assert (result.interactions, result.escalations) == (n, n)
    async with database.session() as session:
        assert await session.scalar(select(func.sum(InteractionCount.count))) == n
        assert await session.scalar(select(func.count()).select_from(Interaction)) == 0
        assert set(await session.scalars(select(Escalation.question).distinct())) == {PURGED}


async def test_sent_marks_of_a_message_still_waiting_outlive_the_week(
        database: Database) -> None:
    """A staff notice one person cannot receive (they blocked the bot) is retried for weeks;
    the marks of the staff who already have it must last as long, or they get it again."""
    async with database.session() as session, session.begin():
        for text in ("TA-0001 (housing, new): q", "TA-0002 (housing, new): q"):
            outbox.to_staff(session, DeliveryKind.STAFF_NOTICE, "telegram", text)
    waiting = await outbox.claim(database, "telegram", "p1")
    done = await outbox.claim(database, "telegram", "p1")
    for key in (f"outbox:{waiting.id}:111", f"outbox:{done.id}:111", "update:9001"):
        assert await platform_state.first_time(database, "telegram", key)
    await outbox.failed(database, waiting.id, "p1", "Forbidden: bot was blocked by the user")
    assert await outbox.delivered(database, done.id, "p1")
    await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id,
                now=dt.datetime.now(dt.UTC) + dt.timedelta(days=8))
    assert await platform_state.recorded(database, "telegram", f"outbox:{waiting.id}:111")
    assert not await platform_state.recorded(database, "telegram", f"outbox:{done.id}:111")
    assert not await platform_state.recorded(database, "telegram", "update:9001")


async def test_a_given_up_message_is_purged_like_a_delivered_one_and_its_marks_go(
        database: Database) -> None:
    """A message the platform refused for good is never tried again: it is not kept as
    waiting, and neither are the marks of the pieces it sent."""
    async with database.session() as session, session.begin():
        for text in ("TA-0001 (housing, new): q", "TA-0002 (housing, new): q"):
            outbox.to_staff(session, DeliveryKind.STAFF_NOTICE, "telegram", text)
    given_up = await outbox.claim(database, "telegram", "p1")
    waiting = await outbox.claim(database, "telegram", "p1")
    for row in (given_up, waiting):
        assert await platform_state.first_time(database, "telegram", f"outbox:{row.id}:111")
    async with database.session() as session, session.begin():
        assert await outbox.given_up(session, given_up.id, "p1", "a staff member has blocked "
                                     "the bot") is not None
    await outbox.failed(database, waiting.id, "p1", "NetworkError: Bad Gateway")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    result = await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id,
                         now=later)
    async with database.session() as session:
        left = list(await session.scalars(select(OutboxMessage.id)))
    assert left == [waiting.id] and result.deliveries == 1
    assert "1 messages delivered or given up" in str(result)
    assert not await platform_state.recorded(database, "telegram", f"outbox:{given_up.id}:111")
    assert await platform_state.recorded(database, "telegram", f"outbox:{waiting.id}:111")


async def test_a_purged_question_leaves_its_words_in_no_message_or_draft_record(
        database: Database, tmp_path: Path) -> None:
    """Staff notices for a platform nobody runs, an answer never delivered, one delivered
    late, and the draft's file name all repeated the question after it was purged."""
    question = "my client at the Hillside shelter needs a protective order"
    triage = Triage(database, frozenset({STAFF.id}), notify=("telegram",))
    escalation = await new_escalation(database, Message("slack", "U1", "D1", "x"), question,
                                      Reason.NO_MATCH, ["housing"], notify=("telegram",))
    ref = escalation.reference
    await triage.answer(ref, STAFF, "Call the legal aid line.")
    await triage.answer(ref, STAFF, "Correction: call the court's help desk.")
    delivery = await outbox.claim(database, "slack", "p1")  # the first answer reaches the asker
    assert await outbox.delivered(database, delivery.id, "p1")
    draft = await write_draft(triage, STAFF, ref, tmp_path)
    assert "hillside" in draft.name
    await triage.close(ref, STAFF)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    async with database.session() as session, session.begin():  # delivered after an outage
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == delivery.id)
                              .values(delivered_at=later - dt.timedelta(days=1)))
        waiting = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.delivered_at.is_(None)))
    result = await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id,
                         now=later)
    async with database.session() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
        details = list(await session.scalars(select(EscalationEvent.detail)))
    assert [(r.id, r.text) for r in rows] == [(delivery.id, PURGED)]
    assert not any("Hillside" in d or "hillside" in d for d in details)
    assert [e.detail for e in (await triage.show(ref, STAFF)).events
            if e.kind == "drafted"] == [PURGED]
    assert waiting == 5  # the notice, the correction, and a staff update per change
    assert result.escalations == 1 and result.undelivered == waiting
    assert f"{waiting} never delivered" in str(result)
