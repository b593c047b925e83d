"""Members and staff: Telegram invite codes per member program (create, list, revoke), each
with its `t.me` link and a QR code a program director can print; and who is staff.

Codes are made and revoked by `bot.triage.members`, the code behind `tabot members`, so the
audit log records the console's changes exactly as the command line's. The link needs the
bot's username (TELEGRAM_BOT_USERNAME, as for `tabot members invite`); without it the page
says so and offers the code alone, which members send as `/start CODE`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import segno
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.chat.messages import Actor
from bot.console.pages import (
    Refused,
    checked_form,
    page,
    see_other,
    services,
    signed_in,
    text_field,
)
from bot.triage import members
from bot.triage.members import CODE_ALPHABET, InviteView, MembershipError

MAX_PROGRAM = 200
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")  # Telegram's rule: 5 to 32 characters
_CODE = re.compile(f"[{CODE_ALPHABET}]{{4,16}}")


def bot_username(raw: str) -> tuple[str, str]:
    """(username, problem): the username if it is one Telegram could have, else a reason."""
    if not raw:
        return "", ("TELEGRAM_BOT_USERNAME is not set, so tabot cannot make t.me links or QR "
                    "codes. Set it to the bot's username (BotFather shows it) and restart. "
                    "Until then, members join by sending /start followed by the code to the "
                    "bot.")
    if not _USERNAME.fullmatch(raw):
        return "", (f"TELEGRAM_BOT_USERNAME is {raw[:40]!r}, which is not a Telegram username "
                    "(5 to 32 letters, digits or _, starting with a letter), so tabot cannot "
                    "make t.me links or QR codes.")
    return raw, ""


def deep_link(username: str, code: str) -> str:
    """The link that opens the bot and sends `/start CODE`, as `tabot members invite` prints."""
    return f"https://t.me/{username}?start={quote(code)}"


def qr_svg(url: str, title: str) -> bytes:
    """A QR code as a small SVG (about 2 KB) that scales to any print size without blurring."""
    code = segno.make(url, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=1, border=4, xmldecl=False, omitsize=True, title=title)
    return out.getvalue()


@dataclass(frozen=True)
class Program:
    name: str
    invites: list[InviteView]

    @property
    def members(self) -> int:
        return sum(i.members for i in self.invites)

    @property
    def active(self) -> int:
        return sum(not i.revoked for i in self.invites)


def programs(invites: Iterable[InviteView]) -> list[Program]:
    grouped: dict[str, list[InviteView]] = {}
    for invite in invites:
        grouped.setdefault(invite.program, []).append(invite)
    return [Program(name, found) for name, found in sorted(grouped.items(),
                                                            key=lambda p: p[0].casefold())]


def staff_list(staff: frozenset[str]) -> list[Actor]:
    return sorted((Actor.parse(s) for s in staff if ":" in s), key=lambda a: (a.platform,
                                                                               a.user_id))


async def members_page(request: Request) -> Response:
    staff = await signed_in(request)
    svc = services(request)
    username, problem = bot_username(svc.console.telegram_bot)
    query = request.query_params
    return page(request, "members.html", {
        "programs": programs(await members.invites(svc.db)), "username": username,
        "problem": problem, "staff_members": staff_list(svc.staff),
        "created": query.get("created", "")[:16], "revoked": query.get("revoked", "")[:MAX_PROGRAM],
        "deep_link": deep_link}, staff=staff)


async def create_invite(request: Request) -> Response:
    staff = await signed_in(request)
    form = await checked_form(request, staff)
    program = " ".join(text_field(form, "program", MAX_PROGRAM).split())
    try:
        code = await members.invite(services(request).db, program, staff.actor.id)
    except MembershipError as exc:
        raise Refused(400, "No code made", str(exc)) from None
    return see_other(f"/console/members?{urlencode({'created': code})}#invite-{code}")


async def revoke(request: Request) -> Response:
    """A code (its members keep access), or a whole program (its codes and its members),
    the second only with its box ticked: it takes access away from people."""
    staff = await signed_in(request)
    form = await checked_form(request, staff)
    code = text_field(form, "code", 16).strip().upper()
    program = text_field(form, "program", MAX_PROGRAM).strip()
    if code and not _CODE.fullmatch(code):
        raise Refused(400, "Not an invite code", f"{code[:16]!r} is not an invite code.")
    if not code and not program:
        raise Refused(400, "Nothing to revoke", "Choose a code or a program to revoke.")
    if not code and form.get("confirm") != "yes":
        raise Refused(400, "Not revoked", f"Tick the box to confirm that {program}'s members "
                      "lose access; nothing was changed.")
    try:
        await members.revoke(services(request).db, code or program, staff.actor.id)
    except MembershipError as exc:
        raise Refused(404, "Nothing revoked", str(exc).split(";")[0] + ".") from None
    return see_other(f"/console/members?{urlencode({'revoked': code or program})}")


async def _active_invite(request: Request) -> tuple[InviteView, str]:
    """The active code named in the address, and the bot's username; 404 otherwise."""
    code = request.path_params["code"].upper()
    svc = services(request)
    found = next((i for i in await members.invites(svc.db)
                  if i.code == code and not i.revoked), None) if _CODE.fullmatch(code) else None
    if found is None:
        raise Refused(404, "No such code", "There is no active invite code at this address; "
                      "it may have been revoked.")
    username, problem = bot_username(svc.console.telegram_bot)
    if not username:
        raise Refused(404, "No link without the bot's username", problem)
    return found, username


async def invite_qr(request: Request) -> Response:
    await signed_in(request)
    invite, username = await _active_invite(request)
    svg = qr_svg(deep_link(username, invite.code), f"Join tabot for {invite.program}")
    return Response(svg, media_type="image/svg+xml")  # no-store, like every console page


async def invite_print(request: Request) -> Response:
    """One page to print and pin up: the program, the QR code, the link and the code."""
    staff = await signed_in(request)
    invite, username = await _active_invite(request)
    return page(request, "invite_print.html", {
        "invite": invite, "link": deep_link(username, invite.code), "username": username},
        staff=staff)


ROUTES = [
    Route("/members", members_page, methods=["GET"]),
    Route("/members/invite", create_invite, methods=["POST"]),
    Route("/members/revoke", revoke, methods=["POST"]),
    Route("/members/invites/{code}/qr.svg", invite_qr, methods=["GET"]),
    Route("/members/invites/{code}", invite_print, methods=["GET"]),
]
