"""Relaying staff answers through crashes and slow platforms, with real processes.

`tabot run` is SIGKILLed while it relays answers and started again: nothing is lost, nothing
reaches a Slack asker twice, at most one message per crash reaches a Telegram asker twice, and
the message a dead process held is sent within seconds of the restart. Two processes relaying
through a platform slower than a lease send each answer once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from bot.chat.messages import Actor, Message
from bot.store.database import Database
from bot.store.tables import OutboxMessage, reference_for
from bot.triage.escalations import Reason
from bot.triage.workflow import Triage
from tests.conftest import (
    new_escalation,
    start_tabot_run,
)
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_askers import free_port
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.postgres
STAFF = Actor("cli", "ana")
RESTART_DELAY_LIMIT = dt.timedelta(seconds=5)


def token(n: int) -> str:
    return f"answer-{n:03d}"


async def answered(db: Database, platform: str, count: int) -> None:
    """`count` askers' questions, each answered by staff: the answers wait in the outbox."""
    triage = Triage(db, frozenset({STAFF.id}))
    for n in range(count):
        user = str(7000 + n)
        message = Message(platform, user, user if platform == "telegram" else f"D{user}",
                          "a question")
        escalation = await new_escalation(db, message, "a question", Reason.NO_MATCH, [])
        await triage.answer(reference_for(escalation.id), STAFF, f"Here you go: {token(n)}.")


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@dataclass
class Restart:
    at: dt.datetime
    held: list[int]  # outbox rows the killed process was sending


@dataclass
class Relayer:
    """`tabot run --adapter PLATFORM`, killed and started again as a host's supervisor would."""

    env: dict[str, str]
    platform: str
    process: asyncio.subprocess.Process | None = None
    restarts: list[Restart] = field(default_factory=list)

    log: list[str] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        self.process = await start_tabot_run(self.env, "--adapter", self.platform)
        self.readers.append(asyncio.create_task(self._read_log(self.process)))

    async def _read_log(self, process: asyncio.subprocess.Process) -> None:
        """Keep its stderr drained (a full pipe would stall it) and at hand for failures."""
        while line := await process.stderr.readline():
            stamp = dt.datetime.now(dt.UTC).strftime("%H:%M:%S.%f")[:-3]
            self.log.append(f"{stamp} {line.decode(errors='replace').rstrip()}")

    async def kill_and_restart(self, db: Database) -> None:
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        held = [r.id for r in await outbox_rows(db)
                if r.send_started_at is not None and r.delivered_at is None]
        await self.start()
        self.restarts.append(Restart(dt.datetime.now(dt.UTC), held))
        self.log.append(f"{self.restarts[-1].at:%H:%M:%S.%f} restarted; it held {held}")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


