"""The queue and an escalation's page: every action goes through Triage, as in the chats."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from bot.chat.messages import Message
from bot.store import audit
from bot.store.tables import OutboxMessage
from bot.triage import outbox, undelivered
from bot.triage.escalations import Reason
from tests.conftest import new_escalation
from tests.console.conftest import OTHER_STAFF, STAFF, Console, csrf_of, form_fields


async def ask(console: Console, text: str, tags: list[str], user: str = "4242",
              program: str | None = "Riverside Shelter", reason: Reason = Reason.NO_MATCH) -> str:
    message = Message("telegram", user, f"chat-{user}", text, program=program)
    escalation = await new_escalation(console.db, message, text, reason, tags)
    return escalation.reference


def references(html: str) -> list[str]:
    return re.findall(r'href="/console/escalations/(TA-\d+)"', html)


async def test_the_queue_lists_waiting_questions_and_filters_them(console: Console) -> None:
    roof = await ask(console, "how do we budget for a new roof", ["finance"])
    lease = await ask(console, "can a landlord end a lease early", ["housing"], user="5151",
                      program=None)
    async with console.client() as client:
        html = await console.sign_in(client)
        assert references(html) == [roof, lease]  # oldest first
        assert "Riverside Shelter" in html and "telegram" in html and "finance" in html
        await console.runtime.triage.claim(lease, STAFF)
        for query, expected in (("state=open", [roof]), ("state=mine", [lease]),
                                ("state=waiting&topic=housing", [lease]),
                                (f"state=waiting&owner={STAFF.id}", [lease]),
                                ("state=overdue", []), ("state=closed", []),
                                ("state=all&age=24", []), ("state=bogus", [roof, lease])):
            async with client.get(f"{console.base}/queue?{query}") as page:
                assert references(await page.text()) == expected, query
        async with client.get(f"{console.base}/queue/rows?state=mine") as rows:
            fragment = await rows.text()
            assert references(fragment) == [lease] and "<html" not in fragment


async def test_a_crisis_still_waiting_comes_first_and_is_marked_urgent(console: Console) -> None:
    roof = await ask(console, "how do we budget for a new roof", ["finance"])
    crisis = await ask(console, "he is outside my door right now", [], user="5151",
                       reason=Reason.CRISIS)
    async with console.client() as client:
        html = await console.sign_in(client)
        assert references(html) == [crisis, roof]
        assert html.count("urgent: may be in danger") == 1
        async with client.get(f"{console.base}/escalations/{crisis}") as page:
            assert 'id="urgent"' in await page.text()
        await console.runtime.triage.close(crisis, STAFF)
        async with client.get(f"{console.base}/queue?state=all") as page:
            assert "urgent: may be in danger" not in await page.text()  # handled: no alarm


async def test_claim_answer_note_close_and_reopen_go_through_triage(console: Console) -> None:
    ref = await ask(console, "how do we budget for a new roof", ["finance"])
    async with console.client() as client:
        await console.sign_in(client)
        url = f"{console.base}/escalations/{ref}"
        async with client.get(url) as page:
            html = await page.text()
            assert "how do we budget for a new roof" in html and 'id="claim"' in html
        token = csrf_of(html)
        async with client.post(f"{url}/claim", data={"csrf": token}) as claimed:
            assert claimed.status == 200 and "Claimed." in await claimed.text()
        async with client.post(f"{url}/note", data={"csrf": token,
                                                    "note": "ask the grants team"}) as noted:
            assert "ask the grants team" in await noted.text()
        answer = "Use unrestricted funds, and ask your grant manager about capital costs."
        async with client.post(f"{url}/preview", data={"answer": answer},
                               headers={"X-CSRF-Token": token}) as preview:
            shown = await preview.text()
        async with client.post(f"{url}/answer", data={"csrf": token, "answer": answer}) as sent:
            assert sent.status == 200 and "Answer sent" in await sent.text()
        async with client.post(f"{url}/close", data={"csrf": token}) as closed:
            assert "Closed." in await closed.text()
        async with client.post(f"{url}/reopen", data={"csrf": token}) as reopened:
            assert "Reopened." in await reopened.text()
    view = await console.runtime.triage.show(ref, STAFF)
    assert [(e.kind, e.actor) for e in view.events][1:] == [
        ("claimed", STAFF.id), ("note", STAFF.id), ("answered", STAFF.id),
        ("closed", STAFF.id), ("reopened", STAFF.id)]
    async with console.db.session() as session:
        relayed = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.user_id == "4242"))).all()
    assert [m.text for m in relayed] == [shown]  # the preview was exactly what was sent
    assert answer in shown and "ask the grants team" not in shown
    logged = [(a.actor, a.action, a.target) for a in await audit.entries(console.db)]
    assert (STAFF.id, "answered", ref) in logged and (STAFF.id, "claimed", ref) in logged


async def test_an_answer_that_never_reached_its_asker_shows_in_the_history_with_why(
        console: Console) -> None:
    ref = await ask(console, "how do we budget for a new roof", ["finance"])
    await console.runtime.triage.answer(ref, STAFF, "Invented answer: the placeholder fund.")
    answer = await outbox.claim(console.db, "telegram", "p1", "4242")
    assert await undelivered.give_up(console.db, answer.id, "p1", "the asker has blocked the bot")
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/escalations/{ref}") as page:
            html = await page.text()
    assert "<strong>undelivered</strong> by tabot:sweep" in html
    assert '<div class="detail">the answer (the asker has blocked the bot)</div>' in html


async def test_answering_with_an_entry_and_reassigning(console: Console) -> None:
    ref = await ask(console, "our shelter wants a curfew for residents", ["shelter"])
    async with console.client() as client:
        await console.sign_in(client)
        url = f"{console.base}/escalations/{ref}"
        async with client.get(url) as page:
            html = await page.text()
        assert 'value="shelter-curfew"' in html  # the bot's best guess is offered
        token = csrf_of(html)
        async with client.post(f"{url}/reassign", data={"csrf": token,
                                                        "to": OTHER_STAFF.id}) as moved:
            assert "Reassigned." in await moved.text()
        async with client.post(f"{url}/entry", data={"csrf": token,
                                                     "entry": "shelter-curfew"}) as answered:
            assert "Answered with the entry" in await answered.text()
    view = await console.runtime.triage.show(ref, STAFF)
    assert view.state == "answered" and view.claimed_by == OTHER_STAFF
    assert view.answer.startswith("Shelter curfew")


def hidden(html: str) -> dict[str, str]:
    """What an escalation page's answer form posts besides the answer."""
    fields = form_fields(html)
    return {"csrf": fields["csrf"], "seen": fields["seen"]}


