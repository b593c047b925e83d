"""The real python-telegram-bot code, polling a local fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from adapters.base import ONLY_TEXT
from adapters.telegram import LIMIT, TelegramConfig, render
from bot.app import Runtime
from bot.chat.messages import AnswerReply, CategoryReply, Choice, Source, TextReply
from bot.chat.text import split_text
from bot.config import ConfigError, Settings
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.store.tables import Interaction, OutboxMessage, utcnow
from bot.triage import members, outbox
from bot.triage.commands import StaffAction
from bot.triage.escalations import ANSWERED_WITH
from bot.triage.workflow import Actor, relay_text
from tests.conftest import REPO, logged, running
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.telegram_api import BOT, FakeTelegramAPI, shown_html

STAFF = 100
ADVOCATE = 200
STRANGER = 300
SUBPOENA = "what do we do if we get a subpoena for a survivor's records"
CURFEW = "can our shelter have a curfew for residents"
# A question for staff. Matching offers suggestions for nearly any question in the domain's
# words (each with a way to staff), so a test that needs an escalation asks for staff.
UNMATCHED = "how do we reconcile our general ledger for the audit"
TO_STAFF = "/staff " + UNMATCHED


class Harness:
    def __init__(self, api: FakeTelegramAPI, runtime: Runtime) -> None:
        self.api, self.runtime = api, runtime
        self.db = runtime.db

    async def deliver(self) -> int:
        return await self.runtime.dispatcher.deliver_pending()

    def keyboard(self, payload: dict) -> list[str]:
        markup = payload.get("reply_markup") or {}
        return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]

    def button(self, payload: dict, kind: str, value: str = "") -> str:
        """The callback data of the `kind` button (for entry `value`, if given)."""
        return next(b for b in self.keyboard(payload)
                    if b.startswith(f"{kind}|") and (not value or b.endswith(f"|{value}")))

    async def replies_to(self, chat: int, count: int = 1) -> list[dict]:
        for _ in range(300):
            found = [p for p in self.api.sent() if p["chat_id"] == chat]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"chat {chat} got {self.api.sent()}")


def telegram_env(api: FakeTelegramAPI, **extra: str) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url, **extra}


def telegram_settings(database: Database, tmp_path: Path, **extra) -> Settings:
    return Settings(database_url=database.url, knowledge_dir=tmp_path,
                    staff=frozenset({f"telegram:{STAFF}"}), **extra)


@contextlib.asynccontextmanager
async def telegram_runtime(shipped_kb: KnowledgeBase, database: Database, api: FakeTelegramAPI,
                           tmp_path: Path, **env: str) -> AsyncIterator[Harness]:
    async with running(telegram_settings(database, tmp_path), ["telegram"],
                       telegram_env(api, **env), shipped_kb) as runtime:
        yield Harness(api, runtime)


@pytest.fixture
async def telegram(shipped_kb: KnowledgeBase, database: Database,
                   tmp_path: Path) -> AsyncIterator[Harness]:
    api = FakeTelegramAPI()
    await api.start()
    async with telegram_runtime(shipped_kb, database, api, tmp_path) as harness:
        yield harness
    await api.stop()


async def register(h: Harness, user: int = ADVOCATE) -> None:
    code = await members.invite(h.db, "Riverside Shelter", "cli:test")
    before = len([p for p in h.api.sent() if p["chat_id"] == user])
    h.api.text(f"/start {code}", user)
    welcome = (await h.replies_to(user, before + 1))[-1]
    assert "registered with Riverside Shelter" in welcome["text"]
    h.api.calls.clear()


async def test_commands_are_registered_with_telegram(telegram: Harness) -> None:
    [commands] = telegram.api.sent("setMyCommands")
    assert [c["command"] for c in commands["commands"]] == ["start", "help", "topics",
                                                           "status", "staff"]


async def test_strangers_are_refused_and_codes_register(telegram: Harness) -> None:
    telegram.api.text(SUBPOENA, STRANGER)
    [refusal] = await telegram.replies_to(STRANGER)
    assert "invite code" in refusal["text"] and "subpoena" not in refusal["text"].lower()
    telegram.api.text("/start NOTACODE", STRANGER)
    _, bad = await telegram.replies_to(STRANGER, 2)
    assert "not valid" in bad["text"]
    await register(telegram, STRANGER)
    telegram.api.text(SUBPOENA, STRANGER)
    [answer, *_] = await telegram.replies_to(STRANGER)
    assert "subpoena" in answer["text"].lower()
    assert await members.program_of(telegram.db, "telegram",
                                    str(STRANGER)) == "Riverside Shelter"


DANGER = "he is outside my house with a gun"


async def test_a_stranger_in_danger_gets_the_hotlines_before_how_to_join(
        telegram: Harness) -> None:
    """Safety comes before membership: someone who found the bot without an invite code may
    be the survivor. Nothing is filed for them, as nobody let them in."""
    telegram.api.text(DANGER, STRANGER)
    hotlines, refusal = await telegram.replies_to(STRANGER, 2)
    assert "911" in hotlines["text"] and "invite code" in refusal["text"]
    async with telegram.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Interaction)) == 0


async def test_a_member_in_danger_gets_the_hotlines_while_the_database_is_down(
        shipped_kb: KnowledgeBase, postgres_database: Database, tmp_path: Path) -> None:
    """Membership cannot be looked up, so the message cannot be taken in; the hotlines need
    no database and go first."""
    proxy = TcpProxy(target_port=5432)
    await proxy.open()
    proxied = Database(postgres_database.url.replace("@127.0.0.1:5432/",
                                                     f"@127.0.0.1:{proxy.port}/"))
    api = FakeTelegramAPI()
    await api.start()
    try:
        async with telegram_runtime(shipped_kb, proxied, api, tmp_path) as telegram:
            await register(telegram)
            await proxy.close()
            before = len(api.sent())
            api.text(DANGER, ADVOCATE)
            *_, hotlines, down = await telegram.replies_to(ADVOCATE, before + 2)
    finally:
        await api.stop()
        await proxied.close()
    assert "911" in hotlines["text"] and "database" in down["text"]


async def test_an_answer_is_short_first_with_more_and_sources(telegram: Harness) -> None:
    await register(telegram)
    telegram.api.text(SUBPOENA, ADVOCATE)
    [short, *_] = await telegram.replies_to(ADVOCATE)
    assert len(short["text"]) < 900 and short["parse_mode"] == "HTML"
    more = telegram.button(short, "m", "subpoena-for-records")
    assert telegram.button(short, "h", "subpoena-for-records")
    telegram.api.press(more, ADVOCATE, telegram.api.as_message(short))
    await telegram.api.wait_for("answerCallbackQuery")
    replies = await telegram.replies_to(ADVOCATE, 3)
    full = replies[-1]["text"]
    assert "<b>Sources</b>" in full and "techsafety.org" in full


async def test_suggestion_buttons_answer_when_pressed(telegram: Harness) -> None:
    await register(telegram)
    telegram.api.text("shelter", ADVOCATE)
    [suggest] = await telegram.replies_to(ADVOCATE)
    choice = telegram.button(suggest, "c")
    telegram.api.press(choice, ADVOCATE, telegram.api.as_message(suggest))
    _, answer = await telegram.replies_to(ADVOCATE, 2)
    entry = choice.rsplit("|", 1)[1]
    assert answer["text"].startswith("<b>") and telegram.button(answer, "m", entry)


async def test_in_groups_it_answers_only_when_mentioned_in_a_reply(telegram: Harness) -> None:
    await register(telegram)
    group = -555
    telegram.api.text(SUBPOENA, ADVOCATE, chat=group, chat_type="group")
    mention = telegram.api.text(f"@{BOT['username']} {SUBPOENA}", ADVOCATE, chat=group,
                                chat_type="group")
    [answer, *_] = await telegram.replies_to(group)
    assert answer["reply_parameters"]["message_id"] == mention["message"]["message_id"]
    await asyncio.sleep(0.5)
    replied_to = {p["reply_parameters"]["message_id"] for p in telegram.api.sent()
                  if p["chat_id"] == group}
    assert replied_to == {mention["message"]["message_id"]}


async def test_escalations_reach_staff_and_a_staff_reply_reaches_the_asker(
        telegram: Harness) -> None:
    await register(telegram)
    telegram.api.text(f"{TO_STAFF} <b>*bold*</b>", ADVOCATE)
    [told] = await telegram.replies_to(ADVOCATE)
    assert "TA-0001" in told["text"] and "&lt;b&gt;" not in told["text"]
    await telegram.deliver()
    [notice] = await telegram.replies_to(STAFF)
    assert "TA-0001" in notice["text"] and "&lt;b&gt;*bold*&lt;/b&gt;" in notice["text"]
    assert telegram.keyboard(notice) == ["tc||TA-0001", "ta||TA-0001"]
    telegram.api.press("tc||TA-0001", STAFF, telegram.api.as_message(notice))
    _, claimed = await telegram.replies_to(STAFF, 2)
    assert "is yours" in claimed["text"]
    telegram.api.text("Try a small-engine repair shop.", STAFF,
                      reply_to=telegram.api.as_message(notice))
    _, _, sent = await telegram.replies_to(STAFF, 3)
    assert "Sent to the asker of TA-0001" in sent["text"]
    await telegram.deliver()
    _, relayed = await telegram.replies_to(ADVOCATE, 2)
    assert "Try a small-engine repair shop." in relayed["text"]


async def test_a_reply_to_a_notice_answered_meanwhile_is_refused_not_sent_as_a_correction(
        telegram: Harness) -> None:
    await register(telegram)
    telegram.api.text(TO_STAFF, ADVOCATE)
    await telegram.replies_to(ADVOCATE)
    await telegram.deliver()
    [notice] = await telegram.replies_to(STAFF)
    # Answered in the console (here by the same person, signed in there) while the notice
    # waited in Telegram.
    first = await telegram.runtime.core.staff_act(Actor("telegram", str(STAFF)),
                                                  StaffAction.ANSWER, "TA-0001", "First answer.")
    assert first.done
    telegram.api.text("Second answer.", STAFF, reply_to=telegram.api.as_message(notice))
    _, refused = await telegram.replies_to(STAFF, 2)
    assert f"was answered by telegram:{STAFF}" in refused["text"]
    await telegram.deliver()
    relayed = (await telegram.replies_to(ADVOCATE, 2))[1:]
    assert [("First answer." in r["text"], "Second answer." in r["text"]) for r in relayed] \
        == [(True, False)]
    # Replying to anything else naming the question is a correction, meant as one.
    telegram.api.text("A correction.", STAFF, reply_to=telegram.api.as_message(refused))
    _, _, sent = await telegram.replies_to(STAFF, 3)
    assert "Sent to the asker of TA-0001" in sent["text"]


PROMPTS = [("tc", "TA-0001 is yours. Reply to its message"),
           ("ta", "Reply to the message about TA-0001 with your answer")]


async def prompted(h: Harness, button: str, wording: str) -> dict:
    """TA-0001 announced to staff, and the notice's `button` pressed: the prompt it got back,
    which staff reply to as readily as to the notice."""
    await register(h)
    h.api.text(TO_STAFF, ADVOCATE)
    await h.replies_to(ADVOCATE)
    await h.deliver()
    [notice] = await h.replies_to(STAFF)
    h.api.press(h.button(notice, button), STAFF, h.api.as_message(notice))
    _, prompt = await h.replies_to(STAFF, 2)
    assert wording in prompt["text"]
    return prompt


@pytest.mark.parametrize(("button", "wording"), PROMPTS)
async def test_a_reply_to_a_buttons_prompt_answered_meanwhile_is_refused_not_sent_twice(
        telegram: Harness, button: str, wording: str) -> None:
    """The prompt stands for the notice it came from: a reply to it after someone else
    answered (here in the console) is refused, as a reply to the notice would be."""
    prompt = await prompted(telegram, button, wording)
    first = await telegram.runtime.core.staff_act(Actor("telegram", str(STAFF)),
                                                  StaffAction.ANSWER, "TA-0001", "First answer.")
    assert first.done
    telegram.api.text("Second answer.", STAFF, reply_to=telegram.api.as_message(prompt))
    *_, refused = await telegram.replies_to(STAFF, 3)
    assert f"TA-0001 was answered by telegram:{STAFF} after you opened it" in refused["text"]
    await telegram.deliver()
    relayed = (await telegram.replies_to(ADVOCATE, 2))[1:]
    assert [("First answer." in r["text"], "Second answer." in r["text"]) for r in relayed] \
        == [(True, False)]


@pytest.mark.parametrize(("button", "wording"), PROMPTS)
async def test_a_reply_to_a_buttons_prompt_answers_a_question_still_waiting(
        telegram: Harness, button: str, wording: str) -> None:
    prompt = await prompted(telegram, button, wording)
    telegram.api.text("Ask your bookkeeper first.", STAFF,
                      reply_to=telegram.api.as_message(prompt))
    *_, sent = await telegram.replies_to(STAFF, 3)
    assert "Sent to the asker of TA-0001" in sent["text"]
    await telegram.deliver()
    _, relayed = await telegram.replies_to(ADVOCATE, 2)
    assert "Ask your bookkeeper first." in relayed["text"]


async def reopened_and_reannounced(h: Harness) -> dict:
    """TA-0001 answered ("First answer."), reopened, and announced to staff again by the
    sweep: the re-announced notice."""
    await register(h)
    h.api.text(TO_STAFF, ADVOCATE)
    await h.replies_to(ADVOCATE)
    await h.deliver()
    await h.replies_to(STAFF)
    staff = Actor("telegram", str(STAFF))
    await h.runtime.triage.answer("TA-0001", staff, "First answer.")
    await h.runtime.triage.reopen("TA-0001", staff)
    announced, _ = await h.runtime.triage.sweep(now=utcnow() + dt.timedelta(hours=5))
    assert announced == ["TA-0001"]
    await h.deliver()
    _, notice = await h.replies_to(STAFF, 2)
    assert notice["text"].startswith("TA-0001") and "still unclaimed" in notice["text"]
    return notice


async def test_a_reply_to_the_notice_of_a_reopened_question_answers_it(
        telegram: Harness) -> None:
    notice = await reopened_and_reannounced(telegram)
    telegram.api.press(telegram.button(notice, "ta"), STAFF, telegram.api.as_message(notice))
    _, _, how = await telegram.replies_to(STAFF, 3)
    assert "Reply to the message about TA-0001 with your answer" in how["text"]
    telegram.api.text("Second answer.", STAFF, reply_to=telegram.api.as_message(notice))
    *_, sent = await telegram.replies_to(STAFF, 4)
    assert "Sent to the asker of TA-0001" in sent["text"]
    await telegram.deliver()
    *_, relayed = await telegram.replies_to(ADVOCATE, 3)
    assert "Second answer." in relayed["text"]


async def test_a_reply_to_the_notice_of_a_reopened_question_answered_meanwhile_is_refused(
        telegram: Harness) -> None:
    notice = await reopened_and_reannounced(telegram)
    # Answered again in the console after the re-announced notice went out.
    again = await telegram.runtime.core.staff_act(Actor("telegram", str(STAFF)),
                                                  StaffAction.ANSWER, "TA-0001", "Newer answer.")
    assert again.done
    telegram.api.text("Reply answer.", STAFF, reply_to=telegram.api.as_message(notice))
    *_, refused = await telegram.replies_to(STAFF, 3)
    assert f"TA-0001 was answered by telegram:{STAFF} after you opened it" in refused["text"]
    await telegram.deliver()
    relayed = (await telegram.replies_to(ADVOCATE, 3))[1:]
    assert [("Newer answer." in r["text"], "Reply answer." in r["text"]) for r in relayed] \
        == [(False, False), (True, False)]  # "First answer.", then "Newer answer."


async def test_a_staff_answer_reaches_a_group_whose_question_was_deleted(
        telegram: Harness) -> None:
    await register(telegram)
    group = -556
    asked = telegram.api.text(f"@{BOT['username']} {TO_STAFF}", ADVOCATE, chat=group,
                              chat_type="group")
    [told] = await telegram.replies_to(group)
    assert "TA-0001" in told["text"]
    telegram.api.deleted.add(asked["message"]["message_id"])
    await telegram.runtime.triage.answer("TA-0001", Actor("telegram", str(STAFF)),
                                         "Ask your bookkeeper first.")
    await telegram.deliver()
    async with telegram.db.session() as session:
        [answer] = await session.scalars(select(OutboxMessage).where(
            OutboxMessage.conversation_id == str(group)))
    assert answer.delivered_at is not None and answer.last_error is None
    relayed = [p for p in telegram.api.sent() if p["chat_id"] == group][-1]
    assert "Ask your bookkeeper first." in relayed["text"]


async def test_advocates_cannot_press_staff_buttons(telegram: Harness) -> None:
    await register(telegram)
    telegram.api.text(TO_STAFF, ADVOCATE)
    [told] = await telegram.replies_to(ADVOCATE)
    telegram.api.press("tc||TA-0001", ADVOCATE, telegram.api.as_message(told))
    _, refusal = await telegram.replies_to(ADVOCATE, 2)
    assert "Only the coalition's TA staff" in refusal["text"]


async def test_non_text_messages_get_a_clear_reply_and_nothing_is_stored(
        telegram: Harness) -> None:
    await register(telegram)
    telegram.api.push({"message": {"message_id": 77, "date": 1, "chat": {
        "id": ADVOCATE, "type": "private"}, "from": {"id": ADVOCATE, "is_bot": False,
        "first_name": "A"}, "photo": [{"file_id": "f", "file_unique_id": "u", "width": 1,
                                       "height": 1}]}})
    [reply] = await telegram.replies_to(ADVOCATE)
    assert reply["text"] == ONLY_TEXT
    async with telegram.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Interaction)) == 0


async def test_a_long_answer_that_failed_part_way_is_resent_from_the_part_that_failed(
        telegram: Harness) -> None:
    """Rural connections drop: the parts an asker already has are not sent to them again."""
    await register(telegram)
    telegram.api.text(TO_STAFF, ADVOCATE)
    await telegram.replies_to(ADVOCATE)
    await telegram.deliver()  # the notice to staff
    await telegram.runtime.triage.answer("TA-0001", Actor("telegram", str(STAFF)),
                                         "A long answer. " * 700)
    before = len(telegram.api.sent())
    telegram.api.failures["sendMessage"] = [200, 502]  # the first part goes, the second fails

    def tried() -> list[str]:  # every call, the failed one too
        return [p["text"] for p in telegram.api.sent()[before:] if p["chat_id"] == ADVOCATE]

    await telegram.deliver()
    parts = [html.escape(part) for part in split_text(
        relay_text("TA-0001", UNMATCHED, "A long answer. " * 700), LIMIT)]
    assert tried() == parts[:2] and len(parts) >= 3
    await asyncio.sleep(outbox.FIRST_RETRY.total_seconds() + 0.2)
    await telegram.deliver()
    assert tried() == [parts[0], *parts[1:2], *parts[1:]]  # the first part is not sent again


@contextlib.asynccontextmanager
async def filed_for_two_staff_one_blocked(shipped_kb: KnowledgeBase, database: Database,
                                          tmp_path: Path) -> AsyncIterator[Harness]:
    """Staff 100, who blocked the bot, and 99 (sent to after 100: "100" sorts first); one
    question filed for them."""
    api = FakeTelegramAPI(blocked={STAFF})
    await api.start()
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        staff=frozenset({f"telegram:{STAFF}", "telegram:99"}))
    try:
        async with running(settings, ["telegram"], telegram_env(api), shipped_kb) as runtime:
            h = Harness(api, runtime)
            await register(h)
            api.text(TO_STAFF, ADVOCATE)
            await h.replies_to(ADVOCATE)
            yield h
    finally:
        await api.stop()


async def test_a_staff_member_who_blocked_the_bot_does_not_hold_back_the_others(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    async with filed_for_two_staff_one_blocked(shipped_kb, database, tmp_path) as h:
        await h.deliver()
        [notice] = await h.replies_to(99)
        assert "TA-0001" in notice["text"]


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def answered_after_notice(h: Harness, answer: str) -> OutboxMessage:
    """An escalation announced to staff, then answered: the answer's outbox row."""
    h.api.text(TO_STAFF, ADVOCATE)
    await h.replies_to(ADVOCATE)
    await h.deliver()  # the notice to staff
    await h.replies_to(STAFF)
    await h.runtime.triage.answer("TA-0001", Actor("telegram", str(STAFF)), answer)
    return (await outbox_rows(h.db))[-1]


