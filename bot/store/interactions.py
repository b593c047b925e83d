"""A record of every question and its outcome, redacted, for reports and knowledge gaps.

The record also keeps what a button needs later: its id goes out with the reply as the
reply's `context`, so "Send to staff" pressed after a restart still knows the question.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat.messages import Message
from bot.store.tables import Interaction, utcnow

_INSERT = insert(Interaction).returning(Interaction.id)


async def record_interaction(connection: AsyncConnection, message: Message, text: str,
                             outcome: str, entry_id: str | None = None, score: float = 0.0,
                             feedback: str | None = None) -> int:
    """Insert a record inside the caller's transaction and return its id; `text` must
    already be redacted."""
    return (await connection.execute(_INSERT, {
        "platform": message.platform, "user_id": message.user_id, "program": message.program,
        "text": text, "outcome": outcome, "entry_id": entry_id, "score": round(score, 4),
        "feedback": feedback, "created_at": utcnow()})).scalar_one()


async def question_behind(connection: AsyncConnection, context: int,
                          message: Message) -> str | None:
    """The redacted question a button's context points at, if that asker asked it."""
    return await connection.scalar(select(Interaction.text).where(
        Interaction.id == context, Interaction.platform == message.platform,
        Interaction.user_id == message.user_id))