async def test_two_staff_who_opened_the_page_before_either_answered_reach_the_asker_once(
        console: Console) -> None:
    ref = await ask(console, "how do we budget for a new roof", ["finance"])
    async with console.client() as first, console.client() as second:
        await console.sign_in(first)
        await console.sign_in(second, OTHER_STAFF)
        url = f"{console.base}/escalations/{ref}"
        forms = []
        for client in (first, second):
            async with client.get(url) as page:
                forms.append(hidden(await page.text()))
        async with first.post(f"{url}/answer", data={**forms[0], "answer": "Ask the bank."}
                              ) as sent:
            assert sent.status == 200
        await asyncio.sleep(2)  # seconds apart, not at the same moment
        mine = {**forms[1], "answer": "Ask the board treasurer."}
        async with second.post(f"{url}/answer", data=mine) as refused:
            body = await refused.text()
        assert refused.status == 409 and f"answered by {STAFF.id} after you opened it" in body
        assert "Ask the board treasurer." in body  # kept on the page, to send if still needed
        async with second.get(url) as page:
            again = hidden(await page.text())
        async with second.post(f"{url}/answer", data={**again, **{"answer": mine["answer"]}}
                               ) as corrected:
            assert corrected.status == 200  # having seen the first answer, a correction
    async with console.db.session() as session:
        relayed = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.user_id == "4242"))).all()
    assert ["bank" in m.text for m in relayed] == [True, False]


async def test_an_action_that_cannot_be_done_says_why_and_keeps_what_was_typed(
        console: Console) -> None:
    ref = await ask(console, "how do we budget for a new roof", ["finance"])
    await console.runtime.triage.claim(ref, OTHER_STAFF)
    async with console.client() as client:
        await console.sign_in(client)
        url = f"{console.base}/escalations/{ref}"
        async with client.get(url) as page:
            token = csrf_of(await page.text())
        async with client.post(f"{url}/claim", data={"csrf": token}) as taken:
            assert taken.status == 409
            assert f"already claimed by {OTHER_STAFF.id}" in await taken.text()
        async with client.post(f"{url}/answer", data={"csrf": token, "answer": "   "}) as empty:
            assert empty.status == 409 and "The answer is empty" in await empty.text()
        await console.runtime.triage.close(ref, OTHER_STAFF)
        draft = "Half-written answer to keep"
        async with client.post(f"{url}/note", data={"csrf": token, "note": draft}) as ok:
            assert ok.status == 200
        async with client.post(f"{url}/answer", data={"csrf": token, "answer": draft}) as late:
            body = await late.text()
            assert late.status == 409 and "reopen it before answering" in body
        async with client.post(f"{url}/fly", data={"csrf": token}) as unknown:
            assert unknown.status == 404
        async with client.get(f"{console.base}/escalations/not-a-ref") as bad:
            assert bad.status == 404 and "is not a reference" in await bad.text()


async def test_what_askers_typed_is_escaped_everywhere(console: Console) -> None:
    ref = await ask(console, '<script>alert("x")</script> & <b>bold</b>', ["<i>tag</i>"])
    async with console.client() as client:
        await console.sign_in(client)
        for path in ("/queue", f"/escalations/{ref}"):
            async with client.get(console.base + path) as page:
                html = await page.text()
            assert "<script>alert" not in html and "<b>bold" not in html and "<i>tag" not in html
            assert "&lt;script&gt;alert" in html


async def test_an_action_without_a_csrf_token_changes_nothing(console: Console) -> None:
    ref = await ask(console, "how do we budget for a new roof", ["finance"])
    async with console.client() as client:
        await console.sign_in(client)
        async with client.post(f"{console.base}/escalations/{ref}/claim") as forged:
            assert forged.status == 403
    assert (await console.runtime.triage.show(ref, STAFF)).state == "open"


async def test_the_escalation_page_reports_its_version_for_polling(console: Console) -> None:
    ref = await ask(console, "how do we budget for a new roof", ["finance"])
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/escalations/{ref}/version") as first:
            before = await first.json()
        await console.runtime.triage.claim(ref, OTHER_STAFF)  # another staff member acts
        async with client.get(f"{console.base}/escalations/{ref}/version") as second:
            after = await second.json()
    assert after != before and after["events"] == before["events"] + 1
