import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from bot.store import database as database_module
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


@pytest.mark.parametrize("below", ["tabot.db", "sub/tabot.db"])
def test_a_sqlite_path_through_a_file_is_refused_naming_database_url(
        tmp_path: Path, below: str) -> None:
    """Making the file's folder failed with a bare `[Errno 17] File exists`."""
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(DatabaseUnavailable) as caught:
        Database(f"sqlite+aiosqlite:///{tmp_path}/afile/{below}")
    message = str(caught.value)
    assert message.startswith(f"cannot use the database at DATABASE_URL=sqlite+aiosqlite:///"
                              f"{tmp_path}/afile/")
    assert f"{tmp_path}/afile" in message and "Errno" not in message
    assert message.endswith("every part before the file name is a folder.")


async def test_a_folder_as_the_sqlite_database_is_explained_without_any_server(
        tmp_path: Path) -> None:
    """SQLite has no server; "check that the server is running" sent the admin looking
    for one."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}")
    with pytest.raises(DatabaseUnavailable) as caught:
        await db.upgrade()
    await db.close()
    message = str(caught.value)
    assert message.startswith(f"cannot use the database at DATABASE_URL=sqlite+aiosqlite:///"
                              f"{tmp_path}: unable to open database file. ")
    assert "server" not in message and "names a file you can write to" in message


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


async def test_a_server_that_takes_the_connection_and_never_answers_is_given_up_on_soon(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """asyncpg alone waits a minute to connect, and a crisis message's hotlines wait for its
    urgent filing: the engine must give up soon, so the filing is spooled instead."""
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers the startup message

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(database_module, "CONNECT_SECONDS", 0.5)
    db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")
    began = time.monotonic()
    try:
        with pytest.raises((TimeoutError, OSError, DBAPIError)):
            async with db.engine.connect():
                pass
        assert time.monotonic() - began < 5
    finally:
        await db.close()
        server.close()


async def test_a_failed_statement_is_reported_without_the_text_it_carried(
        database: Database) -> None:
    """SQL errors reach the log; their parameters can be a question's text."""
    async with database.engine.connect() as connection:
        with pytest.raises(DBAPIError) as failed:
            await connection.execute(text("SELECT CAST(:value AS INTEGER) + no_such_column"),
                                     {"value": "Invented Name 555-0100"})
    assert "555-0100" not in str(failed.value)


async def test_a_chat_statement_is_cut_off_but_a_migration_may_wait_its_turn(
        postgres_database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hung statement must not hold a reply (a crisis message's filing among them), but a
    process starting while another migrates waits for the lock as long as that takes."""
    monkeypatch.setattr(database_module, "STATEMENT_SECONDS", 0.5)
    db = Database(postgres_database.url)
    try:
        with pytest.raises((TimeoutError, DBAPIError)):
            async with db.engine.connect() as connection:
                await connection.execute(text("SELECT pg_sleep(2)"))
        async with postgres_database.engine.begin() as other:
            await other.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                {"key": database_module.MIGRATION_LOCK_KEY})
            waiting = asyncio.create_task(db.upgrade())
            await asyncio.sleep(1.5)  # three times the statement limit
            assert not waiting.done()
        await asyncio.wait_for(waiting, 30)
    finally:
        await db.close()
