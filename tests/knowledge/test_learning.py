"""The learning loop on real databases and real files: recording, proposals, approve, dismiss."""

from __future__ import annotations

import asyncio
import difflib
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat.annotations import ANSWERED_WITH, FOLLOW_UP
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.files import load_entry_file
from bot.knowledge.learning import (
    Confirmation,
    LearningError,
    approve,
    dismiss,
    parse_ids,
    phrasing_key,
    proposals,
    record_confirmed,
)
from bot.store.database import Database
from bot.store.tables import AuditEntry, LearnedPhrasing
from tests.conftest import write_text

STAFF = "cli:alice"
# Hand-written, with what a careless rewrite would lose: comments, a quoted item, a long
# phrasing, a key order of its own, an indented list, and a second entry after the first.
CURFEW = """\
# Shelter rules, kept by the TA team.
- id: shelter-curfew   # asked about weekly
  title: Curfews in shelter
  category: best-practice
  questions:
    - can our shelter have a curfew
    - "is a 10pm curfew ok?"
    - what should we do when a resident keeps coming back after the doors are locked at night
    # add regional wording below
  answer: |
    Curfews are a barrier for survivors who work late shifts.
  tags: [shelter, rules]
  sources:
    - title: Test source
      url: https://example.org/curfew
  reviewed: 2026-10-01

- id: shelter-pets
  category: best-practice
  title: Pets in shelter
  questions:
  - can residents bring their dog
  answer: Many programs partner with pet foster networks.
  sources:
  - title: Test source
  reviewed: 2026-10-01
"""


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    write_text(tmp_path / "kb" / "shelter.yaml", CURFEW)
    knowledge = KnowledgeBase.load(tmp_path / "kb")
    assert set(knowledge.entries) == {"shelter-curfew", "shelter-pets"}
    return knowledge


async def confirm(db: Database, kb: KnowledgeBase, question: str, entry_id: str,
                  source: Confirmation = Confirmation.PICKED) -> bool:
    async with db.engine.begin() as connection:
        return await record_confirmed(connection, question, kb.entries[entry_id], source)


async def rows(db: Database) -> list[LearnedPhrasing]:
    async with db.session() as session:
        return list(await session.scalars(select(LearnedPhrasing).order_by(LearnedPhrasing.id)))


def added_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


async def test_one_wording_is_one_proposal_counted_per_way_it_was_confirmed(
        database: Database, kb: KnowledgeBase) -> None:
    assert await confirm(database, kb, "Curfew for residents who work nights?", "shelter-curfew")
    assert await confirm(database, kb, "curfew for residents who work NIGHTS",
                         "shelter-curfew", Confirmation.HELPED)
    assert await confirm(database, kb, "curfew  for résidents who work nights!!",
                         "shelter-curfew", Confirmation.STAFF)
    assert await confirm(database, kb, "curfew for residents who work nights", "shelter-pets")
    [curfew, pets] = await rows(database)
    assert (curfew.entry_id, curfew.text, curfew.state) == (
        "shelter-curfew", "Curfew for residents who work nights?", "pending")
    assert (curfew.picked, curfew.helped, curfew.by_staff, curfew.confirmations) == (1, 1, 1, 3)
    assert curfew.key == phrasing_key("curfew for residents who work nights")
    assert curfew.last_seen >= curfew.first_seen
    assert (pets.entry_id, pets.confirmations) == ("shelter-pets", 1)


async def test_empty_placeholder_only_too_long_and_already_listed_questions_are_skipped(
        database: Database, kb: KnowledgeBase) -> None:
    for question in ["", "   ", "[NAME] [PHONE]", "?!", "Can our shelter have a CURFEW?",
                     "is a 10pm curfew ok", "curfew " * 60]:
        assert not await confirm(database, kb, question, "shelter-curfew"), question
    assert await rows(database) == []


async def test_placeholders_are_left_out_of_the_proposed_phrasing(
        database: Database, kb: KnowledgeBase) -> None:
    await confirm(database, kb, "can [NAME] bring her cat to the [I-94 NUMBER] shelter",
                  "shelter-pets")
    [row] = await rows(database)
    assert row.text == "can bring her cat to the shelter"


async def test_notes_added_for_staff_are_never_proposed_as_phrasings(
        database: Database, kb: KnowledgeBase) -> None:
    """Staff read "(asked right after an answer about: …)" and "(sent to staff after tabot
    answered it …)" in the queue; an entry's phrasings must hold only what advocates typed."""
    follow_up = FOLLOW_UP.format(question="what about teens?", topic="shelter curfew")
    assert not await confirm(database, kb, follow_up, "shelter-curfew", Confirmation.STAFF)
    sent = "curfew for residents on night shifts" + ANSWERED_WITH.format(entry="shelter-pets")
    assert await confirm(database, kb, sent, "shelter-curfew", Confirmation.STAFF)
    [row] = await rows(database)
    assert row.text == "curfew for residents on night shifts"


