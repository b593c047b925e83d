import asyncio
import datetime as dt
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.testing import QueueAdapter
from bot.chat.copy import SENT_LATE
from bot.chat.messages import (
    AnswerReply,
    CategoryReply,
    Choice,
    Delivery,
    DeliveryKind,
    EscalatedReply,
    Message,
    NotSent,
    OfferStaffReply,
    Recipient,
    Source,
    StaffAlert,
    SuggestReply,
    TextReply,
    TopicsReply,
    Undeliverable,
    UnsentReplies,
)
from bot.config import Settings
from bot.core import Core
from bot.delivery import STALE_REPLIES, Dispatcher
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.store.tables import EscalationEvent, OutboxMessage
from bot.triage import outbox, undelivered
from bot.triage.escalations import Reason
from tests.conftest import make_core, new_escalation

BLOCKED = "the asker has blocked the bot"


async def put(db: Database, platform: str = "test", user: str = "U1", text: str = "hello",
              kind: DeliveryKind = DeliveryKind.ANSWER) -> None:
    """An answer waiting for an asker, as a staff answer leaves it."""
    message = Message(platform, user, f"dm-{user}", "a question")
    escalation = await new_escalation(db, message, "a question", Reason.NO_MATCH, [])
    async with db.session() as session, session.begin():
        outbox.to_asker(session, kind, escalation, text)


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def events(db: Database) -> list[EscalationEvent]:
    async with db.session() as session:
        return list(await session.scalars(select(EscalationEvent)
                                          .where(EscalationEvent.kind != "created")))


async def lapse(db: Database, message_id: int) -> None:
    """Let a lease run out, as it does when its holder dies."""
    async with db.session() as session, session.begin():
        row = await session.get(OutboxMessage, message_id)
        row.lease_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)


async def test_a_lease_is_held_by_one_claimer_until_it_lapses(database: Database) -> None:
    await put(database)
    first = await outbox.claim(database, "test", "A")
    assert first is not None and not first.maybe_sent
    assert await outbox.claim(database, "test", "B") is None
    await lapse(database, first.id)
    again = await outbox.claim(database, "test", "B")
    assert again is not None and again.id == first.id
    assert again.maybe_sent  # A may have sent it before it died


async def test_rows_are_leased_one_at_a_time_so_a_dead_holder_keeps_only_one(
        database: Database) -> None:
    for text in ("one", "two", "three"):
        await put(database, text=text)
    first = await outbox.claim(database, "test", "A")
    second = await outbox.claim(database, "test", "B")
    assert (first.text, second.text) == ("one", "two")


async def test_only_the_lease_holder_can_mark_a_message_delivered(database: Database) -> None:
    await put(database)
    delivery = await outbox.claim(database, "test", "A")
    await lapse(database, delivery.id)
    taken_over = await outbox.claim(database, "test", "B")
    assert not await outbox.delivered(database, delivery.id, "A")
    assert await outbox.delivered(database, taken_over.id, "B")


async def test_a_renewed_lease_is_not_taken_over(database: Database) -> None:
    await put(database)
    delivery = await outbox.claim(database, "test", "A")
    await lapse(database, delivery.id)
    assert await outbox.renew(database, delivery.id, "A")
    assert await outbox.claim(database, "test", "B") is None


async def test_delivered_messages_are_never_claimed_again(database: Database) -> None:
    await put(database)
    delivery = await outbox.claim(database, "test", "A")
    assert await outbox.delivered(database, delivery.id, "A")
    await lapse(database, delivery.id)
    assert await outbox.claim(database, "test", "A") is None
    assert not await outbox.renew(database, delivery.id, "A")


async def test_claims_are_per_platform_and_per_user(database: Database) -> None:
    await put(database, "slack", "U1")
    await put(database, "telegram", "42")
    await put(database, "telegram", "43")
    assert (await outbox.claim(database, "telegram", "A", "43")).to.user_id == "43"
    assert (await outbox.claim(database, "slack", "A")).platform == "slack"
    assert await outbox.claim(database, "slack", "A") is None


class FlakyAdapter(QueueAdapter):
    """A platform that is down for the first attempts."""

    failures = 1

    async def deliver(self, delivery: Delivery) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("platform down")
        await super().deliver(delivery)


async def test_a_platform_that_is_down_gets_the_message_later(core: Core,
                                                               database: Database) -> None:
    adapter = FlakyAdapter(core)
    dispatcher = Dispatcher(database, [adapter])
    await put(database, "test", "U1", "the answer")
    assert await dispatcher.deliver_pending() == 0
    async with database.session() as session:
        row = (await session.scalars(select(OutboxMessage))).one()
        assert "platform down" in row.last_error and row.delivered_at is None
        row_id = row.id
    await lapse(database, row_id)
    assert await dispatcher.deliver_pending() == 1
    assert [d.text for d in adapter.delivered] == ["the answer"]
    assert await dispatcher.deliver_pending() == 0


