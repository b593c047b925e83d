"""The knowledge pages: browse and search entries, edit one in a form, create one, retire one.

A save is checked like `tabot kb lint` (schema errors and the errors the change would bring to
the whole knowledge base), written to the entry's YAML file, reloaded into the running bot,
recorded in the audit log, and committed to git when the directory is a work tree. Saves are
done one at a time per process (`Services.edits`), and each looks the entry up again once it
holds that lock: the entry it was asked about may have been retired meanwhile. The edit form
carries the entry's version, so a save over someone else's newer save is refused, not lost.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.entry_form import CATEGORIES, EntryForm
from bot.console.entry_store import (
    Problems,
    UnreadableEntry,
    check_change,
    commit,
    entry_version,
    raw_entry,
    retired_path,
    write_entry_file,
)
from bot.console.entry_yaml import render_entry, replaced
from bot.console.pages import (
    Refused,
    Staff,
    checked_form,
    local_today,
    page,
    see_other,
    services,
    signed_in,
)
from bot.console.services import Services
from bot.insights.gaps import due_for_review
from bot.knowledge.entries import Entry
from bot.knowledge.problems import Severity
from bot.store import audit

DONE = {"saved": "Saved. The bot answers with the new text now.",
        "created": "Created. The bot answers with this entry now.",
        "retired": "Retired. The bot no longer answers with it; the file is kept in "
                   "drafts/retired/."}
CONFLICT = ("Not saved: someone else saved this entry since you opened it. Your text is below; "
            "copy what you need, then reopen the entry to see their changes and make yours "
            "again.")


def _matches(entry: Entry, words: list[str]) -> bool:
    text = " ".join([entry.id, entry.title, entry.answer, *entry.questions, *entry.tags])
    folded = text.casefold()
    return all(word in folded for word in words)


async def listing(request: Request) -> Response:
    staff = await signed_in(request)
    svc = services(request)
    query = request.query_params
    words = query.get("q", "").casefold().split()[:10]
    category, tag, due = query.get("category", ""), query.get("tag", ""), query.get("due", "")
    review = {e.id for e in due_for_review(svc.knowledge, local_today(request),
                                           svc.settings.review_months)}
    entries = [e for e in sorted(svc.knowledge.entries.values(), key=lambda e: e.title.casefold())
               if (not words or _matches(e, words)) and (not category or e.category == category)
               and (not tag or tag in e.tags) and (not due or e.id in review)]
    tags = sorted({t for e in svc.knowledge.entries.values() for t in e.tags})
    return page(request, "knowledge.html", {
        "entries": entries, "q": query.get("q", ""), "category": category, "tag": tag,
        "due": due, "categories": CATEGORIES, "tags": tags, "review": review,
        "done": DONE.get(query.get("done", ""), ""), "total": len(svc.knowledge.entries)},
        staff=staff)


def _no_such_entry(request: Request) -> Refused:
    return Refused(404, "No such entry", f"There is no entry "
                   f"{request.path_params['entry_id']!r} in the knowledge base.")


def _entry(request: Request) -> Entry:
    entry = services(request).knowledge.get(request.path_params["entry_id"])
    if entry is None:
        raise _no_such_entry(request)
    return entry


def _raw(request: Request, entry: Entry) -> dict[str, Any]:
    """The entry as written in its file, or a 409 page saying where the file is broken (a 404
    when the file is gone: a retire, mid-way, has removed it and not yet reloaded)."""
    try:
        return raw_entry(entry.path, entry.id)
    except UnreadableEntry as exc:
        if not entry.path.exists():
            raise _no_such_entry(request) from None
        raise Refused(409, "The entry's file has an error",
                      exc.explain(services(request).knowledge.directory)) from None


def _form_page(request: Request, staff: Staff, form: EntryForm, entry: Entry | None,
               status: int = 200, conflict: str = "") -> Response:
    svc = services(request)
    return page(request, "entry.html", {
        "form": form, "entry": entry, "categories": CATEGORIES, "conflict": conflict,
        "path": entry.path.relative_to(svc.knowledge.directory) if entry else None,
        "done": DONE.get(request.query_params.get("done", ""), "")},
        status=status, staff=staff)


async def edit_form(request: Request) -> Response:
    staff = await signed_in(request)
    entry = _entry(request)
    data = _raw(request, entry)
    form = EntryForm.from_data(data)
    form.version = entry_version(data)
    return _form_page(request, staff, form, entry)


async def new_form(request: Request) -> Response:
    staff = await signed_in(request)
    return _form_page(request, staff, EntryForm.blank(), None)


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The fields a save changed, for the audit log and the commit message. Answers are
    compared as the form gives them, stripped: read from a `|` block an answer ends in a
    newline the form drops, and every save would say it changed the answer."""
    was, now = _as_typed(before), _as_typed(after)
    return [k for k in dict.fromkeys([*was, *now]) if was.get(k) != now.get(k)]


def _as_typed(data: dict[str, Any]) -> dict[str, Any]:
    answer = data.get("answer")
    return {**data, "answer": answer.strip()} if isinstance(answer, str) else data


