"""One escalation: its redacted question, history and notes, the bot's best guesses, and the
staff actions. Every action calls `Triage`, the same operation Slack, Telegram and the CLI
call, so the audit log, the relay to the asker and the triage-post updates are identical."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.chat.messages import Actor
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
from bot.knowledge.entries import Entry
from bot.knowledge.matcher import Matcher
from bot.store.errors import STORAGE_ERRORS
from bot.triage.workflow import (
    MAX_ANSWER_CHARS,
    EscalationView,
    Triage,
    TriageError,
    answer_seen,
    entry_answer_text,
    relay_text,
)

log = logging.getLogger(__name__)
ACTIONS = ("claim", "answer", "entry", "note", "reassign", "close", "reopen")
DONE = {"claim": "Claimed.", "answer": "Answer sent; the asker receives it on their platform.",
        "entry": "Answered with the entry; the asker receives it on their platform.",
        "note": "Note added (staff only).", "reassign": "Reassigned.", "close": "Closed.",
        "reopen": "Reopened."}
GUESSES = 3


async def _view(request: Request, staff: Staff, reference: str) -> EscalationView:
    try:
        return await services(request).triage.show(reference, staff.actor)
    except TriageError as exc:
        raise Refused(404, "No such question", str(exc)) from None


def best_guesses(request: Request, question: str) -> list[Entry]:
    """The entries the bot finds closest to the question, to answer with in one click."""
    svc = services(request)
    match = Matcher(svc.knowledge.index, svc.settings.thresholds).match(question)
    return match.suggestions(GUESSES)


def _render(request: Request, staff: Staff, view: EscalationView, error: str = "",
            typed: dict[str, str] | None = None, status: int = 200) -> Response:
    svc = services(request)
    done = DONE.get(request.query_params.get("done", ""), "")
    return page(request, "escalation.html", {
        "view": view, "guesses": best_guesses(request, view.question), "error": error,
        "done": "" if error else done, "typed": typed or {},
        "staff_list": sorted(a.id for a in svc.triage.staff if a != staff.actor),
        "preview": relay_text(view.reference, view.question, (typed or {}).get("answer", "")),
        "max_answer": MAX_ANSWER_CHARS, "seen": answer_seen(view.answer)},
        status=status, staff=staff)


async def show(request: Request) -> Response:
    staff = await signed_in(request)
    return _render(request, staff, await _view(request, staff, request.path_params["ref"]))


async def act(request: Request) -> Response:
    staff = await signed_in(request)
    form = await checked_form(request, staff)
    reference, action = request.path_params["ref"], request.path_params["action"]
    if action not in ACTIONS:
        raise Refused(404, "No such action", f"{action!r} is not something staff can do here.")
    typed = {name: text_field(form, name, MAX_ANSWER_CHARS + 1000)
             for name in ("answer", "note", "entry", "to", "seen")}
    triage = services(request).triage
    try:
        await _perform(triage, staff.actor, action, reference, typed)
    except TriageError as exc:
        view = await _view(request, staff, reference)
        return _render(request, staff, view, str(exc), typed, status=409)
    except STORAGE_ERRORS as exc:
        log.warning("console %s on %s failed: database unavailable (%s)", action, reference,
                    type(exc).__name__)
        raise Refused(503, "Database unavailable", "The queue is not reachable right now; "
                      "nothing was changed. Try again in a few minutes.") from None
    return see_other(f"/console/escalations/{reference}?done={action}")


async def _perform(triage: Triage, actor: Actor, action: str, reference: str,
                   typed: dict[str, str]) -> None:
    if action == "reassign":
        try:
            to = Actor.parse(typed["to"])
        except ValueError:
            raise TriageError("Choose a staff member to reassign to.") from None
        await triage.reassign(reference, actor, to)
        return
    seen = typed["seen"] or None  # a page from before the field existed: not checked
    if action == "answer":
        await triage.answer(reference, actor, typed["answer"], seen=seen)
    elif action == "entry":
        await triage.answer_with_entry(reference, actor, typed["entry"], seen=seen)
    else:
        text = {"note": typed["note"]}
        await triage.act(action, reference, actor, text.get(action, ""))


async def preview(request: Request) -> Response:
    """Exactly what the asker will receive for the typed answer (for the live preview)."""
    staff = await signed_in(request)
    form = await checked_form(request, staff)
    view = await _view(request, staff, request.path_params["ref"])
    answer = text_field(form, "answer", MAX_ANSWER_CHARS + 1000)
    entry_id = text_field(form, "entry", 200)
    if entry_id:
        entry = services(request).knowledge.get(entry_id)
        answer = entry_answer_text(entry) if entry else answer
    return PlainTextResponse(relay_text(view.reference, view.question, answer.strip()))


async def version(request: Request) -> Response:
    """When the escalation last changed, for the page's check that someone else acted."""
    staff = await signed_in(request)
    view = await _view(request, staff, request.path_params["ref"])
    return JSONResponse({"updated": view.updated_at.isoformat(), "events": len(view.events)})


ROUTES = [
    Route("/escalations/{ref}", show, methods=["GET"]),
    Route("/escalations/{ref}/version", version, methods=["GET"]),
    Route("/escalations/{ref}/preview", preview, methods=["POST"]),
    Route("/escalations/{ref}/{action}", act, methods=["POST"]),
]
