"""Records of questions: group commit under load, and one bad record cannot fail others."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.chat.messages import Message
from bot.store.database import Database
from bot.store.interactions import Record, Recorder
from bot.store.tables import Interaction


def record(n: int, text: str | None = None) -> Record:
    message = Message("test", f"U{n}", f"c{n}", "")
    return Record(message, f"question number {n}" if text is None else text, "answer", f"e{n}")


def count_commits(db: Database) -> list[int]:
    commits = [0]
    event.listen(db.engine.sync_engine, "commit", lambda _: commits.__setitem__(0, commits[0] + 1))
    return commits


async def test_records_arriving_together_share_commits_and_keep_their_own_ids(
        database: Database) -> None:
    recorder = Recorder(database)
    commits = count_commits(database)
    ids = await asyncio.gather(*(recorder.record(record(n)) for n in range(16)))
    assert len(set(ids)) == 16 and commits[0] < 16
    async with database.session() as session:
        stored = {row.id: row.text for row in await session.scalars(select(Interaction))}
    assert [stored[i] for i in ids] == [f"question number {n}" for n in range(16)]


async def test_a_record_that_cannot_be_stored_fails_alone(database: Database) -> None:
    recorder = Recorder(database)
    broken = Record(Message("test", "U9", "c9", ""), None, "answer")  # type: ignore[arg-type]
    results = await asyncio.gather(recorder.record(record(1)), recorder.record(broken),
                                   recorder.record(record(2)), return_exceptions=True)
    assert isinstance(results[1], IntegrityError)
    assert all(isinstance(r, int) for r in (results[0], results[2]))


async def test_a_record_no_database_can_encode_fails_alone(database: Database) -> None:
    """A lone surrogate (bytes that were not UTF-8) fails inside the driver, not the
    database; the askers whose records shared its batch must not lose theirs."""
    recorder = Recorder(database)
    results = await asyncio.gather(recorder.record(record(1)),
                                   recorder.record(record(9, "bad \udcff byte")),
                                   recorder.record(record(2)), return_exceptions=True)
    assert isinstance(results[1], UnicodeEncodeError | DBAPIError)  # SQLite's, asyncpg's
    assert all(isinstance(r, int) for r in (results[0], results[2]))


async def test_one_asker_waits_for_no_one(database: Database) -> None:
    recorder = Recorder(database)
    commits = count_commits(database)
    first = await recorder.record(record(1))
    second = await recorder.record(record(2))
    assert second > first and commits[0] == 2


@pytest.mark.parametrize("count", [1, 3])
async def test_a_database_that_is_down_fails_every_waiter(count: int) -> None:
    down = Database("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")
    recorder = Recorder(down)
    results = await asyncio.gather(*(recorder.record(record(n)) for n in range(count)),
                                   return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results)
    await down.close()