@pytest.mark.parametrize(("refusal", "reason"), [
    ("blocked", "the asker has blocked the bot"),
    ("missing", "the Telegram chat no longer exists")])
async def test_an_answer_the_asker_can_never_get_is_given_up_and_staff_are_told(
        telegram: Harness, refusal: str, reason: str) -> None:
    await register(telegram)
    answer = "Invented answer: ask the placeholder office."
    row = await answered_after_notice(telegram, answer)
    getattr(telegram.api, refusal).add(ADVOCATE)
    await telegram.deliver()
    _, alert = await telegram.replies_to(STAFF, 2)
    assert alert["text"] == (f"TA-0001: the answer could not be delivered to the asker on "
                             f"telegram ({reason}). Reach them another way.")
    assert "reply_markup" not in alert
    await asyncio.sleep(outbox.FIRST_RETRY.total_seconds() + 0.2)
    await telegram.deliver()
    tried = [p for p in telegram.api.sent() if p["chat_id"] == ADVOCATE and answer in p["text"]]
    assert len(tried) == 1  # refused once, never tried again
    given_up = next(r for r in await outbox_rows(telegram.db) if r.id == row.id)
    assert given_up.given_up_at is not None and given_up.delivered_at is None
    assert given_up.last_error == reason and given_up.attempts == 1
    history = await telegram.runtime.triage.show("TA-0001", Actor("telegram", str(STAFF)))
    assert [e.detail for e in history.events if e.kind == "undelivered"] == [
        f"the answer ({reason})"]


