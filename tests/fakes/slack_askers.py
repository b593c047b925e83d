"""Askers on Slack, for load tests and benchmarks against a real `tabot run --adapter slack`.

Each asker is a Slack user sending signed direct-message events to the process's
`/slack/events`, one at a time, each waiting for its reply, as a person in a chat does. Every
question goes to a direct-message channel of its own, so its reply is told apart from the
others' by channel alone, and the time it took is the time from the POST to the first
`chat.postMessage` on that channel reaching the fake Web API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import async_database_url
from bot.store.tables import Escalation, Interaction
from tests.fakes.slack_api import FakeSlackAPI

REPO = Path(__file__).resolve().parent.parent.parent
SECRET = "askers-signing-secret"
TRIAGE_CHANNEL = "CTRIAGE"
REPLY_TIMEOUT = 15.0  # seconds without a reply before a question counts as lost


class Arrivals(list):
    """The fake Web API's call log (`FakeSlackAPI.calls`), noting when each channel got its
    first post and waking whoever waits for it."""

    def __init__(self) -> None:
        super().__init__()
        self.first_post: dict[str, float] = {}
        self._waiting: dict[str, asyncio.Future[None]] = {}

    def append(self, call: tuple[str, dict[str, Any]]) -> None:
        super().append(call)
        method, payload = call
        channel = payload.get("channel")
        if method != "chat.postMessage" or channel in self.first_post:
            return
        self.first_post[channel] = time.perf_counter()
        waiter = self._waiting.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def reply_to(self, channel: str, timeout: float) -> float | None:
        """When the first post on `channel` arrived (perf_counter), or None within `timeout`."""
        if channel not in self.first_post:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting[channel] = waiter
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout)
        return self.first_post.get(channel)

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        return [payload for method, payload in self
                if method == "chat.postMessage" and payload.get("channel") == channel]


def fake_slack() -> tuple[FakeSlackAPI, Arrivals]:
    arrivals = Arrivals()
    return FakeSlackAPI(calls=arrivals), arrivals


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Tabot:
    """A running `tabot run --adapter slack` and what it has written to stderr."""

    process: asyncio.subprocess.Process
    port: int
    database_url: str
    log: list[str] = field(default_factory=list)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def drain_log(self) -> None:
        """Keep reading stderr: a full pipe would stop the process at its next log line."""
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode(errors="replace").rstrip())


@contextlib.asynccontextmanager
async def tabot_on_slack(api: FakeSlackAPI, database_url: str,
                         **env: str) -> AsyncIterator[Tabot]:
    """`tabot run --adapter slack` in HTTP mode, as a host starts it, until the block ends."""
    port = free_port()
    environment = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-askers", "SLACK_SIGNING_SECRET": SECRET,
                   "SLACK_API_URL": api.base_url, "SLACK_TRIAGE_CHANNEL": TRIAGE_CHANNEL,
                   "PORT": str(port), "DATABASE_URL": database_url,
                   "TABOT_RATE_LIMIT": "10000", **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--adapter", "slack", cwd=REPO, env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    tabot = Tabot(process, port, database_url)
    draining: asyncio.Task[None] | None = None
    try:
        await _until_listening(tabot)
        draining = asyncio.create_task(tabot.drain_log())
        yield tabot
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        if draining is not None:
            await draining


async def _until_listening(tabot: Tabot) -> None:
    assert tabot.process.stderr is not None
    while not (tabot.log and "listening on port" in tabot.log[-1]):
        line = await asyncio.wait_for(tabot.process.stderr.readline(), 60)
        if not line:
            raise RuntimeError("tabot run exited before listening:\n" + "\n".join(tabot.log))
        tabot.log.append(line.decode(errors="replace").rstrip())


@dataclass(frozen=True)
class Question:
    user: str
    channel: str
    text: str


@dataclass(frozen=True)
class Asked:
    question: Question
    status: int  # what /slack/events answered
    seconds: float | None  # from the POST to the first reply; None: no reply came


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp,
                                                                              body=body)}


def dm_event(question: Question, event_id: str) -> bytes:
    return json.dumps({
        "type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id,
        "event_time": int(time.time()),
        "event": {"type": "message", "channel_type": "im", "channel": question.channel,
                  "user": question.user, "text": question.text, "ts": f"{time.time():.6f}"},
    }).encode()


async def ask(session: aiohttp.ClientSession, tabot: Tabot, arrivals: Arrivals,
              question: Question) -> Asked:
    body = dm_event(question, f"Ev{question.channel}")
    start = time.perf_counter()
    async with session.post(tabot.events_url, data=body, headers=signed(body)) as response:
        await response.read()
    arrived = await arrivals.reply_to(question.channel, REPLY_TIMEOUT)
    return Asked(question, response.status, None if arrived is None else arrived - start)


def shared_out(texts: list[str], askers: int) -> list[list[str]]:
    """`texts` dealt round `askers` people like cards."""
    return [texts[a::askers] for a in range(askers)]


def questions_for(tag: str, by_asker: list[list[str]]) -> list[list[Question]]:
    """Each asker's texts as questions from a user of its own, each on a channel of its own."""
    return [[Question(f"U{tag}A{a}", f"D{tag}A{a}Q{n}", text) for n, text in enumerate(texts)]
            for a, texts in enumerate(by_asker)]


async def run_askers(tabot: Tabot, arrivals: Arrivals,
                     by_asker: list[list[Question]]) -> list[Asked]:
    """Every asker at once, each sending its questions one after another."""
    connector = aiohttp.TCPConnector(limit=len(by_asker) + 1)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def asker(questions: list[Question]) -> list[Asked]:
            return [await ask(session, tabot, arrivals, q) for q in questions]

        done = await asyncio.gather(*(asker(questions) for questions in by_asker))
    return [asked for answers in done for asked in answers]


@dataclass(frozen=True)
class Stored:
    interactions: Counter[str]  # records per user
    escalations: Counter[tuple[str, str]]  # escalations per (channel, reason)


async def stored(database_url: str, users: Iterable[str]) -> Stored:
    """What the process wrote for these users, read back with a connection of our own."""
    users = list(users)
    engine = create_async_engine(async_database_url(database_url))
    try:
        async with engine.connect() as connection:
            interactions = await connection.execute(
                select(Interaction.user_id, func.count()).where(Interaction.user_id.in_(users))
                .group_by(Interaction.user_id))
            escalations = await connection.execute(
                select(Escalation.conversation_id, Escalation.reason, func.count())
                .where(Escalation.user_id.in_(users))
                .group_by(Escalation.conversation_id, Escalation.reason))
            return Stored(Counter({user: n for user, n in interactions}),
                          Counter({(c, r): n for c, r, n in escalations}))
    finally:
        await engine.dispose()
