"""Handing a question to the coalition's TA staff.

The escalation is written in the caller's transaction, together with the record of the
message that caused it and the notices for staff, and the asker is told its reference only
after that transaction commits, so a reference the asker holds always exists.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat.annotations import ANSWERED_WITH
from bot.chat.messages import DeliveryKind, Message
from bot.knowledge.confidence import Outcome
from bot.store.interactions import SHOWN_RELATED, escalate_off_topic, record_behind
from bot.store.tables import Escalation, EscalationEvent, OutboxMessage, reference_for, utcnow
from bot.triage.workflow import WAITING, Reason, State, notice_text

MAX_TAGS = 3


async def behind_button(connection: AsyncConnection, asked: int | None, message: Message,
                        question: str, reason: Reason) -> tuple[str, Reason]:
    """The question and reason to file for a Send-to-staff press: the question is read back
    from the record the button points at; one the asker was told is off-topic is filed as
    such, so staff see it was sent despite that reply, and its record becomes a TA contact
    (whether filed at once or from the spool); and after an answer that did not help, staff
    are told which answer it was."""
    behind = await record_behind(connection, asked, message) if asked is not None else None
    if behind is None:
        return question, reason
    text, outcome, entry_id = behind
    text = text or question
    if outcome == Outcome.OFF_TOPIC:
        await escalate_off_topic(connection, asked, message)
        return text, Reason.OFF_TOPIC
    if outcome in (Outcome.ANSWER, SHOWN_RELATED) and entry_id:
        text += ANSWERED_WITH.format(entry=entry_id)
    return text, reason


async def waiting_with(connection: AsyncConnection, message: Message, question: str
                       ) -> str | None:
    """The reference of a question this asker already has waiting for staff, word for word:
    a second state-law entry picked for the same question must not file it twice."""
    row = (await connection.execute(
        select(Escalation.id).where(
            Escalation.platform == message.platform, Escalation.user_id == message.user_id,
            Escalation.question == question, Escalation.state.in_(WAITING))
        .order_by(Escalation.id.desc()).limit(1))).first()
    return reference_for(row.id) if row else None


_ESCALATION = insert(Escalation).returning(Escalation.id)
_EVENT = insert(EscalationEvent)
_OUTBOX = insert(OutboxMessage)


async def create_escalation(connection: AsyncConnection, message: Message, question: str,
                            reason: Reason, tags: list[str],
                            notify: tuple[str, ...] = (), source_key: str | None = None,
                            asked_at: dt.datetime | None = None) -> str:
    """Store a redacted question for staff and queue a notice for each staff platform in
    `notify`, inside the caller's transaction; returns the reference. `source_key` (a spooled
    question's) makes a second filing of the same question fail on a unique constraint, and
    `asked_at` dates it when it was asked, so the time to answer counts from then."""
    now = utcnow()
    asked_at = asked_at or now
    tag_text = ",".join(list(dict.fromkeys(tags))[:MAX_TAGS])
    escalation_id = (await connection.execute(_ESCALATION, {
        "question": question, "platform": message.platform, "user_id": message.user_id,
        "conversation_id": message.conversation_id, "thread_id": message.thread_id,
        "program": message.program, "tags": tag_text, "reason": str(reason),
        "state": str(State.OPEN), "created_at": asked_at, "updated_at": now,
        # the notice queued below announces it now, whenever it was asked: a question filed
        # from the spool after a long outage is not "still unclaimed" a minute later
        "announced_at": now if notify else None, "source_key": source_key})).scalar_one()
    await connection.execute(_EVENT, {"escalation_id": escalation_id, "kind": "created",
                                      "actor": message.actor.id, "detail": str(reason),
                                      "created_at": asked_at})
    reference = reference_for(escalation_id)
    if notify:
        why = "URGENT: the asker may be in danger" if reason is Reason.CRISIS else "new"
        text = notice_text(reference, tag_text, why, question)
        await connection.execute(_OUTBOX, [{
            "kind": str(DeliveryKind.STAFF_NOTICE), "platform": platform, "user_id": None,
            "conversation_id": None, "thread_id": None, "escalation_id": escalation_id,
            "text": text, "attempts": 0, "created_at": now} for platform in notify])
    return reference
