"""What the bot missed and what it learned: the review inbox of proposed phrasings
(`bot.knowledge.learning`), approved, edited or dismissed one at a time, and the gaps that
`tabot gaps` reports (unanswered question clusters, entries often marked Not quite, entries
never matched)."""

from __future__ import annotations

import asyncio
import datetime as dt

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.entry_store import check_change, commit, raw_entry
from bot.console.entry_yaml import replaced
from bot.console.pages import (
    Refused,
    checked_form,
    page,
    see_other,
    services,
    signed_in,
    text_field,
)
from bot.insights.gaps import find_gaps
from bot.knowledge.editing import EditError, add_phrasings
from bot.knowledge.entries import Entry
from bot.knowledge.learning import (
    MAX_PHRASING_CHARS,
    LearningError,
    approve,
    dismiss,
    parse_ids,
    phrasing_text,
    proposals,
)
from bot.knowledge.normalize import fold
from bot.store import audit

GAP_DAYS = 90
DONE = {"approved": "Approved: the phrasing is in the entry's file, and the bot matches it now.",
        "dismissed": "Dismissed: this wording will not be proposed again.",
        "edited": "Your wording was added to the entry; the proposal is closed."}
DECIDED = {"approve": "approved", "dismiss": "dismissed", "edit": "edited"}


async def inbox(request: Request) -> Response:
    staff = await signed_in(request)
    svc = services(request)
    groups = await proposals(svc.db, svc.knowledge)
    gaps = await find_gaps(svc.db, svc.knowledge,
                           dt.datetime.now(dt.UTC) - dt.timedelta(days=GAP_DAYS))
    return page(request, "learning.html", {
        "groups": groups, "gaps": gaps, "days": GAP_DAYS,
        "done": DONE.get(request.query_params.get("done", ""), "")}, staff=staff)


async def decide(request: Request) -> Response:
    staff = await signed_in(request)
    form = await checked_form(request, staff)
    svc = services(request)
    action = request.path_params["action"]
    if action not in DECIDED:
        raise Refused(404, "No such action", f"{action!r} is not a decision.")
    try:
        proposal_id = parse_ids([text_field(form, "id", 20)])[0]
        async with svc.edits:
            if action == "approve":
                await _approve(request, proposal_id, staff.actor.id)
            elif action == "dismiss":
                await dismiss(svc.db, [proposal_id], staff.actor.id)
            else:
                await _approve_edited(request, proposal_id, text_field(form, "text", 1000),
                                      staff.actor.id)
    except LearningError as exc:
        raise Refused(409, "Not done", str(exc)) from None
    return see_other(f"/console/learning?done={DECIDED[action]}")


async def _pending_entry(request: Request, proposal_id: int) -> Entry:
    svc = services(request)
    group = next((g for g in await proposals(svc.db, svc.knowledge)
                  if any(p.id == proposal_id for p in g.proposals)), None)
    if group is None or group.entry is None:
        raise LearningError(f"#{proposal_id} is not a pending proposal of an entry in the "
                            "knowledge base. Nothing was changed.")
    return group.entry


async def _approve(request: Request, proposal_id: int, actor: str) -> None:
    """`tabot kb learn approve`, then a commit of the entry's file where there is git."""
    svc = services(request)
    entry = await _pending_entry(request, proposal_id)
    await approve(svc.db, svc.knowledge, [proposal_id], actor)
    await asyncio.to_thread(commit, svc.knowledge.directory, [entry.path], actor,
                            f"Approve a learned phrasing of {entry.id}")


async def _approve_edited(request: Request, proposal_id: int, text: str, actor: str) -> None:
    """Staff reworded a proposal: add their wording (checked like any edit) and close the
    proposal, so the original wording is not proposed again."""
    svc = services(request)
    entry, wording = await _pending_entry(request, proposal_id), phrasing_text(text)
    if not wording or len(wording) > MAX_PHRASING_CHARS:
        raise LearningError(f"A phrasing has words and at most {MAX_PHRASING_CHARS} "
                            "characters. Nothing was changed.")
    if fold(wording) not in {fold(q) for q in entry.questions}:
        data = raw_entry(entry.path, entry.id)
        data["questions"] = [*data["questions"], wording]
        problems = await asyncio.to_thread(check_change, svc.knowledge, entry.path,
                                           replaced(entry.path, entry.id, data), entry.id)
        if problems:
            said = "; ".join(m for found in problems.by_field.values() for m in found)
            raise LearningError(f"{said}. Nothing was changed.")
        try:
            add_phrasings(entry.path, {entry.id: [wording]})
        except EditError as exc:
            raise LearningError(str(exc)) from None
        await asyncio.to_thread(svc.knowledge.reload)
    await dismiss(svc.db, [proposal_id], actor)
    async with svc.db.session() as session, session.begin():
        audit.record(session, actor, "phrasing edited", entry.id, f"#{proposal_id}")
    await asyncio.to_thread(commit, svc.knowledge.directory, [entry.path], actor,
                            f"Add a reworded learned phrasing to {entry.id}")


ROUTES = [
    Route("/learning", inbox, methods=["GET"]),
    Route("/learning/{action}", decide, methods=["POST"]),
]
