"""Try it, and the learning inbox: what an advocate would get, and phrasings added, approved,
reworded or dismissed from the console."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sys
from urllib.parse import unquote_plus

import aiohttp
import pytest
import yaml
from sqlalchemy import select

from bot.chat.messages import Message
from bot.knowledge.learning import Confirmation, record_confirmed
from bot.store import audit
from bot.store.retention import purge
from bot.store.tables import Interaction, LearnedPhrasing
from tests.conftest import new_interaction
from tests.console.conftest import STAFF, Console, csrf_of
from tests.knowledge.test_learning import HOLD_LOCK

CURFEW = "shelter-curfew"
# Invented details, of the kinds the redactor finds: a name and a phone number.
WITH_DETAILS = "can my client Jane Doe call 555-010-0199 after curfew"


def phrasings(console: Console, entry_id: str) -> list[str]:
    return yaml.safe_load((console.kb_dir / f"{entry_id}.yaml").read_text())["questions"]


async def propose(console: Console, text: str, entry_id: str = CURFEW) -> int:
    """A phrasing an asker confirmed, as the conversation records it; its proposal's id."""
    async with console.db.engine.begin() as connection:
        assert await record_confirmed(connection, text, console.knowledge.get(entry_id),
                                      Confirmation.PICKED)
    async with console.db.session() as session:
        return await session.scalar(select(LearnedPhrasing.id)
                                    .where(LearnedPhrasing.text == text))


async def tried(client: aiohttp.ClientSession, console: Console, question: str) -> str:
    """Try it, as the page's form sends it: the question in a POST with the CSRF token."""
    async with client.get(f"{console.base}/try") as page:
        token = csrf_of(await page.text())
    async with client.post(f"{console.base}/try", data={"csrf": token, "q": question}) as done:
        assert done.status == 200
        assert question not in unquote_plus(str(done.url))
        return await done.text()


async def test_try_it_shows_the_answer_and_why(console: Console) -> None:
    async with console.client() as client:
        await console.sign_in(client)
        html = await tried(client, console, "can our shelter have a curfew")
        assert "Practical guidance about shelter curfew." in html
        assert "Outcome <strong>answer</strong>" in html and "matched words" in html.lower()
        html = await tried(client, console, "how do I fix my bicycle chain")
        assert "Practical guidance" not in html and "Outcome <strong>" in html


async def test_a_tried_question_never_goes_in_an_address(console: Console) -> None:
    """In a URL (`/console/try?q=...`) the question, perhaps pasted from a survivor's
    message, is kept in browser history and proxy logs: the forms post it instead."""
    question = "can our shelter have a curfew"
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/knowledge/{CURFEW}") as page:
            entry_page = await page.text()
        async with client.get(f"{console.base}/try") as page:
            try_page = await page.text()
        for html in (entry_page, try_page):
            assert re.search(r'<form method="post" action="/console/try"', html)
            assert 'method="get" action="/console/try"' not in html
        assert "Practical guidance" in await tried(client, console, question)
        async with client.get(f"{console.base}/try", params={"q": question}) as page:
            assert "Practical guidance" not in await page.text()  # not read from a URL
        async with client.post(f"{console.base}/try", data={"q": question}) as forged:
            assert forged.status == 403  # a form from another site cannot try questions


async def test_try_it_adds_the_question_as_a_phrasing_in_one_click(console: Console) -> None:
    question = "are residents allowed out after ten at night"
    async with console.client() as client:
        await console.sign_in(client)
        token = csrf_of(await tried(client, console, question))
        async with client.post(f"{console.base}/try/phrasing",
                               data={"csrf": token, "q": question, "entry": CURFEW}) as added:
            assert added.status == 200 and f"Added as a phrasing of {CURFEW}" in \
                await added.text()
            assert "residents" not in str(added.url)  # the wording stays out of the address
        async with client.post(f"{console.base}/try/phrasing",
                               data={"csrf": token, "q": question, "entry": CURFEW}) as again:
            assert again.status == 409
    assert phrasings(console, CURFEW)[-1] == question
    assert question in console.runtime.knowledge.get(CURFEW).questions
    assert ("phrasing added", CURFEW, "") in [(a.action, a.target, a.detail)
                                              for a in await audit.entries(console.db)]


async def test_a_tried_question_with_personal_details_is_not_added_anywhere(
        console: Console) -> None:
    path = console.kb_dir / f"{CURFEW}.yaml"
    before = path.read_bytes()
    async with console.client() as client:
        await console.sign_in(client)
        token = csrf_of(await tried(client, console, WITH_DETAILS))
        async with client.post(f"{console.base}/try/phrasing", data={
                "csrf": token, "q": WITH_DETAILS, "entry": CURFEW}) as refused:
            html = await refused.text()
            assert refused.status == 422 and "personal details (name, phone)" in html
            assert "Jane Doe" not in html and "555-010-0199" not in html
    assert path.read_bytes() == before
    assert not any("Jane Doe" in a.detail or "555-010-0199" in a.detail
                   for a in await audit.entries(console.db))


async def test_approving_a_proposal_writes_it_and_the_bot_matches_it(console: Console) -> None:
    proposal = await propose(console, "whats the rule on residents coming home late")
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/learning") as page:
            html = await page.text()
        assert "whats the rule on residents coming home late" in html
        async with client.post(f"{console.base}/learning/approve",
                               data={"csrf": csrf_of(html), "id": str(proposal)}) as done:
            body = await done.text()
            assert done.status == 200 and "Approved" in body
            assert f'id="proposal-{proposal}"' not in body
        async with client.post(f"{console.base}/learning/approve",
                               data={"csrf": csrf_of(html), "id": str(proposal)}) as twice:
            assert twice.status == 409 and "not a pending proposal" in await twice.text()
    assert phrasings(console, CURFEW)[-1] == "whats the rule on residents coming home late"


