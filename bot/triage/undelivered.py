"""Messages a platform refused for good: given up, and staff told when an asker misses one.

A staff member who answered believes the asker has the answer. If the asker blocked the bot,
or their channel is gone, nobody would learn otherwise: so giving up a message meant for an
asker also records it in the question's history and queues an alert for staff on each of
their platforms, all in one transaction, so staff are told exactly when the trying stops.
The alert names the question and the reason, never the message's text: staff have that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat.messages import DeliveryKind
from bot.store.database import Database
from bot.store.tables import EscalationEvent, OutboxMessage, reference_for, utcnow
from bot.triage import outbox
from bot.triage.workflow import SYSTEM

EVENT = "undelivered"  # the escalation event staff find in the question's history
DELAYED = "delayed"  # the event for a message to an asker still failing after `DELAY_ALERT`
# How long a message to an asker may keep failing, for a reason that is not a refusal for good
# (a group where the bot may no longer post, a platform down), before staff are told once.
DELAY_ALERT = dt.timedelta(hours=1)
DELAY_WORDS = "an hour"  # `DELAY_ALERT`, as the alert says it
_WHAT = {DeliveryKind.ANSWER: "the answer", DeliveryKind.LATE: "the notice that the answer "
         "is late", DeliveryKind.FILED: "the reference of their question"}


async def give_up(db: Database, message_id: int, owner: str, reason: str,
                  notify: tuple[str, ...] = ()) -> bool:
    """Give up a message the lease holder `owner` was refused for good; if it was meant for
    an asker, tell staff on the `notify` platforms. False if the lease had passed on (the
    new holder will be refused in turn, and give it up itself)."""
    async with db.session() as session, session.begin():
        row = await outbox.given_up(session, message_id, owner, reason)
        if row is None:
            return False
        if DeliveryKind(row.kind) in outbox.TO_ASKER and row.escalation_id is not None:
            tell_staff(session, row, reason, notify)
    return True


async def still_failing(db: Database, message_id: int, error: str,
                        notify: tuple[str, ...] = ()) -> bool:
    """A message to an asker failing for longer than `DELAY_ALERT` is still retried (the
    failure may pass), but staff are told once, in the question's history and on their
    platforms, so an answer nobody can deliver is not trusted for days. True if told now."""
    async with db.session() as session, session.begin():
        row = await session.get(OutboxMessage, message_id)
        if row is None or not _long_failing(row) or await _told(session, row):
            return False
        _record_and_alert(session, row, DELAYED, error, delayed_text, notify)
    return True


def _long_failing(row: OutboxMessage) -> bool:
    created = row.created_at.replace(tzinfo=row.created_at.tzinfo or dt.UTC)
    return (DeliveryKind(row.kind) in outbox.TO_ASKER and row.escalation_id is not None
            and row.delivered_at is None and row.given_up_at is None
            and utcnow() - created >= DELAY_ALERT)


async def _told(session: AsyncSession, row: OutboxMessage) -> bool:
    """Told already about this message: an event about its kind of message ("the answer",
    not the reference that is failing too) since it was queued."""
    return bool(await session.scalar(select(exists().where(
        EscalationEvent.escalation_id == row.escalation_id, EscalationEvent.kind == DELAYED,
        EscalationEvent.detail.startswith(f"{_WHAT[DeliveryKind(row.kind)]} ("),
        EscalationEvent.created_at >= row.created_at))))


def delayed_text(reference: str, what: str, platform: str, error: str) -> str:
    return (f"{reference}: {what} has not reached the asker on {platform} for over "
            f"{DELAY_WORDS} ({error}). tabot keeps trying; if it matters soon, reach them "
            "another way.")


def tell_staff(session: AsyncSession, row: OutboxMessage, reason: str,
               notify: tuple[str, ...]) -> None:
    """The history event and the alerts for one asker's message given up, inside the
    caller's transaction. An alert that is itself refused is given up like any staff message,
    with no alert about it."""
    _record_and_alert(session, row, EVENT, reason, alert_text, notify)


def _record_and_alert(session: AsyncSession, row: OutboxMessage, kind: str, reason: str,
                      wording: Callable[[str, str, str, str], str],
                      notify: tuple[str, ...]) -> None:
    """An event of `kind` in the question's history, and an alert worded by `wording` for
    staff on each of the `notify` platforms."""
    what = _WHAT[DeliveryKind(row.kind)]
    session.add(EscalationEvent(escalation_id=row.escalation_id, kind=kind, actor=SYSTEM.id,
                                detail=f"{what} ({reason})", created_at=utcnow()))
    text = wording(reference_for(row.escalation_id), what, row.platform, reason)
    for platform in notify:
        outbox.to_staff(session, DeliveryKind.STAFF_ALERT, platform, text, row.escalation_id)


def alert_text(reference: str, what: str, platform: str, reason: str) -> str:
    return (f"{reference}: {what} could not be delivered to the asker on {platform} "
            f"({reason}). Reach them another way.")
