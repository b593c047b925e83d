"""One scheduler per process for periodic work, however many adapters run.

Each job repeats in its own task at its own interval, the first run at start, so a slow job
(a platform taking seconds a send, a long purge) never holds back another; a job never overlaps
itself. A job that fails is logged and tried again at its next turn; a database that is down is
one log line, not a traceback. Modelled on python-telegram-bot's JobQueue, without the threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.store.errors import STORAGE_ERRORS

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every: float
    work: Callable[[], Awaitable[object]]


class Scheduler:
    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.runs: Counter[str] = Counter()

    def every(self, seconds: float, name: str, work: Callable[[], Awaitable[object]]) -> None:
        self.jobs.append(Job(name, seconds, work))

    async def run(self, stopping: asyncio.Event) -> None:
        """Run every job until `stopping` is set; a job under way when it is set finishes."""
        async with asyncio.TaskGroup() as tasks:
            for job in self.jobs:
                tasks.create_task(self._repeat(job, stopping))

    async def _repeat(self, job: Job, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            await self._run(job)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), job.every)

    async def _run(self, job: Job) -> None:
        self.runs[job.name] += 1
        try:
            await job.work()
        except STORAGE_ERRORS as exc:
            log.warning("%s skipped: database unavailable (%s)", job.name, type(exc).__name__)
        except Exception:
            log.exception("%s failed; it will run again in %.0f s", job.name, job.every)
