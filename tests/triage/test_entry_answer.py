"""Staff answering an escalation by pointing at a knowledge entry: the asker gets the entry's
answer, and the question becomes a proposed phrasing of that entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat.conversation import Conversation
from bot.chat.messages import Actor, Message
from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.learning import proposals
from bot.store.database import Database
from bot.store.tables import LearnedPhrasing
from bot.triage.commands import StaffAction, act
from bot.triage.workflow import Triage, TriageError
from tests.triage.test_workflow import ASKER, ask, outbox_rows

STAFF = Actor("telegram", "900")
QUESTION = "our residents work late, can we still lock the doors at 10"


@pytest.fixture
def kb(small_kb_dir: Path) -> KnowledgeBase:
    return KnowledgeBase.load(small_kb_dir)


@pytest.fixture
def triage(database: Database, kb: KnowledgeBase) -> Triage:
    return Triage(database, frozenset({STAFF.id}), knowledge=kb)


async def test_the_entrys_answer_reaches_the_asker_and_the_question_is_proposed(
        triage: Triage, kb: KnowledgeBase) -> None:
    ref = await ask(triage.db, QUESTION)
    view = await triage.answer_with_entry(ref, STAFF, "shelter-curfew")
    assert view.state == "answered" and view.claimed_by == STAFF
    entry = kb.entries["shelter-curfew"]
    [relay] = await outbox_rows(triage.db, "answer")
    assert (relay.platform, relay.user_id, relay.conversation_id, relay.thread_id) == (
        ASKER.platform, ASKER.user_id, f"chat-{ASKER.user_id}", "thread-9")
    assert ref in relay.text and entry.title in relay.text and entry.answer in relay.text
    assert "https://example.org" in relay.text
    [group] = await proposals(triage.db, kb)
    assert group.entry_id == "shelter-curfew"
    assert [(p.text, p.by_staff, p.picked, p.helped) for p in group.proposals] == [
        (QUESTION, 1, 0, 0)]


async def test_a_chat_command_answers_with_an_entry(
        triage: Triage, kb: KnowledgeBase, settings: Settings) -> None:
    ref = await ask(triage.db, QUESTION)
    conversation = Conversation(kb, triage.db, settings, triage)
    replies = await conversation.handle(
        Message(STAFF.platform, STAFF.user_id, "staff-chat", f"/entry {ref} shelter-curfew"))
    assert ref in replies[0].text and "answered" in replies[0].text
    [relay] = await outbox_rows(triage.db, "answer")
    assert kb.entries["shelter-curfew"].answer in relay.text
    async with triage.db.session() as session:
        assert (await session.scalar(select(LearnedPhrasing.by_staff))) == 1


async def test_bad_entry_answers_get_clear_messages_and_change_nothing(
        triage: Triage, database: Database) -> None:
    ref = await ask(database, QUESTION)
    refusals = {
        "shelter-curfw": "No entry 'shelter-curfw' in the knowledge base. Did you mean "
                         "shelter-curfew?",
        "shelter-curfew please": "Name one knowledge entry by its id",
        "": "Name one knowledge entry by its id",
    }
    for text, message in refusals.items():
        result = await act(triage, STAFF, StaffAction.ENTRY, ref, text)
        assert not result.done and message in result.text
    with pytest.raises(TriageError, match="Only the coalition's TA staff"):
        await triage.answer_with_entry(ref, ASKER, "shelter-curfew")
    no_kb = Triage(database, frozenset({STAFF.id}))
    with pytest.raises(TriageError, match="no knowledge base to answer from"):
        await no_kb.answer_with_entry(ref, STAFF, "shelter-curfew")
    assert await outbox_rows(database, "answer") == []
    assert (await triage.show(ref, STAFF)).state == "open"


async def test_a_closed_escalation_is_not_answered_with_an_entry(
        triage: Triage, kb: KnowledgeBase) -> None:
    ref = await ask(triage.db, QUESTION)
    await triage.close(ref, STAFF)
    with pytest.raises(TriageError, match="is closed; reopen it"):
        await triage.answer_with_entry(ref, STAFF, "shelter-curfew")
    assert await proposals(triage.db, kb) == []
