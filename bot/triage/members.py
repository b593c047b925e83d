"""Who may use tabot on an open platform: members of the coalition's programs.

Telegram is open to anyone, so a person joins with an invite code issued per member program
(`tabot members invite PROGRAM`). Revoking a code stops new joins with it; revoking a program
removes its members too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from bot.store import audit
from bot.store.database import Database
from bot.store.tables import Invite, Member, utcnow

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on a phone


class MembershipError(Exception):
    """The message says what went wrong and what to do."""


@dataclass(frozen=True)
class InviteView:
    code: str
    program: str
    created_by: str
    revoked: bool
    members: int


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


async def invite(db: Database, program: str, created_by: str) -> str:
    program = program.strip()
    if not program:
        raise MembershipError("Name the member program the code is for.")
    code = new_code()
    async with db.session() as session, session.begin():
        session.add(Invite(code=code, program=program, created_by=created_by,
                           created_at=utcnow()))
        audit.record(session, created_by, "member-invite", program, code)
    return code


async def join(db: Database, platform: str, user_id: str, code: str) -> str:
    """Register a person with a code; returns their program."""
    code = code.strip().upper()
    async with db.session() as session, session.begin():
        found = await session.scalar(select(Invite).where(Invite.code == code))
        if found is None or found.revoked_at is not None:
            raise MembershipError("That invite code is not valid. Ask your program's director "
                                  "or the coalition's TA staff for a new one.")
        member = await session.scalar(select(Member).where(Member.platform == platform,
                                                           Member.user_id == user_id))
        if member is None:
            session.add(Member(platform=platform, user_id=user_id, program=found.program,
                               invite_code=code, joined_at=utcnow()))
        else:
            member.program, member.invite_code, member.revoked_at = found.program, code, None
        return found.program


async def program_of(db: Database, platform: str, user_id: str) -> str | None:
    """The member program of a registered person, or None."""
    async with db.session() as session:
        return await session.scalar(select(Member.program).where(
            Member.platform == platform, Member.user_id == user_id,
            Member.revoked_at.is_(None)))


async def revoke(db: Database, code_or_program: str, actor: str) -> int:
    """Revoke a code (its members stay) or a whole program (its codes and members)."""
    now = utcnow()
    async with db.session() as session, session.begin():
        audit.record(session, actor, "member-revoke", code_or_program.strip())
        by_code = await session.execute(update(Invite).where(
            Invite.code == code_or_program.strip().upper(), Invite.revoked_at.is_(None))
            .values(revoked_at=now))
        if by_code.rowcount:
            return by_code.rowcount
        codes = await session.execute(update(Invite).where(
            Invite.program == code_or_program.strip(), Invite.revoked_at.is_(None))
            .values(revoked_at=now))
        people = await session.execute(update(Member).where(
            Member.program == code_or_program.strip(), Member.revoked_at.is_(None))
            .values(revoked_at=now))
        if not codes.rowcount and not people.rowcount:
            raise MembershipError(f"No active code or program named {code_or_program!r}; "
                                  "`tabot members list` shows them.")
        return codes.rowcount + people.rowcount


async def invites(db: Database) -> list[InviteView]:
    async with db.session() as session:
        rows = list(await session.scalars(select(Invite).order_by(Invite.program, Invite.id)))
        members = list(await session.scalars(select(Member).where(Member.revoked_at.is_(None))))
    return [InviteView(i.code, i.program, i.created_by, i.revoked_at is not None,
                       sum(m.invite_code == i.code for m in members)) for i in rows]
