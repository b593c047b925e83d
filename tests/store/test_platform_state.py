import asyncio

from bot.store import platform_state
from bot.store.database import Database
from tests.triage.test_workflow import ask


async def test_an_event_is_handled_once_even_when_racing(database: Database) -> None:
    results = await asyncio.gather(*(platform_state.first_time(database, "slack", "Ev123")
                                     for _ in range(8)))
    assert results.count(True) == 1
    assert await platform_state.first_time(database, "telegram", "Ev123")


async def test_triage_posts_are_remembered_per_platform(database: Database) -> None:
    ref = await ask(database)
    await platform_state.remember_post(database, ref, "slack", "CTRIAGE", "1700000000.000100")
    assert await platform_state.posts(database, ref, "slack") == [("CTRIAGE",
                                                                    "1700000000.000100")]
    assert await platform_state.posts(database, ref, "telegram") == []


async def test_events_arriving_together_are_new_once_and_a_known_one_spoils_none(
        database: Database) -> None:
    assert await platform_state.first_time(database, "slack", "EvOld")
    keys = ["EvOld", "EvA", "EvB", "EvA", "EvC"]
    results = await asyncio.gather(*(platform_state.first_time(database, "slack", key)
                                      for key in keys))
    assert results == [False, True, True, False, True]
