"""The audit log: who did what, and when, for every staff action."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.database import Database
from bot.store.tables import AuditEntry, utcnow

# Escalation events that are staff actions (the others are the system's own).
STAFF_EVENTS = frozenset({"claimed", "answered", "note", "closed", "reopened", "reassigned",
                          "drafted"})


@dataclass(frozen=True)
class AuditView:
    at: dt.datetime
    actor: str
    action: str
    target: str
    detail: str


def record(session: AsyncSession, actor: str, action: str, target: str = "",
           detail: str = "", at: dt.datetime | None = None) -> None:
    """Add an entry inside the caller's transaction, so the action and its record go together."""
    session.add(AuditEntry(at=at or utcnow(), actor=actor, action=action, target=target,
                           detail=detail[:500]))


async def entries(db: Database, limit: int = 200) -> list[AuditView]:
    async with db.session() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())
                                     .limit(limit))
        return [AuditView(r.at, r.actor, r.action, r.target, r.detail) for r in rows]
