"""The durable outbox: messages that must reach someone even if a platform or process is down.

A message is written in the same transaction as whatever caused it (a staff answer, a late
notice), so it cannot be lost. The process that serves its platform leases one row at a time,
sends it, and marks it delivered; only the lease holder can mark it. A process that dies
mid-way lets its lease lapse within seconds and the message is sent again, so each message is
sent at least once; a row whose earlier send may have reached the platform says so
(`maybe_sent`), so an adapter that can look for its earlier send sends it exactly once. A
message the platform refuses for good (`Undeliverable`) is given up by its lease holder and
never claimed again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import typing
from collections.abc import Sequence

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.chat.messages import (
    AnswerRelayed,
    Delivery,
    DeliveryKind,
    FiledNotice,
    LateNotice,
    Message,
    Recipient,
    Reply,
    ReviewPost,
    StaffAlert,
    StaffNotice,
    TriageUpdate,
    UnsentReplies,
)
from bot.store.database import Database
from bot.store.tables import (
    Escalation,
    OutboxMessage,
    outbox_pending,
    reference_for,
    utcnow,
)

log = logging.getLogger(__name__)

# Short, and renewed while a send is under way: after a crash the one message the dead process
# held is free again within seconds, and a slow platform call never outlives its lease.
LEASE = dt.timedelta(seconds=3)
FIRST_RETRY = dt.timedelta(seconds=2)
LAST_RETRY = dt.timedelta(minutes=10)
# Kept replies older than this are given up rather than sent: a day late, an answer to a
# question asked in chat is more confusing than helpful, and the asker has likely asked again.
REPLIES_KEPT_FOR = dt.timedelta(days=1)
CANDIDATES = 10  # rows looked at per claim; others may be leasing the oldest at the same time
_TO_ASKER = {DeliveryKind.ANSWER: AnswerRelayed, DeliveryKind.LATE: LateNotice,
             DeliveryKind.FILED: FiledNotice}
TO_ASKER = frozenset(_TO_ASKER)  # the kinds whose recipient is an asker
# Each kind of reply by its class name, which is what a stored one is tagged with.
_REPLY_KINDS: dict[str, TypeAdapter] = {kind.__name__: TypeAdapter(kind)
                                        for kind in typing.get_args(Reply)}


def to_asker(session: AsyncSession, kind: DeliveryKind, escalation: Escalation,
             text: str) -> None:
    """Queue a message for the asker of `escalation`, inside the caller's transaction."""
    session.add(OutboxMessage(kind=kind, platform=escalation.platform,
                              user_id=escalation.user_id,
                              conversation_id=escalation.conversation_id,
                              thread_id=escalation.thread_id, text=text,
                              escalation_id=escalation.id, attempts=0, created_at=utcnow()))


async def queue_for_asker(connection: AsyncConnection, kind: DeliveryKind, message: Message,
                          escalation_id: int, text: str) -> None:
    """Queue a message for the asker of `message`, inside the caller's transaction."""
    await connection.execute(insert(OutboxMessage), {
        "kind": str(kind), "platform": message.platform, "user_id": message.user_id,
        "conversation_id": message.conversation_id, "thread_id": message.thread_id,
        "text": text, "escalation_id": escalation_id, "attempts": 0, "created_at": utcnow()})


async def keep_replies(db: Database, to: Message, replies: Sequence[Reply]) -> None:
    """Keep replies the platform did not take, to be sent to `to`'s asker once it does.
    Replies carry only what the bot says (the knowledge base, references, redacted records),
    never the asker's own words, so nothing unredacted is stored."""
    async with db.session() as session, session.begin():
        session.add(OutboxMessage(kind=DeliveryKind.REPLIES, platform=to.platform,
                                  user_id=to.user_id, conversation_id=to.conversation_id,
                                  thread_id=to.thread_id, text=dump_replies(replies),
                                  escalation_id=None, attempts=0, created_at=utcnow()))


def dump_replies(replies: Sequence[Reply]) -> str:
    return json.dumps([{"kind": type(reply).__name__,
                        "reply": _REPLY_KINDS[type(reply).__name__].dump_python(reply,
                                                                                mode="json")}
                       for reply in replies])


def load_replies(text: str) -> tuple[Reply, ...]:
    """The replies `dump_replies` stored; none if they cannot be read (written by a version
    whose replies had other fields): the row is then given up, not retried for ever."""
    try:
        return tuple(_REPLY_KINDS[item["kind"]].validate_python(item["reply"])
                     for item in json.loads(text))
    except (ValueError, TypeError, KeyError, ValidationError) as exc:
        log.warning("stored replies could not be read (%s); they are not sent",
                    type(exc).__name__)
        return ()


def to_staff(session: AsyncSession, kind: DeliveryKind, platform: str, text: str = "",
             escalation_id: int | None = None) -> None:
    """Queue a message for staff on `platform`; its adapter knows where staff triage."""
    session.add(OutboxMessage(kind=kind, platform=platform, user_id=None, conversation_id=None,
                              thread_id=None, text=text, escalation_id=escalation_id,
                              attempts=0, created_at=utcnow()))


