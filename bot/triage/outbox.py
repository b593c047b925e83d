"""The durable outbox: messages that must reach someone even if a platform or process is down.

A message is written in the same transaction as whatever caused it (a staff answer, a late
notice), so it cannot be lost. The process that serves its platform claims it with a short
lease, sends it, and marks it delivered; a process that dies mid-way lets the lease lapse and
the message is sent after restart. Two processes never hold the same lease.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat.messages import (
    AnswerRelayed,
    Delivery,
    DeliveryKind,
    LateNotice,
    Recipient,
    ReviewPost,
    StaffNotice,
    TriageUpdate,
)
from bot.store.database import Database
from bot.store.tables import Escalation, OutboxMessage, reference_for, utcnow

LEASE = dt.timedelta(seconds=60)
_TO_ASKER = {DeliveryKind.ANSWER: AnswerRelayed, DeliveryKind.LATE: LateNotice}


def to_asker(session: AsyncSession, kind: DeliveryKind, escalation: Escalation,
             text: str) -> None:
    """Queue a message for the asker of `escalation`, inside the caller's transaction."""
    session.add(OutboxMessage(kind=kind, platform=escalation.platform,
                              user_id=escalation.user_id,
                              conversation_id=escalation.conversation_id,
                              thread_id=escalation.thread_id, text=text,
                              escalation_id=escalation.id, attempts=0, created_at=utcnow()))


def to_staff(session: AsyncSession, kind: DeliveryKind, platform: str, text: str = "",
             escalation_id: int | None = None) -> None:
    """Queue a message for staff on `platform`; its adapter knows where staff triage."""
    session.add(OutboxMessage(kind=kind, platform=platform, user_id=None, conversation_id=None,
                              thread_id=None, text=text, escalation_id=escalation_id,
                              attempts=0, created_at=utcnow()))


def _delivery(row: OutboxMessage) -> Delivery:
    reference = reference_for(row.escalation_id) if row.escalation_id else ""
    kind = DeliveryKind(row.kind)
    if kind in _TO_ASKER:
        to = Recipient(row.user_id or "", row.conversation_id or "", row.thread_id)
        return _TO_ASKER[kind](row.id, row.platform, to, reference, row.text)
    if kind is DeliveryKind.STAFF_NOTICE:
        return StaffNotice(row.id, row.platform, reference, row.text)
    if kind is DeliveryKind.TRIAGE_UPDATE:
        return TriageUpdate(row.id, row.platform, reference)
    return ReviewPost(row.id, row.platform, row.text)


async def claim(db: Database, platform: str, user_id: str | None = None,
                limit: int = 20) -> list[Delivery]:
    """Lease undelivered messages for a platform (and one user, if given), oldest first."""
    now = utcnow()
    free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
    query = select(OutboxMessage.id).where(OutboxMessage.platform == platform,
                                           OutboxMessage.delivered_at.is_(None), free)
    if user_id is not None:
        query = query.where(OutboxMessage.user_id == user_id)
    async with db.session() as session:
        ids = list(await session.scalars(query.order_by(OutboxMessage.id).limit(limit)))
    claimed = [message_id for message_id in ids if await _lease(db, message_id, now)]
    async with db.session() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                                     .order_by(OutboxMessage.id))
        return [_delivery(r) for r in rows]


async def _lease(db: Database, message_id: int, now: dt.datetime) -> bool:
    """Take the lease if it is free: one conditional UPDATE, so only one process wins."""
    free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
    async with db.session() as session, session.begin():
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.delivered_at.is_(None), free)
            .values(lease_until=now + LEASE, attempts=OutboxMessage.attempts + 1))
        return result.rowcount == 1


async def delivered(db: Database, message_id: int) -> None:
    async with db.session() as session, session.begin():
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                              .values(delivered_at=utcnow(), lease_until=None, last_error=None))


async def failed(db: Database, message_id: int, error: str, retry_in: dt.timedelta) -> None:
    """Keep the message; try again after `retry_in` (the caller backs off)."""
    async with db.session() as session, session.begin():
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                              .values(lease_until=utcnow() + retry_in, last_error=error[:500]))
