import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import pytest
from sqlalchemy import select, text

from bot.chat.messages import Message
from bot.store.database import Database
from bot.store.retention import PURGED, purge
from bot.store.tables import Escalation, OutboxMessage
from bot.triage import commands, outbox, undelivered
from bot.triage.escalations import Reason
from bot.triage.rendering import escalation_table, view_text
from bot.triage.workflow import MAX_ANSWER_CHARS, Actor, Triage, TriageError, parse_reference
from tests.conftest import new_escalation

STAFF = Actor("slack", "USTAFF1")
OTHER_STAFF = Actor("telegram", "777")
ASKER = Actor("telegram", "4242")
STRANGER = Actor("telegram", "5353")
T = TypeVar("T")


@pytest.fixture
def triage(database: Database) -> Triage:
    return Triage(database, frozenset({STAFF.id, OTHER_STAFF.id}),
                  unclaimed_after=dt.timedelta(hours=4), answer_due=dt.timedelta(hours=24))


async def ask(db: Database, text: str = "how do we budget for a new roof", asker: Actor = ASKER,
              thread: str | None = "thread-9", reason: Reason = Reason.NO_MATCH) -> str:
    message = Message(asker.platform, asker.user_id, f"chat-{asker.user_id}", text,
                      thread_id=thread)
    escalation = await new_escalation(db, message, text, reason, ["finance"],
                                         notify=("slack", "telegram"))
    return escalation.reference


async def test_a_waiting_crisis_leads_the_queue_and_says_it_is_urgent(triage: Triage) -> None:
    older = await ask(triage.db)
    crisis = await ask(triage.db, "he is outside my door right now", asker=STRANGER,
                       reason=Reason.CRISIS)
    newer = await ask(triage.db, "can a landlord end a lease early")
    queue = await triage.queue(STAFF)
    assert [v.reference for v in queue] == [crisis, older, newer]
    assert [v.urgent for v in queue] == [True, False, False]
    assert "URGENT: he is outside my door" in escalation_table(queue)
    assert view_text(queue[0], staff=True).splitlines()[1].startswith("URGENT")
    await triage.close(crisis, STAFF)
    queue = await triage.queue(STAFF)
    assert [v.reference for v in queue] == [older, crisis, newer]  # handled: back in its place
    assert "URGENT" not in escalation_table(queue)


async def test_an_answer_that_never_reached_its_asker_is_shown_to_staff_not_the_asker(
        triage: Triage) -> None:
    ref = await ask(triage.db)
    await triage.answer(ref, STAFF, "Invented answer: the placeholder fund.")
    answer = await outbox.claim(triage.db, "telegram", "p1", ASKER.user_id)
    assert await undelivered.give_up(triage.db, answer.id, "p1", "the asker has blocked the bot")
    shown = view_text(await triage.show(ref, STAFF), staff=True)
    assert "undelivered by tabot:sweep: the answer (the asker has blocked the bot)" in shown
    assert "undelivered" not in view_text(await triage.show(ref, ASKER), staff=False)


async def outbox_rows(db: Database, kind: str | None = None) -> list[OutboxMessage]:
    async with db.session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list(await session.scalars(query))


async def test_the_full_lifecycle_is_recorded_with_who_and_when(triage: Triage) -> None:
    ref = await ask(triage.db)
    await triage.claim(ref, STAFF)
    await triage.note(ref, STAFF, "call the roofer first")
    await triage.reassign(ref, STAFF, OTHER_STAFF)
    await triage.answer(ref, OTHER_STAFF, "Use unrestricted funds; ask your grant manager.")
    await triage.close(ref, OTHER_STAFF)
    view = await triage.reopen(ref, STAFF)
    assert view.state == "open" and view.claimed_by is None
    kinds = [(e.kind, e.actor) for e in view.events]
    assert kinds == [("created", ASKER.id), ("claimed", STAFF.id), ("note", STAFF.id),
                     ("reassigned", STAFF.id), ("answered", OTHER_STAFF.id),
                     ("closed", OTHER_STAFF.id), ("reopened", STAFF.id)]
    assert all(e.at.tzinfo is not None for e in view.events)


async def test_an_answer_is_queued_for_the_asker_where_they_asked(triage: Triage) -> None:
    ref = await ask(triage.db)
    await triage.answer(ref, STAFF, "Here is what to do.")
    [relay] = await outbox_rows(triage.db, "answer")
    assert (relay.platform, relay.user_id, relay.conversation_id, relay.thread_id) == (
        "telegram", "4242", "chat-4242", "thread-9")
    assert ref in relay.text and "Here is what to do." in relay.text
    assert relay.delivered_at is None


async def test_a_new_escalation_is_announced_to_staff(triage: Triage) -> None:
    ref = await ask(triage.db)
    notices = await outbox_rows(triage.db, "staff-notice")
    assert [n.platform for n in notices] == ["slack", "telegram"]
    assert all(ref in n.text and "finance" in n.text for n in notices)