async def relay_with_kills(db: Database, relayer: Relayer, posts: Callable[[], int],
                           count: int, kills: int) -> list[OutboxMessage]:
    """Kill the relayer just after the platform took a message and before it answered."""
    await relayer.start()
    try:
        for k in range(1, kills + 1):
            await until(lambda k=k: posts() >= k * count // (kills + 1), 60, "posts")
            await relayer.kill_and_restart(db)

        async def all_delivered() -> bool:
            return all(r.delivered_at is not None for r in await outbox_rows(db))

        deadline = asyncio.get_running_loop().time() + 60
        while not await all_delivered():
            assert asyncio.get_running_loop().time() < deadline, \
                "answers never delivered:\n" + "\n".join(relayer.log[-30:])
            await asyncio.sleep(0.2)
    finally:
        await relayer.stop()
    return await outbox_rows(db)


def late_after_restart(relayer: Relayer, rows: list[OutboxMessage], sent: Counter[str],
                       platform: str) -> list[dt.timedelta]:
    """How long after each restart the messages the dead process held were delivered, over the
    limit; the figures are printed (`pytest -s`) for the README.

    A row is timed from the last restart that freed it. The kills follow the count of posts,
    so one can land on the very send that retries the row an earlier kill left behind; that
    row then waits out a second lease, which is the second kill's doing, not the first's."""
    delivered = {r.id: r.delivered_at for r in rows}
    last_freed = {row_id: restart.at for restart in relayer.restarts for row_id in restart.held}
    waits = [delivered[row_id] - at for row_id, at in last_freed.items()]
    print(f"\n{platform}: {len(sent)} answers, {len(relayer.restarts)} kills, "
          f"{sum(n - 1 for n in sent.values())} duplicates, held rows delivered "
          f"{', '.join(f'{w.total_seconds():.1f}' for w in waits)} s after restart")
    return [wait for wait in waits if wait > RESTART_DELAY_LIMIT]


async def test_sigkill_during_slack_relay_loses_nothing_and_repeats_nothing(
        postgres_database: Database) -> None:
    count, kills = 32, 4
    slack = FakeSlackAPI(delay=0.3)
    await slack.start()
    await answered(postgres_database, "slack", count)
    relayer = Relayer({**os.environ, "SLACK_BOT_TOKEN": "xoxb-test",
                       "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.base_url,
                       "PORT": str(free_port()), "DATABASE_URL": postgres_database.url}, "slack")
    try:
        rows = await relay_with_kills(postgres_database, relayer,
                                      lambda: len(slack.named("chat.postMessage")), count, kills)
    finally:
        await slack.stop()
    sent = Counter(token(n) for post in slack.named("chat.postMessage") for n in range(count)
                   if token(n) in post["text"])
    assert sorted(sent) == sorted(token(n) for n in range(count)), "an answer was lost"
    assert [t for t, times in sent.items() if times > 1] == [], "an answer was sent twice"
    assert all(restart.held for restart in relayer.restarts), "each kill hit a send under way"
    assert slack.named("conversations.history"), "the resend looked for the earlier post"
    assert late_after_restart(relayer, rows, sent, "slack") == [], \
        "\n".join(relayer.log[-60:] + [f"{r.id} {r.send_started_at:%H:%M:%S.%f} "
                                        f"{r.delivered_at:%H:%M:%S.%f}" for r in rows])


async def test_sigkill_during_telegram_relay_repeats_at_most_one_message_per_kill(
        postgres_database: Database) -> None:
    count, kills = 32, 4
    telegram = FakeTelegramAPI(delay=0.3)
    await telegram.start()
    await answered(postgres_database, "telegram", count)
    relayer = Relayer({**os.environ, "TELEGRAM_BOT_TOKEN": telegram.token,
                       "TELEGRAM_API_URL": telegram.base_url, "PORT": str(free_port()),
                       "DATABASE_URL": postgres_database.url}, "telegram")
    try:
        rows = await relay_with_kills(postgres_database, relayer,
                                      lambda: len(telegram.sent()), count, kills)
    finally:
        await telegram.stop()
    sent = Counter(token(n) for post in telegram.sent() for n in range(count)
                   if token(n) in post["text"])
    assert sorted(sent) == sorted(token(n) for n in range(count)), "an answer was lost"
    assert sum(times - 1 for times in sent.values()) <= kills
    assert late_after_restart(relayer, rows, sent, "telegram") == [], \
        "\n".join(relayer.log[-60:] + [f"{r.id} {r.send_started_at:%H:%M:%S.%f} "
                                        f"{r.delivered_at:%H:%M:%S.%f}" for r in rows])


async def test_two_processes_relaying_through_a_slow_slack_send_each_answer_once(
        postgres_database: Database) -> None:
    count = 12  # more than one process sends in a minute: a lease per batch would lapse
    slack = FakeSlackAPI(delay=5.5)  # and each call outlasts a lease: renewal must hold it
    await slack.start()
    await answered(postgres_database, "slack", count)
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
           "SLACK_API_URL": slack.base_url, "DATABASE_URL": postgres_database.url}
    first = Relayer({**env, "PORT": str(free_port())}, "slack")
    second = Relayer({**env, "PORT": str(free_port())}, "slack")
    try:
        await asyncio.gather(first.start(), second.start())
        deadline = asyncio.get_running_loop().time() + 60
        while any(r.delivered_at is None for r in await outbox_rows(postgres_database)):
            assert asyncio.get_running_loop().time() < deadline, "answers never delivered"
            await asyncio.sleep(0.2)
    finally:
        await asyncio.gather(first.stop(), second.stop())
        await slack.stop()
    sent = Counter(token(n) for post in slack.named("chat.postMessage") for n in range(count)
                   if token(n) in post["text"])
    assert sent == Counter({token(n): 1 for n in range(count)})
