from pathlib import Path

import pytest
from sqlalchemy import inspect, text

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


async def test_a_write_left_unfinished_on_sqlite_is_undone_before_the_next_caller(
        tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    await db.upgrade()
    async with db.engine.connect() as connection:  # a write the caller never commits
        raw = await connection.get_raw_connection()
        await raw.driver_connection.execute(
            "INSERT INTO seen_events (platform, key, created_at) VALUES ('t', 'k', '2026-01-01')")
    async with db.engine.connect() as connection:  # the same pooled connection, next caller
        assert await connection.scalar(text("SELECT count(*) FROM seen_events")) == 0
    await db.close()


def test_references_are_short_and_zero_padded() -> None:
    assert reference_for(42) == "TA-0042"
    assert reference_for(12345) == "TA-12345"


def test_safe_url_hides_passwords() -> None:
    assert safe_url("postgresql+asyncpg://u:pw@h/db") == "postgresql+asyncpg://u:***@h/db"
