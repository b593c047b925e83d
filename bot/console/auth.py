"""Who may use the console: one-time sign-in links and server-side sessions.

Nothing here stores a password. Staff get a link from the bot (or `tabot console link USER`);
it works once, within `LINK_LIFETIME`, and only for identities listed in TABOT_STAFF. The
database keeps only SHA-256 digests of link and session tokens, so a copy of it (a backup, a
log) lets no one sign in. A session ends when staff sign out, or after `IDLE_LIMIT` without a
request; both are decided here, on the server, whatever the browser keeps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.chat.messages import Actor
from bot.store.database import Database
from bot.store.tables import ConsoleKey, ConsoleLink, ConsoleSession, utcnow

LINK_LIFETIME = dt.timedelta(minutes=10)
IDLE_LIMIT = dt.timedelta(hours=8)
# A session's `last_seen` is written at most this often: not a write on every page view.
TOUCH_EVERY = dt.timedelta(minutes=1)
SIGNING_KEY = "cookie-signing"


class NotStaff(Exception):
    """The identity is not listed in TABOT_STAFF; no link is made for it."""


@dataclass(frozen=True)
class SignedIn:
    """A live console session: who, and the digest that names the session row."""

    actor: Actor
    token_hash: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything is stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


async def issue_link_token(db: Database, actor: Actor, staff: frozenset[str],
                           now: dt.datetime | None = None) -> str:
    """A new one-time sign-in token for `actor`, who must be staff. The caller turns it into a
    link (`bot.console.links.signin_url`) and sends it to that person only."""
    if actor.id not in staff:
        raise NotStaff(f"{actor.id} is not listed in TABOT_STAFF, so it gets no console link")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    async with db.session() as session, session.begin():
        session.add(ConsoleLink(token_hash=digest(token), actor=actor.id, created_at=now,
                                expires_at=now + LINK_LIFETIME))
    return token


async def redeem_link(db: Database, token: str, staff: frozenset[str],
                      now: dt.datetime | None = None) -> tuple[str, Actor] | None:
    """Use a link once: a new session token and its actor, or None when the link is unknown,
    expired, already used, or its person is no longer staff. The use is an atomic update, so
    two requests racing with one link make one session."""
    now = now or utcnow()
    hashed = digest(token)
    async with db.session() as session, session.begin():
        link = await session.scalar(select(ConsoleLink).where(ConsoleLink.token_hash == hashed))
        if link is None or link.used_at is not None or _utc(link.expires_at) <= now:
            return None
        used = await session.execute(
            update(ConsoleLink).where(ConsoleLink.id == link.id, ConsoleLink.used_at.is_(None))
            .values(used_at=now).execution_options(synchronize_session=False))
        if used.rowcount != 1 or link.actor not in staff:
            return None
        session_token = secrets.token_urlsafe(32)
        session.add(ConsoleSession(token_hash=digest(session_token), actor=link.actor,
                                   created_at=now, last_seen=now))
        return session_token, Actor.parse(link.actor)


async def session_for(db: Database, session_token: str, staff: frozenset[str],
                      now: dt.datetime | None = None) -> SignedIn | None:
    """The live session named by `session_token`, its idle clock restarted; None when it is
    unknown, ended, idle too long, or its person has left TABOT_STAFF since signing in."""
    now = now or utcnow()
    hashed = digest(session_token)
    async with db.session() as session:
        row = await session.scalar(select(ConsoleSession)
                                   .where(ConsoleSession.token_hash == hashed))
        if row is None or row.ended_at is not None or row.actor not in staff:
            return None
        last_seen = _utc(row.last_seen)
        if now - last_seen >= IDLE_LIMIT:
            return None
        if now - last_seen >= TOUCH_EVERY:
            await session.execute(update(ConsoleSession).where(ConsoleSession.id == row.id)
                                  .values(last_seen=now))
            await session.commit()
        return SignedIn(Actor.parse(row.actor), hashed)


async def end_session(db: Database, token_hash: str, now: dt.datetime | None = None) -> None:
    """Sign out: the session is over on the server, even if its cookie is replayed."""
    async with db.session() as session, session.begin():
        await session.execute(update(ConsoleSession)
                              .where(ConsoleSession.token_hash == token_hash,
                                     ConsoleSession.ended_at.is_(None))
                              .values(ended_at=now or utcnow()))


async def signing_key(db: Database) -> str:
    """The cookie-signing key, made on first use and shared through the database, so every
    process signs alike and sessions survive a restart. Two processes making it at once: the
    second insert fails on the primary key and the first one's key is read back."""
    async with db.session() as session:
        found = await session.get(ConsoleKey, SIGNING_KEY)
        if found is not None:
            return found.value
    try:
        async with db.session() as session, session.begin():
            session.add(ConsoleKey(name=SIGNING_KEY, value=secrets.token_urlsafe(48)))
    except IntegrityError:
        pass  # a concurrent insert won; read what it wrote
    async with db.session() as session:
        found = await session.get(ConsoleKey, SIGNING_KEY)
        assert found is not None
        return found.value


async def link_usable(db: Database, token: str, staff: frozenset[str],
                      now: dt.datetime | None = None) -> bool:
    """Would `redeem_link` accept this token now? Looking does not use it up, so a chat
    platform fetching the link for a preview cannot spend it."""
    now = now or utcnow()
    async with db.session() as session:
        link = await session.scalar(select(ConsoleLink)
                                    .where(ConsoleLink.token_hash == digest(token)))
    return (link is not None and link.used_at is None and _utc(link.expires_at) > now
            and link.actor in staff)
