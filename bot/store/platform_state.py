"""Small facts adapters need remembered across restarts and processes, kept by the core."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.tables import SeenEvent, TriagePost, utcnow
from bot.triage.workflow import parse_reference


async def first_time(db: Database, platform: str, key: str) -> bool:
    """True exactly once per (platform, key), even when two processes race on it."""
    try:
        async with db.session() as session, session.begin():
            session.add(SeenEvent(platform=platform, key=key[:200], created_at=utcnow()))
    except IntegrityError:
        return False
    return True


async def remember_post(db: Database, reference: str, platform: str, channel: str,
                        message_id: str) -> None:
    async with db.session() as session, session.begin():
        session.add(TriagePost(escalation_id=parse_reference(reference), platform=platform,
                               channel=channel, message_id=message_id))


async def posts(db: Database, reference: str, platform: str) -> list[tuple[str, str]]:
    """(channel, message id) of each post showing this escalation on the platform."""
    async with db.session() as session:
        rows = await session.execute(
            select(TriagePost.channel, TriagePost.message_id)
            .where(TriagePost.escalation_id == parse_reference(reference),
                   TriagePost.platform == platform))
        return [(channel, message_id) for channel, message_id in rows]
