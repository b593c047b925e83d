"""The console as one Starlette application, mounted by the runtime under `/console`.

Every response passes through `SecurityHeaders`; every refusal, unknown address or unexpected
error becomes a short page with the right status, never a traceback and never data. Refusals
are logged (without tokens) and rate-limited per client address.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from bot.console import (
    escalation,
    figures,
    knowledge,
    learning,
    members,
    queue,
    signin,
    tryit,
)
from bot.console.pages import HERE, Refused, page, services
from bot.console.security import SecurityHeaders
from bot.console.services import Services

log = logging.getLogger(__name__)
PREFIX = "/console"


def _loggable(path: str) -> str:
    """The path, with any sign-in token left out of the log."""
    return f"{PREFIX}/signin/<token>" if path.startswith(f"{PREFIX}/signin/") else path


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    where = signin.client(request)
    log.warning("console: %s %s refused (%s) for %s: %s", request.method,
                _loggable(request.url.path), exc.status, where, exc.title)
    if exc.status in (401, 403) and not services(request).limiter.allow(f"refused:{where}"):
        exc = Refused(429, "Too many refusals", "Too many refused requests from this address. "
                      "Wait a minute and try again.")
    return page(request, "refusal.html", {"title": exc.title, "message": exc.message},
                status=exc.status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Not found", 405: "Not allowed here"}
    title = titles.get(exc.status_code, "Cannot do that")
    message = ("There is no console page at this address." if exc.status_code == 404
               else "That request cannot be made to this address.")
    return page(request, "refusal.html", {"title": title, "message": message},
                status=exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("console: %s %s failed", request.method, _loggable(request.url.path))
    return page(request, "refusal.html", {
        "title": "Something went wrong", "message": "The console could not finish this "
        "request; nothing more was changed. Try again, and tell the coalition's admin if it "
        "keeps happening."}, status=500)


def build_console(svc: Services) -> ASGIApp:
    """The headers wrap the whole application, so even the page for an unexpected error
    (made by Starlette's outermost middleware) carries them."""
    routes = [*signin.ROUTES, *queue.ROUTES, *escalation.ROUTES, *knowledge.ROUTES,
              *tryit.ROUTES, *learning.ROUTES, *figures.ROUTES, *members.ROUTES,
              Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static")]
    app = Starlette(routes=routes, exception_handlers={
        Refused: refused, HTTPException: http_error, Exception: server_error})
    app.state.services = svc
    return SecurityHeaders(app)


def console_mount(svc: Services) -> Mount:
    """The console for the runtime's web server: one route, `/console/...`."""
    return Mount(PREFIX, app=build_console(svc))
