"""The core's one interface: a database that is down reads the same on every path."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.chat.copy import SPOOLED
from bot.chat.messages import Actor, Message, NotSent, TextReply
from bot.config import Settings
from bot.core import Core, StaffAction, Unavailable
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.triage.commands import QUEUE_DOWN
from tests.conftest import make_core

STAFF = Actor("test", "STAFF")
# A question for staff. Matching offers suggestions for nearly any question in the domain's
# words (each with a way to staff), so a test that needs an escalation asks for staff.
UNMATCHED = "how do we reconcile our general ledger for the audit"
TO_STAFF = "/staff " + UNMATCHED


@pytest.fixture
async def down(shipped_kb: KnowledgeBase, tmp_path: Path) -> Core:
    db = Database("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")  # nothing listens
    settings = Settings(database_url=db.url, knowledge_dir=tmp_path, staff=frozenset({STAFF.id}),
                        spool_dir=tmp_path / "spool")
    yield make_core(shipped_kb, db, settings)
    await db.close()


async def test_a_staff_action_typed_pressed_or_replied_gets_one_reply_when_down(
        down: Core, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    pressed = await down.staff_act(STAFF, StaffAction.CLAIM, "TA-0001")
    [typed] = await down.handle(Message("test", "STAFF", "c", "/claim TA-0001"))
    assert not pressed.done and pressed.text == typed.text == QUEUE_DOWN
    assert len(caplog.records) == 2 and not any(r.exc_info for r in caplog.records)


async def test_questions_lookups_and_event_checks_when_down(down: Core) -> None:
    assert await down.handle(Message("test", "U1", "c", TO_STAFF)) == [TextReply(SPOOLED)]
    with pytest.raises(Unavailable, match="can't reach its database"):
        await down.program_of(Actor("test", "U1"))
    with pytest.raises(Unavailable):
        await down.triage_posts("TA-0001", "test")
    assert await down.first_time("test", "event-1")  # answered rather than lost
    assert not await down.first_time("test", "event-1")  # a retry to this process: once


async def test_work_in_flight_is_counted_until_it_ends(core: Core) -> None:
    async with core.working():
        assert not await core.drain(0.1)
    assert await core.drain(0.1)


async def test_replies_not_sent_while_the_database_is_down_too_are_logged_without_their_text(
        down: Core, caplog: pytest.LogCaptureFixture) -> None:
    to = Message("test", "U1", "c", "an invented question")
    replies = [TextReply("Invented first reply."), TextReply("Invented second reply.")]
    await down.keep_unsent(to, replies, NotSent(1, "ConnectError"))
    [line] = [r.getMessage() for r in caplog.records if "not kept" in r.getMessage()]
    assert line.startswith("test: 1 replies not sent (ConnectError) and not kept")
    assert "Invented" not in caplog.text and not any(r.exc_info for r in caplog.records)
