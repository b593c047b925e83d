"""The one base class every platform adapter subclasses."""

from __future__ import annotations

from abc import ABC, abstractmethod

from bot.assistant import Assistant
from bot.messages import Message, Reply


class Adapter(ABC):
    """Receives platform events, hands them to the core, renders what comes back."""

    name: str = "base"

    def __init__(self, assistant: Assistant) -> None:
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
