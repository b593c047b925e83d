"""The spool: questions for staff kept on disk while the database is down, filed once after."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import platformdirs
from sqlalchemy import select

from bot.chat.conversation import Conversation
from bot.chat.messages import DeliveryKind, Message
from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.store.interactions import Record, record_interaction
from bot.store.tables import Escalation, Interaction, OutboxMessage
from bot.triage.escalations import Reason
from bot.triage.spool import Spool, SpooledQuestion, file_spooled
from bot.triage.workflow import Triage

ASKER = Message("slack", "U1", "D1", "a question", thread_id="1.5", program="Northside")


def spooled(spool: Spool, question: str = "is [NAME] eligible for our program",
            reason: Reason = Reason.ASKED_FOR_STAFF) -> SpooledQuestion:
    item = SpooledQuestion.of(ASKER, question, reason, ["eligibility"],
                              Record(ASKER, question, "escalate", None, 0.2))
    spool.put(item)
    return item


async def rows(db: Database, model: type) -> list:
    async with db.session() as session:
        return list(await session.scalars(select(model).order_by(model.id)))


async def test_a_spooled_question_is_filed_with_its_record_and_the_asker_is_told(
        database: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spooled(spool)
    assert await file_spooled(database, spool, ("slack",), "within a day") == 1
    [escalation] = await rows(database, Escalation)
    assert (escalation.question, escalation.program, escalation.thread_id) == (
        "is [NAME] eligible for our program", "Northside", "1.5")
    assert [i.outcome for i in await rows(database, Interaction)] == ["escalate"]
    kinds = {row.kind: row for row in await rows(database, OutboxMessage)}
    assert set(kinds) == {DeliveryKind.FILED, DeliveryKind.STAFF_NOTICE}
    assert "TA-" in kinds[DeliveryKind.FILED].text
    assert kinds[DeliveryKind.FILED].conversation_id == "D1"
    assert len(spool) == 0


async def test_a_filed_question_is_dated_when_it_was_asked_not_when_the_database_came_back(
        database: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    asked = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    spool.put(replace(SpooledQuestion.of(ASKER, "a question", Reason.NO_MATCH, []),
                      at=asked.isoformat()))
    assert await file_spooled(database, spool, (), "within a day") == 1
    [escalation] = await rows(database, Escalation)
    created = escalation.created_at.replace(tzinfo=escalation.created_at.tzinfo or dt.UTC)
    assert abs(created - asked) < dt.timedelta(seconds=1)


async def test_a_question_filed_before_its_file_was_removed_is_not_filed_again(
        database: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    item = spooled(spool)
    kept = shutil.copy(spool.directory / f"{item.key}.json", tmp_path / "copy.json")
    assert await file_spooled(database, spool, (), "soon") == 1
    shutil.copy(kept, spool.directory / f"{item.key}.json")  # as if it died before unlinking
    assert await file_spooled(database, spool, (), "soon") == 0
    assert len(await rows(database, Escalation)) == 1
    assert len(spool) == 0


async def test_questions_are_filed_in_the_order_they_were_asked(database: Database,
                                                                tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for n in range(5):
        spooled(spool, f"question {n}")
    assert await file_spooled(database, spool, (), "soon") == 5
    assert [e.question for e in await rows(database, Escalation)] == [
        f"question {n}" for n in range(5)]


async def test_an_unreadable_spool_file_is_held_for_an_admin_and_the_rest_filed(
        database: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spooled(spool)
    (spool.directory / "broken.json").write_text("{not json")
    assert await file_spooled(database, spool, (), "soon") == 1
    assert len(spool) == 0
    assert [p.name for p in (spool.directory / "held").iterdir()] == ["broken.json"]


async def test_a_question_the_database_refuses_is_held_and_does_not_block_the_rest(
        database: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    refused = SpooledQuestion.of(ASKER, "a question", Reason.NO_MATCH, [])
    spool.put(SpooledQuestion(**{**asdict(refused), "reason": "no-such-reason"}))
    spooled(spool)
    assert await file_spooled(database, spool, (), "soon") == 1
    assert len(list((spool.directory / "held").iterdir())) == 1


def test_spool_files_are_readable_only_by_the_bot(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    item = spooled(spool)
    assert (spool.directory / f"{item.key}.json").stat().st_mode & 0o077 == 0
    assert spool.directory.stat().st_mode & 0o077 == 0


async def test_a_question_spooled_under_the_former_folder_name_is_still_filed(
        database: Database, tmp_path: Path) -> None:
    """The folder used to be named by a digest of the whole URL, password included."""
    url = "postgresql+asyncpg://tabot:s3cret@db.example.org/tabot"
    settings = Settings(database_url=url, knowledge_dir=tmp_path)
    former = platformdirs.user_data_path("tabot") / "spool" / hashlib.sha256(
        url.encode()).hexdigest()[:16]
    spooled(Spool(former), "asked before the upgrade")
    spool = Conversation(KnowledgeBase.load(tmp_path), database, settings).spool
    assert spool.directory != former and len(spool) == 1
    spooled(spool, "asked after it")
    assert await file_spooled(database, spool, (), "soon") == 2
    assert sorted(e.question for e in await rows(database, Escalation)) == [
        "asked after it", "asked before the upgrade"]
    assert not former.exists()  # emptied, it goes, and its name with it
    assert len(spool) == 0


async def test_an_unreadable_question_in_a_former_folder_is_held_and_the_folder_removed(
        database: Database, tmp_path: Path) -> None:
    former = Spool(tmp_path / "former")
    spooled(former)
    (former.directory / "broken.json").write_text("{not json")
    spool = Spool(tmp_path / "spool", former=(former.directory,))
    assert await file_spooled(database, spool, (), "soon") == 1
    assert [p.name for p in (spool.directory / "held").iterdir()] == ["broken.json"]
    assert not former.directory.exists()


async def test_an_off_topic_question_spooled_for_staff_becomes_a_ta_contact_when_filed(
        database: Database, tmp_path: Path) -> None:
    """The asker was told it was off-topic, then pressed Send to staff while the database was
    down: filed later, it must count once as a TA contact, as it does when filed at once."""
    async with database.engine.begin() as connection:
        asked = await record_interaction(connection, Record(ASKER, "what is the weather",
                                                                "off-topic"))
    spool = Spool(tmp_path / "spool")
    spool.put(SpooledQuestion.of(ASKER, "", Reason.NOT_HELPED, [], asked=asked))
    assert await file_spooled(database, spool, (), "soon") == 1
    [record] = await rows(database, Interaction)
    [escalation] = await rows(database, Escalation)
    assert (record.outcome, escalation.reason) == ("escalate", "off-topic")
    assert escalation.question == "what is the weather"


async def test_a_question_filed_after_a_long_outage_is_not_re_announced_at_once(
        database: Database, tmp_path: Path) -> None:
    """Filing queues a "new" notice; the next sweep (a minute later) must not add a "still
    unclaimed after 5 h" one because the question was asked before the outage."""
    spool = Spool(tmp_path / "spool")
    asked = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    spool.put(replace(SpooledQuestion.of(ASKER, "a question", Reason.NO_MATCH, []),
                      at=asked.isoformat()))
    assert await file_spooled(database, spool, ("slack",), "soon") == 1
    triage = Triage(database, frozenset(), ("slack",), unclaimed_after=dt.timedelta(hours=4))
    announced, _ = await triage.sweep(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    assert announced == []
    notices = [m for m in await rows(database, OutboxMessage)
               if m.kind == DeliveryKind.STAFF_NOTICE]
    assert len(notices) == 1