async def test_only_configured_staff_can_act(triage: Triage) -> None:
    ref = await ask(triage.db)
    for action in (triage.claim(ref, ASKER), triage.answer(ref, ASKER, "x"),
                   triage.note(ref, ASKER, "x"), triage.close(ref, ASKER),
                   triage.reopen(ref, ASKER), triage.queue(ASKER)):
        with pytest.raises(TriageError, match="Only the coalition's TA staff"):
            await action


async def test_a_refusal_names_the_identity_to_add_to_tabot_staff(triage: Triage) -> None:
    ref = await ask(triage.db)
    for someone in (Actor("cli", "someone"), Actor("console", "someone")):
        for action in (triage.queue(someone), triage.claim(ref, someone)):
            with pytest.raises(TriageError) as refused:
                await action
            assert str(refused.value) == (
                f"Only the coalition's TA staff can do that. You act as {someone.id}; "
                f"adding {someone.id} to TABOT_STAFF makes you staff.")
    assert "console:someone" in await commands.queue(triage, Actor("console", "someone"))


async def test_askers_see_their_own_question_and_answer_but_no_notes(triage: Triage) -> None:
    ref = await ask(triage.db)
    await triage.note(ref, STAFF, "internal: unsure about this one")
    await triage.answer(ref, STAFF, "The answer.")
    mine = await triage.show(ref, ASKER)
    assert mine.answer == "The answer." and mine.events == ()
    assert "internal" not in str(mine.as_dict())
    with pytest.raises(TriageError, match="of yours"):
        await triage.show(ref, STRANGER)
    staff_view = await triage.show(ref, STAFF)
    assert any(e.kind == "note" for e in staff_view.events)


async def test_a_claimed_escalation_names_who_has_it(triage: Triage) -> None:
    ref = await ask(triage.db)
    await triage.claim(ref, STAFF)
    await triage.claim(ref, STAFF)  # claiming your own again is harmless
    with pytest.raises(TriageError, match=f"already claimed by {STAFF.id}"):
        await triage.claim(ref, OTHER_STAFF)


async def test_many_simultaneous_claims_have_exactly_one_winner(triage: Triage) -> None:
    ref = await ask(triage.db)
    contenders = [Actor("slack", f"U{n}") for n in range(12)]
    contest = Triage(triage.db, frozenset(a.id for a in contenders))
    results = await asyncio.gather(*(contest.claim(ref, a) for a in contenders),
                                   return_exceptions=True)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    losers = [str(r) for r in results if isinstance(r, TriageError)]
    assert len(losers) == 11 and all(winners[0].claimed_by.id in m for m in losers)


async def test_bad_references_and_answers_get_clear_messages(triage: Triage) -> None:
    ref = await ask(triage.db)
    with pytest.raises(TriageError, match="No escalation TA-0999"):
        await triage.claim("TA-0999", STAFF)
    with pytest.raises(TriageError, match="not a reference"):
        await triage.claim("roof question", STAFF)
    with pytest.raises(TriageError, match="The answer is empty"):
        await triage.answer(ref, STAFF, "   ")
    with pytest.raises(TriageError, match="the limit is 20,000"):
        await triage.answer(ref, STAFF, "x" * (MAX_ANSWER_CHARS + 1))
    await triage.close(ref, STAFF)
    with pytest.raises(TriageError, match="is closed; reopen it before answering"):
        await triage.answer(ref, STAFF, "too late")
    assert await outbox_rows(triage.db, "answer") == []


def test_references_are_read_in_the_forms_people_type() -> None:
    assert parse_reference("TA-0042") == parse_reference("ta42") == parse_reference("42") == 42


async def test_sweep_reannounces_unclaimed_and_tells_askers_once(triage: Triage) -> None:
    ref = await ask(triage.db)
    now = dt.datetime.now(dt.UTC)
    assert await triage.sweep(now + dt.timedelta(hours=1)) == ([], [])
    assert await triage.sweep(now + dt.timedelta(hours=5)) == ([ref], [])
    assert await triage.sweep(now + dt.timedelta(hours=6)) == ([], [])
    assert await triage.sweep(now + dt.timedelta(hours=25)) == ([ref], [ref])
    assert await triage.sweep(now + dt.timedelta(hours=26)) == ([], [])
    [late] = await outbox_rows(triage.db, "late")
    assert late.platform == "telegram" and ref in late.text
    await triage.claim(ref, STAFF)
    assert (await triage.sweep(now + dt.timedelta(hours=40)))[0] == []


async def test_an_answer_can_be_corrected_by_answering_again(triage: Triage) -> None:
    """Answering an answered question is allowed on purpose (the console offers it): the asker
    is sent the correction as well."""
    ref = await ask(triage.db)
    await triage.answer(ref, STAFF, "Use restricted funds.")
    view = await triage.answer(ref, STAFF, "Correction: use unrestricted funds.")
    assert view.state == "answered" and view.answer == "Correction: use unrestricted funds."
    assert [r.text.rsplit("\n", 1)[-1] for r in await outbox_rows(triage.db, "answer")] == [
        "Use restricted funds.", "Correction: use unrestricted funds."]


