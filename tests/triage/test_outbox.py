import datetime as dt

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


async def test_a_lease_is_held_by_one_claimer_until_it_lapses(database: Database) -> None:
    await put(database)
    [first] = await outbox.claim(database, "test")
    assert await outbox.claim(database, "test") == []
    async with database.session() as session, session.begin():
        row = await session.get(OutboxMessage, first.id)
        row.lease_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    [again] = await outbox.claim(database, "test")
    assert again.id == first.id


async def test_delivered_messages_are_never_claimed_again(database: Database) -> None:
    await put(database)
    [delivery] = await outbox.claim(database, "test")
    await outbox.delivered(database, delivery.id)
    async with database.session() as session, session.begin():
        row = await session.get(OutboxMessage, delivery.id)
        row.lease_until = None
    assert await outbox.claim(database, "test") == []


async def test_claims_are_per_platform_and_per_user(database: Database) -> None:
    await put(database, "slack", "U1")
    await put(database, "telegram", "42")
    await put(database, "telegram", "43")
    assert [d.to.user_id for d in await outbox.claim(database, "telegram", "43")] == ["43"]
    assert [d.platform for d in await outbox.claim(database, "slack")] == ["slack"]


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
    async with database.session() as session, session.begin():
        (await session.get(OutboxMessage, row_id)).lease_until = None
    assert await dispatcher.deliver_pending() == 1
    assert [d.text for d in adapter.delivered] == ["the answer"]
    assert await dispatcher.deliver_pending() == 0
