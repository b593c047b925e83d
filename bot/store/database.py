"""The connection to the database: SQLite by default, PostgreSQL from DATABASE_URL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

from bot.store.postgres_url import asyncpg_url, connect_arguments

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
# A server that takes the connection and never answers must not hold a reply for long: a
# crisis message's hotlines wait for its urgent filing, which spools once the database fails.
# asyncpg's own default is 60 s to connect and no limit on a statement. The URL's
# connect_timeout / command_timeout override these.
CONNECT_SECONDS = 10.0
STATEMENT_SECONDS = 60.0
# PostgreSQL: the advisory lock every tabot process holds while it migrates ("tabot" in ASCII,
# easy to spot in pg_locks). SQLite: the lock file next to the database file does the same.
MIGRATION_LOCK_KEY = 0x7461626F74
LOCK_FILE_SUFFIX = ".lock"


class DatabaseUnavailable(Exception):
    """The database named by DATABASE_URL cannot be reached or used."""


class MigrationFailed(DatabaseUnavailable):
    """The database answered, but its schema could not be brought up to date.

    A subclass, so every caller that stops cleanly on `DatabaseUnavailable` still does; the
    message differs because the remedy does: a running server is no help here."""


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
        try:
            self.engine = _engine(make_url(url))
        except (OSError, ValueError) as exc:  # a file in the path; a value the driver refuses
            raise DatabaseUnavailable(_unusable(url, exc)) from None
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def location(self) -> str:
        """Where the data lives, fit to show a person: a file path, or the URL without password."""
        url = make_url(self.url)
        return str(url.database) if url.get_backend_name() == "sqlite" else safe_url(self.url)

    def session(self) -> AsyncSession:
        return self.sessions()

    async def upgrade(self) -> None:
        """Apply every pending migration, one process at a time, or explain what stopped it.

        Hosts start several processes at once (replicas, a deploy beside `tabot db upgrade`);
        unlocked, they ran the same migrations together and collided in the catalog. Whoever
        waited finds the schema at head and has nothing left to do."""
        try:
            async with self._file_lock(), self._migrating() as engine, \
                    engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Released with the transaction: when the migrations commit or roll back.
                    await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                             {"key": MIGRATION_LOCK_KEY})
                await connection.run_sync(_upgrade, safe_url(self.url))
        except (OperationalError, DBAPIError, OSError) as exc:
            raise DatabaseUnavailable(_unusable(self.url, exc)) from None

    @contextlib.asynccontextmanager
    async def _migrating(self) -> AsyncIterator[AsyncEngine]:
        """The engine to migrate with: on PostgreSQL one with no limit on a statement, since
        waiting for another process's migrations, or a migration itself, may take minutes."""
        parsed = make_url(self.url)
        if parsed.get_backend_name() == "sqlite":
            yield self.engine
            return
        engine = _engine(parsed, limit_statements=False)
        try:
            yield engine
        finally:
            await engine.dispose()

    def _file_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
        """SQLite has no advisory locks: a file beside the database stands in for one. An
        in-memory database belongs to one process and needs none."""
        url = make_url(self.url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return contextlib.nullcontext()
        path = Path(url.database).expanduser()
        return _holding(path.with_name(path.name + LOCK_FILE_SUFFIX))

    async def close(self) -> None:
        await self.engine.dispose()


def _engine(parsed: URL, limit_statements: bool = True) -> AsyncEngine:
    """An engine tuned for the backend; a SQLite file's folder is made if it is missing.
    On PostgreSQL a statement may run `STATEMENT_SECONDS` unless `limit_statements` is off."""
    if parsed.get_backend_name() != "sqlite":
        # libpq's connect_timeout, application_name and options, as asyncpg takes them.
        target, arguments = connect_arguments(asyncpg_url(parsed))
        arguments = {"timeout": CONNECT_SECONDS,
                     "command_timeout": STATEMENT_SECONDS if limit_statements else None,
                     **arguments}
        engine = create_async_engine(target, connect_args=arguments, pool_size=POOL_SIZE,
                                     max_overflow=MAX_OVERFLOW, hide_parameters=True)
        _ping_when_idle(engine, PING_IDLE_SECONDS)
        return engine
    if parsed.database in (None, "", ":memory:"):
        return create_async_engine(parsed)
    Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # One connection: SQLite takes one writer at a time, and writers that find the lock taken
    # poll for it with sleeps of up to 100 ms (busy_timeout), which put p99 near a second at
    # 16 askers. Queued for the one connection, they wait in order and wake as soon as it is
    # free.
    engine = create_async_engine(parsed, pool_size=1, max_overflow=0, pool_reset_on_return=None,
                                 hide_parameters=True)
    _tune_sqlite(engine)
    _roll_back_only_if_open(engine)
    return engine


def _unusable(url: str, exc: BaseException) -> str:
    """Why the database cannot be used, and what to check: SQLite has no server to be down,
    only a path that must lead, through folders, to a file tabot can write."""
    if make_url(url).get_backend_name() == "sqlite":
        remedy = ("Check that DATABASE_URL's path names a file you can write to, and that "
                  "every part before the file name is a folder.")
    else:
        remedy = "Check that the server is running and reachable, and the URL is right."
    return f"cannot use the database at DATABASE_URL={safe_url(url)}: {_reason(exc)}. {remedy}"


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


def _roll_back_only_if_open(engine: AsyncEngine) -> None:
    """Roll a returned SQLite connection back only if a transaction is still open on it.

    The pool rolls back every connection it takes back, committed or not; on aiosqlite that
    is one more hand-off to the driver's thread per transaction, on the one connection every
    asker queues for. A transaction the caller committed has nothing to undo; one left open
    (an error, a raw connection) is still rolled back, so the next caller never inherits it.
    """

    @event.listens_for(engine.sync_engine, "reset")
    def _reset(dbapi_connection: Any, _record: ConnectionPoolEntry,
               state: PoolResetState) -> None:
        if state.asyncio_safe and dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()


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
    """The first line of the driver's error; an OS error's text without its `[Errno 17]`."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__


def _upgrade(connection: Connection, where: str) -> None:
    """Apply the pending revisions one by one, so a failure can name the one that failed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    script = ScriptDirectory.from_config(config)
    current = MigrationContext.configure(connection).get_current_heads()
    for revision in current:
        if not _known(script, revision):
            raise MigrationFailed(
                f"the database at DATABASE_URL={where} is at schema revision {revision!r}, "
                "which this tabot does not know: a newer tabot has probably upgraded it. Run "
                "that version or a later one, or restore a backup; nothing was changed.")
    for step in reversed(list(script.iterate_revisions("heads", current or "base"))):
        try:
            command.upgrade(config, step.revision)
        except (CommandError, SQLAlchemyError) as exc:
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                raise  # the server went away mid-way: that is not the migration's fault
            raise MigrationFailed(_failed_step(where, step, exc)) from None


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def _failed_step(where: str, step: Script, exc: BaseException) -> str:
    title = (step.doc or "").strip().splitlines()[0] if (step.doc or "").strip() else ""
    return (f"migrating the database at DATABASE_URL={where} to schema revision "
            f"{step.revision}{f' ({title})' if title else ''} failed: {_reason(exc)}. The "
            "server is reachable; the schema is not what this revision expects. If the "
            "database was changed by hand or by another version of tabot, restore a backup; "
            "otherwise report this message to the tabot maintainers.")


@contextlib.asynccontextmanager
async def _holding(path: Path) -> AsyncIterator[None]:
    """An exclusive lock on `path`, waited for off the event loop. The operating system
    drops it when the process dies, so a crash never leaves the database locked."""
    with path.open("a+b") as handle:
        await asyncio.to_thread(_lock, handle.fileno())
        try:
            yield
        finally:
            _unlock(handle.fileno())


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:  # LK_LOCK gives up after 10 s; a migration may take longer
                continue

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