async def test_proposals_are_grouped_per_entry_most_confirmed_first(
        database: Database, kb: KnowledgeBase) -> None:
    await confirm(database, kb, "curfew for night shift workers", "shelter-curfew")
    for _ in range(3):
        await confirm(database, kb, "dogs allowed in shelter", "shelter-pets")
    await confirm(database, kb, "emotional support animal in shelter", "shelter-pets")
    for _ in range(2):
        await confirm(database, kb, "lock out after midnight", "shelter-curfew")
    await confirm(database, kb, "service animal rules", "shelter-pets")
    groups = await proposals(database, kb)
    assert [(g.entry_id, g.confirmations) for g in groups] == [("shelter-pets", 5),
                                                               ("shelter-curfew", 3)]
    assert groups[0].proposals[0].text == "dogs allowed in shelter"
    assert {p.text for p in groups[0].proposals[1:]} == {"emotional support animal in shelter",
                                                         "service animal rules"}
    assert [(p.text, p.confirmations, p.how()) for p in groups[1].proposals] == [
        ("lock out after midnight", 2, "2 picked"), ("curfew for night shift workers", 1,
                                                     "1 picked")]
    assert groups[0].entry is kb.entries["shelter-pets"]


async def test_approving_adds_only_the_new_lines_and_the_file_still_loads(
        database: Database, kb: KnowledgeBase) -> None:
    path = kb.entries["shelter-curfew"].path
    before = path.read_text(encoding="utf-8")
    await confirm(database, kb, "curfew for night shift workers", "shelter-curfew")
    await confirm(database, kb, "Do we lock out: after midnight?", "shelter-curfew")
    await confirm(database, kb, "can residents bring a cat", "shelter-pets")
    ids = [row.id for row in await rows(database)]
    done = await approve(database, kb, ids, STAFF)
    after = path.read_text(encoding="utf-8")
    assert added_lines(before, after) == [
        "+    - curfew for night shift workers",
        "+    - 'Do we lock out: after midnight?'",  # quoted only where YAML needs it
        "+  - can residents bring a cat",
    ]
    assert after.index("curfew for night shift") < after.index("# add regional wording below")
    assert done.added == {"shelter-curfew": ["curfew for night shift workers",
                                             "Do we lock out: after midnight?"],
                          "shelter-pets": ["can residents bring a cat"]}
    assert done.files == (path,)
    assert load_entry_file(path).ok
    assert kb.entries["shelter-curfew"].questions[-1] == "Do we lock out: after midnight?"
    assert [(r.state, r.decided_by) for r in await rows(database)] == [("approved", STAFF)] * 3
    assert await proposals(database, kb) == []


async def test_a_wording_another_entry_lists_is_refused_and_nothing_changes(
        database: Database, kb: KnowledgeBase) -> None:
    path = kb.entries["shelter-curfew"].path
    before = path.read_bytes()
    await confirm(database, kb, "Can residents bring their dog?", "shelter-curfew")
    [row] = await rows(database)
    with pytest.raises(LearningError, match="already a phrasing of 'shelter-pets'"):
        await approve(database, kb, [row.id], STAFF)
    assert path.read_bytes() == before
    assert [r.state for r in await rows(database)] == ["pending"]


# Holds the knowledge directory's editing lock, as another process approving or saving would,
# until a line comes on stdin.
HOLD_LOCK = """
import asyncio, sys
from pathlib import Path
from bot.knowledge.editing import editing_lock

async def main():
    async with editing_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

asyncio.run(main())
"""


async def test_approving_waits_while_another_process_edits_the_knowledge_directory(
        database: Database, kb: KnowledgeBase) -> None:
    """Two processes writing one file at once each write it as they read it: one's phrasings
    would be lost while the table says approved."""
    await confirm(database, kb, "curfew for night shift workers", "shelter-curfew")
    [row] = await rows(database)
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LOCK, str(kb.directory),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert (await holder.stdout.readline()).strip() == b"locked"
    approving = asyncio.create_task(approve(database, kb, [row.id], STAFF))
    await asyncio.sleep(1.0)
    assert not approving.done()
    holder.stdin.write(b"go\n")
    await holder.stdin.drain()
    await holder.wait()
    done = await asyncio.wait_for(approving, 60)
    assert done.added == {"shelter-curfew": ["curfew for night shift workers"]}