async def save(request: Request) -> Response:
    staff = await signed_in(request)
    form = EntryForm.from_form(await checked_form(request, staff))
    svc = services(request)
    async with svc.editing():
        entry = _entry(request)
        form.values["id"] = entry.id  # an entry's id is not changed here: chats' buttons carry it
        before = _raw(request, entry)
        if form.version != entry_version(before):
            return _form_page(request, staff, form, entry, status=409, conflict=CONFLICT)
        data = form.data(before)
        if not form.validate(data):
            return _form_page(request, staff, form, entry, status=422)
        text = replaced(entry.path, entry.id, data)
        if not await _apply(request, staff, form, entry.path, text, entry.id):
            return _form_page(request, staff, form, entry, status=422)
        changed = changed_fields(before, data)
        await _record(request, staff, "entry edited", entry.id,
                      f"changed: {', '.join(changed) or 'nothing'}", [entry.path],
                      f"Edit {entry.id} ({', '.join(changed) or 'no change'}) in the console")
    return see_other(f"/console/knowledge/{entry.id}?done=saved")


async def create(request: Request) -> Response:
    staff = await signed_in(request)
    form = EntryForm.from_form(await checked_form(request, staff))
    svc = services(request)
    async with svc.editing():
        data = form.data()
        if not form.validate(data):
            return _form_page(request, staff, form, None, status=422)
        entry_id = data["id"]
        path = svc.knowledge.directory / data["category"] / f"{entry_id}.yaml"
        if svc.knowledge.get(entry_id) is not None or path.exists():
            form.add("id", f"an entry or file named {entry_id!r} already exists; choose "
                     "another id")
            return _form_page(request, staff, form, None, status=422)
        if not await _apply(request, staff, form, path, render_entry(data), entry_id):
            return _form_page(request, staff, form, None, status=422)
        await _record(request, staff, "entry created", entry_id, data["title"][:200], [path],
                      f"Add {entry_id} in the console")
    return see_other(f"/console/knowledge/{entry_id}?done=created")


async def retire(request: Request) -> Response:
    staff = await signed_in(request)
    await checked_form(request, staff)
    svc = services(request)
    async with svc.editing():
        entry = _entry(request)  # a second press of Retire finds it gone: 404, not a traceback
        data = _raw(request, entry)
        rest = _without_entry(entry.path, entry.id)
        problems: Problems = await asyncio.to_thread(check_change, svc.knowledge, entry.path,
                                                     rest, entry.id)
        if problems:
            raise Refused(409, "Not retired", "Retiring it would bring errors, so nothing was "
                          f"changed: {'; '.join(problems.messages())}")
        kept = retired_path(svc.knowledge, entry.id)
        write_entry_file(kept, render_entry(data))
        write_entry_file(entry.path, rest)
        await asyncio.to_thread(svc.knowledge.reload)
        await _record(request, staff, "entry retired", entry.id, "", [entry.path, kept],
                      f"Retire {entry.id} in the console")
        if svc.knowledge.get(entry.id) is not None:
            raise Refused(409, "Retired, but still served", _still_served(svc, entry))
    return see_other("/console/knowledge?done=retired")


def _without_entry(path: Path, entry_id: str) -> str | None:
    """The file's text without the entry, or None (delete the file) when nothing but
    comments and blank lines would be left: the loader refuses a file with no entries as
    "empty" and keeps serving its last good version, retired entry and all."""
    rest = replaced(path, entry_id, None)
    try:
        return rest if yaml.compose(rest, Loader=yaml.SafeLoader) is not None else None
    except yaml.YAMLError:
        return rest  # an alias to the removed entry, say: the check says what is wrong


def _still_served(svc: Services, entry: Entry) -> str:
    """Why a retired entry is still answered with: its file did not load after the change
    (another entry in it is broken, say), so the bot kept the file's last good version."""
    where = entry.path.relative_to(svc.knowledge.directory).as_posix()
    found = [f"line {p.line}: {p.message}" for p in svc.knowledge.problems
             if p.path == entry.path and p.severity is Severity.ERROR]
    because = f" ({'; '.join(found)})" if found else ""
    return (f"{entry.id!r} was taken out of {where} and kept in drafts/retired/, but the bot "
            f"still answers with it: {where} does not load{because}, so the bot keeps its "
            "last good version. Fix the file (`tabot kb lint` shows what is wrong); the next "
            "save in the console, or SIGHUP, reloads it.")


async def _apply(request: Request, staff: Staff, form: EntryForm, path: Path, text: str,
                 entry_id: str) -> bool:
    """Check the change, then write it and reload the bot's knowledge; False (with the errors
    in `form`) when the check refuses it."""
    svc = services(request)
    problems: Problems = await asyncio.to_thread(check_change, svc.knowledge, path, text,
                                                 entry_id)
    for name, messages in problems.by_field.items():
        for message in messages:
            form.add(name, message)
    if problems:
        return False
    write_entry_file(path, text)
    await asyncio.to_thread(svc.knowledge.reload)
    return True


async def _record(request: Request, staff: Staff, action: str, entry_id: str, detail: str,
                  paths: list[Path], message: str) -> None:
    svc = services(request)
    async with svc.db.session() as session, session.begin():
        audit.record(session, staff.actor.id, action, entry_id, detail)
    await asyncio.to_thread(commit, svc.knowledge.directory, paths, staff.actor.id, message)


ROUTES = [
    Route("/knowledge", listing, methods=["GET"]),
    Route("/knowledge/new", new_form, methods=["GET"]),
    Route("/knowledge/new", create, methods=["POST"]),
    Route("/knowledge/{entry_id}", edit_form, methods=["GET"]),
    Route("/knowledge/{entry_id}", save, methods=["POST"]),
    Route("/knowledge/{entry_id}/retire", retire, methods=["POST"]),
]
