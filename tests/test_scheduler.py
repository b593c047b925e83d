"""The scheduler: each job at its own interval, a slow job holding back no other."""

from __future__ import annotations

import asyncio

from bot.scheduler import Scheduler


async def test_a_slow_job_does_not_hold_back_a_frequent_one() -> None:
    scheduler, stopping = Scheduler(), asyncio.Event()
    slow_running = asyncio.Event()

    async def slow() -> None:
        slow_running.set()
        await asyncio.sleep(1.0)  # a platform taking a second a send

    async def frequent() -> None:
        pass

    scheduler.every(60, "slow", slow)
    scheduler.every(0.05, "frequent", frequent)
    running = asyncio.create_task(scheduler.run(stopping))
    await slow_running.wait()
    await asyncio.sleep(0.5)
    during_slow = scheduler.runs["frequent"]
    stopping.set()
    await running
    assert during_slow >= 5
    assert scheduler.runs["slow"] == 1


async def test_a_job_under_way_finishes_when_stopping_and_none_starts_after() -> None:
    scheduler, stopping = Scheduler(), asyncio.Event()
    finished = []

    async def job() -> None:
        await asyncio.sleep(0.2)
        finished.append(True)

    scheduler.every(0.01, "job", job)
    running = asyncio.create_task(scheduler.run(stopping))
    await asyncio.sleep(0.05)
    stopping.set()
    await running
    assert finished == [True] and scheduler.runs["job"] == 1


async def test_a_failing_job_runs_again_at_its_next_turn() -> None:
    scheduler, stopping = Scheduler(), asyncio.Event()

    async def failing() -> None:
        raise RuntimeError("broken")

    scheduler.every(0.02, "failing", failing)
    running = asyncio.create_task(scheduler.run(stopping))
    await asyncio.sleep(0.2)
    stopping.set()
    await running
    assert scheduler.runs["failing"] >= 3
