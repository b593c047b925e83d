"""What the bot missed and what it learned: the review inbox of proposed phrasings
(`bot.knowledge.learning`), approved, edited or dismissed one at a time, and the gaps that
`tabot gaps` reports (unanswered question clusters, entries often marked Not quite, entries
never matched)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.entry_store import UnreadableEntry, commit
from bot.console.pages import (
    Refused,
    checked_form,
    page,
    see_other,
    services,
    signed_in,
    text_field,
)
from bot.console.phrasings import lint_messages, personal_details, personal_details_refusal
from bot.insights.gaps import find_gaps
from bot.knowledge.editing import EditError, add_phrasings, editing_lock
from bot.knowledge.entries import Entry
from bot.knowledge.learning import (
    MAX_PHRASING_CHARS,
    LearningError,
    Proposal,
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
        if action == "approve":
            await _approve(request, proposal_id, staff.actor.id)
        elif action == "dismiss":
            async with svc.edits:
                await dismiss(svc.db, [proposal_id], staff.actor.id)
        else:
            await _approve_edited(request, proposal_id, text_field(form, "text", 1000),
                                  staff.actor.id)
    except LearningError as exc:
        raise Refused(409, "Not done", str(exc)) from None
    return see_other(f"/console/learning?done={DECIDED[action]}")


async def _pending(request: Request, proposal_id: int) -> tuple[Entry, Proposal]:
    """The pending proposal and its entry, as they are now (the caller holds `edits`, so
    no other save of this process changes them meanwhile)."""
    svc = services(request)
    for group in await proposals(svc.db, svc.knowledge):
        for proposal in group.proposals:
            if proposal.id == proposal_id and group.entry is not None:
                return group.entry, proposal
    raise LearningError(f"#{proposal_id} is not a pending proposal of an entry in the "
                        "knowledge base. Nothing was changed.")


async def _refuse_lint_errors(request: Request, entry: Entry, wording: str) -> None:
    """A LearningError, with the lint messages, when adding `wording` to `entry` would bring
    an error: the check every console edit passes, so the bot never serves a failing entry."""
    svc = services(request)
    if fold(wording) in {fold(q) for q in entry.questions}:
        return  # nothing would be written
    try:
        messages = await asyncio.to_thread(lint_messages, svc.knowledge, entry, wording)
    except UnreadableEntry as exc:
        raise LearningError(exc.explain(svc.knowledge.directory)) from None
    if messages:
        raise LearningError(f"{'; '.join(messages)}. Nothing was changed.")


async def _approve(request: Request, proposal_id: int, actor: str) -> None:
    """`tabot kb learn approve`, once the phrasing passes the console's check; then a commit
    of the entry's file where there is git.

    The check runs holding the directory's lock, so no other process writes the files while
    it reads them. `approve` takes that lock itself (it cannot be held twice), so it is let go
    in between: another process can still write in that moment, which only a check inside
    `approve` would close."""
    svc = services(request)
    async with svc.edits:
        async with editing_lock(svc.knowledge.directory):
            entry, proposal = await _pending(request, proposal_id)
            await _refuse_lint_errors(request, entry, proposal.text)
        await approve(svc.db, svc.knowledge, [proposal_id], actor)
        await asyncio.to_thread(commit, svc.knowledge.directory, [entry.path], actor,
                                f"Approve a learned phrasing of {entry.id}")


async def _approve_edited(request: Request, proposal_id: int, text: str, actor: str) -> None:
    """Staff reworded a proposal: add their wording (checked for personal details and like any
    edit) and close the proposal, so the original wording is not proposed again. The check
    and the write hold the directory's lock together, as every other edit does: a phrasing
    another process adds in between could otherwise make the checked wording an error."""
    svc = services(request)
    wording = phrasing_text(text)
    if not wording or len(wording) > MAX_PHRASING_CHARS:
        raise LearningError(f"A phrasing has words and at most {MAX_PHRASING_CHARS} "
                            "characters. Nothing was changed.")
    found = personal_details(svc.knowledge, wording)
    if found:
        raise LearningError(personal_details_refusal(found))
    async with svc.editing():
        entry, _ = await _pending(request, proposal_id)
        await _refuse_lint_errors(request, entry, wording)
        if fold(wording) not in {fold(q) for q in entry.questions}:
            try:
                add_phrasings(entry.path, {entry.id: [wording]})
            except EditError as exc:
                raise LearningError(str(exc)) from None
            await asyncio.to_thread(svc.knowledge.reload)
        with contextlib.suppress(LearningError):  # decided elsewhere meanwhile: closed anyway
            await dismiss(svc.db, [proposal_id], actor)
        async with svc.db.session() as session, session.begin():
            audit.record(session, actor, "phrasing edited", entry.id, f"#{proposal_id}")
        await asyncio.to_thread(commit, svc.knowledge.directory, [entry.path], actor,
                                f"Add a reworded learned phrasing to {entry.id}")


ROUTES = [
    Route("/learning", inbox, methods=["GET"]),
    Route("/learning/{action}", decide, methods=["POST"]),
]
