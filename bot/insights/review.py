"""The monthly reminder to TA staff of the knowledge entries due for review."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat.messages import DeliveryKind
from bot.insights import gaps
from bot.knowledge.base import KnowledgeBase
from bot.store import audit
from bot.store.database import Database
from bot.store.platform_state import insert_new
from bot.store.tables import AuditEntry, utcnow
from bot.triage import outbox
from bot.triage.workflow import as_utc

POSTED = "kb-review-posted"
EVERY = dt.timedelta(days=30)


async def post_review_if_due(db: Database, knowledge: KnowledgeBase, platforms: tuple[str, ...],
                             months: int, now: dt.datetime) -> bool:
    """Queue the list for staff on each platform, at most once in 30 days across processes
    (the audit log remembers the last post, and each post claims its turn first)."""
    due = gaps.due_for_review(knowledge, now.date(), months)
    if not due or not platforms:
        return False
    async with db.session() as session, session.begin():
        last = (await session.execute(select(AuditEntry.id, AuditEntry.at)
                                      .where(AuditEntry.action == POSTED)
                                      .order_by(AuditEntry.id.desc()).limit(1))).first()
        if last is not None and now - as_utc(last.at) < EVERY:
            return False
        if not await _our_turn(session, db.engine.dialect.name, last.id if last else 0):
            return False
        text = gaps.review_text(due, months)
        for platform in platforms:
            outbox.to_staff(session, DeliveryKind.REVIEW, platform, text)
        audit.record(session, "tabot:schedule", POSTED, "", f"{len(due)} due", at=now)
    return True


async def _our_turn(session: AsyncSession, dialect: str, after: int) -> bool:
    """Claim the post that follows audit entry `after`, once across processes: two daily runs
    that both read the same last post race on a unique key, and only one inserts it (the
    other waits for it to commit and then inserts nothing). The key is purged with the other
    seen events after 7 days, long after a newer post has made it irrelevant."""
    claimed = await session.execute(insert_new(dialect).values(
        platform="tabot", key=f"{POSTED}-after:{after}", created_at=utcnow()))
    return claimed.first() is not None
