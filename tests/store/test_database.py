import pytest
from sqlalchemy import inspect

from bot.store.database import Database, DatabaseUnavailable, safe_url
from bot.store.tables import reference_for


async def test_migrations_create_every_table_and_can_run_twice(database: Database) -> None:
    await database.upgrade()
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"escalations", "escalation_events", "interactions", "alembic_version"} <= tables


async def test_an_unreachable_server_raises_a_message_naming_database_url() -> None:
    db = Database("postgresql+asyncpg://postgres:hunter2@127.0.0.1:9/none")
    with pytest.raises(DatabaseUnavailable) as caught:
        await db.upgrade()
    message = str(caught.value)
    assert message.startswith("cannot use the database at DATABASE_URL=")
    assert "hunter2" not in message and "Check that the server is running" in message
    await db.close()


def test_references_are_short_and_zero_padded() -> None:
    assert reference_for(42) == "TA-0042"
    assert reference_for(12345) == "TA-12345"


def test_safe_url_hides_passwords() -> None:
    assert safe_url("postgresql+asyncpg://u:pw@h/db") == "postgresql+asyncpg://u:***@h/db"
