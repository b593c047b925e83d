"""Keeping transcripts briefly: interaction records and closed questions are purged on time.

Funders need counts, not transcripts, so interactions are folded into monthly counts before
they are deleted; a closed escalation keeps its reference, dates, topic and outcome but loses
its question, answer and notes. A phrasing proposal is a redacted question too: one nobody
has confirmed again, or staff decided on, within the interactions' time is deleted with them.
`tabot purge` runs it; the running bot runs it daily.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    String,
    cast,
    delete,
    exists,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store import audit
from bot.store.database import Database
from bot.store.tables import (
    Escalation,
    EscalationEvent,
    Interaction,
    InteractionCount,
    LearnedPhrasing,
    OutboxMessage,
    SeenEvent,
    outbox_pending,
    utcnow,
)

PURGED = "[purged]"
SEEN_EVENTS_KEPT = dt.timedelta(days=7)
PENDING = "pending"  # a proposal staff have not decided on (bot.knowledge.learning.State)
# Escalation events whose detail holds the question's or answer's words (a draft's file name
# is made of the question's words).
EVENTS_WITH_TEXT = ("note", "answered", "drafted")


class PurgeRaced(Exception):
    """Another process purged the same records first; nothing was changed here."""


@dataclass(frozen=True)
class PurgeResult:
    interactions: int
    escalations: int
    deliveries: int  # delivered or given up, and past their keeping time
    proposals: int = 0
    undelivered: int = 0  # messages about purged questions that never reached anyone

    def __str__(self) -> str:
        dropped = (f" ({self.undelivered} never delivered, dropped with their questions' text)"
                   if self.undelivered else "")
        return (f"purged {self.interactions} interaction records (kept as monthly counts), "
                f"the text of {self.escalations} closed escalations, {self.deliveries} "
                f"messages delivered or given up{dropped}, and {self.proposals} phrasing "
                "proposals nobody confirmed again")


async def purge(db: Database, keep_interactions: dt.timedelta, keep_closed: dt.timedelta,
                actor: str, now: dt.datetime | None = None, *,
                zone: dt.tzinfo = dt.UTC) -> PurgeResult:
    """`zone` is the coalition's: interactions are folded into the months reports put them in.

    Every statement selects its rows by a predicate, never by a list of ids: PostgreSQL takes at
    most 32,767 parameters, and a purge that fails once would fail every day after."""
    now = now or utcnow()
    interactions = await _fold_interactions(db, now - keep_interactions, zone)
    async with db.session() as session, session.begin():
        escalations = await session.execute(update(Escalation).where(
            Escalation.state == "closed", Escalation.updated_at < now - keep_closed,
            Escalation.question != PURGED).values(question=PURGED, answer=None)
            .execution_options(synchronize_session=False))
        dropped = await _purge_copies(session)
        sent = await session.execute(delete(OutboxMessage).where(_done_before(
            now - keep_closed)))
        await session.execute(delete(SeenEvent).where(
            SeenEvent.created_at < now - SEEN_EVENTS_KEPT, ~_marks_a_waiting_message()))
        proposals = await session.execute(delete(LearnedPhrasing).where(
            LearnedPhrasing.state == PENDING, LearnedPhrasing.last_seen < now - keep_interactions))
        result = PurgeResult(interactions, escalations.rowcount or 0, sent.rowcount or 0,
                             proposals.rowcount or 0, dropped)
        audit.record(session, actor, "purge", "", str(result))
    return result


async def _purge_copies(session: AsyncSession) -> int:
    """Purge what still repeats a purged question's words: the history's notes, answers and
    draft file names, and the outbox. A message still undelivered by now (a staff notice for a
    platform nobody runs, say) is dropped, since its text is gone; a delivered one keeps its
    row, without the text, until its own time is up. Returns how many were dropped."""
    gone = select(Escalation.id).where(Escalation.question == PURGED).scalar_subquery()
    await session.execute(update(EscalationEvent).where(
        EscalationEvent.escalation_id.in_(gone), EscalationEvent.kind.in_(EVENTS_WITH_TEXT),
        EscalationEvent.detail != PURGED).values(detail=PURGED)
        .execution_options(synchronize_session=False))
    dropped = await session.execute(delete(OutboxMessage).where(
        OutboxMessage.escalation_id.in_(gone), OutboxMessage.delivered_at.is_(None))
        .execution_options(synchronize_session=False))
    await session.execute(update(OutboxMessage).where(
        OutboxMessage.escalation_id.in_(gone), OutboxMessage.text.not_in((PURGED, "")))
        .values(text=PURGED).execution_options(synchronize_session=False))
    return dropped.rowcount or 0


def _done_before(cutoff: dt.datetime) -> ColumnElement[bool]:
    """An outbox message whose trying ended before `cutoff`: delivered, or given up because
    the platform refused it for good (a given-up message is never tried again)."""
    return or_(OutboxMessage.delivered_at < cutoff, OutboxMessage.given_up_at < cutoff)


def _marks_a_waiting_message() -> ColumnElement[bool]:
    """A seen event that records a piece of a waiting outbox message as sent
    (`outbox:<id>:<piece>`, see `Core.mark_sent`). It is kept while the message waits, however
    long: without it a retry would send that piece again, to every staff member who had it.
    A message given up waits no more, so its marks go with the week's others."""
    mark = literal("outbox:") + cast(OutboxMessage.id, String) + literal(":%")
    return exists().where(outbox_pending(),
                          OutboxMessage.platform == SeenEvent.platform,
                          SeenEvent.key.like(mark))


