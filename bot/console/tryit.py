"""Try it: type a question and see what an advocate would get, with the explanation that
`tabot ask --explain` prints; and from there, add the question as a phrasing of an entry in
one click (checked for personal details, and like any other edit)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.entry_store import UnreadableEntry, commit
from bot.console.pages import (
    Refused,
    Staff,
    checked_form,
    page,
    see_other,
    services,
    signed_in,
    text_field,
)
from bot.console.phrasings import lint_messages, personal_details, personal_details_refusal
from bot.knowledge.editing import EditError, add_phrasings
from bot.knowledge.learning import MAX_PHRASING_CHARS, phrasing_text
from bot.knowledge.matcher import Matcher, Outcome
from bot.knowledge.normalize import fold
from bot.store import audit

CANDIDATES = 5


async def try_page(request: Request) -> Response:
    """The empty form, or the notice after *Add as phrasing*. A question is never read from
    the address: there it would be kept in browser history and proxy logs."""
    staff = await signed_in(request)
    return _tried(request, staff, "")


async def try_question(request: Request) -> Response:
    """The question comes in a POST body and the result is this response, not a redirect,
    so the wording stays out of every URL."""
    staff = await signed_in(request)
    form = await checked_form(request, staff)
    limit = services(request).settings.max_message_chars
    return _tried(request, staff, text_field(form, "q").strip()[:limit])


def _tried(request: Request, staff: Staff, question: str) -> Response:
    svc = services(request)
    match = Matcher(svc.knowledge.index, svc.settings.thresholds).match(question) \
        if question else None
    return page(request, "try.html", {
        "q": question, "match": match, "outcome": Outcome,
        "candidates": match.candidates[:CANDIDATES] if match else [],
        "suggestions": match.suggestions(3) if match else [],
        "added": request.query_params.get("added", ""),
        "error": request.query_params.get("error", "")}, staff=staff)


async def add_phrasing(request: Request) -> Response:
    """Add the tried question to an entry's phrasings: the file gains one line."""
    staff = await signed_in(request)
    form = await checked_form(request, staff)
    svc = services(request)
    text = phrasing_text(text_field(form, "q", svc.settings.max_message_chars))
    entry_id = text_field(form, "entry", 200)
    if not text or len(text) > MAX_PHRASING_CHARS:
        raise Refused(400, "Not a phrasing", f"A phrasing has words and at most "
                      f"{MAX_PHRASING_CHARS} characters.")
    found = personal_details(svc.knowledge, text)
    if found:
        return page(request, "refusal.html", {"title": "Not added", "message":
                    personal_details_refusal(found)}, status=422, staff=staff)
    async with svc.editing():  # the entry as it is now: a retire may have run meanwhile
        entry = svc.knowledge.get(entry_id)
        if entry is None:
            raise Refused(404, "No such entry", "That entry is no longer in the knowledge base.")
        if fold(text) in {fold(q) for q in entry.questions}:
            return page(request, "refusal.html", {"title": "Already a phrasing", "message":
                        f"{entry.id} already lists this phrasing."}, status=409, staff=staff)
        try:
            messages = await asyncio.to_thread(lint_messages, svc.knowledge, entry, text)
        except UnreadableEntry as exc:
            raise Refused(409, "The entry's file has an error",
                          exc.explain(svc.knowledge.directory)) from None
        if messages:
            return page(request, "refusal.html", {
                "title": "Not added", "message": "; ".join(messages)}, status=422, staff=staff)
        try:
            add_phrasings(entry.path, {entry.id: [text]})
        except EditError as exc:
            raise Refused(409, "Not added", str(exc)) from None
        await asyncio.to_thread(svc.knowledge.reload)
        async with svc.db.session() as session, session.begin():
            audit.record(session, staff.actor.id, "phrasing added", entry.id)
        await asyncio.to_thread(commit, svc.knowledge.directory, [entry.path], staff.actor.id,
                                f"Add a phrasing to {entry.id} in the console")
    # Not the wording: a URL ends up in browser history and server logs.
    return see_other(f"/console/try?{urlencode({'added': entry.id})}")


ROUTES = [
    Route("/try", try_page, methods=["GET"]),
    Route("/try", try_question, methods=["POST"]),
    Route("/try/phrasing", add_phrasing, methods=["POST"]),
]
