"""Signing in with a one-time link, and signing out.

Opening a link (GET) only shows a "Sign in" button; pressing it (POST) uses the link. Chat
platforms fetch links to show previews, and a GET that used the link would spend it before
the staff member ever saw it. The form is bound to the browser that opened the link by a
short-lived signed cookie, so a page elsewhere cannot sign someone in as another person.
"""

from __future__ import annotations

import logging
import secrets
from typing import NoReturn

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.auth import IDLE_LIMIT, LINK_LIFETIME, end_session, link_usable, redeem_link
from bot.console.pages import (
    Refused,
    checked_form,
    page,
    see_other,
    services,
    signed_in,
    text_field,
)
from bot.console.security import PRESIGN_COOKIE, SESSION_COOKIE

log = logging.getLogger(__name__)
PREFIX = "/console"
BAD_LINK = ("This sign-in link has expired or has already been used. Links work once, for "
            "10 minutes. Ask tabot for a new one: send /console to the bot in Slack or "
            "Telegram, or run `tabot console link platform:you` at a terminal.")


def client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def refuse(request: Request, title: str, message: str) -> NoReturn:
    """Refuse a sign-in attempt: a 403, or a 429 once an address has had too many refused.

    Only refused attempts count, and a valid link is never refused for the limit. Behind a
    proxy every visitor may share one address, and a few bogus links would otherwise lock
    every staff member out. The limit is not what stops guessing (a link's token is 256
    random bits); it answers a flood of junk with 429s and says so once in the log."""
    if not services(request).limiter.allow(f"signin:{client(request)}"):
        log.warning("console: too many sign-in attempts from %s", client(request))
        raise Refused(429, "Too many attempts", "Too many refused sign-in attempts from this "
                      "address. Wait a minute; a link that has not been used still works.")
    raise Refused(403, title, message)


async def how_to(request: Request) -> Response:
    return page(request, "signin_help.html", {})


async def open_link(request: Request) -> Response:
    svc = services(request)
    token = request.path_params["token"]
    if not await link_usable(svc.db, token, svc.staff):
        log.warning("console: unusable sign-in link opened from %s", client(request))
        refuse(request, "This link cannot be used", BAD_LINK)
    nonce = secrets.token_urlsafe(16)
    response = page(request, "signin.html", {"token": token, "nonce": nonce})
    signer = await svc.signer()
    response.set_cookie(PRESIGN_COOKIE, signer.sign(nonce),
                        max_age=int(LINK_LIFETIME.total_seconds()), path=PREFIX,
                        httponly=True, samesite="strict", secure=svc.console.secure)
    return response


async def use_link(request: Request) -> Response:
    svc = services(request)
    form = await request.form(max_files=0, max_fields=5)
    token, nonce = text_field(form, "token", 200), text_field(form, "nonce", 200)
    signer = await svc.signer()
    if not nonce or signer.unsign(request.cookies.get(PRESIGN_COOKIE)) != nonce:
        log.warning("console: sign-in form from %s without its browser cookie", client(request))
        refuse(request, "Open the link again",
               "This sign-in form did not come from the page the link opened. Open the link "
               "you were sent again, in this browser, and press Sign in.")
    redeemed = await redeem_link(svc.db, token, svc.staff)
    if redeemed is None:
        log.warning("console: refused a spent, expired or unknown link from %s",
                    client(request))
        refuse(request, "This link cannot be used", BAD_LINK)
    session_token, actor = redeemed
    log.warning("console: %s signed in from %s", actor.id, client(request))
    response = see_other(f"{PREFIX}/queue")
    response.set_cookie(SESSION_COOKIE, signer.sign(session_token),
                        max_age=int(IDLE_LIMIT.total_seconds()), path=PREFIX, httponly=True,
                        samesite="strict", secure=svc.console.secure)
    response.delete_cookie(PRESIGN_COOKIE, path=PREFIX)
    return response


async def sign_out(request: Request) -> Response:
    staff = await signed_in(request)
    await checked_form(request, staff)
    await end_session(services(request).db, staff.session_hash)
    log.warning("console: %s signed out", staff.actor.id)
    response = page(request, "signed_out.html", {})
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


ROUTES = [
    Route("/signin", how_to, methods=["GET"]),
    Route("/signin", use_link, methods=["POST"]),
    Route("/signin/{token}", open_link, methods=["GET"]),
    Route("/signout", sign_out, methods=["POST"]),
]
