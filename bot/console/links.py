"""Sign-in links as staff receive them: the address staff reach tabot at, plus a token.

Used by `tabot console link USER` and by the chat platforms' `/console` command, so the link
and its rules (staff only, once, ten minutes) are the same wherever it is asked for."""

from __future__ import annotations

from bot.chat.messages import Actor
from bot.console.auth import LINK_LIFETIME, issue_link_token
from bot.store.database import Database

PREFIX = "/console"


def signin_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{PREFIX}/signin/{token}"


async def signin_link(db: Database, actor: Actor, staff: frozenset[str],
                      public_url: str) -> str:
    """A one-time link for `actor` (who must be in TABOT_STAFF, or `NotStaff` is raised)."""
    return signin_url(public_url, await issue_link_token(db, actor, staff))


def link_message(url: str) -> str:
    """What the bot sends with a link: where it goes and how long it lasts."""
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    return (f"Your sign-in link for the tabot staff console (works once, for {minutes} "
            f"minutes; do not forward it):\n{url}")
