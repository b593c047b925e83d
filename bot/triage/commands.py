"""Staff actions by name, from any interface, with one set of replies.

A claim typed in a chat, pressed on a Slack button or sent as a Telegram reply all come here,
so a refusal, a bad reference or a database that is down reads the same everywhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from bot.chat.messages import Actor
from bot.store.errors import STORAGE_ERRORS
from bot.triage.rendering import queue_text, view_text
from bot.triage.workflow import WAITING, EscalationView, Triage, TriageError

log = logging.getLogger(__name__)

QUEUE_DOWN = "The escalation queue is not reachable right now; try again in a few minutes."


class StaffAction(StrEnum):
    SHOW = "show"
    CLAIM = "claim"
    ANSWER = "answer"
    ENTRY = "entry"  # answer with a knowledge entry: `/entry TA-0042 ENTRY-ID`
    NOTE = "note"
    CLOSE = "close"
    REOPEN = "reopen"


@dataclass(frozen=True)
class StaffResult:
    """What came of a staff action: `view` is None when it was refused or failed."""

    text: str
    view: EscalationView | None = None

    @property
    def done(self) -> bool:
        return self.view is not None


async def act(triage: Triage, actor: Actor, action: StaffAction, reference: str,
              text: str = "", seen: str | None = None) -> StaffResult:
    """`seen`: for an answer typed into a form, what the form showed of the answer then."""
    try:
        if action == StaffAction.ANSWER and seen is not None:
            view = await triage.answer(reference, actor, text, seen=seen)
        else:
            view = await triage.act(action, reference, actor, text)
    except TriageError as exc:
        return StaffResult(str(exc))
    except STORAGE_ERRORS as exc:
        log.warning("staff %s on %s failed: database unavailable (%s)", action, reference,
                    type(exc).__name__)
        return StaffResult(QUEUE_DOWN)
    return StaffResult(view_text(view, staff=triage.is_staff(actor)), view)


async def queue(triage: Triage, actor: Actor) -> str:
    try:
        return queue_text(await triage.queue(actor, WAITING))
    except TriageError as exc:
        return str(exc)
    except STORAGE_ERRORS as exc:
        log.warning("queue lookup failed: database unavailable (%s)", type(exc).__name__)
        return QUEUE_DOWN
