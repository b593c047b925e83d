"""The one base class every platform adapter subclasses."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod

from sqlalchemy.exc import SQLAlchemyError

from bot.chat.conversation import Conversation
from bot.chat.messages import Message, Reply
from bot.triage.outbox import Delivery

log = logging.getLogger(__name__)


class Adapter(ABC):
    """Receives platform events, hands them to the core, renders what comes back."""

    name: str = "base"

    def __init__(self, assistant: Conversation) -> None:
        self.assistant = assistant

    async def dispatch(self, message: Message) -> list[Reply]:
        replies = await self.assistant.handle(message)
        await self.send(message, replies)
        return replies

    @abstractmethod
    async def send(self, to: Message, replies: list[Reply]) -> None:
        """Render replies on the platform, in the conversation (and thread) `to` came from."""

    @abstractmethod
    async def run(self) -> None:
        """Serve until stopped."""

    @abstractmethod
    async def deliver(self, delivery: Delivery) -> None:
        """Send one outbox message (a staff answer, a late notice); raise if it did not go."""

    def delivery_user(self) -> str | None:
        """Only deliver this user's messages (one terminal serves one person); None for all."""
        return None

    async def deliver_pending(self) -> int:
        """Send what the outbox holds for this platform; failures are retried later."""
        sent = 0
        for delivery in await self.assistant.pending_deliveries(self.name, self.delivery_user()):
            try:
                await self.deliver(delivery)
            except Exception as exc:  # any platform failure: keep the message for a retry
                await self.assistant.delivery_failed(delivery, f"{type(exc).__name__}: {exc}")
                continue
            await self.assistant.delivered(delivery)
            sent += 1
        return sent

    async def deliver_forever(self, interval: float, sweep_every: int = 30) -> None:
        """Poll the outbox; every `sweep_every` polls, also re-announce and flag late answers."""
        polls = 0
        while True:
            try:
                await self.deliver_pending()
                if polls % sweep_every == 0:
                    await self.assistant.sweep()
            except (SQLAlchemyError, OSError):
                log.warning("outbox not reachable; will retry")
            polls += 1
            await asyncio.sleep(interval)
