"""Small facts adapters need remembered across restarts and processes, kept by the core."""

from __future__ import annotations

import asyncio
import weakref

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from bot.store.database import Database
from bot.store.tables import (
    Escalation,
    OutboxMessage,
    SeenEvent,
    TriagePost,
    outbox_pending,
    utcnow,
)
from bot.triage.workflow import parse_reference

Seen = tuple[str, str]  # (platform, key)


async def first_time(db: Database, platform: str, key: str) -> bool:
    """True exactly once per (platform, key), even when two processes race on it."""
    events = _seen_events.get(db)
    if events is None:
        events = _seen_events[db] = SeenEvents(db)
    return await events.first_time(platform, key[:200])


async def recorded(db: Database, platform: str, key: str) -> bool:
    """Was (platform, key) stored already, by `first_time`? Reads only."""
    async with db.session() as session:
        found = await session.scalar(select(SeenEvent.id).where(
            SeenEvent.platform == platform, SeenEvent.key == key[:200]))
    return found is not None


class SeenEvents:
    """Group commit for `first_time`, which every chat event passes through before anything
    else: keys that arrive while one INSERT is under way share the next one.

    On SQLite every statement is several hand-offs to the driver's thread on the one pooled
    connection, so under load a transaction per event made the askers queue for it; a batch
    costs what one event did. `ON CONFLICT DO NOTHING ... RETURNING` says which keys were
    new, so a key seen before (by any process) fails nothing and nobody else in its batch.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._insert = insert_new(db.engine.dialect.name)
        self._pending: dict[Seen, list[asyncio.Future[bool]]] = {}
        self._flushing: asyncio.Task[None] | None = None

    async def first_time(self, platform: str, key: str) -> bool:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.setdefault((platform, key), []).append(done)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await done

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                new = await self._store(list(batch))
            except Exception as exc:  # the database is down: every waiter hears why
                for done in _waiting(batch):
                    done.set_exception(exc)
                continue
            for seen, waiting in batch.items():  # of several on one key, only the first is new
                for n, done in enumerate(waiting):
                    if not done.done():
                        done.set_result(seen in new and n == 0)

    async def _store(self, keys: list[Seen]) -> set[Seen]:
        now = utcnow()
        async with self.db.engine.begin() as connection:
            rows = await connection.execute(
                self._insert, [{"platform": p, "key": k, "created_at": now} for p, k in keys])
            return {(platform, key) for platform, key in rows}


_seen_events: weakref.WeakKeyDictionary[Database, SeenEvents] = weakref.WeakKeyDictionary()


def insert_new(dialect: str) -> Insert:
    """INSERT that skips keys already stored and returns the ones it stored."""
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return (insert(SeenEvent).on_conflict_do_nothing()
            .returning(SeenEvent.platform, SeenEvent.key))


def _waiting(batch: dict[Seen, list[asyncio.Future[bool]]]) -> list[asyncio.Future[bool]]:
    """The callers in `batch` still waiting (not cancelled)."""
    return [done for waiting in batch.values() for done in waiting if not done.done()]


async def remember_post(db: Database, reference: str, platform: str, channel: str,
                        message_id: str) -> None:
    async with db.session() as session, session.begin():
        session.add(TriagePost(escalation_id=parse_reference(reference), platform=platform,
                               channel=channel, message_id=message_id))


async def forget_post(db: Database, reference: str, platform: str, channel: str) -> None:
    """Forget a post someone deleted, so that its replacement can be remembered."""
    async with db.session() as session, session.begin():
        await session.execute(delete(TriagePost).where(
            TriagePost.escalation_id == parse_reference(reference),
            TriagePost.platform == platform, TriagePost.channel == channel))


async def posts(db: Database, reference: str, platform: str) -> list[tuple[str, str]]:
    """(channel, message id) of each post showing this escalation on the platform."""
    async with db.session() as session:
        rows = await session.execute(
            select(TriagePost.channel, TriagePost.message_id)
            .where(TriagePost.escalation_id == parse_reference(reference),
                   TriagePost.platform == platform))
        return [(channel, message_id) for channel, message_id in rows]


async def chat_moved(db: Database, platform: str, old: str, new: str) -> int:
    """A chat now answers to another id (a Telegram group upgraded to a supergroup): its
    questions' later answers, and the messages waiting for it, go to the new one. Message ids
    are renumbered there, so what quoted an old message quotes nothing. How many waiting
    messages were moved."""
    async with db.session() as session, session.begin():
        await session.execute(update(Escalation).where(
            Escalation.platform == platform, Escalation.conversation_id == old
        ).values(conversation_id=new, thread_id=None))
        moved = await session.execute(update(OutboxMessage).where(
            OutboxMessage.platform == platform, OutboxMessage.conversation_id == old,
            outbox_pending()).values(conversation_id=new, thread_id=None, lease_until=None))
    return moved.rowcount
