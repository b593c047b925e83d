"""Database tables and the connection to them (SQLite by default, PostgreSQL from DATABASE_URL).

Only redacted text is ever written here. The schema is owned by Alembic migrations in
bot/migrations; `Database.upgrade()` applies them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import ClassVar

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__: ClassVar[dict] = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    conversation_id: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str | None] = mapped_column(String(128))
    program: Mapped[str | None] = mapped_column(String(128))
    tags: Mapped[str] = mapped_column(String(512), default="")
    reason: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(160))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    announced_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    late_notice_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    events: Mapped[list[EscalationEvent]] = relationship(
        back_populates="escalation", order_by="EscalationEvent.id"
    )

    @property
    def reference(self) -> str:
        return reference_for(self.id)


class EscalationEvent(Base):
    __tablename__ = "escalation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(160))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    escalation: Mapped[Escalation] = relationship(back_populates="events")


class OutboxMessage(Base):
    """A message that must reach someone: written in the same transaction as its cause, sent
    by whichever process serves its platform, retried until marked delivered."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                             index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SeenEvent(Base):
    """Platform events already handled: a retried or duplicated delivery is handled once,
    whichever process receives it."""

    __tablename__ = "seen_events"
    __table_args__ = (UniqueConstraint("platform", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TriagePost(Base):
    """Where a platform shows an escalation to staff, so the post can be updated in place."""

    __tablename__ = "triage_posts"
    __table_args__ = (UniqueConstraint("escalation_id", "platform", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(128))
    message_id: Mapped[str] = mapped_column(String(128))


class Invite(Base):
    """A code a member program's staff use to join on an open platform (Telegram)."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    program: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    program: Mapped[str] = mapped_column(String(128))
    invite_code: Mapped[str] = mapped_column(String(64))
    joined_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Every staff action, with who and when: claims, answers, notes, members, purges."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(160))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class InteractionCount(Base):
    """What survives the purge of interaction records: counts, for funder reports."""

    __tablename__ = "interaction_counts"
    __table_args__ = (UniqueConstraint("month", "platform", "program", "outcome", "entry_id",
                                       "feedback"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    platform: Mapped[str] = mapped_column(String(32))
    program: Mapped[str] = mapped_column(String(128), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[str] = mapped_column(String(128), default="")
    feedback: Mapped[str] = mapped_column(String(16), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    program: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[str | None] = mapped_column(String(128))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    feedback: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def reference_for(escalation_id: int) -> str:
    return f"TA-{escalation_id:04d}"


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
