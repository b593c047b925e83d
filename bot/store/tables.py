"""The tables. What askers wrote is written to them only redacted; staff answers and notes
are kept as staff wrote them (they carry the contacts an answer needs), and purged with
their question.

The schema is owned by the Alembic migrations in bot/store/migrations; `Database.upgrade()`
applies them.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


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
    # Set when filed from the local spool: the spooled question's key, filed at most once.
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)

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
    by whichever process serves its platform, retried until marked delivered, or given up
    when the platform refuses it for good (`last_error` then says why)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str | None] = mapped_column(String(128))  # None: for staff
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    thread_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # the process holding it
    # When a send began: a row with this set and no delivered_at may have reached the platform.
    send_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                             index=True)
    given_up_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def outbox_pending() -> ColumnElement[bool]:
    """An outbox message still to be sent: neither delivered nor given up. One definition
    for the sender (`bot.triage.outbox`) and the purge (`bot.store.retention`)."""
    return and_(OutboxMessage.delivered_at.is_(None), OutboxMessage.given_up_at.is_(None))


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


class LearnedPhrasing(Base):
    """A way of asking that people confirmed leads to an entry, proposed as a new phrasing.

    Not tied to an asker (no platform, user or program); a pending row is purged once nobody
    has confirmed it for the interactions' retention time. One row per entry and key; the
    counts say how it was confirmed. A dismissed row keeps its key, so the phrasing is not
    proposed again, but not its text.
    """

    __tablename__ = "learned_phrasings"
    __table_args__ = (UniqueConstraint("entry_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(String(128), index=True)
    key: Mapped[str] = mapped_column(String(64))  # sha256 of the folded text
    text: Mapped[str] = mapped_column(Text)  # redacted, as first confirmed; "" once dismissed
    picked: Mapped[int] = mapped_column(Integer, default=0)  # chosen among suggestions
    helped: Mapped[int] = mapped_column(Integer, default=0)  # answered, marked This helped
    by_staff: Mapped[int] = mapped_column(Integer, default=0)  # staff answered with the entry
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(160))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ConsoleLink(Base):
    """A one-time sign-in link for the web console. Only a digest of its token is kept, so
    the table cannot be used to sign in; `used_at` makes it work once."""

    __tablename__ = "console_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    actor: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ConsoleSession(Base):
    """A signed-in staff member's console session, held server-side so signing out (or idling
    past the limit) ends it whatever the browser keeps. Only a digest of its token is kept."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    actor: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ConsoleKey(Base):
    """A secret the console keeps (the cookie-signing key), shared by every process."""

    __tablename__ = "console_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
