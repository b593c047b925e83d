"""The terminal adapter: what it shows of deliveries."""

from __future__ import annotations

import io

from adapters.console import ConsoleAdapter, render
from bot.chat.messages import Choice, Recipient, SuggestReply, TextReply, UnsentReplies
from bot.core import Core


async def test_kept_replies_are_shown_as_they_would_have_been_at_the_time(core: Core) -> None:
    shown = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO(), stdout=shown)
    replies = (TextReply("Invented notice."),
               SuggestReply((Choice("entry-a", "Entry A"), Choice("entry-b", "Entry B"))))
    await console.deliver(UnsentReplies(1, "console", Recipient("me", "terminal"), replies))
    assert render(replies[0]) in shown.getvalue() and render(replies[1]) in shown.getvalue()
    assert "1. Entry A" in shown.getvalue()