async def age(db: Database, message_id: int, by: dt.timedelta) -> None:
    async with db.session() as session, session.begin():
        row = await session.get(OutboxMessage, message_id)
        row.created_at = dt.datetime.now(dt.UTC) - by


async def test_staff_are_told_once_when_an_answer_keeps_failing_for_over_an_hour(
        core: Core, database: Database) -> None:
    """A failure that is not a refusal for good (a group where the bot may no longer post)
    is retried for ever; staff who answered must learn the asker has not got it."""
    adapter = FlakyAdapter(core)
    adapter.failures = 3
    dispatcher = Dispatcher(database, [adapter], notify=("telegram",))
    await put(database, "test", "U1", "Invented answer text.")
    assert await dispatcher.deliver_pending() == 0
    [answer] = await rows(database)
    assert await events(database) == []  # an hour has not passed
    await age(database, answer.id, undelivered.DELAY_ALERT + dt.timedelta(minutes=1))
    for _ in range(2):
        await lapse(database, answer.id)
        assert await dispatcher.deliver_pending() == 0
    [_, alert] = await rows(database)
    assert (alert.kind, alert.platform) == (DeliveryKind.STAFF_ALERT, "telegram")
    assert alert.text.startswith("TA-0001: the answer has not reached the asker on test")
    assert "ConnectionError" in alert.text and "Invented" not in alert.text
    [event] = await events(database)
    assert event.kind == undelivered.DELAYED
    await lapse(database, answer.id)
    assert await dispatcher.deliver_pending() == 1  # still tried, and delivered in the end


async def test_an_answer_failing_for_an_hour_is_told_even_after_its_reference_was(
        core: Core, database: Database) -> None:
    """Staff told that the asker never got the reference still need to know the answer they
    wrote has not reached them either."""
    adapter = FlakyAdapter(core)
    adapter.failures = 10
    dispatcher = Dispatcher(database, [adapter], notify=("telegram",))
    message = Message("test", "U1", "dm-U1", "a question")
    escalation = await new_escalation(database, message, "a question", Reason.NO_MATCH, [])
    for kind, text in ((DeliveryKind.FILED, "Invented reference."),
                       (DeliveryKind.ANSWER, "Invented answer.")):
        async with database.session() as session, session.begin():
            outbox.to_asker(session, kind, escalation, text)
        [*_, row] = await rows(database)
        await age(database, row.id, undelivered.DELAY_ALERT + dt.timedelta(minutes=1))
        await lapse(database, row.id)
        assert await dispatcher.deliver_pending() == 0
    alerts = [r.text for r in await rows(database) if r.kind == DeliveryKind.STAFF_ALERT]
    assert [a.split(" has not")[0] for a in alerts] == ["TA-0001: the reference of their question",
                                                        "TA-0001: the answer"]


async def test_each_failure_waits_longer_before_the_next_try(core: Core,
                                                              database: Database) -> None:
    adapter = FlakyAdapter(core)
    adapter.failures = 3
    dispatcher = Dispatcher(database, [adapter])
    await put(database, "test", "U1", "the answer")
    waits = []
    for _ in range(3):
        before = dt.datetime.now(dt.UTC)
        assert await dispatcher.deliver_pending() == 0
        async with database.session() as session:
            row = (await session.scalars(select(OutboxMessage))).one()
            lease_until = row.lease_until.replace(tzinfo=row.lease_until.tzinfo or dt.UTC)
            waits.append((lease_until - before).total_seconds())
        assert await dispatcher.deliver_pending() == 0  # not tried again before its time
        await lapse(database, row.id)
    assert 1.5 < waits[0] < 3 and waits[0] < waits[1] < waits[2]
    assert await dispatcher.deliver_pending() == 1


def test_retries_back_off_to_ten_minutes_and_no_further() -> None:
    assert outbox.retry_wait(1) == outbox.FIRST_RETRY
    assert outbox.retry_wait(2) == 2 * outbox.FIRST_RETRY
    assert outbox.retry_wait(500) == outbox.LAST_RETRY


class SlowAdapter(QueueAdapter):
    """A platform whose every call takes longer than a lease lasts."""

    seconds = 0.0

    async def deliver(self, delivery: Delivery) -> None:
        await asyncio.sleep(self.seconds)
        await super().deliver(delivery)


