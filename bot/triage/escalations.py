"""Handing a question to the coalition's TA staff.

The escalation is written in the caller's transaction, together with the record of the
message that caused it and the notices for staff, and the asker is told its reference only
after that transaction commits, so a reference the asker holds always exists.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat.messages import Message
from bot.store.tables import Escalation, EscalationEvent, utcnow
from bot.triage.workflow import State, announce

MAX_TAGS = 3


class Reason(StrEnum):
    NO_MATCH = "no-match"
    ASKED_FOR_STAFF = "asked-for-staff"
    NOT_HELPED = "not-helped"
    STATE_LAW = "state-law"
    CRISIS = "crisis"


async def create_escalation(session: AsyncSession, message: Message, question: str,
                            reason: Reason, tags: list[str],
                            notify: tuple[str, ...] = ()) -> Escalation:
    """Store a redacted question for staff and queue a notice for each staff platform in
    `notify`, inside the caller's transaction; `question` must already be redacted."""
    now = utcnow()
    escalation = Escalation(
        question=question,
        platform=message.platform,
        user_id=message.user_id,
        conversation_id=message.conversation_id,
        thread_id=message.thread_id,
        program=message.program,
        tags=",".join(list(dict.fromkeys(tags))[:MAX_TAGS]),
        reason=reason,
        state=State.OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(escalation)
    await session.flush()
    session.add(EscalationEvent(escalation_id=escalation.id, kind="created",
                                actor=message.actor.id, detail=reason, created_at=now))
    why = "URGENT: the asker may be in danger" if reason is Reason.CRISIS else "new"
    announce(session, escalation, why, notify)
    return escalation
