"""The monthly reminder to TA staff of the knowledge entries due for review."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.chat.messages import DeliveryKind
from bot.insights import gaps
from bot.knowledge.base import KnowledgeBase
from bot.store import audit
from bot.store.database import Database
from bot.store.tables import AuditEntry
from bot.triage import outbox
from bot.triage.workflow import as_utc

POSTED = "kb-review-posted"
EVERY = dt.timedelta(days=30)


async def post_review_if_due(db: Database, knowledge: KnowledgeBase, platforms: tuple[str, ...],
                             months: int, now: dt.datetime) -> bool:
    """Queue the list for staff on each platform, at most once in 30 days across processes
    (the audit log remembers the last post)."""
    due = gaps.due_for_review(knowledge, now.date(), months)
    if not due or not platforms:
        return False
    async with db.session() as session, session.begin():
        last = await session.scalar(select(AuditEntry.at).where(AuditEntry.action == POSTED)
                                    .order_by(AuditEntry.id.desc()))
        if last is not None and now - as_utc(last) < EVERY:
            return False
        text = gaps.review_text(due, months)
        for platform in platforms:
            outbox.to_staff(session, DeliveryKind.REVIEW, platform, text)
        audit.record(session, "tabot:schedule", POSTED, "", f"{len(due)} due", at=now)
    return True
