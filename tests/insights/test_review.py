"""The monthly review list: posted at most once in 30 days, however many processes run."""

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from bot.insights.review import post_review_if_due
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.store.tables import OutboxMessage

LATER = dt.datetime(2028, 1, 1, tzinfo=dt.UTC)  # every shipped entry is due for review by then


async def posts(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list(await session.scalars(select(OutboxMessage)
                                          .where(OutboxMessage.kind == "kb-review")))


async def test_the_review_list_is_posted_again_after_30_days_and_not_before(
        database: Database, shipped_kb: KnowledgeBase) -> None:
    async def post(now: dt.datetime) -> bool:
        return await post_review_if_due(database, shipped_kb, ("slack", "telegram"), 12, now)

    assert await post(LATER)
    assert not await post(LATER + dt.timedelta(days=10))
    assert await post(LATER + dt.timedelta(days=31))
    assert not await post(LATER + dt.timedelta(days=32))
    assert [p.platform for p in await posts(database)] == ["slack", "telegram"] * 2


@pytest.mark.postgres
async def test_daily_runs_of_several_processes_at_once_post_the_list_once(
        postgres_database: Database, shipped_kb: KnowledgeBase) -> None:
    """Each process runs the daily work; the ones that read "not posted yet" at the same time
    all posted it."""
    results = await asyncio.gather(*(
        post_review_if_due(postgres_database, shipped_kb, ("slack",), 12, LATER)
        for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert len(await posts(postgres_database)) == 1
