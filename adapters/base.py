"""The one base class every platform adapter subclasses.

An adapter turns platform events into the core's `Message` (or a staff `Actor`), hands them to
the one narrow interface it is given (`bot.core.Core`), and renders what comes back. The
runtime drives its lifecycle: `start()` to begin taking events, `run()` for any loop of its own,
`stop()` to stop taking events, `close()` to let go of its connections; and it calls
`deliver()` for each outbox message meant for the platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar, Self

from starlette.routing import BaseRoute

from bot.chat.messages import Delivery, Message, NotSent, Reply
from bot.core import Core

# For a message with no text (a photo, a voice message, a file): nothing of it is downloaded,
# since it could show a survivor's face, voice or papers.
ONLY_TEXT = ("I can only read text. Please type your question; photos, voice messages, "
             "stickers, files and locations are not kept.")
FILES_NOT_READ = "I can't open files or pictures, so I've read only the text of your message."


class Adapter(ABC):
    name: ClassVar[str] = "base"
    staff_notices: ClassVar[bool] = True  # does staff triage happen here (notices pushed)?
    # What a person's id looks like here, for TABOT_STAFF ("telegram:42"): one that cannot be
    # an id would never be staff, and notices for them would go nowhere without a word.
    user_id_form: ClassVar[re.Pattern[str]] = re.compile(r"\S+")
    user_id_hint: ClassVar[str] = "the platform's user id"

    def __init__(self, core: Core) -> None:
        self.core = core
        self.stopped = asyncio.Event()

    @classmethod
    def configured(cls, env: Mapping[str, str]) -> bool:
        """Are this platform's settings present, so `tabot run` serves it by default?"""
        return False

    @classmethod
    @abstractmethod
    def from_env(cls, core: Core, env: Mapping[str, str]) -> Self:
        """Build from environment variables; a missing or bad one is a `ConfigError`."""

    def routes(self) -> list[BaseRoute]:
        """HTTP routes this adapter needs on the runtime's one web server."""
        return []

    async def start(self) -> None:  # noqa: B027 (optional: most adapters need it)
        """Connect and begin taking events."""

    async def run(self) -> None:
        """Anything the adapter runs itself; when this returns, the process stops."""
        await self.stopped.wait()

    async def stop(self) -> None:
        """Stop taking new events; work already taken is finished by the runtime."""
        self.stopped.set()

    async def close(self) -> None:  # noqa: B027 (optional: most adapters need it)
        """Let go of connections, after the work in flight is done."""

    async def dispatch(self, message: Message) -> list[Reply]:
        """Hand a message to the core and send the replies, counted as work in flight; what
        the platform does not take now is kept to be sent later (`NotSent`)."""
        async with self.core.working():
            replies = await self.core.handle(message)
            try:
                await self.send(message, replies)
            except NotSent as unsent:
                await self.core.keep_unsent(message, replies, unsent)
        return replies

    async def hotlines_if_in_danger(self, message: Message) -> None:
        """For a message the adapter does not hand to the core (a stranger's, or one while the
        database cannot say who may ask): safety comes before membership, so a person in
        danger still gets the hotlines. Nothing is stored, so nothing is kept to send later."""
        if replies := self.core.hotlines_only(message.text):
            with contextlib.suppress(NotSent):
                await self.send(message, replies)

    @abstractmethod
    async def send(self, to: Message, replies: list[Reply]) -> None:
        """Render replies on the platform, in the conversation (and thread) `to` came from.
        Raise `NotSent` if the platform would not take them for now (after any retries of
        the adapter's own); they are then sent later as `UnsentReplies`."""

    @abstractmethod
    async def deliver(self, delivery: Delivery) -> None:
        """Send one outbox message; raise if it did not go (it is retried later), or raise
        `Undeliverable` with a short reason if the platform refused it for good (it is given
        up, and staff told when an asker misses it)."""

    def delivery_user(self) -> str | None:
        """Only deliver this user's messages (one terminal serves one person); None for all."""
        return None
