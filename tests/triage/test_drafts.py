import datetime as dt
from pathlib import Path

import pytest

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.lint import lint
from bot.knowledge.problems import has_errors
from bot.store.database import Database
from bot.store.retention import purge
from bot.triage.drafts import draft_id, write_draft
from bot.triage.workflow import Triage, TriageError
from tests.triage.test_workflow import STAFF, ask


async def test_an_answered_escalation_becomes_a_draft_that_passes_lint(
        database: Database, tmp_path: Path) -> None:
    triage = Triage(database, frozenset({STAFF.id}))
    ref = await ask(database, "can we pay a survivor's phone bill with VOCA money?")
    with pytest.raises(TriageError, match="has no answer yet"):
        await write_draft(triage, STAFF, ref, tmp_path)
    await triage.answer(ref, STAFF, "Usually not directly; check your subgrant's allowable costs.")
    path = await write_draft(triage, STAFF, ref, tmp_path)
    assert path.parent == tmp_path / "drafts"
    drafts = KnowledgeBase.load(tmp_path / "drafts")
    assert not has_errors(lint(drafts))
    [entry] = drafts.entries.values()
    assert entry.answer.startswith("Usually not directly")
    assert KnowledgeBase.load(tmp_path).entries == {}  # drafts are not served
    view = await triage.show(ref, STAFF)
    assert view.events[-1].kind == "drafted"
    with pytest.raises(TriageError, match="already exists"):
        await write_draft(triage, STAFF, ref, tmp_path)


def test_draft_ids_are_kebab_case_and_keep_placeholders_out() -> None:
    assert draft_id("Can [NAME] get a U visa?", "TA-0007") == "u-visa-ta-0007"


async def test_a_purged_question_cannot_be_drafted(database: Database, tmp_path: Path) -> None:
    """Its file name and entry would be made of "[purged]", and the history would keep them."""
    triage = Triage(database, frozenset({STAFF.id}))
    ref = await ask(database, "can we pay a survivor's phone bill with VOCA money?")
    await triage.answer(ref, STAFF, "Usually not directly; check your subgrant's allowable costs.")
    await triage.close(ref, STAFF)
    await purge(database, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id,
                now=dt.datetime.now(dt.UTC) + dt.timedelta(days=31))
    with pytest.raises(TriageError, match=f"{ref} was purged .* cannot be drafted"):
        await write_draft(triage, STAFF, ref, tmp_path)
    assert not (tmp_path / "drafts").exists()
    assert (await triage.show(ref, STAFF)).events[-1].kind == "closed"
