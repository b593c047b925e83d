"""A record of every question and its outcome, redacted, for reports and knowledge gaps.

The record also keeps what a button needs later: its id goes out with the reply as the
reply's `context`, so "Send to staff" pressed after a restart still knows the question.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat.messages import Message
from bot.store.database import Database
from bot.store.tables import Interaction, utcnow

log = logging.getLogger(__name__)
_INSERT = insert(Interaction).returning(Interaction.id, sort_by_parameter_order=True)


# The outcome of a related entry opened from an answer: the entry was shown, but no new
# question was asked, so reports count it among the entry's showings, not as a TA contact.
SHOWN_RELATED = "related"
SHOWN = ("answer", SHOWN_RELATED)  # the outcomes under which an entry was shown to an asker


@dataclass(frozen=True)
class Record:
    """One interaction to store; `text` must already be redacted.

    `replaces` is the record of the question this one answers (a suggestion or related entry
    picked for it): that record is updated instead, since reports count each record as one
    TA contact and one question must count once."""

    message: Message
    text: str
    outcome: str
    entry_id: str | None = None
    score: float = 0.0
    feedback: str | None = None
    replaces: int | None = None

    def values(self) -> dict[str, object]:
        message = self.message
        return {"platform": message.platform, "user_id": message.user_id,
                "program": message.program, "text": self.text, "outcome": self.outcome,
                "entry_id": self.entry_id, "score": round(self.score, 4),
                "feedback": self.feedback, "created_at": utcnow()}


async def record_interaction(connection: AsyncConnection, record: Record) -> int:
    """Insert a record inside the caller's transaction and return its id; or, for a record
    that `replaces` one of the same asker's, give that one the new outcome and entry."""
    if record.replaces is None:
        return (await connection.execute(_INSERT, record.values())).scalar_one()
    message = record.message
    await connection.execute(update(Interaction).where(
        Interaction.id == record.replaces, Interaction.platform == message.platform,
        Interaction.user_id == message.user_id).values(outcome=record.outcome,
                                                       entry_id=record.entry_id,
                                                       feedback=None))  # about the old entry
    return record.replaces


async def escalate_off_topic(connection: AsyncConnection, context: int,
                             message: Message) -> None:
    """An off-topic question the asker sent to staff anyway is a TA contact after all: its
    record becomes an escalation, so reports count it once (off-topic records are not
    contacts)."""
    await connection.execute(update(Interaction).where(
        Interaction.id == context, Interaction.platform == message.platform,
        Interaction.user_id == message.user_id, Interaction.outcome == "off-topic"
    ).values(outcome="escalate"))


class Kept(Enum):
    FIRST = "the asker's first verdict on this answer"
    CHANGED = "a change of mind"
    SAME = "the verdict it already had"


async def keep_verdict(connection: AsyncConnection, context: int, message: Message,
                       entry_id: str, verdict: str) -> Kept | None:
    """Keep "This helped" or "Not quite" on the asker's record of the answer itself, so a
    second press (a double tap, or a change of mind) replaces the verdict instead of counting
    again. Only the first verdict may confirm the question for the learning loop, so helped,
    not quite, helped again confirms once. None when the record now holds another entry (a
    later pick among the same suggestions): the verdict is then about an answer no record
    holds, and is stored on its own. Decided in the UPDATEs themselves, so two presses at
    once cannot both be first."""
    mine = (Interaction.id == context, Interaction.platform == message.platform,
            Interaction.user_id == message.user_id, Interaction.entry_id == entry_id)
    first = await connection.execute(update(Interaction).where(
        *mine, Interaction.feedback.is_(None)).values(feedback=verdict))
    if first.rowcount:
        return Kept.FIRST
    changed = await connection.execute(update(Interaction).where(
        *mine, Interaction.feedback != verdict).values(feedback=verdict))
    if changed.rowcount:
        return Kept.CHANGED
    same = await connection.scalar(select(Interaction.id).where(*mine))
    return Kept.SAME if same is not None else None


async def record_behind(connection: AsyncConnection, context: int,
                        message: Message) -> tuple[str, str, str | None] | None:
    """The redacted question, outcome and entry a button's context points at, if that
    asker's."""
    row = (await connection.execute(
        select(Interaction.text, Interaction.outcome, Interaction.entry_id).where(
            Interaction.id == context, Interaction.platform == message.platform,
            Interaction.user_id == message.user_id))).first()
    return (row.text, row.outcome, row.entry_id) if row else None


async def asked_by_another(connection: AsyncConnection, context: int,
                           message: Message) -> bool:
    """Whether a button's record is someone else's: in a group, anyone can press the buttons
    under another person's answer."""
    row = (await connection.execute(
        select(Interaction.platform, Interaction.user_id).where(Interaction.id == context))
    ).first()
    return row is not None and (row.platform, row.user_id) != (message.platform,
                                                                message.user_id)


class Recorder:
    """Group commit for records that stand alone (an answer, a suggestion, feedback).

    Each caller waits for its own record to commit and gets its id, as with a transaction of
    its own; records that arrive while one commit is under way share the next one, a single
    multi-row INSERT. Under load that turns many small commits into a few larger ones; with
    one asker every batch holds one record and nothing waits longer. A record that fails on
    its own merits (not a lost connection) is retried alone, so it cannot fail its batch-mates.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[tuple[Record, asyncio.Future[int]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def record(self, record: Record) -> int:
        if record.replaces is not None:  # batched inserts only: an update goes on its own
            raise ValueError("a Record that replaces another is stored with record_interaction")
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((record, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await done

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._insert(batch)
            except Exception as exc:
                if len(batch) == 1 or not _one_record_may_be_at_fault(exc):
                    _fail(batch, exc)  # the database is down: every waiter hears why
                else:
                    for one in batch:
                        await self._insert_alone(one)

    async def _insert(self, batch: list[tuple[Record, asyncio.Future[int]]]) -> None:
        async with self.db.engine.begin() as connection:
            result = await connection.execute(_INSERT, [record.values() for record, _ in batch])
            ids = result.scalars().all()
        for (_, done), row_id in zip(batch, ids, strict=True):
            if not done.done():
                done.set_result(row_id)

    async def _insert_alone(self, one: tuple[Record, asyncio.Future[int]]) -> None:
        try:
            await self._insert([one])
        except Exception as exc:
            _fail([one], exc)


def _one_record_may_be_at_fault(exc: Exception) -> bool:
    """A refused row or a value that cannot be encoded fails the batch it is in: tried one at
    a time, the other askers' records are kept. A lost connection fails them all alike."""
    if isinstance(exc, DBAPIError):
        return not exc.connection_invalidated
    return isinstance(exc, ValueError)


def _fail(batch: list[tuple[Record, asyncio.Future[int]]], exc: BaseException) -> None:
    for _, done in batch:
        if not done.done():
            done.set_exception(exc)
