"""An in-memory adapter for tests: messages are queued in, replies queued out."""

from __future__ import annotations

import asyncio

from adapters.base import Adapter
from bot.chat.conversation import Conversation
from bot.chat.messages import Message, Reply
from bot.triage.outbox import Delivery


class QueueAdapter(Adapter):
    name = "test"

    def __init__(self, assistant: Conversation) -> None:
        super().__init__(assistant)
        self.inbox: asyncio.Queue[Message | None] = asyncio.Queue()
        self.outbox: asyncio.Queue[tuple[Message, list[Reply]]] = asyncio.Queue()
        self.delivered: list[Delivery] = []

    async def send(self, to: Message, replies: list[Reply]) -> None:
        await self.outbox.put((to, replies))

    async def deliver(self, delivery: Delivery) -> None:
        self.delivered.append(delivery)

    async def run(self) -> None:
        while (message := await self.inbox.get()) is not None:
            await self.dispatch(message)

    async def ask(self, text: str, user_id: str = "tester") -> list[Reply]:
        await self.inbox.put(Message(self.name, user_id, f"dm-{user_id}", text))
        _, replies = await self.outbox.get()
        return replies
