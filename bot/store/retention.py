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

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

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
    utcnow,
)

PURGED = "[purged]"
SEEN_EVENTS_KEPT = dt.timedelta(days=7)
PENDING = "pending"  # a proposal staff have not decided on (bot.knowledge.learning.State)


class PurgeRaced(Exception):
    """Another process purged the same records first; nothing was changed here."""


@dataclass(frozen=True)
class PurgeResult:
    interactions: int
    escalations: int
    deliveries: int
    proposals: int = 0

    def __str__(self) -> str:
        return (f"purged {self.interactions} interaction records (kept as monthly counts), "
                f"the text of {self.escalations} closed escalations, {self.deliveries} "
                f"delivered messages, and {self.proposals} phrasing proposals nobody confirmed "
                "again")


async def purge(db: Database, keep_interactions: dt.timedelta, keep_closed: dt.timedelta,
                actor: str, now: dt.datetime | None = None, *,
                zone: dt.tzinfo = dt.UTC) -> PurgeResult:
    """`zone` is the coalition's: interactions are folded into the months reports put them in."""
    now = now or utcnow()
    interactions = await _fold_interactions(db, now - keep_interactions, zone)
    async with db.session() as session, session.begin():
        stale = list(await session.scalars(select(Escalation.id).where(
            Escalation.state == "closed", Escalation.updated_at < now - keep_closed,
            Escalation.question != PURGED)))
        if stale:
            await session.execute(update(Escalation).where(Escalation.id.in_(stale))
                                  .values(question=PURGED, answer=None))
            await session.execute(update(EscalationEvent)
                                  .where(EscalationEvent.escalation_id.in_(stale),
                                         EscalationEvent.kind.in_(("note", "answered")))
                                  .values(detail=PURGED))
        sent = await session.execute(delete(OutboxMessage).where(
            OutboxMessage.delivered_at.is_not(None),
            OutboxMessage.delivered_at < now - keep_closed))
        await session.execute(delete(SeenEvent).where(
            SeenEvent.created_at < now - SEEN_EVENTS_KEPT))
        proposals = await session.execute(delete(LearnedPhrasing).where(
            LearnedPhrasing.state == PENDING, LearnedPhrasing.last_seen < now - keep_interactions))
        result = PurgeResult(interactions, len(stale), sent.rowcount or 0,
                             proposals.rowcount or 0)
        audit.record(session, actor, "purge", "", str(result))
    return result


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
    async with db.session() as session, session.begin():
        rows = list(await session.scalars(select(Interaction).where(
            Interaction.created_at < before)))
        if not rows:
            return 0
        counts = Counter((local_month(r.created_at, zone), r.platform, r.program or "", r.outcome,
                          r.entry_id or "", r.feedback or "") for r in rows)
        for key, count in counts.items():
            await _add_count(session, key, count)
        deleted = await session.execute(delete(Interaction).where(
            Interaction.id.in_([r.id for r in rows])))
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
