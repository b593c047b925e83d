"""The terminal adapter: `tabot chat`. Works typed at a prompt and with piped input.

A terminal has no buttons: choices are numbered, and what a button would do is typed ("2",
"yes", "no", "staff"). The core reads those typed replies against the prompt it last gave, the
same way on every platform, so this adapter only renders the numbers it refers to.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import textwrap
import threading
from collections.abc import Mapping
from typing import Self, TextIO

from adapters.base import Adapter
from bot.chat.messages import (
    AnswerReply,
    CategoryReply,
    Choice,
    Delivery,
    EscalatedReply,
    Message,
    OfferStaffReply,
    Reply,
    SuggestReply,
    TextReply,
    TopicsReply,
    TriageUpdate,
    UnsentReplies,
)
from bot.core import Core

QUIT = {"quit", "exit", "bye", ":q"}
WIDTH = 88


def render(reply: Reply) -> str:
    """Plain text for a terminal (also a fair fallback for any text-only channel)."""
    match reply:
        case AnswerReply():
            return _answer(reply)
        case SuggestReply():
            return (f"{reply.text}\n{numbered(reply.choices)}\nType a number, 'none' if none "
                    "fit, or 'staff' to send your question to TA staff.")
        case TopicsReply():
            return "\n".join(_category(category, choices)
                             for category, choices in reply.categories.items())
        case CategoryReply():
            return _category(reply.category, reply.choices)
        case OfferStaffReply():
            return _wrap(f"{reply.text} Type 'yes' or 'staff' to send it, or ask again in "
                         "other words.")
        case EscalatedReply() | TextReply():
            return _wrap(reply.text)
    raise TypeError(f"cannot render {type(reply).__name__}")


def _answer(reply: AnswerReply) -> str:
    parts = [f"== {reply.title} ==", _wrap(reply.answer)]
    sources = [f"  - {s.title}" + (f" <{s.url}>" if s.url else "") for s in reply.sources]
    parts.append("Sources:\n" + "\n".join(sources))
    if reply.related:
        parts.append("Related (type a number):\n" + numbered(reply.related))
    if reply.disclaimer:
        parts.append(f"({reply.disclaimer})")
    parts.append("Did this help? Type 'yes' or 'no'.")
    return "\n".join(parts)


def numbered(choices: tuple[Choice, ...]) -> str:
    """Choices as the numbers a typed reply picks them by, in the core's order."""
    return "\n".join(f"  {i}. {c.title}" for i, c in enumerate(choices, 1))


def _category(category: str, choices: tuple) -> str:
    return f"{category.replace('-', ' ').title()}:\n" + "\n".join(f"  - {c.title}"
                                                                   for c in choices)


def _wrap(text: str) -> str:
    paragraphs = text.strip().split("\n")
    return "\n".join(
        textwrap.fill(p, WIDTH, subsequent_indent="  " if p.lstrip().startswith("- ") else "")
        if p.strip() else "" for p in paragraphs
    )


class ConsoleAdapter(Adapter):
    """One person at a terminal. Staff triage is not pushed here: staff read the queue."""

    name = "console"
    staff_notices = False

    def __init__(self, core: Core, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 greeting: str = "") -> None:
        super().__init__(core)
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.greeting = greeting
        self.user_id = getpass.getuser()

    @classmethod
    def from_env(cls, core: Core, env: Mapping[str, str]) -> Self:
        about = core.about()
        greeting = (
            f"tabot: technical assistance from {about.entries} knowledge entries in "
            f"{about.knowledge_dir}.\nConversations are saved in {about.database}.\n"
            "Ask a question, type 'help' for commands, or 'quit' to leave.\n"
        )
        return cls(core, greeting=greeting)

    def _write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def send(self, to: Message, replies: list[Reply]) -> None:
        for reply in replies:
            self._write(render(reply) + "\n")

    async def deliver(self, delivery: Delivery) -> None:
        match delivery:
            case UnsentReplies():  # a terminal takes every reply, so this is seldom needed
                self._write("\n" + "\n".join(render(reply) for reply in delivery.replies) + "\n")
            case TriageUpdate():
                return
            case _:
                self._write(f"\n{_wrap(delivery.text)}\n")
        if self.stdin.isatty():
            self.stdout.write("you> ")
            self.stdout.flush()

    def delivery_user(self) -> str | None:
        return self.user_id

    async def run(self) -> None:
        """Converse until end of input or 'quit'; then the process winds down."""
        if self.greeting:
            self._write(self.greeting)
        lines = self._lines()
        while not self.stopped.is_set():
            if self.stdin.isatty():
                self.stdout.write("you> ")
                self.stdout.flush()
            line = await lines.get()
            if line is None or line.strip().casefold() in QUIT:
                return
            if line.strip():
                await self.dispatch(self.message(line.rstrip("\n")))

    def _lines(self) -> asyncio.Queue[str | None]:
        """Lines from stdin, read by a daemon thread so a blocked read never holds up a stop."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def read() -> None:
            for line in iter(self.stdin.readline, ""):
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        return lines

    async def close(self) -> None:
        self._write("Goodbye.")

    def message(self, text: str) -> Message:
        """Typed text; a typed "2" or "yes" is read by the core against its last prompt."""
        return Message(self.name, self.user_id, "console", text)


ADAPTER = ConsoleAdapter
