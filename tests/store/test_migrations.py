"""Migrations as hosts run them: many processes started at once, and schemas they cannot read."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot.store.database import MIGRATIONS, Database, MigrationFailed
from tests.conftest import REPO, drop_postgres_database, fresh_postgres_database, postgres_url

STARTS = 12


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


async def tabot_db_upgrade(database_url: str) -> tuple[int, str]:
    """`tabot db upgrade` in a process of its own: its exit code and what it printed on stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "db", "upgrade", cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, stderr = await process.communicate()
    return process.returncode, stderr.decode()


async def start_all_at_once(database_url: str) -> None:
    results = await asyncio.gather(*(tabot_db_upgrade(database_url) for _ in range(STARTS)))
    failures = [stderr for code, stderr in results if code != 0]
    assert failures == [], f"{len(failures)} of {STARTS} starts failed; first: {failures[:1]}"


async def revisions(db: Database) -> list[str]:
    async with db.engine.connect() as connection:
        return list((await connection.execute(text("SELECT version_num FROM alembic_version")))
                    .scalars())


@pytest.fixture
async def postgres_url_of_empty_database() -> str:
    if postgres_url() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set TEST_DATABASE_URL")
        pytest.skip("TEST_DATABASE_URL is not set (CI sets it)")
    url = await fresh_postgres_database()
    yield url
    await drop_postgres_database(url)


@pytest.mark.postgres
async def test_twelve_processes_started_together_on_an_empty_postgres_database_all_come_up(
        postgres_url_of_empty_database: str) -> None:
    await start_all_at_once(postgres_url_of_empty_database)
    db = Database(postgres_url_of_empty_database)
    assert await revisions(db) == [head_revision()]
    await db.close()


async def test_twelve_processes_started_together_on_a_new_sqlite_file_all_come_up(
        tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    await start_all_at_once(url)
    db = Database(url)
    assert await revisions(db) == [head_revision()]
    await db.close()


async def test_a_schema_from_an_unknown_revision_is_reported_as_a_migration_failure(
        database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(MigrationFailed) as caught:
        await database.upgrade()
    message = str(caught.value)
    assert "9999_future" in message and "newer tabot" in message
    assert "Check that the server is running" not in message


async def test_a_failing_migration_names_its_revision_and_does_not_blame_the_server(
        database: Database) -> None:
    async with database.engine.begin() as connection:  # tables there, but no record of them
        await connection.execute(text("DELETE FROM alembic_version"))
    with pytest.raises(MigrationFailed) as caught:
        await database.upgrade()
    message = str(caught.value)
    assert "schema revision 0001" in message and "already exists" in message
    assert "Check that the server is running" not in message


async def test_tabot_db_upgrade_reports_a_migration_failure_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'future.db'}"
    db = Database(url)
    await db.upgrade()
    async with db.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    await db.close()
    code, stderr = await tabot_db_upgrade(url)
    assert code == 2
    assert "9999_future" in stderr and "Traceback" not in stderr
    assert "Check that the server is running" not in stderr


def _downgrade(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _phrasings_schema(connection: Connection) -> tuple[bool, list[list[str]]]:
    inspector = inspect(connection)
    if "learned_phrasings" not in inspector.get_table_names():
        return False, []
    return True, [c["column_names"] for c in
                  inspector.get_unique_constraints("learned_phrasings")]


async def test_0008_adds_learned_phrasings_one_row_per_entry_and_wording_and_goes_back(
        database: Database) -> None:
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_phrasings_schema) == (True, [["entry_id", "key"]])
    async with database.engine.begin() as connection:
        await connection.run_sync(_downgrade, "0007")
    assert await revisions(database) == ["0007"]
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_phrasings_schema) == (False, [])
    await database.upgrade()
    assert await revisions(database) == [head_revision()]
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_phrasings_schema) == (True, [["entry_id", "key"]])


def _outbox_columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("outbox")}


async def test_0010_adds_the_given_up_time_to_the_outbox_and_goes_back(
        database: Database) -> None:
    async with database.engine.connect() as connection:
        assert "given_up_at" in await connection.run_sync(_outbox_columns)
    async with database.engine.begin() as connection:
        await connection.run_sync(_downgrade, "0009")
    async with database.engine.connect() as connection:
        assert "given_up_at" not in await connection.run_sync(_outbox_columns)
    await database.upgrade()
    assert await revisions(database) == [head_revision()]
    async with database.engine.connect() as connection:
        assert "given_up_at" in await connection.run_sync(_outbox_columns)