async def test_an_approved_wording_confirmed_again_is_not_proposed_again(
        database: Database, kb: KnowledgeBase) -> None:
    await confirm(database, kb, "curfew for night shift workers", "shelter-curfew")
    await approve(database, kb, [(await rows(database))[0].id], STAFF)
    assert not await confirm(database, kb, "Curfew for night-shift workers?", "shelter-curfew")


async def test_a_file_with_windows_line_ends_and_no_final_newline_keeps_them(
        database: Database, tmp_path: Path) -> None:
    directory = tmp_path / "crlf"
    directory.mkdir()
    text = ("id: pets\r\ncategory: standard\r\ntitle: Pets\r\nquestions:\r\n- dogs in shelter"
            "\r\nanswer: Yes.\r\nsources:\r\n- title: Source\r\nreviewed: 2026-10-01\r\n"
            "# last line without a newline")
    (directory / "pets.yaml").write_bytes(text.encode())
    kb = KnowledgeBase.load(directory)
    await confirm(database, kb, "cats in shelter", "pets")
    await approve(database, kb, [1], STAFF)
    written = (directory / "pets.yaml").read_bytes().decode()
    assert written == text.replace("- dogs in shelter\r\n", "- dogs in shelter\r\n"
                                   "- cats in shelter\r\n")


async def test_dismissed_proposals_keep_no_text_and_are_not_proposed_again(
        database: Database, kb: KnowledgeBase) -> None:
    path = kb.entries["shelter-pets"].path
    before = path.read_bytes()
    await confirm(database, kb, "can Maria's ferret come", "shelter-pets")
    [row] = await rows(database)
    assert await dismiss(database, [row.id], STAFF) == 1
    await confirm(database, kb, "can maria's ferret come?", "shelter-pets", Confirmation.HELPED)
    [row] = await rows(database)
    assert (row.state, row.text, row.decided_by, row.confirmations) == ("dismissed", "", STAFF,
                                                                        2)
    assert await proposals(database, kb) == []
    assert path.read_bytes() == before
    async with database.session() as session:
        logged = [(a.actor, a.action, a.target, a.detail)
                  for a in await session.scalars(select(AuditEntry))]
    assert logged == [(STAFF, "phrasing dismissed", "shelter-pets", f"#{row.id}")]


async def test_unknown_and_decided_ids_are_refused_and_nothing_changes(
        database: Database, kb: KnowledgeBase) -> None:
    path = kb.entries["shelter-pets"].path
    before = path.read_bytes()
    await confirm(database, kb, "dogs allowed", "shelter-pets")
    await confirm(database, kb, "rabbits allowed", "shelter-pets")
    first, second = (r.id for r in await rows(database))
    with pytest.raises(LearningError, match="no proposal #99, #100"):
        await approve(database, kb, [first, 99, 100], STAFF)
    await dismiss(database, [second], STAFF)
    with pytest.raises(LearningError, match=f"#{second} was dismissed by {STAFF}"):
        await approve(database, kb, [first, second], STAFF)
    with pytest.raises(LearningError, match="no proposal #7"):
        await dismiss(database, [7], STAFF)
    assert path.read_bytes() == before
    assert [r.state for r in await rows(database)] == ["pending", "dismissed"]


async def test_a_proposal_for_an_entry_that_left_the_knowledge_base_is_refused(
        database: Database, kb: KnowledgeBase, tmp_path: Path) -> None:
    await confirm(database, kb, "dogs allowed", "shelter-pets")
    await confirm(database, kb, "curfew at nine", "shelter-curfew")
    path = kb.entries["shelter-pets"].path
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index("- id: shelter-pets")], encoding="utf-8")
    kb.reload()
    groups = await proposals(database, kb)
    assert {(g.entry_id, g.entry is None) for g in groups} == {("shelter-pets", True),
                                                               ("shelter-curfew", False)}
    before = path.read_bytes()
    with pytest.raises(LearningError, match=r"#1 \('shelter-pets'\): the entry is no longer"):
        await approve(database, kb, [1, 2], STAFF)
    assert path.read_bytes() == before
    assert [r.state for r in await rows(database)] == ["pending", "pending"]


