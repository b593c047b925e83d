"""An adapter for tests: messages are queued in, replies and deliveries queued out (errbot's
test backend is the model). It exercises the real core through the same interface as any
platform."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Self

from adapters.base import Adapter
from bot.chat.messages import Action, Delivery, Message, Reply
from bot.core import Core


class QueueAdapter(Adapter):
    name = "test"

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self.inbox: asyncio.Queue[Message | None] = asyncio.Queue()
        self.outbox: asyncio.Queue[tuple[Message, list[Reply]]] = asyncio.Queue()
        self.delivered: list[Delivery] = []

    @classmethod
    def from_env(cls, core: Core, env: Mapping[str, str]) -> Self:
        return cls(core)

    async def send(self, to: Message, replies: list[Reply]) -> None:
        await self.outbox.put((to, replies))

    async def deliver(self, delivery: Delivery) -> None:
        self.delivered.append(delivery)

    async def run(self) -> None:
        while (message := await self.inbox.get()) is not None:
            await self.dispatch(message)

    async def stop(self) -> None:
        await super().stop()
        self.inbox.put_nowait(None)

    async def say(self, message: Message) -> list[Reply]:
        """One message in, through `run()` as a platform event would go, and its replies."""
        await self.inbox.put(message)
        _, replies = await self.outbox.get()
        return replies

    async def ask(self, text: str, user_id: str = "tester") -> list[Reply]:
        return await self.say(Message(self.name, user_id, f"dm-{user_id}", text))

    async def press(self, action: Action, user_id: str = "tester") -> list[Reply]:
        """A button pressed: the `Action` a platform adapter makes of its button data."""
        return await self.say(Message(self.name, user_id, f"dm-{user_id}", action=action))


ADAPTER = QueueAdapter
