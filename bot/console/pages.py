"""What every console page shares: who is signed in, CSRF-checked forms, rendering, and the
refusal that any handler may raise to end a request with a clear page instead of data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.templating import Jinja2Templates

from bot.chat.messages import Actor
from bot.console.auth import session_for
from bot.console.security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE
from bot.console.services import Services

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
MAX_FORM_FIELDS = 200


class Refused(Exception):
    """End the request with a refusal page: `status` 401 (sign in), 403 (not allowed), 404,
    409 (the action cannot be done now) or 429 (too many attempts)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of this request, and the CSRF token their forms carry."""

    actor: Actor
    csrf: str
    session_hash: str


SIGN_IN_AGAIN = ("Your session has ended, or this browser is not signed in. Ask tabot for a "
                 "new sign-in link: send /console to the bot in Slack or Telegram, or run "
                 "`tabot console link platform:you` at a terminal.")


def services(request: Request) -> Services:
    return request.app.state.services


def local_today(request: Request) -> dt.date:
    """The coalition's date (TABOT_TIMEZONE), not the server's: near midnight they differ, and
    staff read "today" and "due for review" as their own day."""
    return dt.datetime.now(services(request).settings.timezone).date()


async def signed_in(request: Request) -> Staff:
    """The staff member behind this request's session cookie, or a 401 refusal."""
    svc = services(request)
    signer = await svc.signer()
    token = signer.unsign(request.cookies.get(SESSION_COOKIE))
    found = await session_for(svc.db, token, svc.staff) if token else None
    if found is None:
        raise Refused(401, "Please sign in", SIGN_IN_AGAIN)
    return Staff(found.actor, signer.csrf_token(found.token_hash), found.token_hash)


async def checked_form(request: Request, staff: Staff) -> FormData:
    """The submitted form, once its CSRF token (field or header) matches the session's."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    signer = await services(request).signer()
    if not isinstance(sent, str) or not signer.csrf_valid(staff.session_hash, sent):
        raise Refused(403, "This form has expired",
                      "The form was missing its security token, or it came from another "
                      "page. Go back, reload the page and try again.")
    return form


def text_field(form: FormData, name: str, limit: int = 50_000) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise Refused(400, "Unexpected upload", f"The field {name!r} must be text.")
    if len(value) > limit:
        raise Refused(400, "Too long", f"The field {name!r} is longer than {limit:,} characters.")
    return value


def page(request: Request, name: str, context: dict[str, Any], status: int = 200,
         staff: Staff | None = None) -> HTMLResponse:
    svc = services(request)
    return TEMPLATES.TemplateResponse(request, name, {
        "staff": staff, "timezone": svc.console.timezone, **context}, status_code=status)


def see_other(url: str) -> RedirectResponse:
    """After a form: go to a page with GET, so a reload never repeats the action."""
    return RedirectResponse(url, status_code=303)


def ago(moment: dt.datetime, now: dt.datetime | None = None) -> str:
    """'3 h ago': how staff read ages at a glance."""
    seconds = max(0, int(((now or dt.datetime.now(dt.UTC)) - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def _local(moment: dt.datetime, zone: dt.tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


TEMPLATES.env.filters["ago"] = ago
TEMPLATES.env.filters["local"] = _local