async def test_a_send_slower_than_the_lease_is_not_taken_over_by_another_process(
        core: Core, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "LEASE", dt.timedelta(seconds=0.3))
    slow, other = SlowAdapter(core), SlowAdapter(core)
    slow.seconds = 1.0
    for text in ("one", "two"):
        await put(database, "test", "U1", text)
    first, second = Dispatcher(database, [slow]), Dispatcher(database, [other])
    sending = asyncio.create_task(first.deliver_pending())
    await asyncio.sleep(0.6)  # two lease lengths into the first send
    assert await second.deliver_pending() == 1
    assert await sending == 1
    assert sorted(d.text for d in slow.delivered + other.delivered) == ["one", "two"]


async def test_a_given_up_message_is_never_claimed_again(database: Database) -> None:
    await put(database)
    delivery = await outbox.claim(database, "test", "A")
    assert await undelivered.give_up(database, delivery.id, "A", BLOCKED)
    await lapse(database, delivery.id)
    assert await outbox.claim(database, "test", "A") is None
    assert await outbox.claim(database, "test", "B") is None
    assert not await outbox.renew(database, delivery.id, "A")
    assert not await outbox.delivered(database, delivery.id, "A")
    [row] = await rows(database)
    assert row.given_up_at is not None and row.delivered_at is None
    assert row.last_error == BLOCKED and row.attempts == 1


async def test_only_the_lease_holder_can_give_a_message_up(database: Database) -> None:
    await put(database)
    delivery = await outbox.claim(database, "test", "A")
    await lapse(database, delivery.id)
    taken_over = await outbox.claim(database, "test", "B")
    assert not await undelivered.give_up(database, delivery.id, "A", BLOCKED, ("telegram",))
    [row] = await rows(database)
    assert row.given_up_at is None and await events(database) == []
    assert await undelivered.give_up(database, taken_over.id, "B", BLOCKED, ("telegram",))
    assert [e.kind for e in await events(database)] == ["undelivered"]


async def test_an_answer_given_up_is_in_the_history_and_staff_are_told_on_each_platform(
        database: Database) -> None:
    await put(database, text="Invented answer: call the placeholder office.")
    delivery = await outbox.claim(database, "test", "A")
    assert await undelivered.give_up(database, delivery.id, "A", BLOCKED,
                                     ("slack", "telegram"))
    [event] = await events(database)
    assert (event.kind, event.actor, event.detail) == ("undelivered", "tabot:sweep",
                                                       f"the answer ({BLOCKED})")
    alerts = [r for r in await rows(database) if r.kind == DeliveryKind.STAFF_ALERT]
    assert sorted(r.platform for r in alerts) == ["slack", "telegram"]
    assert {r.text for r in alerts} == {"TA-0001: the answer could not be delivered to the "
                                        f"asker on test ({BLOCKED}). Reach them another way."}
    assert all(r.escalation_id == event.escalation_id and r.user_id is None for r in alerts)
    alert = await outbox.claim(database, "slack", "A")
    assert isinstance(alert, StaffAlert) and alert.reference == "TA-0001"


async def test_a_late_notice_given_up_says_so(database: Database) -> None:
    await put(database, kind=DeliveryKind.LATE)
    delivery = await outbox.claim(database, "test", "A")
    assert await undelivered.give_up(database, delivery.id, "A", BLOCKED, ("slack",))
    [alert] = [r for r in await rows(database) if r.kind == DeliveryKind.STAFF_ALERT]
    assert alert.text.startswith("TA-0001: the notice that the answer is late could not")


async def test_a_staff_message_given_up_tells_nobody(database: Database) -> None:
    message = Message("test", "U1", "dm-U1", "a question")
    await new_escalation(database, message, "a question", Reason.NO_MATCH, [],
                         notify=("slack",))
    notice = await outbox.claim(database, "slack", "A")
    assert await undelivered.give_up(database, notice.id, "A", "the Slack channel was archived",
                                     ("slack", "telegram"))
    assert [r.kind for r in await rows(database)] == [DeliveryKind.STAFF_NOTICE]
    assert await events(database) == []


class RefusingAdapter(QueueAdapter):
    """A platform that refuses every message for good, as when the asker blocked the bot."""

    tries = 0

    async def deliver(self, delivery: Delivery) -> None:
        self.tries += 1
        raise Undeliverable(BLOCKED)


async def test_the_dispatcher_gives_up_a_refused_message_and_logs_no_text(
        core: Core, database: Database, caplog: pytest.LogCaptureFixture) -> None:
    adapter = RefusingAdapter(core)
    dispatcher = Dispatcher(database, [adapter], notify=("telegram",))
    await put(database, "test", "U1", "Invented answer: the placeholder form.")
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        assert await dispatcher.deliver_pending() == 0
    [row, alert] = await rows(database)
    assert row.given_up_at is not None and row.last_error == BLOCKED
    assert alert.kind == DeliveryKind.STAFF_ALERT and alert.platform == "telegram"
    await lapse(database, row.id)
    assert await dispatcher.deliver_pending() == 0
    assert adapter.tries == 1  # not tried again
    [logged] = [r.getMessage() for r in caplog.records if r.name == "bot.delivery"]
    assert logged == f"delivery {row.id} to test given up: {BLOCKED}"


