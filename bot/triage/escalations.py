"""Handing a question to the coalition's TA staff.

The escalation is committed before the asker is told its reference, so a reference the asker
holds always exists.
"""

from __future__ import annotations

from bot.chat.messages import Message
from bot.store.database import Database
from bot.store.tables import Escalation, EscalationEvent, utcnow
from bot.triage.workflow import announce

MAX_TAGS = 3


class Reason:
    NO_MATCH = "no-match"
    ASKED_FOR_STAFF = "asked-for-staff"
    NOT_HELPED = "not-helped"
    STATE_LAW = "state-law"
    CRISIS = "crisis"


async def create_escalation(db: Database, message: Message, question: str, reason: str,
                            tags: list[str], notify: tuple[str, ...] = ()) -> Escalation:
    """Store a redacted question for staff and queue a notice for each staff platform in
    `notify`, in one transaction; `question` must already be redacted."""
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
        state="open",
        created_at=now,
        updated_at=now,
    )
    async with db.session() as session, session.begin():
        session.add(escalation)
        await session.flush()
        actor = f"{message.platform}:{message.user_id}"
        session.add(EscalationEvent(escalation_id=escalation.id, kind="created", actor=actor,
                                    detail=reason, created_at=now))
        why = "URGENT: the asker may be in danger" if reason == Reason.CRISIS else "new"
        announce(session, escalation, why, notify)
    return escalation
