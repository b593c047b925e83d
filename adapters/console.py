"""The terminal adapter: `tabot chat`. Works typed at a prompt and with piped input."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import sys
import textwrap
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from adapters.base import Adapter
from bot.chat.conversation import Conversation
from bot.chat.messages import (
    Action,
    ActionKind,
    AnswerReply,
    EscalatedReply,
    Message,
    OfferStaffReply,
    Reply,
    SuggestReply,
    TextReply,
    TopicsReply,
)
from bot.triage.outbox import Delivery

YES = {"yes", "y", "yep", "helped", "this helped"}
NO = {"no", "n", "nope", "not quite"}
QUIT = {"quit", "exit", "bye", ":q"}
WIDTH = 88


def render(reply: Reply) -> str:
    """Plain text for a terminal (also a fair fallback for any text-only channel)."""
    match reply:
        case AnswerReply():
            return _answer(reply)
        case SuggestReply():
            options = "\n".join(f"  {i}. {c.title}" for i, c in enumerate(reply.choices, 1))
            return (f"{reply.text}\n{options}\nType a number, or 'staff' to send your question "
                    "to TA staff.")
        case TopicsReply():
            return "\n".join(
                f"{category.replace('-', ' ').title()}:\n"
                + "\n".join(f"  - {c.title}" for c in choices)
                for category, choices in reply.categories.items()
            )
        case OfferStaffReply():
            return f"{reply.text} Type 'yes' to send it, or ask again in other words."
        case EscalatedReply() | TextReply():
            return _wrap(reply.text)
    raise TypeError(f"cannot render {type(reply).__name__}")


def _answer(reply: AnswerReply) -> str:
    parts = [f"== {reply.title} ==", _wrap(reply.answer)]
    sources = [f"  - {s.title}" + (f" <{s.url}>" if s.url else "") for s in reply.sources]
    parts.append("Sources:\n" + "\n".join(sources))
    if reply.related:
        parts.append("Related: " + "; ".join(c.title for c in reply.related))
    if reply.disclaimer:
        parts.append(f"({reply.disclaimer})")
    parts.append("Did this help? Type 'yes' or 'no'.")
    return "\n".join(parts)


def _wrap(text: str) -> str:
    paragraphs = text.strip().split("\n")
    return "\n".join(
        textwrap.fill(p, WIDTH, subsequent_indent="  " if p.lstrip().startswith("- ") else "")
        if p.strip() else "" for p in paragraphs
    )


class ConsoleAdapter(Adapter):
    name = "console"

    def __init__(self, assistant: Conversation, stdin: TextIO | None = None,
                 stdout: TextIO | None = None, greeting: str = "",
                 poll_seconds: float = 2.0) -> None:
        super().__init__(assistant)
        self.poll_seconds = poll_seconds
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.greeting = greeting
        self.user_id = getpass.getuser()
        self._pending: Reply | None = None  # what "1", "yes" or "staff" would answer

    def _write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def send(self, to: Message, replies: list[Reply]) -> None:
        for reply in replies:
            self._write(render(reply) + "\n")
            if isinstance(reply, AnswerReply | SuggestReply | OfferStaffReply):
                self._pending = reply

    async def deliver(self, delivery: Delivery) -> None:
        self._write(f"\n{_wrap(delivery.text)}\n")
        if self.stdin.isatty():
            self.stdout.write("you> ")
            self.stdout.flush()

    def delivery_user(self) -> str | None:
        return self.user_id

    async def run(self) -> None:
        if self.greeting:
            self._write(self.greeting)
        poller = asyncio.create_task(self.deliver_forever(self.poll_seconds))
        try:
            await self._converse()
        finally:
            poller.cancel()
            with contextlib.suppress(SQLAlchemyError, OSError):
                await self.deliver_pending()
        self._write("Goodbye.")

    async def _converse(self) -> None:
        interactive = self.stdin.isatty()
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                self.stdout.write("you> ")
                self.stdout.flush()
            line = await loop.run_in_executor(None, self.stdin.readline)
            if not line or line.strip().casefold() in QUIT:
                break
            if not line.strip():
                continue
            await self.dispatch(self.message(line.rstrip("\n")))

    def message(self, text: str) -> Message:
        """Typed text, or the console's stand-in for pressing a button."""
        action = self._action(text)
        self._pending = None
        return Message(self.name, self.user_id, "console", text, action=action)

    def _action(self, text: str) -> Action | None:
        said = text.strip().casefold()
        last = self._pending
        if isinstance(last, SuggestReply):
            if said.isdigit() and 1 <= int(said) <= len(last.choices):
                return Action(ActionKind.CHOOSE, last.choices[int(said) - 1].entry_id,
                              last.question)
            if said == "staff":
                return Action(ActionKind.SEND_TO_STAFF, question=last.question)
        if isinstance(last, AnswerReply) and said in YES | NO:
            kind = ActionKind.HELPED if said in YES else ActionKind.NOT_HELPED
            return Action(kind, last.entry_id, last.question)
        if isinstance(last, OfferStaffReply) and said in YES | {"staff"}:
            return Action(ActionKind.SEND_TO_STAFF, question=last.question)
        return None



def create(assistant: Conversation) -> ConsoleAdapter:
    kb = assistant.knowledge
    greeting = (
        f"tabot: technical assistance from {len(kb.entries)} knowledge entries in "
        f"{kb.directory}.\nConversations are saved in {assistant.db.location}.\n"
        "Ask a question, type 'help' for commands, or 'quit' to leave.\n"
    )
    poll = float(os.environ.get("TABOT_POLL_SECONDS", "2") or 2)
    return ConsoleAdapter(assistant, greeting=greeting, poll_seconds=poll)