def _delivery(row: OutboxMessage, maybe_sent: bool) -> Delivery:
    reference = reference_for(row.escalation_id) if row.escalation_id else ""
    kind = DeliveryKind(row.kind)
    to = Recipient(row.user_id or "", row.conversation_id or "", row.thread_id)
    if kind in _TO_ASKER:
        return _TO_ASKER[kind](row.id, row.platform, to, reference, row.text, maybe_sent)
    if kind is DeliveryKind.REPLIES:
        fresh = _aware(row.created_at) > utcnow() - REPLIES_KEPT_FOR
        return UnsentReplies(row.id, row.platform, to,
                             load_replies(row.text) if fresh else (), maybe_sent)
    if kind is DeliveryKind.STAFF_NOTICE:
        return StaffNotice(row.id, row.platform, reference, row.text, maybe_sent)
    if kind is DeliveryKind.STAFF_ALERT:
        return StaffAlert(row.id, row.platform, reference, row.text, maybe_sent)
    if kind is DeliveryKind.TRIAGE_UPDATE:
        return TriageUpdate(row.id, row.platform, reference, maybe_sent)
    return ReviewPost(row.id, row.platform, row.text, maybe_sent)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back the UTC times it was given without their zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _free(now: dt.datetime) -> ColumnElement[bool]:
    return and_(outbox_pending(),
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))


async def claim(db: Database, platform: str, owner: str,
                user_id: str | None = None) -> Delivery | None:
    """Lease the oldest free message for a platform (and one user, if given), to send now.

    One row at a time: a process that dies holds at most one message, for at most `LEASE`.
    """
    now = utcnow()
    query = select(OutboxMessage.id).where(OutboxMessage.platform == platform, _free(now))
    if user_id is not None:
        query = query.where(OutboxMessage.user_id == user_id)
    async with db.session() as session:
        ids = list(await session.scalars(query.order_by(OutboxMessage.id).limit(CANDIDATES)))
    for message_id in ids:
        if (delivery := await _lease(db, message_id, owner, now)) is not None:
            return delivery
    return None


async def _lease(db: Database, message_id: int, owner: str,
                 now: dt.datetime) -> Delivery | None:
    """Take the lease if it is free, with one conditional UPDATE, so only one process wins.

    Taking it also records that a send is starting; the row's earlier such record, if any, is
    what tells the sender that an earlier attempt may have reached the platform.
    """
    async with db.session() as session, session.begin():
        row = await session.get(OutboxMessage, message_id)
        if row is None:
            return None
        maybe_sent = row.send_started_at is not None
        result = await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id, _free(now))
            .values(lease_owner=owner, lease_until=now + LEASE, send_started_at=now,
                    attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False))
        return _delivery(row, maybe_sent) if result.rowcount == 1 else None


def _held(message_id: int, owner: str) -> ColumnElement[bool]:
    return and_(OutboxMessage.id == message_id, OutboxMessage.lease_owner == owner,
                outbox_pending())


async def renew(db: Database, message_id: int, owner: str) -> bool:
    """Extend a lease still held, so a slow platform never outlives it."""
    async with db.session() as session, session.begin():
        result = await session.execute(update(OutboxMessage).where(_held(message_id, owner))
                                       .values(lease_until=utcnow() + LEASE))
        return result.rowcount == 1


async def delivered(db: Database, message_id: int, owner: str) -> bool:
    """Mark sent, only for the lease holder: False if another process took the message over
    (it will find the send, where the platform allows, rather than repeat it)."""
    async with db.session() as session, session.begin():
        result = await session.execute(
            update(OutboxMessage).where(_held(message_id, owner))
            .values(delivered_at=utcnow(), lease_until=None, last_error=None))
        return result.rowcount == 1


async def given_up(session: AsyncSession, message_id: int, owner: str,
                   reason: str) -> OutboxMessage | None:
    """Stop trying a message the platform refused for good, inside the caller's transaction
    (which tells staff, when an asker misses it); only the lease holder can, as with
    `delivered`. Returns the row if this call gave it up, None if the lease had passed on."""
    result = await session.execute(
        update(OutboxMessage).where(_held(message_id, owner))
        .values(given_up_at=utcnow(), lease_until=None, last_error=reason[:500])
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    return await session.get(OutboxMessage, message_id, populate_existing=True)


async def failed(db: Database, message_id: int, owner: str, error: str) -> dt.timedelta:
    """Keep the message for another try, later each time it fails; the wait is returned."""
    async with db.session() as session, session.begin():
        attempts = await session.scalar(select(OutboxMessage.attempts)
                                        .where(OutboxMessage.id == message_id))
        wait = retry_wait(attempts or 1)
        await session.execute(update(OutboxMessage).where(_held(message_id, owner))
                              .values(lease_until=utcnow() + wait, last_error=error[:500]))
    return wait


def retry_wait(attempts: int) -> dt.timedelta:
    """Two seconds after a first failure, doubling to ten minutes: a dropped connection on a
    rural line costs an asker seconds, and a platform down for hours is not hammered. Kept in
    the row (`attempts`, `lease_until`), so the schedule survives a restart, which an
    in-process retry library's would not."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), LAST_RETRY)