EVERY_KIND_OF_REPLY = [
    TextReply("Invented text."),
    AnswerReply("entry-a", "Entry A", "Invented answer.", (Source("A statute", "https://x.test"),
                                                           Source("A guide")), 0.91,
                related=(Choice("entry-b", "Entry B"),), disclaimer="Check locally.",
                context=7, full=True),
    SuggestReply((Choice("entry-a", "Entry A"), Choice("entry-b", "Entry B")), context=3),
    EscalatedReply("TA-0009", "two working days", "Sent to staff."),
    OfferStaffReply(context=4),
    TopicsReply({"housing": (Choice("entry-a", "Entry A"),), "legal": ()}),
    CategoryReply("housing", (Choice("entry-a", "Entry A"),)),
]


async def test_kept_replies_come_back_exactly_as_they_were_every_kind(
        database: Database) -> None:
    to = Message("test", "U1", "dm-U1", thread_id="1.5")
    await outbox.keep_replies(database, to, EVERY_KIND_OF_REPLY)
    delivery = await outbox.claim(database, "test", "me")
    assert isinstance(delivery, UnsentReplies)
    assert delivery.replies == tuple(EVERY_KIND_OF_REPLY)
    assert delivery.to == Recipient("U1", "dm-U1", "1.5")


async def test_kept_replies_that_cannot_be_read_are_passed_over_not_retried_for_ever(
        core: Core, database: Database, caplog: pytest.LogCaptureFixture) -> None:
    await outbox.keep_replies(database, Message("test", "U1", "dm-U1"), [TextReply("x")])
    async with database.session() as session, session.begin():
        (await session.scalars(select(OutboxMessage))).one().text = '[{"kind": "Gone"}]'
    adapter = QueueAdapter(core)
    assert await Dispatcher(database, [adapter]).deliver_pending() == 0
    assert adapter.delivered == []
    [row] = await rows(database)
    assert row.given_up_at is not None and row.last_error == STALE_REPLIES
    assert "could not be read (KeyError)" in caplog.text


async def test_kept_replies_a_day_old_are_given_up_not_sent(core: Core,
                                                            database: Database) -> None:
    await outbox.keep_replies(database, Message("test", "U1", "dm-U1"), [TextReply("x")])
    async with database.session() as session, session.begin():
        row = (await session.scalars(select(OutboxMessage))).one()
        row.created_at = row.created_at - outbox.REPLIES_KEPT_FOR - dt.timedelta(minutes=1)
    adapter = QueueAdapter(core)
    assert await Dispatcher(database, [adapter]).deliver_pending() == 0
    assert adapter.delivered == []
    [row] = await rows(database)
    assert row.given_up_at is not None and row.last_error == STALE_REPLIES


class PlatformDown(QueueAdapter):
    """A platform that takes no reply: every send is `NotSent`."""

    async def send(self, to: Message, replies: list) -> None:
        raise NotSent(0, "ConnectError")


async def test_replies_kept_while_the_platform_is_down_say_they_come_late(
        core: Core, database: Database) -> None:
    adapter = PlatformDown(core)
    replies = await adapter.dispatch(Message("test", "U1", "dm-U1", "can our shelter have a "
                                             "curfew for residents"))
    [row] = await rows(database)
    assert outbox.load_replies(row.text) == (TextReply(SENT_LATE), *replies)


@pytest.mark.parametrize("command", ["/status", "/queue"])
async def test_looked_up_records_are_never_kept_to_send_later(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path, command: str) -> None:
    """A person's questions, or the queue, would sit where the purge does not reach them (a
    console sign-in link is marked the same way, in `Conversation._console_link`)."""
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        staff=frozenset({"test:STAFF"}))
    adapter = PlatformDown(make_core(shipped_kb, database, settings))
    [reply] = await adapter.dispatch(Message("test", "STAFF", "dm-STAFF", command))
    assert isinstance(reply, TextReply) and not reply.keep_if_unsent
    assert await rows(database) == []


async def test_kept_replies_given_up_tell_no_staff(database: Database) -> None:
    """No staff member is waiting on the bot's own reply; the asker can ask again."""
    await outbox.keep_replies(database, Message("test", "U1", "dm-U1"), [TextReply("x")])
    delivery = await outbox.claim(database, "test", "me")
    assert await undelivered.give_up(database, delivery.id, "me", BLOCKED, ("telegram",))
    [row] = await rows(database)
    assert row.given_up_at is not None and not await events(database)