def local_month(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """`2026-05` for a question asked at 9 pm Eastern on May 31: counts before and after a
    purge must agree. SQLite hands back naive datetimes; they are UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone).strftime("%Y-%m")


async def _fold_interactions(db: Database, before: dt.datetime, zone: dt.tzinfo) -> int:
    """Add old interactions to the monthly counts and delete them, in one transaction. A purge
    running at the same moment may add the same month's count first: the unique constraint
    refuses the second, whose transaction is undone whole, so nothing is counted twice."""
    try:
        return await _fold(db, before, zone)
    except IntegrityError:
        raise PurgeRaced("another process purged these interactions; run it again") from None


async def _fold(db: Database, before: dt.datetime, zone: dt.tzinfo) -> int:
    """Counted and deleted by the same predicate; a count that differs from the rows deleted
    means another purge (or a late filing) changed them in between, and nothing is kept."""
    due = Interaction.created_at < before
    async with db.session() as session, session.begin():
        rows = (await session.execute(select(
            Interaction.created_at, Interaction.platform, Interaction.program,
            Interaction.outcome, Interaction.entry_id, Interaction.feedback).where(due))).all()
        if not rows:
            return 0
        counts = Counter((local_month(r.created_at, zone), r.platform, r.program or "", r.outcome,
                          r.entry_id or "", r.feedback or "") for r in rows)
        for key, count in counts.items():
            await _add_count(session, key, count)
        deleted = await session.execute(delete(Interaction).where(due)
                                        .execution_options(synchronize_session=False))
        if deleted.rowcount != len(rows):
            raise PurgeRaced("another process purged these interactions; run it again")
        return len(rows)


async def _add_count(session, key: tuple[str, ...], count: int) -> None:
    month, platform, program, outcome, entry_id, feedback = key
    existing = await session.scalar(select(InteractionCount).where(
        InteractionCount.month == month, InteractionCount.platform == platform,
        InteractionCount.program == program, InteractionCount.outcome == outcome,
        InteractionCount.entry_id == entry_id, InteractionCount.feedback == feedback))
    if existing is None:
        session.add(InteractionCount(month=month, platform=platform, program=program,
                                     outcome=outcome, entry_id=entry_id, feedback=feedback,
                                     count=count))
    else:
        existing.count += count
