"""The connection to the database: SQLite by default, PostgreSQL from DATABASE_URL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# SQLite: how long a writer waits for another process's write lock before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 5000
# PostgreSQL: connections kept open, and how many more may open under a burst. Sized so that
# 16 concurrent askers never open and close connections per message: an overflow connection is
# closed when it is returned, and opening one costs several round trips and milliseconds.
POOL_SIZE = 20
MAX_OVERFLOW = 10
# PostgreSQL: a pooled connection idle for longer than this is checked before it is used.
PING_IDLE_SECONDS = 10.0


class DatabaseUnavailable(Exception):
    """The database named by DATABASE_URL cannot be reached or used."""


def safe_url(url: str) -> str:
    """The URL with any password hidden, fit for messages."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """One engine per process, tuned per backend, owned by the runtime.

    Callers take a session (ORM work that reads and changes a few rows) or a connection from
    `engine` (plain inserts on the hot path); neither leaves the core. `upgrade()` is the one
    place the schema changes, and the only place a connection failure becomes
    `DatabaseUnavailable` with a message for the admin."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database not in (None, "", ":memory:"):
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                # One connection: SQLite takes one writer at a time, and writers that find the
                # lock taken poll for it with sleeps of up to 100 ms (busy_timeout), which put
                # p99 near a second at 16 askers. Queued for the one connection, they wait in
                # order and wake as soon as it is free.
                self.engine = create_async_engine(url, pool_size=1, max_overflow=0)
                _tune_sqlite(self.engine)
            else:
                self.engine = create_async_engine(url)
        else:
            self.engine = create_async_engine(url, pool_size=POOL_SIZE,
                                              max_overflow=MAX_OVERFLOW)
            _ping_when_idle(self.engine, PING_IDLE_SECONDS)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def location(self) -> str:
        """Where the data lives, fit to show a person: a file path, or the URL without password."""
        url = make_url(self.url)
        return str(url.database) if url.get_backend_name() == "sqlite" else safe_url(self.url)

    def session(self) -> AsyncSession:
        return self.sessions()

    async def upgrade(self) -> None:
        """Apply every pending migration, or explain why the database cannot be reached."""
        try:
            async with self.engine.begin() as connection:
                await connection.execute(text("SELECT 1"))
                await connection.run_sync(_upgrade)
        except (OperationalError, DBAPIError, OSError) as exc:
            raise DatabaseUnavailable(
                f"cannot use the database at DATABASE_URL={safe_url(self.url)}: "
                f"{_reason(exc)}. Check that the server is running and the URL is right."
            ) from None

    async def close(self) -> None:
        await self.engine.dispose()


def _tune_sqlite(engine: AsyncEngine) -> None:
    """Set on every new connection to a SQLite file:

    * WAL: readers never block the writer nor the writer the readers, and a commit appends to
      the log instead of rewriting pages; the mode is stored in the file, so every process
      (the bot, `tabot report`, `tabot escalations`) gets it.
    * busy_timeout: a writer that finds another process writing (`tabot escalations`, a second
      bot) waits up to 5 s for it instead of failing with "database is locked". Python's
      sqlite3 waits 5 s by default too; the pragma makes it explicit and keeps it if that
      default changes.
    * synchronous=NORMAL: with WAL, a commit no longer waits for the disk; a power cut may lose
      the last commits but never corrupts the file. A crashed process loses nothing.

    Foreign keys stay as SQLite's default (not enforced), as they always have been here;
    PostgreSQL enforces them.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection before use only if it sat idle for `idle_seconds`.

    `pool_pre_ping` checks every checkout, which on asyncpg is three round trips (BEGIN, a
    ping, ROLLBACK) on top of the INSERT and COMMIT it guards: a third of the recording path's
    round trips. Under load connections come back within milliseconds and cannot have gone
    stale; after a quiet spell, or a server restart, the first checkout still finds out and
    opens a new connection instead of failing the asker's message. A server that is down
    still fails on connect, as before.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
