"""`handle()` on arbitrary text: always a well-formed reply, never an exception."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat.conversation import Conversation
from bot.chat.messages import (
    AnswerReply,
    EscalatedReply,
    Message,
    OfferStaffReply,
    SuggestReply,
    TextReply,
    TopicsReply,
)
from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database

REPLY_TYPES = (AnswerReply, EscalatedReply, OfferStaffReply, SuggestReply, TextReply,
               TopicsReply)
MARKUP = ["<!channel>", "<@U123>", "<https://x.example|bank>", "*bold*", "_it_", "`code`",
          "<b>", "</i>", "&amp;", "/staff", "/help", "/claim TA-0001", "\x00", "\x1b[31m",
          "\u202e", "\u200b", "\r\n", "💜", "🏳️‍🌈", "e\u0301", "ＡＢＣ", "TA-", "[NAME]",
          "555-010-4477", "he is going to kill me"]
messages = st.lists(
    st.one_of(st.text(max_size=300),
              st.lists(st.sampled_from(MARKUP) | st.text(max_size=12), max_size=12)
              .map("".join)),
    min_size=1, max_size=8)


def well_formed(reply: object) -> bool:
    if not isinstance(reply, REPLY_TYPES):
        return False
    text = getattr(reply, "text", None) or getattr(reply, "answer", None)
    return text is None or (isinstance(text, str) and text.strip() != "")


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(batch=messages)
def test_handle_always_returns_well_formed_replies(shipped_kb: KnowledgeBase, tmp_path: Path,
                                                   batch: list[str]) -> None:
    """One database for all examples is fine: every example only adds rows."""
    async def run() -> list[list[object]]:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}")
        await db.upgrade()
        conversation = Conversation(shipped_kb, db, Settings(db.url, tmp_path,
                                                       staff=frozenset({"test:STAFF"})))
        try:
            return [await conversation.handle(Message("test", user, "c", text))
                    for text in batch for user in ("U1", "STAFF")]
        finally:
            await db.close()

    for replies in asyncio.run(run()):
        assert replies and all(well_formed(r) for r in replies)