async def test_an_answer_that_meets_a_server_error_is_retried_not_given_up(
        telegram: Harness) -> None:
    await register(telegram)
    row = await answered_after_notice(telegram, "Invented answer: the placeholder form.")
    telegram.api.failures["sendMessage"] = [500]
    await telegram.deliver()
    [failed] = [r for r in await outbox_rows(telegram.db) if r.id == row.id]
    assert failed.given_up_at is None and failed.delivered_at is None
    assert failed.last_error.startswith("NetworkError")
    await asyncio.sleep(outbox.FIRST_RETRY.total_seconds() + 0.2)
    await telegram.deliver()
    [sent] = [r for r in await outbox_rows(telegram.db) if r.id == row.id]
    assert sent.delivered_at is not None and sent.given_up_at is None
    assert [r.kind for r in await outbox_rows(telegram.db)].count("staff-alert") == 0


async def test_a_staff_notice_is_given_up_only_when_every_failure_is_for_good(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    """One staff member blocked the bot and another's send failed on a server error: the
    notice is retried for the second, then given up for the first, with no alert about it."""
    async with filed_for_two_staff_one_blocked(shipped_kb, database, tmp_path) as h:
        h.api.failures["sendMessage"] = [502]
        await h.deliver()
        [notice] = await outbox_rows(h.db)
        assert notice.given_up_at is None and notice.last_error.startswith("NetworkError")
        await asyncio.sleep(outbox.FIRST_RETRY.total_seconds() + 0.2)
        await h.deliver()
        [notice] = await outbox_rows(h.db)
        assert notice.given_up_at is not None
        assert notice.last_error == "a staff member has blocked the bot"
        assert len([p for p in h.api.sent() if p["chat_id"] == 99]) == 2  # failed, then sent


async def test_long_messages_are_split_under_telegrams_limit(telegram: Harness) -> None:
    await register(telegram)
    telegram.api.text(TO_STAFF, ADVOCATE)
    await telegram.replies_to(ADVOCATE)
    await telegram.runtime.triage.answer("TA-0001", Actor("telegram", str(STAFF)),
                                         "A long answer. " * 700)
    await telegram.deliver()
    relayed = (await telegram.replies_to(ADVOCATE, 4))[1:]
    assert len(relayed) >= 3 and all(len(shown_html(p["text"])) <= LIMIT for p in relayed)


AMPERSANDS = "Legal & safety's \"R&D\" & more " * 130  # each '&' and quote grows when escaped


async def test_a_staff_notice_full_of_ampersands_shows_the_question_as_asked_within_the_limit(
        telegram: Harness) -> None:
    """Telegram counts its limit on the text its HTML shows: a notice is cut before it is
    escaped, never through an escaped "&amp;", which would show as "&am" in place of the
    question's last words, and at a fraction of the length Telegram allows."""
    await register(telegram)
    telegram.api.text(f"/staff {AMPERSANDS}", ADVOCATE)
    await telegram.replies_to(ADVOCATE)
    await telegram.deliver()
    [notice] = await telegram.replies_to(STAFF)
    [row] = [r for r in await outbox_rows(telegram.db) if r.kind == "staff-notice"]
    assert len(html.escape(row.text)) > LIMIT and row.delivered_at is not None
    assert shown_html(notice["text"]) == row.text[:LIMIT]


async def test_a_staff_answer_full_of_ampersands_reaches_the_asker_as_written(
        telegram: Harness) -> None:
    """An answer is split before it is escaped: a piece cut through an escaped entity (an
    unbroken run leaves no better place to cut) would show the asker "&am" or "&#x2"."""
    await register(telegram)
    telegram.api.text(TO_STAFF, ADVOCATE)
    await telegram.replies_to(ADVOCATE)
    answer = "See https://example.org/?" + "a=1&b='2'&" * 900
    await telegram.runtime.triage.answer("TA-0001", Actor("telegram", str(STAFF)), answer)
    await telegram.deliver()
    relayed = [shown_html(p["text"]) for p in (await telegram.replies_to(ADVOCATE, 4))[1:]]
    assert all(len(piece) <= LIMIT for piece in relayed)
    assert "".join("".join(relayed).split()) == "".join(
        relay_text("TA-0001", UNMATCHED, answer).split())


@pytest.mark.parametrize("reply", [
    TextReply("&" * 3000 + " " + "'\"" * 2000),
    AnswerReply("e", "R&D <grants>", "&" * 6000 + "\n\nThe \"rest\" & more.",
                (Source("A & B's \"guide\"", "https://example.org/?a=1&b=2"),
                 Source("Q&A " * 700)), 1.0, disclaimer="Not legal advice & so on.",
                full=True)], ids=["text", "full answer"])
def test_long_replies_full_of_escaped_characters_are_split_into_valid_html(
        reply: TextReply | AnswerReply) -> None:
    """Each piece is HTML Telegram takes, within its limit, and together they show every
    word: no piece is cut inside an escaped entity or a tag."""
    pieces = [shown_html(text) for text, _ in render(reply)]
    assert len(pieces) > 1 and all(len(piece) <= LIMIT for piece in pieces)
    expected = (reply.text if isinstance(reply, TextReply) else
                reply.title + reply.answer + "Sources" + "".join(
                    "• " + s.title for s in reply.sources) + reply.disclaimer)
    assert "".join("".join(pieces).split()) == "".join(expected.split())


async def test_a_duplicated_update_is_handled_once_across_a_restart(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    api = FakeTelegramAPI()
    await api.start()
    async with telegram_runtime(shipped_kb, database, api, tmp_path) as harness:
        await register(harness)
        update = api.text(TO_STAFF, ADVOCATE)
        await harness.replies_to(ADVOCATE)
    api.updates.append(update)  # Telegram delivers it again after the restart
    async with telegram_runtime(shipped_kb, database, api, tmp_path):
        await asyncio.sleep(1.5)
    await api.stop()
    assert len([p for p in api.sent() if p["chat_id"] == ADVOCATE]) == 1


async def test_send_to_staff_pressed_after_a_restart_keeps_the_question(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    api = FakeTelegramAPI()
    await api.start()
    async with telegram_runtime(shipped_kb, database, api, tmp_path) as harness:
        await register(harness)
        api.text(CURFEW, ADVOCATE)  # no state law: not filed with it
        [answer, *_] = await harness.replies_to(ADVOCATE)
        api.press(harness.button(answer, "n", "shelter-rules"), ADVOCATE,
                  api.as_message(answer))
        offer = (await harness.replies_to(ADVOCATE, 2))[-1]
        assert "send your question to TA staff" in offer["text"]
    async with telegram_runtime(shipped_kb, database, api, tmp_path) as harness:
        api.press(harness.button(offer, "s"), ADVOCATE, api.as_message(offer))
        sent = (await harness.replies_to(ADVOCATE, 3))[-1]
        assert "TA-0001" in sent["text"]
        escalation = await harness.runtime.triage.show("TA-0001", Actor("telegram", str(STAFF)))
    await api.stop()
    assert escalation.reason == "not-helped"
    assert escalation.question == CURFEW + ANSWERED_WITH.format(entry="shelter-rules")


async def test_an_edited_question_is_not_answered_or_filed_again(telegram: Harness) -> None:
    await register(telegram)
    asked = telegram.api.text(TO_STAFF, ADVOCATE)
    [filed] = await telegram.replies_to(ADVOCATE)
    assert "TA-0001" in filed["text"]
    telegram.api.edit(asked, TO_STAFF + " this year")
    telegram.api.text("/status", ADVOCATE)
    _, status = await telegram.replies_to(ADVOCATE, 2)  # the edit, if handled, came first
    assert "TA-0001" in status["text"] and "TA-0002" not in status["text"]


async def test_a_press_is_handled_when_telegram_refuses_to_stop_its_spinner(
        telegram: Harness) -> None:
    """A press queued while the bot was down is too old to answer; its work must still be
    done, since the update is marked seen and never comes again."""
    await register(telegram)
    telegram.api.text(SUBPOENA, ADVOCATE)
    [answer, *_] = await telegram.replies_to(ADVOCATE)
    telegram.api.failures["answerCallbackQuery"] = [400]
    telegram.api.press(telegram.button(answer, "m", "subpoena-for-records"), ADVOCATE,
                       telegram.api.as_message(answer))
    full = (await telegram.replies_to(ADVOCATE, 3))[-1]
    assert "<b>Sources</b>" in full["text"]


async def test_server_errors_are_retried_until_it_recovers(telegram: Harness) -> None:
    await register(telegram)
    telegram.api.failures["getUpdates"] = [502, 502, 500]
    calls = len(telegram.api.sent("getUpdates"))
    telegram.api.text("hi", STRANGER)  # wakes the long poll, so the failing calls come soon
    while len(telegram.api.sent("getUpdates")) < calls + 2:
        await asyncio.sleep(0.05)  # the server is now failing
    telegram.api.text(SUBPOENA, ADVOCATE)
    [answer, *_] = await telegram.replies_to(ADVOCATE)
    assert "subpoena" in answer["text"].lower()
    assert telegram.api.failures["getUpdates"] == []


async def test_a_rejected_token_is_a_clear_error(shipped_kb: KnowledgeBase, database: Database,
                                                 tmp_path: Path) -> None:
    api = FakeTelegramAPI()
    await api.start()
    env = telegram_env(api, TELEGRAM_BOT_TOKEN="999:WRONG")
    with pytest.raises(ConfigError, match="Telegram rejected TELEGRAM_BOT_TOKEN"):
        async with running(telegram_settings(database, tmp_path), ["telegram"], env, shipped_kb):
            pass
    await api.stop()


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN must be set"):
        TelegramConfig.from_env({})
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET must be set"):
        TelegramConfig.from_env({"TELEGRAM_BOT_TOKEN": "1:x",
                                 "TELEGRAM_WEBHOOK_URL": "https://h/telegram"})


ODD_CHARACTER = ("has a space or a character other than letters, digits, _ and - after "
                 "the colon")


@pytest.mark.parametrize(("token", "problem"), [
    ("424242", "has no colon"),
    ("bot424242:XYZsecret-9_q", "does not start with the bot's number"),
    ('"424242:XYZsecret-9_q"', "does not start with the bot's number"),
    ("424242:", "has nothing after the colon"),
    ("424242:XYZsecret 9_q", ODD_CHARACTER),
    ("424242:XYZsecret:9_q", ODD_CHARACTER),
])
def test_a_token_of_the_wrong_form_is_refused_at_start_without_showing_it(
        token: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        TelegramConfig.from_env({"TELEGRAM_BOT_TOKEN": token})
    message = str(refused.value)
    assert message.startswith("TELEGRAM_BOT_TOKEN must be the bot's number, a colon and its "
                              "secret") and f"this one {problem} (copy it again" in message
    assert "XYZsecret" not in message


@pytest.mark.parametrize("token", ["424242:XYZsecret-9_q", "1:x", " 12:AbC_d-9\n"])
def test_a_token_of_the_right_form_is_accepted_whatever_its_lengths(token: str) -> None:
    assert TelegramConfig.from_env({"TELEGRAM_BOT_TOKEN": token}).token == token.strip()


async def test_tabot_run_serves_slack_and_telegram_in_one_process(tmp_path: Path) -> None:
    telegram_api, slack_api = FakeTelegramAPI(), FakeSlackAPI()
    await telegram_api.start()
    await slack_api.start()
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": telegram_api.token,
           "TELEGRAM_API_URL": telegram_api.base_url, "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": "s", "SLACK_APP_TOKEN": "xapp-test",
           "SLACK_API_URL": slack_api.base_url, "TABOT_STAFF": f"telegram:{STAFF}",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await telegram_api.wait_for("setMyCommands", timeout=30)
        telegram_api.text(SUBPOENA, STAFF)
        [answer, *_] = await telegram_api.wait_for("sendMessage", timeout=30)
        assert "subpoena" in answer["text"].lower()
        await slack_api.envelopes.put({
            "envelope_id": "e1", "type": "events_api", "accepts_response_payload": False,
            "payload": {"type": "event_callback", "event_id": "Ev1", "team_id": "T1",
                        "event": {"type": "message", "channel_type": "im", "channel": "D1",
                                  "user": "UASKER", "text": SUBPOENA, "ts": "1.1"}}})
        [post, *_] = await slack_api.wait_for("chat.postMessage", timeout=30)
        assert post["channel"] == "D1"
    finally:
        process.terminate()
        await process.wait()
        await telegram_api.stop()
        await slack_api.stop()


async def test_webhook_mode_checks_the_secret_and_answers(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    api = FakeTelegramAPI()
    await api.start()
    env = telegram_env(api, TELEGRAM_WEBHOOK_URL="https://tabot.example.org/telegram",
                       TELEGRAM_WEBHOOK_SECRET="s3cret-token")
    settings = telegram_settings(database, tmp_path, port=0)
    async with running(settings, ["telegram"], env, shipped_kb) as runtime:
        [hook] = api.sent("setWebhook")
        assert hook["url"] == "https://tabot.example.org/telegram"
        assert hook["secret_token"] == "s3cret-token"
        assert api.sent("getUpdates") == []
        update = {"update_id": 1, "message": {
            "message_id": 1, "date": 1, "chat": {"id": STAFF, "type": "private"},
            "from": {"id": STAFF, "is_bot": False, "first_name": "S"}, "text": SUBPOENA}}
        url = f"http://127.0.0.1:{runtime.web.port}/telegram"
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=update, headers={
                    "X-Telegram-Bot-Api-Secret-Token": "wrong"}) as refused:
                assert refused.status == 403
            async with session.post(url, json=update, headers={
                    "X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}) as accepted:
                assert accepted.status == 200
        [answer, *_] = await api.wait_for("sendMessage")
        assert answer["chat_id"] == STAFF and "subpoena" in answer["text"].lower()
    await api.stop()


def test_a_long_category_is_listed_whole_over_several_messages() -> None:
    choices = tuple(Choice(f"entry-{n}", f"Entry {n}") for n in range(69))
    pieces = render(CategoryReply("best-practice", choices))
    shown = [b.callback_data for _, markup in pieces for row in markup.inline_keyboard
             for b in row]
    assert shown == [f"c||entry-{n}" for n in range(69)]
    assert all(len(markup.inline_keyboard) <= 40 for _, markup in pieces)
    assert [text for text, _ in pieces] == ["Best Practice (1–40 of 69):",
                                            "Best Practice (41–69 of 69):"]


async def test_topics_are_browsed_by_category_with_buttons(telegram: Harness) -> None:
    await register(telegram)
    telegram.api.text("/topics", ADVOCATE)
    [menu] = await telegram.replies_to(ADVOCATE)
    categories = telegram.keyboard(menu)
    assert categories == ["t||best-practice", "t||emerging-issue", "t||standard"]
    telegram.api.press("t||standard", ADVOCATE, telegram.api.as_message(menu))
    _, listing = await telegram.replies_to(ADVOCATE, 2)
    assert "c||shelter-rules" in telegram.keyboard(listing)


async def test_a_reply_to_the_queue_list_answers_no_question(telegram: Harness) -> None:
    """The list names every waiting question: a reply to it must not answer the first one."""
    await register(telegram)
    for _ in range(2):
        telegram.api.text(TO_STAFF, ADVOCATE)
    await telegram.replies_to(ADVOCATE, 2)
    telegram.api.text("queue", STAFF)
    [listing] = await telegram.replies_to(STAFF)
    assert "TA-0001" in listing["text"] and "TA-0002" in listing["text"]
    telegram.api.text("Meant for TA-0002.", STAFF, reply_to=telegram.api.as_message(listing))
    _, refused = await telegram.replies_to(STAFF, 2)
    assert refused["text"].startswith("Not sent") and "/answer TA-" in refused["text"]
    waiting = await telegram.runtime.core.escalation("TA-0001")
    assert waiting is not None and waiting.state == "open"


async def test_staff_slash_commands_act_and_an_unknown_command_is_answered(
        telegram: Harness) -> None:
    """/help lists /queue, /answer and the rest for staff: typed with a slash they act, and a
    command the bot does not have gets a pointer to /help instead of silence."""
    await register(telegram)
    telegram.api.text(TO_STAFF, ADVOCATE)
    [told] = await telegram.replies_to(ADVOCATE)
    assert "TA-0001" in told["text"]
    telegram.api.text("/queue", STAFF)
    [listing] = await telegram.replies_to(STAFF)
    assert "TA-0001" in listing["text"]
    telegram.api.text("/answer TA-0001 Ask your bookkeeper first.\n\nThen call us.", STAFF)
    await telegram.replies_to(STAFF, 2)
    await telegram.deliver()
    relayed = [p for p in await telegram.replies_to(ADVOCATE, 2)
               if "Ask your bookkeeper first." in p["text"]]
    assert len(relayed) == 1
    assert "first.\n\nThen call us." in relayed[0]["text"]  # the answer's paragraphs kept
    telegram.api.text("/foo", ADVOCATE)
    unknown = (await telegram.replies_to(ADVOCATE, 3))[-1]
    assert "/help" in unknown["text"]


async def test_an_unknown_command_for_another_bot_in_a_group_gets_no_reply(
        telegram: Harness) -> None:
    await register(telegram)
    group = -558
    telegram.api.text("/foo@some_other_bot", ADVOCATE, chat=group, chat_type="group")
    telegram.api.text(f"/foo@{BOT['username']}", ADVOCATE, chat=group, chat_type="group")
    [unknown] = await telegram.replies_to(group)
    await asyncio.sleep(0.5)
    assert "/help" in unknown["text"]
    assert len([p for p in telegram.api.sent() if p["chat_id"] == group]) == 1


CRISIS = "he is going to kill me tonight"
HOTLINE = "1-800-799-7233"


async def test_a_crisis_reply_survives_a_server_error_and_flood_control(
        telegram: Harness) -> None:
    """The update is marked seen before the reply goes: a reply lost to a 502 or a 429 would
    never be sent, and this one carries the hotlines."""
    await register(telegram)
    telegram.api.failures["sendMessage"] = [502, 429]
    telegram.api.text(CRISIS, ADVOCATE)
    replies = await telegram.replies_to(ADVOCATE, 3)
    assert telegram.api.failures["sendMessage"] == []
    # Tried three times: a 502, a 429 waited out, then through (no failures were left).
    assert replies[0]["text"] == replies[1]["text"] == replies[2]["text"]
    assert HOTLINE in replies[2]["text"]


async def test_a_crisis_reply_telegram_will_not_take_is_kept_and_sent_later_once(
        telegram: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Past the adapter's own retries the hotlines are not lost: they wait in the outbox and
    go when Telegram takes them again, with nothing sent twice. The log says what failed,
    never what the message said."""
    await register(telegram)
    telegram.api.failures["sendMessage"] = [502, 502, 502]
    telegram.api.text(CRISIS, ADVOCATE)
    assert await logged(caplog, "not sent now") == [
        "telegram: 2 replies not sent now (NetworkError); kept, to be sent when telegram takes "
        "them"]
    assert not any("kill" in r.getMessage().lower() for r in caplog.records)
    [kept] = [r for r in await outbox_rows(telegram.db) if r.kind == "replies"]
    await telegram.deliver()  # the runtime's own dispatcher may have been first
    replies = await telegram.replies_to(ADVOCATE, 6)  # three failed tries, then three
    assert "comes late" in replies[3]["text"] and HOTLINE in replies[4]["text"]
    await telegram.deliver()
    await asyncio.sleep(0.2)
    assert len([p for p in telegram.api.sent() if p["chat_id"] == ADVOCATE]) == 6
    [sent] = [r for r in await outbox_rows(telegram.db) if r.id == kept.id]
    assert sent.delivered_at is not None


async def test_a_reply_telegram_refuses_as_malformed_is_not_kept_and_the_next_still_goes(
        telegram: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await register(telegram)
    telegram.api.failures["sendMessage"] = [400]
    telegram.api.text(CRISIS, ADVOCATE)
    assert await logged(caplog, "would be refused again") == [
        "Telegram refused a reply (BadRequest); it is not kept, since it would be refused "
        "again, and the replies after it go on"]
    _, told = await telegram.replies_to(ADVOCATE, 2)
    assert "TA-0001" in told["text"]
    assert not [r for r in await outbox_rows(telegram.db) if r.kind == "replies"]


async def test_a_reply_to_an_asker_who_blocked_the_bot_is_not_kept(
        telegram: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await register(telegram)
    telegram.api.blocked.add(ADVOCATE)
    telegram.api.text(SUBPOENA, ADVOCATE)
    assert await logged(caplog, "did not get a reply") == [
        "Telegram: the asker did not get a reply: the asker has blocked the bot"]
    assert not [r for r in await outbox_rows(telegram.db) if r.kind == "replies"]


async def test_a_staff_reply_in_a_group_to_an_askers_acknowledgement_is_not_an_answer(
        telegram: Harness) -> None:
    """In a group the bot's message naming TA-0001 is the asker's acknowledgement; a staff
    member replying to it is talking, not answering the question."""
    await register(telegram)
    group = -559
    telegram.api.text(f"@{BOT['username']} {TO_STAFF}", ADVOCATE, chat=group,
                      chat_type="group")
    [told] = await telegram.replies_to(group)
    assert "TA-0001" in told["text"]
    telegram.api.text("Thanks, we will look at this.", STAFF, chat=group, chat_type="group",
                      reply_to=telegram.api.as_message(told))
    _, reply = await telegram.replies_to(group, 2)
    assert "Sent to the asker" not in reply["text"]
    waiting = await telegram.runtime.core.escalation("TA-0001")
    assert waiting is not None and waiting.state == "open"


async def test_network_errors_at_startup_are_retried_not_fatal(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    api = FakeTelegramAPI(failures={"setMyCommands": [502], "deleteWebhook": [502]})
    await api.start()
    try:
        async with telegram_runtime(shipped_kb, database, api, tmp_path) as harness:
            assert len(api.sent("setMyCommands")) == 2 and len(api.sent("deleteWebhook")) == 2
            api.text(SUBPOENA, STAFF)
            [answer, *_] = await harness.replies_to(STAFF)
            assert "subpoena" in answer["text"].lower()
    finally:
        await api.stop()


async def test_a_network_error_setting_the_webhook_is_retried(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    api = FakeTelegramAPI(failures={"setWebhook": [502]})
    await api.start()
    env = telegram_env(api, TELEGRAM_WEBHOOK_URL="https://tabot.example.org/telegram",
                       TELEGRAM_WEBHOOK_SECRET="s3cret-token")
    try:
        async with running(telegram_settings(database, tmp_path, port=0), ["telegram"], env,
                           shipped_kb):
            assert len(api.sent("setWebhook")) == 2
    finally:
        await api.stop()


@pytest.mark.parametrize(("env", "problem"), [
    ({"TELEGRAM_WEBHOOK_SECRET": "has spaces in it"}, "TELEGRAM_WEBHOOK_SECRET must be 1-256"),
    ({"TELEGRAM_WEBHOOK_SECRET": "x" * 257}, "TELEGRAM_WEBHOOK_SECRET must be 1-256"),
    ({"TELEGRAM_WEBHOOK_SECRET": "ok", "TELEGRAM_WEBHOOK_URL": "http://h/telegram"},
     "TELEGRAM_WEBHOOK_URL must start with https://"),
])
def test_a_webhook_telegram_would_refuse_is_a_clear_error_at_start(
        env: dict[str, str], problem: str) -> None:
    full = {"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_URL": "https://h/telegram", **env}
    with pytest.raises(ConfigError, match=problem) as refused:
        TelegramConfig.from_env(full)
    assert "has spaces in it" not in str(refused.value)
    assert TelegramConfig.from_env(full | {"TELEGRAM_WEBHOOK_URL": "https://h/telegram",
                                           "TELEGRAM_WEBHOOK_SECRET": "A-z_9" * 51 + "x"})


async def test_an_answer_to_a_group_upgraded_to_a_supergroup_follows_it_there(
        telegram: Harness) -> None:
    """Telegram gives the upgraded group a new id and refuses the old one: the answer, and
    any later one to a question asked there, goes to the new id, quoting nothing (message ids
    are renumbered there), instead of being given up."""
    await register(telegram)
    group, supergroup = -560, -1001234567890
    telegram.api.text(f"@{BOT['username']} {TO_STAFF}", ADVOCATE, chat=group,
                      chat_type="group")
    await telegram.replies_to(group)
    await telegram.deliver()  # the notice to staff
    await telegram.replies_to(STAFF)
    staff = Actor("telegram", str(STAFF))
    await telegram.runtime.triage.answer("TA-0001", staff, "Invented answer: the placeholder.")
    telegram.api.migrated[group] = supergroup
    await telegram.deliver()
    await asyncio.sleep(outbox.FIRST_RETRY.total_seconds() + 0.2)
    await telegram.deliver()
    [answer] = await telegram.replies_to(supergroup)
    assert "the placeholder" in answer["text"] and "reply_parameters" not in answer
    assert not [r for r in await outbox_rows(telegram.db) if r.kind == "staff-alert"]
    await telegram.runtime.triage.reopen("TA-0001", staff)
    await telegram.runtime.triage.answer("TA-0001", staff, "Invented correction: form two.")
    await telegram.deliver()
    [_, corrected] = await telegram.replies_to(supergroup, 2)
    assert "form two" in corrected["text"]