async def test_claiming_your_own_answered_or_closed_question_is_refused(triage: Triage) -> None:
    ref = await ask(triage.db)
    await triage.claim(ref, STAFF)
    await triage.answer(ref, STAFF, "Use unrestricted funds.")
    with pytest.raises(TriageError, match=f"{ref} is answered; reopen it first"):
        await triage.claim(ref, STAFF)
    await triage.close(ref, STAFF)
    with pytest.raises(TriageError, match=f"{ref} is closed; reopen it first"):
        await triage.claim(ref, STAFF)
    assert (await triage.show(ref, STAFF)).state == "closed"


async def test_a_purged_question_cannot_be_reopened_answered_or_given_notes(
        triage: Triage) -> None:
    ref = await ask(triage.db)
    await triage.answer(ref, STAFF, "Use unrestricted funds.")
    await triage.close(ref, STAFF)
    await purge(triage.db, dt.timedelta(days=90), dt.timedelta(days=30), STAFF.id,
                now=dt.datetime.now(dt.UTC) + dt.timedelta(days=31))
    for action, doing in ((triage.reopen(ref, STAFF), "reopened"),
                          (triage.answer(ref, STAFF, "more"), "answered"),
                          (triage.note(ref, STAFF, "the asker's name is ..."), "given notes")):
        with pytest.raises(TriageError, match=f"{ref} was purged .* cannot be {doing}"):
            await action
    view = await triage.show(ref, STAFF)
    assert (view.state, view.question) == ("closed", PURGED)
    assert [e.kind for e in view.events][-1] == "closed"


# --- at the same moment, on PostgreSQL --------------------------------------------------------
# Another transaction holds the escalation's row while two actions start, one after the other:
# both read it, then queue for the write in that order, as at a busy moment across processes.


@contextlib.asynccontextmanager
async def row_held(db: Database, reference: str) -> AsyncIterator[None]:
    async with db.engine.connect() as other, other.begin():
        await other.execute(select(Escalation.id).where(
            Escalation.id == parse_reference(reference)).with_for_update())
        yield


async def queued(db: Database, action: Awaitable[T], waiting: int) -> asyncio.Task[T]:
    """Start `action` and return once `waiting` transactions wait on a lock."""
    task = asyncio.ensure_future(action)
    for _ in range(200):
        async with db.engine.connect() as probe:
            now_waiting = await probe.scalar(text(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and wait_event_type = 'Lock'"))
        if now_waiting >= waiting:
            return task
        if task.done():
            task.result()
            raise AssertionError("the action finished without waiting for the held row")
        await asyncio.sleep(0.05)
    raise AssertionError(f"never saw {waiting} transactions waiting on a lock")


@pytest.fixture
def pg_triage(postgres_database: Database) -> Triage:
    return Triage(postgres_database, frozenset({STAFF.id, OTHER_STAFF.id}), ("slack",),
                  unclaimed_after=dt.timedelta(hours=4), answer_due=dt.timedelta(hours=24))


@pytest.mark.postgres
async def test_two_answers_sent_at_once_reach_the_asker_once(pg_triage: Triage) -> None:
    db = pg_triage.db
    ref = await ask(db)
    async with row_held(db, ref):
        first = await queued(db, pg_triage.answer(ref, STAFF, "Use the reserve fund."), 1)
        second = await queued(db, pg_triage.answer(ref, OTHER_STAFF, "Ask the landlord."), 2)
    assert (await first).answer == "Use the reserve fund."
    with pytest.raises(TriageError, match=f"{ref} was answered by {STAFF.id} just now"):
        await second
    [relay] = await outbox_rows(db, "answer")
    assert relay.text.endswith("Use the reserve fund.")
    assert [e.kind for e in (await pg_triage.show(ref, STAFF)).events].count("answered") == 1


@pytest.mark.postgres
async def test_an_answer_racing_a_close_does_not_undo_it(pg_triage: Triage) -> None:
    db = pg_triage.db
    ref = await ask(db)
    async with row_held(db, ref):
        closing = await queued(db, pg_triage.close(ref, STAFF), 1)
        answering = await queued(db, pg_triage.answer(ref, OTHER_STAFF, "Ask the landlord."), 2)
    assert (await closing).state == "closed"
    with pytest.raises(TriageError, match=f"{ref} is closed; reopen it before answering"):
        await answering
    view = await pg_triage.show(ref, STAFF)
    assert (view.state, view.answer) == ("closed", None)
    assert await outbox_rows(db, "answer") == []


@pytest.mark.postgres
async def test_two_sweeps_at_once_send_each_notice_once(pg_triage: Triage) -> None:
    db = pg_triage.db
    ref = await ask(db)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=30)
    async with row_held(db, ref):
        one = await queued(db, pg_triage.sweep(later), 1)
        two = await queued(db, pg_triage.sweep(later), 2)
    assert [await one, await two] == [([ref], [ref]), ([], [])]
    assert len(await outbox_rows(db, "late")) == 1
    notices = [n.text for n in await outbox_rows(db, "staff-notice")]
    assert sum("still unclaimed" in n for n in notices) == 1
    assert [e.kind for e in (await pg_triage.show(ref, STAFF)).events].count("reannounced") == 1
