"""One scheduler per process for periodic work, however many adapters run.

Jobs run one at a time in a single task, each at its own interval, the first run at start.
A job that fails is logged and tried again at its next turn; a database that is down is one
log line, not a traceback. Modelled on python-telegram-bot's JobQueue, without the threads.
"""

from __future__ import annotations

import asyncio
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
    due: float = 0.0


class Scheduler:
    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.runs: Counter[str] = Counter()

    def every(self, seconds: float, name: str, work: Callable[[], Awaitable[object]]) -> None:
        self.jobs.append(Job(name, seconds, work))

    async def run(self, stopping: asyncio.Event) -> None:
        """Run due jobs until `stopping` is set; a job under way when it is set finishes."""
        loop = asyncio.get_running_loop()
        for job in self.jobs:
            job.due = loop.time()
        while not stopping.is_set() and self.jobs:
            for job in sorted(self.jobs, key=lambda j: j.due):
                if job.due <= loop.time() and not stopping.is_set():
                    await self._run(job)
                    job.due = loop.time() + job.every
            wait = max(min(job.due for job in self.jobs) - loop.time(), 0)
            try:
                await asyncio.wait_for(stopping.wait(), wait)
            except TimeoutError:
                continue

    async def _run(self, job: Job) -> None:
        self.runs[job.name] += 1
        try:
            await job.work()
        except STORAGE_ERRORS as exc:
            log.warning("%s skipped: database unavailable (%s)", job.name, type(exc).__name__)
        except Exception:
            log.exception("%s failed; it will run again in %.0f s", job.name, job.every)
