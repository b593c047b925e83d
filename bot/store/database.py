"""The connection to the database: SQLite by default, PostgreSQL from DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class DatabaseUnavailable(Exception):
    """The database named by DATABASE_URL cannot be reached or used."""


def safe_url(url: str) -> str:
    """The URL with any password hidden, fit for messages."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_async_engine(url, pool_pre_ping=True)
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


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


STORAGE_ERRORS = (SQLAlchemyError, DatabaseUnavailable, OSError)
"""What a database that is down or unreachable raises, as the core catches it."""