async def test_an_entry_whose_file_does_not_load_is_broken_not_gone(
        database: Database, kb: KnowledgeBase, tmp_path: Path) -> None:
    """Told "no longer in the knowledge base: dismiss these", staff threw away confirmed
    phrasings of an entry that only had a quote left open."""
    await confirm(database, kb, "curfew at nine", "shelter-curfew")
    path = kb.entries["shelter-curfew"].path
    broken = path.read_text(encoding="utf-8").replace("title: Curfews in shelter",
                                                      'title: "Curfews in shelter', 1)
    path.write_text(broken, encoding="utf-8")
    fresh = KnowledgeBase.load(tmp_path / "kb")  # as `tabot kb learn` loads it
    [group] = await proposals(database, fresh)
    assert group.entry is None and group.load_errors
    assert all(p.path == path and "YAML syntax error" in p.message for p in group.load_errors)
    with pytest.raises(LearningError) as refused:
        await approve(database, fresh, [1], STAFF)
    assert str(refused.value).startswith(f"#1 ('shelter-curfew'): its file did not load: "
                                         f"{path}:")
    assert "YAML syntax error" in str(refused.value) and "dismiss" not in str(refused.value)
    assert path.read_text(encoding="utf-8") == broken
    assert [r.state for r in await rows(database)] == ["pending"]


async def test_a_proposal_is_refused_while_its_entry_id_is_in_two_files(
        database: Database, kb: KnowledgeBase, tmp_path: Path) -> None:
    """A fresh load keeps the copy that sorts first, a running bot the file it already
    served: approving wrote only into a copy the bot never served, and said it succeeded."""
    await confirm(database, kb, "curfew at nine", "shelter-curfew")
    served = kb.entries["shelter-curfew"].path
    copy = write_text(tmp_path / "kb" / "best-practice" / "copy.yaml",
                      CURFEW[:CURFEW.index("- id: shelter-pets")])
    before = {path: path.read_bytes() for path in (served, copy)}
    fresh = KnowledgeBase.load(tmp_path / "kb")
    assert fresh.entries["shelter-curfew"].path == copy
    with pytest.raises(LearningError, match=(
            f"#1: 'shelter-curfew' is the id of entries in {copy} and {served}. Give one of "
            "them a new id")):
        await approve(database, fresh, [1], STAFF)
    assert {path: path.read_bytes() for path in (served, copy)} == before
    assert [r.state for r in await rows(database)] == ["pending"]


async def test_a_file_broken_since_it_loaded_is_left_alone(
        database: Database, kb: KnowledgeBase) -> None:
    await confirm(database, kb, "curfew at nine", "shelter-curfew")
    path = kb.entries["shelter-curfew"].path
    broken = path.read_text(encoding="utf-8").replace("  reviewed: 2026-10-01\n",
                                                      "  reviewed: someday\n", 1)
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(LearningError, match=r"has errors now .*reviewed.*Nothing was changed"):
        await approve(database, kb, [1], STAFF)
    assert path.read_text(encoding="utf-8") == broken
    assert [r.state for r in await rows(database)] == ["pending"]


async def test_questions_written_as_a_flow_list_are_refused_with_a_clear_message(
        database: Database, tmp_path: Path) -> None:
    text = ("id: pets\ncategory: standard\ntitle: Pets\nquestions: [dogs in shelter]\n"
            "answer: Yes.\nsources:\n- title: Source\nreviewed: 2026-10-01\n")
    write_text(tmp_path / "flow" / "pets.yaml", text)
    kb = KnowledgeBase.load(tmp_path / "flow")
    await confirm(database, kb, "cats in shelter", "pets")
    with pytest.raises(LearningError, match=r"flow, list.*one per line"):
        await approve(database, kb, [1], STAFF)
    assert (tmp_path / "flow" / "pets.yaml").read_text() == text
    assert [r.state for r in await rows(database)] == ["pending"]


def test_ids_are_read_as_staff_type_them() -> None:
    assert parse_ids(["12", "#7", " 12 "]) == [12, 7]
    with pytest.raises(LearningError, match="'TA-0042' is not a proposal id"):
        parse_ids(["TA-0042"])
    with pytest.raises(LearningError, match="at least one"):
        parse_ids([])


async def test_a_list_quoted_throughout_gets_its_new_items_quoted_the_same_way(
        database: Database, tmp_path: Path) -> None:
    text = ("id: pets\ncategory: standard\ntitle: Pets\nquestions:\n  - 'dogs in shelter'\n"
            "  - 'birds in shelter'\nanswer: Yes.\nsources:\n  - title: Source\n"
            "reviewed: 2026-10-01\n")
    write_text(tmp_path / "quoted" / "pets.yaml", text)
    kb = KnowledgeBase.load(tmp_path / "quoted")
    await confirm(database, kb, "cats in shelter", "pets")
    await approve(database, kb, [1], STAFF)
    assert added_lines(text, (tmp_path / "quoted" / "pets.yaml").read_text()) == [
        "+  - 'cats in shelter'"]
