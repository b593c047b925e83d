import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from adapters.testing import QueueAdapter
from bot.chat.messages import Delivery, DeliveryKind, Message
from bot.core import Core
from bot.delivery import Dispatcher
from bot.store.database import Database
from bot.store.tables import OutboxMessage
from bot.triage import outbox
from bot.triage.escalations import Reason
from tests.conftest import new_escalation


async def put(db: Database, platform: str = "test", user: str = "U1", text: str = "hello") -> None:
    """An answer waiting for an asker, as a staff answer leaves it."""
    message = Message(platform, user, f"dm-{user}", "a question")
    escalation = await new_escalation(db, message, "a question", Reason.NO_MATCH, [])
    async with db.session() as session, session.begin():
        outbox.to_asker(session, DeliveryKind.ANSWER, escalation, text)


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
