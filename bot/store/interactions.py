"""A record of every question and its outcome, redacted, for reports and knowledge gaps."""

from __future__ import annotations

from bot.chat.messages import Message
from bot.store.database import Database
from bot.store.tables import Interaction


async def record_interaction(db: Database, message: Message, text: str, outcome: str,
                             entry_id: str | None = None, score: float = 0.0,
                             feedback: str | None = None) -> None:
    """`text` must already be redacted."""
    async with db.session() as session, session.begin():
        session.add(Interaction(platform=message.platform, user_id=message.user_id,
                                program=message.program, text=text, outcome=outcome,
                                entry_id=entry_id, score=round(score, 4), feedback=feedback))