async def test_a_proposal_that_would_fail_lint_is_not_approved(console: Console) -> None:
    """Confirmed for dv-definition, but already a phrasing of subpoena-response: approving it
    would bring lint errors, so it is refused with them, as a reworded one would be."""
    path = console.kb_dir / "dv-definition.yaml"
    before = path.read_bytes()
    proposal = await propose(console, "court subpoena for client file", "dv-definition")
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/learning") as page:
            token = csrf_of(await page.text())
        async with client.post(f"{console.base}/learning/approve",
                               data={"csrf": token, "id": str(proposal)}) as refused:
            html = await refused.text()
            assert refused.status == 409 and "also a phrasing of" in html
            assert "Nothing was changed" in html
        async with client.get(f"{console.base}/learning") as page:
            assert f'id="proposal-{proposal}"' in await page.text()  # still pending
    assert path.read_bytes() == before
    assert "court subpoena for client file" not in \
        console.runtime.knowledge.get("dv-definition").questions


async def test_a_rewording_with_personal_details_is_refused(console: Console) -> None:
    path = console.kb_dir / f"{CURFEW}.yaml"
    before = path.read_bytes()
    proposal = await propose(console, "curfew for ppl in shelter??")
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/learning") as page:
            token = csrf_of(await page.text())
        async with client.post(f"{console.base}/learning/edit", data={
                "csrf": token, "id": str(proposal), "text": WITH_DETAILS}) as refused:
            html = await refused.text()
            assert refused.status == 409 and "personal details (name, phone)" in html
    assert path.read_bytes() == before
    assert not any("Jane Doe" in a.detail for a in await audit.entries(console.db))


async def test_a_proposal_can_be_reworded_or_dismissed(console: Console) -> None:
    reworded = await propose(console, "curfew for ppl in shelter??")
    dropped = await propose(console, "curfew", entry_id=CURFEW)
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/learning") as page:
            token = csrf_of(await page.text())
        async with client.post(f"{console.base}/learning/edit", data={
                "csrf": token, "id": str(reworded),
                "text": "curfew for people staying in shelter"}) as edited:
            assert "Your wording was added" in await edited.text()
        async with client.post(f"{console.base}/learning/dismiss",
                               data={"csrf": token, "id": str(dropped)}) as dismissed:
            body = await dismissed.text()
            assert "Dismissed" in body and "No proposed phrasings waiting" in body
    assert phrasings(console, CURFEW)[-1] == "curfew for people staying in shelter"
    assert "curfew for ppl in shelter??" not in phrasings(console, CURFEW)


async def test_the_gaps_show_unanswered_questions_and_unmatched_entries(
        console: Console) -> None:
    asker = Message("slack", "U9", "D9", "x")
    for text in ("how do we fund a new roof", "roof repair grants for shelters"):
        await new_interaction(console.db, asker, text, "answer", "shelter-curfew")
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/learning") as page:
            html = await page.text()
    never = re.search(r"Entries never matched</h2>\s*<p>(.*?)</p>", html, re.S).group(1)
    assert "dv-definition" in never and "shelter-curfew" not in never
    assert STAFF.id in html


async def test_the_gaps_say_how_many_days_of_records_are_left_after_a_purge(
        console: Console) -> None:
    """With records purged, "last 90 days" would call a purged match "never matched"."""
    now = dt.datetime.now(dt.UTC)
    async with console.db.session() as session, session.begin():
        session.add_all(Interaction(platform="slack", user_id="U9", text="(generated)",
                                    outcome="answer", entry_id=CURFEW, score=0.9,
                                    created_at=now - dt.timedelta(days=days))
                        for days in (60, 2))
    await purge(console.db, dt.timedelta(days=10), dt.timedelta(days=30), "cli:test", now=now)
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/learning") as page:
            html = await page.text()
    assert "last 90 days" not in html
    assert re.search(r"records go back only \d+ days", html)


async def holding_the_lock(console: Console) -> asyncio.subprocess.Process:
    """Another process (`tabot kb learn approve`, a second console) writing the knowledge
    directory: it holds the directory's lock until told to go."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LOCK, str(console.kb_dir),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert (await holder.stdout.readline()).strip() == b"locked"
    return holder


def add_by_hand(console: Console, entry_id: str, wording: str) -> None:
    """What the other process writes while it holds the lock (this process has not reloaded)."""
    path = console.kb_dir / f"{entry_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["questions"].append(wording)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize("action", ["approve", "edit"])
async def test_a_decision_is_checked_after_another_process_has_finished_writing(
        console: Console, action: str) -> None:
    """Checked before taking the directory's lock, a phrasing was checked against the files
    as they were, then written after another process had made the same wording a phrasing of
    another entry: a lint error, served."""
    wording = "may residents come back after the doors lock"
    proposal = await propose(console, wording if action == "approve" else "late return??")
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/learning") as page:
            token = csrf_of(await page.text())
        holder = await holding_the_lock(console)
        deciding = asyncio.create_task(client.post(
            f"{console.base}/learning/{action}",
            data={"csrf": token, "id": str(proposal), "text": wording}))
        await asyncio.sleep(3.0)  # long enough for a check made without the lock to be done
        assert not deciding.done()
        add_by_hand(console, "dv-definition", wording)
        holder.stdin.write(b"go\n")
        await holder.stdin.drain()
        await holder.wait()
        async with await asyncio.wait_for(deciding, 60) as decided:
            html = await decided.text()
            assert decided.status == 409 and "also a phrasing of" in html
    assert wording not in phrasings(console, CURFEW)
