"""The real slack-bolt and slack_sdk code, served over HTTP, against a local fake Web API."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import json
import logging
import os
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.base import FILES_NOT_READ, ONLY_TEXT
from adapters.slack.blocks import escape, render
from adapters.slack.listeners import RETRIES, SOCKET_LOG, SlackConfig, _modal_metadata
from bot.app import Runtime
from bot.chat.copy import SENT_LATE, SPOOLED
from bot.chat.messages import AnswerReply, Source, TextReply
from bot.config import ConfigError, Settings
from bot.insights.review import post_review_if_due
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.store.tables import OutboxMessage
from bot.triage import outbox
from bot.triage.commands import QUEUE_DOWN
from bot.triage.escalations import ANSWERED_WITH
from bot.triage.workflow import Actor
from tests.conftest import (
    fresh_postgres_database,
    logged,
    postgres_url,
    running,
    start_tabot_run,
)
from tests.fakes.slack_api import FakeSlackAPI

SECRET = "test-signing-secret"
STAFF = "USTAFF"
ASKER = "UASKER"
TRIAGE = "CTRIAGE"
SUBPOENA = "what do we do if we get a subpoena for a survivor's records"
CURFEW = "can our shelter have a curfew for residents"
# A question for staff. Matching offers suggestions for nearly any question in the domain's
# words (each with a way to staff), so a test that needs an escalation asks for staff.
UNMATCHED = "how do we reconcile our general ledger for the audit"
TO_STAFF = "/staff " + UNMATCHED


class Slack:
    """Sends correctly signed requests shaped like Slack's own to a running tabot."""

    def __init__(self, runtime: Runtime, api: FakeSlackAPI) -> None:
        self.runtime, self.api = runtime, api
        self._events = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.runtime.web.port}/slack/events"

    async def deliver(self) -> int:
        return await self.runtime.dispatcher.deliver_pending()

    async def post(self, body: bytes, content_type: str, timestamp: int | None = None,
                   signature: str | None = None,
                   retry: int | None = None) -> aiohttp.ClientResponse:
        stamp = str(timestamp or int(time.time()))
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": signature or SignatureVerifier(SECRET).generate_signature(
                       timestamp=stamp, body=body)}
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        async with aiohttp.ClientSession() as session, session.post(
                self.url, data=body, headers=headers) as response:
            await response.read()
            return response

    async def event(self, event: dict, event_id: str | None = None, **kwargs) -> int:
        self._events += 1
        body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                           "event_id": event_id or f"Ev{self._events}", "event": event,
                           "event_time": int(time.time())}).encode()
        return (await self.post(body, "application/json", **kwargs)).status

    async def dm(self, text: str, user: str = ASKER, **kwargs) -> int:
        return await self.event({"type": "message", "channel_type": "im", "channel": f"D{user}",
                                 "user": user, "text": text, "ts": f"{time.time():.6f}"},
                                **kwargs)

    async def form(self, fields: dict) -> int:
        body = urllib.parse.urlencode(fields).encode()
        return (await self.post(body, "application/x-www-form-urlencoded")).status

    async def interact(self, payload: dict) -> int:
        return await self.form({"payload": json.dumps(payload)})

    async def press(self, action_id: str, value: dict, user: str, channel: str = "DUASKER",
                    message: dict | None = None) -> int:
        return await self.interact({
            "type": "block_actions", "user": {"id": user}, "team": {"id": "T1"},
            "api_app_id": "A1", "trigger_id": f"trig-{time.time()}",
            "container": {"type": "message", "channel_id": channel},
            "channel": {"id": channel}, "message": message or {"ts": "1.1"},
            "response_url": f"http://127.0.0.1:{self.api.port}/respond",
            "actions": [{"action_id": action_id, "value": json.dumps(value),
                         "action_ts": f"{time.time():.6f}", "type": "button"}]})


def slack_env(api: FakeSlackAPI, **extra: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_TRIAGE_CHANNEL": TRIAGE, "SLACK_API_URL": api.base_url, **extra}


@contextlib.asynccontextmanager
async def slack_runtime(shipped_kb: KnowledgeBase, database: Database, api: FakeSlackAPI,
                        tmp_path: Path) -> AsyncIterator[Slack]:
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        staff=frozenset({f"slack:{STAFF}"}), port=0)
    async with running(settings, ["slack"], slack_env(api), shipped_kb) as runtime:
        yield Slack(runtime, api)


@pytest.fixture
async def slack(shipped_kb: KnowledgeBase, database: Database,
                tmp_path: Path) -> AsyncIterator[Slack]:
    api = FakeSlackAPI()
    await api.start()
    async with slack_runtime(shipped_kb, database, api, tmp_path) as harness:
        yield harness
    await api.stop()


def texts(payloads: list[dict]) -> str:
    return json.dumps(payloads)


async def test_a_direct_message_is_answered_with_blocks_and_buttons(slack: Slack) -> None:
    assert await slack.dm(SUBPOENA) == 200
    [post, *_] = await slack.api.wait_for("chat.postMessage")
    assert post["channel"] == f"D{ASKER}"
    kinds = [b["type"] for b in post["blocks"]]
    assert kinds[0] == "header" and "actions" in kinds and "context" in kinds
    assert "Responding to a subpoena" in texts([post])
    assert "tabot_helped" in texts([post]) and "tabot_not_helped" in texts([post])


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_a_reply_slack_rate_limits_or_fails_once_still_reaches_the_asker(
        slack: Slack, status: int) -> None:
    """The event is recorded as handled before the reply is posted, so Slack's own retry of it
    is dropped: the client must try the post again itself."""
    slack.api.failures["chat.postMessage"] = [status]
    assert await slack.dm(SUBPOENA) == 200
    [answer, *_] = await slack.api.wait_for_posted(f"D{ASKER}")
    assert "subpoena" in answer["text"].lower()
    assert len(slack.api.named("chat.postMessage")) >= 2  # the refused try, then the reply


async def test_a_reply_slack_keeps_refusing_is_kept_and_posted_with_its_buttons_later(
        slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    """Past the client's own retries the reply is not lost: it waits in the outbox, is posted
    once Slack takes it (buttons and all), and only once; the log has Slack's code, not the
    words."""
    slack.api.failures["chat.postMessage"] = [429] * (RETRIES + 1)
    await slack.dm(SUBPOENA)
    line, *_ = await logged(caplog, "not sent now")
    assert "ratelimited" in line and "subpoena" not in caplog.text.lower()
    [kept] = [r for r in await outbox_rows(slack.runtime.db) if r.kind == "replies"]
    assert kept.conversation_id == f"D{ASKER}" and kept.user_id == ASKER
    late, *replies = outbox.load_replies(kept.text)
    assert late == TextReply(SENT_LATE)
    await slack.deliver()  # the runtime's own dispatcher may have been first
    await slack.api.wait_for_posted(f"D{ASKER}", 1 + len(replies))
    answer = posted_to(slack, f"D{ASKER}")[-len(replies)]  # the posts Slack took, with blocks
    assert "Responding to a subpoena" in texts([answer]) and "tabot_helped" in texts([answer])
    await slack.deliver()
    assert len(slack.api.channels[f"D{ASKER}"]) == 1 + len(replies)
    [sent] = [r for r in await outbox_rows(slack.runtime.db) if r.id == kept.id]
    assert sent.delivered_at is not None


async def test_only_the_replies_slack_did_not_take_are_kept_and_none_posted_twice(
        slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    """The answer went; the crisis-free second reply did not. Only it waits, and a retry of
    the kept row that fails part-way posts nothing twice."""
    slack.api.failures["chat.postMessage"] = [200] + [500] * (RETRIES + 1)
    await slack.dm(SUBPOENA)
    assert await logged(caplog, "not sent now")
    [kept] = [r for r in await outbox_rows(slack.runtime.db) if r.kind == "replies"]
    _, *left = outbox.load_replies(kept.text)
    shown_then = len(slack.api.channels[f"D{ASKER}"])
    assert shown_then == 1 and left and "Responding to a subpoena" not in str(left)
    slack.api.failures["chat.postMessage"] = [200] + [500] * (RETRIES + 1)  # late notice only
    await slack.deliver()
    await asyncio.sleep(outbox.FIRST_RETRY.total_seconds() + 0.2)
    await slack.deliver()
    await slack.api.wait_for_posted(f"D{ASKER}", shown_then + 1 + len(left))
    await slack.deliver()
    shown = [m["text"] for m in slack.api.channels[f"D{ASKER}"]]
    assert len(shown) == shown_then + 1 + len(left) and shown.count(SENT_LATE) == 1


@pytest.mark.parametrize("error", ["invalid_blocks", "msg_too_long"])
async def test_a_reply_slack_calls_malformed_is_not_kept_to_be_refused_again(
        slack: Slack, error: str, caplog: pytest.LogCaptureFixture) -> None:
    slack.api.refused[f"D{ASKER}"] = error
    await slack.dm(SUBPOENA)
    line, *_ = await logged(caplog, "could not be posted")
    assert error in line
    assert not [r for r in await outbox_rows(slack.runtime.db) if r.kind == "replies"]


async def test_a_reply_to_an_archived_channel_is_not_kept_for_ever(
        slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    slack.api.refused[f"D{ASKER}"] = "is_archived"
    await slack.dm(SUBPOENA)
    line, *_ = await logged(caplog, "could not be posted")
    assert "is_archived" in line and "subpoena" not in caplog.text.lower()
    assert not [r for r in await outbox_rows(slack.runtime.db) if r.kind == "replies"]


async def test_a_file_sent_in_a_dm_is_not_read_and_its_text_is_answered(slack: Slack) -> None:
    file = {"id": "F1", "name": "scan.png", "mimetype": "image/png"}
    await slack.event({"type": "message", "subtype": "file_share", "channel_type": "im",
                       "channel": f"D{ASKER}", "user": ASKER, "text": "", "files": [file],
                       "ts": "1.5"})
    [told] = await slack.api.wait_for("chat.postMessage")
    assert told["text"] == ONLY_TEXT
    await slack.event({"type": "message", "subtype": "file_share", "channel_type": "im",
                       "channel": f"D{ASKER}", "user": ASKER, "text": SUBPOENA, "files": [file],
                       "ts": "1.6"})
    _, note, answer, *_ = await slack.api.wait_for("chat.postMessage", 3)
    assert note["text"] == FILES_NOT_READ and "Responding to a subpoena" in texts([answer])
    assert not [name for name, _ in slack.api.calls if name.startswith("files.")]


async def test_a_mention_is_answered_in_its_thread(slack: Slack) -> None:
    await slack.event({"type": "app_mention", "channel": "CGENERAL", "user": ASKER,
                       "text": f"<@UTABOT> {SUBPOENA}", "ts": "1700000000.000100"})
    [post, *_] = await slack.api.wait_for("chat.postMessage")
    assert post["channel"] == "CGENERAL" and post["thread_ts"] == "1700000000.000100"


async def test_a_suggestion_button_answers_when_pressed(slack: Slack) -> None:
    await slack.dm("shelter")
    [post] = await slack.api.wait_for("chat.postMessage")
    choose = next(e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"].startswith("tabot_choose"))
    assert await slack.press(choose["action_id"], json.loads(choose["value"]), ASKER) == 200
    answers = await slack.api.wait_for("chat.postMessage", 2)
    assert answers[1]["blocks"][0]["type"] == "header"


async def test_slash_command_acks_at_once_and_answers_in_a_dm(slack: Slack) -> None:
    assert await slack.form({"command": "/ta", "text": "topics", "user_id": ASKER,
                             "channel_id": "CGENERAL", "trigger_id": "t1",
                             "response_url": f"http://127.0.0.1:{slack.api.port}/respond",
                             "team_id": "T1"}) == 200
    [post] = await slack.api.wait_for("chat.postMessage")
    assert post["channel"] == f"D{ASKER}" and "Best Practice" in texts([post])


async def test_an_app_installed_without_im_write_still_answers_the_slash_command(
        slack: Slack) -> None:
    slack.api.missing_scopes.add("conversations.open")
    await slack.form({"command": "/ta", "text": "topics", "user_id": ASKER,
                      "channel_id": "CGENERAL", "trigger_id": "t3",
                      "response_url": f"http://127.0.0.1:{slack.api.port}/respond",
                      "team_id": "T1"})
    [post] = await slack.api.wait_for("chat.postMessage")
    assert post["channel"] == ASKER and "Best Practice" in texts([post])


async def test_a_reply_typed_after_the_slash_command_answers_its_prompt(slack: Slack) -> None:
    """/ta answers in the DM; the "1" typed there must find the choices it offered."""
    await slack.form({"command": "/ta", "text": "shelter", "user_id": ASKER,
                      "channel_id": "CGENERAL", "trigger_id": "t2",
                      "response_url": f"http://127.0.0.1:{slack.api.port}/respond",
                      "team_id": "T1"})
    [choices] = await slack.api.wait_for("chat.postMessage")
    assert "tabot_choose" in texts([choices])
    await slack.dm("1")
    _, answer = await slack.api.wait_for("chat.postMessage", 2)
    assert answer["channel"] == f"D{ASKER}" and answer["blocks"][0]["type"] == "header"


async def test_slacks_escaped_characters_and_links_reach_staff_as_typed(slack: Slack) -> None:
    await slack.dm(f"{TO_STAFF} if she is &lt;18 &amp; see <https://example.org/faq|the faq>")
    await slack.api.wait_for("chat.postMessage")
    escalation = await slack.runtime.triage.show("TA-0001", Actor("slack", STAFF))
    assert escalation.question.endswith("if she is <18 & see the faq")
    await slack.deliver()
    [post] = [p for p in slack.api.named("chat.postMessage") if p["channel"] == TRIAGE]
    assert "&lt;18 &amp; see the faq" in texts([post]) and "&amp;lt;" not in texts([post])


async def test_an_escalation_reaches_triage_escaped(slack: Slack) -> None:
    hostile = (f"{TO_STAFF} <!channel> <@U999> <https://evil.example|bank> & <b>")
    await slack.dm(hostile)
    replies = await slack.api.wait_for("chat.postMessage", 2)  # redaction notice, reference
    assert "TA-0001" in texts(replies)
    await slack.deliver()
    triage = [p for p in slack.api.named("chat.postMessage") if p["channel"] == TRIAGE]
    assert len(triage) == 1
    posted = texts(triage)
    for raw in ("<!channel>", "<@U999>", "<https://evil.example|bank>", "<b>"):
        assert raw not in posted
    assert "&lt;!channel&gt;" in posted and "&amp;" in posted
    assert "triage_claim" in posted


async def test_staff_claim_and_answer_relay_to_the_asker_and_update_the_post(
        slack: Slack) -> None:
    await slack.dm(TO_STAFF)
    await slack.api.wait_for("chat.postMessage")
    await slack.deliver()
    ref = {"ref": "TA-0001"}
    await slack.press("triage_claim", ref, STAFF, channel=TRIAGE)
    [update] = await slack.api.wait_for("chat.update")
    assert "claimed" in texts([update]) and f"<@{STAFF}>" in texts([update])
    await slack.press("triage_answer", ref, STAFF, channel=TRIAGE)
    [modal] = await slack.api.wait_for("views.open")
    assert json.loads(modal["view"]["private_metadata"])["ref"] == "TA-0001"
    await slack.interact({"type": "view_submission", "user": {"id": STAFF},
                          "team": {"id": "T1"}, "api_app_id": "A1",
                          "view": {**modal["view"], "id": "V1", "state": {"values": {
                              "answer": {"text": {"type": "plain_text_input",
                                                  "value": "Try a small-engine repair shop."}}}}}})
    await slack.api.wait_for("chat.update", 2)
    await slack.deliver()
    relayed = [p for p in slack.api.named("chat.postMessage") if p["channel"] == f"D{ASKER}"]
    assert "Try a small-engine repair shop." in texts(relayed[-1:])
    final = slack.api.named("chat.update")[-1]
    assert "answered" in texts([final]) and f"by slack:{STAFF}" in texts([final])


async def test_an_answer_typed_while_someone_else_answered_is_refused_and_given_back(
        slack: Slack) -> None:
    """The form closes when it is sent, before the answer is saved: refused, the typed answer
    comes back with the refusal instead of being lost."""
    await slack.dm(TO_STAFF)
    await slack.api.wait_for("chat.postMessage")
    await slack.deliver()
    await slack.press("triage_answer", {"ref": "TA-0001"}, STAFF, channel=TRIAGE)
    [modal] = await slack.api.wait_for("views.open")
    await slack.runtime.triage.answer("TA-0001", Actor("slack", STAFF), "Ask your bank.")
    typed = "Ask the treasurer & <the board>."
    await slack.interact({"type": "view_submission", "user": {"id": STAFF},
                          "team": {"id": "T1"}, "api_app_id": "A1",
                          "view": {**modal["view"], "id": "V2", "state": {"values": {
                              "answer": {"text": {"type": "plain_text_input",
                                                  "value": typed}}}}}})
    [told] = await slack.api.wait_for("chat.postEphemeral")
    assert told["user"] == STAFF and "after you opened it" in told["text"]
    assert escape(typed) in told["text"]
    await slack.deliver()
    relayed = texts([p for p in slack.api.named("chat.postMessage")
                     if p["channel"] == f"D{ASKER}"])
    assert "Ask your bank." in relayed and "Ask the treasurer" not in relayed


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def answered_in_triage(slack: Slack, answer: str) -> OutboxMessage:
    """An escalation posted in the triage channel, then answered: the answer's outbox row."""
    await slack.dm(TO_STAFF)
    await slack.api.wait_for("chat.postMessage")
    await slack.deliver()
    await slack.runtime.triage.answer("TA-0001", Actor("slack", STAFF), answer)
    return next(r for r in await outbox_rows(slack.runtime.db) if r.kind == "answer")


def posted_to(slack: Slack, channel: str) -> list[dict]:
    return [p for p in slack.api.named("chat.postMessage") if p["channel"] == channel]


@pytest.mark.parametrize(("error", "reason"), [
    ("channel_not_found", "the Slack conversation no longer exists or the bot cannot see it"),
    ("is_archived", "the Slack channel was archived")])
async def test_an_answer_slack_refuses_for_good_is_given_up_and_staff_are_told(
        slack: Slack, error: str, reason: str) -> None:
    answer = "Invented answer: ask the placeholder office."
    row = await answered_in_triage(slack, answer)
    slack.api.refused[f"D{ASKER}"] = error
    await slack.deliver()
    alert = posted_to(slack, TRIAGE)[-1]
    assert alert["text"] == (f"TA-0001: the answer could not be delivered to the asker on "
                             f"slack ({reason}). Reach them another way.")
    await asyncio.sleep(outbox.FIRST_RETRY.total_seconds() + 0.2)
    await slack.deliver()
    assert len([p for p in posted_to(slack, f"D{ASKER}") if answer in p["text"]]) == 1
    [given_up] = [r for r in await outbox_rows(slack.runtime.db) if r.id == row.id]
    assert given_up.given_up_at is not None and given_up.delivered_at is None
    assert given_up.last_error == reason and given_up.attempts == 1
    history = await slack.runtime.triage.show("TA-0001", Actor("slack", STAFF))
    assert [e.kind for e in history.events][-1] == "undelivered"


async def test_an_answer_that_meets_a_slack_server_error_is_retried_not_given_up(
        slack: Slack) -> None:
    answer = "Invented answer: the placeholder form."
    row = await answered_in_triage(slack, answer)
    slack.api.failures["chat.postMessage"] = [500] * (RETRIES + 1)  # past the client's retries
    await slack.deliver()
    [failed] = [r for r in await outbox_rows(slack.runtime.db) if r.id == row.id]
    assert failed.given_up_at is None and failed.delivered_at is None
    assert failed.last_error.startswith("SlackApiError")
    await asyncio.sleep(outbox.FIRST_RETRY.total_seconds() + 0.2)
    await slack.deliver()
    [sent] = [r for r in await outbox_rows(slack.runtime.db) if r.id == row.id]
    assert sent.delivered_at is not None and sent.given_up_at is None
    assert answer in texts(posted_to(slack, f"D{ASKER}")[-1:])
    assert not [r for r in await outbox_rows(slack.runtime.db) if r.kind == "staff-alert"]


async def test_a_triage_channel_the_bot_is_not_in_keeps_its_notices_for_a_retry(
        slack: Slack) -> None:
    """Not the asker's refusal but the installation's: once the bot is invited, the notice
    goes."""
    slack.api.refused[TRIAGE] = "not_in_channel"
    await slack.dm(TO_STAFF)
    await slack.api.wait_for("chat.postMessage")
    await slack.deliver()
    [notice] = [r for r in await outbox_rows(slack.runtime.db) if r.kind == "staff-notice"]
    assert notice.given_up_at is None and "not_in_channel" in notice.last_error
    del slack.api.refused[TRIAGE]
    await asyncio.sleep(outbox.FIRST_RETRY.total_seconds() + 0.2)
    await slack.deliver()
    assert "TA-0001" in posted_to(slack, TRIAGE)[-1]["text"]


async def test_a_reannounced_question_whose_triage_post_was_deleted_is_posted_afresh(
        slack: Slack) -> None:
    """Updating a deleted post fails with message_not_found: the notice used to be retried
    every 10 minutes for ever, and staff never saw the question again."""
    await slack.dm(TO_STAFF)
    await slack.api.wait_for("chat.postMessage")
    await slack.deliver()
    [first] = await slack.api.wait_for_posted(TRIAGE)
    slack.api.deleted.add(first["ts"])  # someone deleted the post
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=5)
    announced, _ = await slack.runtime.triage.sweep(later)
    assert announced == ["TA-0001"]
    await slack.deliver()
    assert [m["text"] for m in slack.api.channels[TRIAGE]] == ["New question TA-0001"] * 2
    notices = [r for r in await outbox_rows(slack.runtime.db) if r.kind == "staff-notice"]
    assert len(notices) == 2
    assert all(r.delivered_at is not None and r.last_error is None for r in notices)
    fresh = slack.api.channels[TRIAGE][-1]["ts"]
    await slack.press("triage_claim", {"ref": "TA-0001"}, STAFF, channel=TRIAGE)
    updates = await slack.api.wait_for("chat.update", 2)  # the failed one, then this one
    assert updates[-1]["ts"] == fresh


async def posted_then_deleted(slack: Slack) -> str:
    """TA-0001 posted in the triage channel, then deleted there by someone: its post's ts."""
    await slack.dm(TO_STAFF)
    await slack.api.wait_for("chat.postMessage")
    await slack.deliver()
    [first] = await slack.api.wait_for_posted(TRIAGE)
    slack.api.deleted.add(first["ts"])
    return first["ts"]


async def test_a_staff_action_on_a_question_whose_triage_post_was_deleted_forgets_the_post(
        slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    """The claim is done before its post is updated: message_not_found used to fail the
    button's request after the claim, give up the update the claim queued, and leave the
    deleted post remembered for every later action to fail on."""
    await posted_then_deleted(slack)
    with caplog.at_level(logging.WARNING):
        await slack.press("triage_claim", {"ref": "TA-0001"}, STAFF, channel=TRIAGE)
        await slack.api.wait_for("chat.update")
        assert await slack.runtime.core.drain(5)
        await slack.deliver()  # the update the claim queued
    assert (await slack.runtime.core.escalation("TA-0001")).state == "claimed"
    assert await slack.runtime.core.triage_posts("TA-0001", "slack") == []
    [update] = [r for r in await outbox_rows(slack.runtime.db) if r.kind == "staff-update"]
    assert update.delivered_at is not None and update.given_up_at is None
    assert not slack.api.named("chat.postEphemeral")
    assert "SlackApiError" not in caplog.text and "failed" not in caplog.text
    [line] = [r.getMessage() for r in caplog.records if "deleted" in r.getMessage()]
    assert "TA-0001" in line and UNMATCHED not in caplog.text


async def test_an_update_of_a_deleted_triage_post_forgets_it_so_it_is_posted_afresh(
        slack: Slack) -> None:
    """A question closed and reopened elsewhere: its updates are delivered, not given up, and
    its re-announcement is posted afresh, the new post being the one kept up to date."""
    await posted_then_deleted(slack)
    await slack.runtime.triage.close("TA-0001", Actor("slack", STAFF))
    await slack.deliver()
    assert await slack.runtime.core.triage_posts("TA-0001", "slack") == []
    await slack.runtime.triage.reopen("TA-0001", Actor("slack", STAFF))
    await slack.deliver()
    updates = [r for r in await outbox_rows(slack.runtime.db) if r.kind == "staff-update"]
    assert len(updates) == 2
    assert all(r.delivered_at is not None and r.given_up_at is None for r in updates)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=5)
    assert (await slack.runtime.triage.sweep(later))[0] == ["TA-0001"]
    await slack.deliver()
    assert [m["text"] for m in slack.api.channels[TRIAGE]] == ["New question TA-0001"] * 2
    fresh = slack.api.channels[TRIAGE][-1]["ts"]
    await slack.press("triage_claim", {"ref": "TA-0001"}, STAFF, channel=TRIAGE)
    updates = await slack.api.wait_for("chat.update", 2)  # the failed one, then this one
    assert updates[-1]["ts"] == fresh


async def test_a_token_problem_is_retried_not_given_up(slack: Slack) -> None:
    """invalid_auth and account_inactive are the installation's to fix; the answer goes once
    they are."""
    row = await answered_in_triage(slack, "Invented answer: the placeholder desk.")
    slack.api.refused[f"D{ASKER}"] = "account_inactive"
    await slack.deliver()
    [failed] = [r for r in await outbox_rows(slack.runtime.db) if r.id == row.id]
    assert failed.given_up_at is None and "account_inactive" in failed.last_error


@pytest.mark.parametrize(("metadata", "read"), [
    ('{"ref": "TA-0001", "seen": "abc"}', ("TA-0001", "abc")),
    ("TA-0001", ("TA-0001", None)),  # a modal opened before the upgrade: the bare reference
    ('{"ref": 5}', ("", None)), ("[1]", ("[1]", None)), (None, ("", None))])
def test_an_answer_modal_reads_what_it_carries_whatever_its_age(metadata: object,
                                                                read: tuple) -> None:
    assert _modal_metadata(metadata) == read


async def test_non_staff_pressing_triage_buttons_get_an_ephemeral_refusal(slack: Slack) -> None:
    await slack.dm(TO_STAFF)
    await slack.api.wait_for("chat.postMessage")
    await slack.press("triage_claim", {"ref": "TA-0001"}, ASKER, channel=TRIAGE)
    [refusal] = await slack.api.wait_for("chat.postEphemeral")
    assert refusal["user"] == ASKER and "Only the coalition's TA staff" in refusal["text"]
    view = await slack.runtime.triage.summary("TA-0001")
    assert view.state == "open"


async def test_a_retried_event_is_handled_once(slack: Slack) -> None:
    assert await slack.dm(TO_STAFF, event_id="EvSAME") == 200
    assert await slack.dm(TO_STAFF, event_id="EvSAME", retry=1) == 200
    await slack.api.wait_for("chat.postMessage")
    await asyncio.sleep(0.5)
    assert len(slack.api.named("chat.postMessage")) == 1
    queue = await slack.runtime.triage.queue(Actor("slack", STAFF))
    assert len(queue) == 1


async def test_bad_or_stale_signatures_are_refused(slack: Slack) -> None:
    assert await slack.dm(SUBPOENA, signature="v0=deadbeef") == 401
    assert await slack.dm(SUBPOENA, timestamp=int(time.time()) - 600) == 401
    await asyncio.sleep(0.3)
    assert slack.api.named("chat.postMessage") == []


async def test_app_home_shows_staff_the_queue_and_askers_their_questions(slack: Slack) -> None:
    await slack.dm(TO_STAFF)
    await slack.api.wait_for("chat.postMessage")
    await slack.event({"type": "app_home_opened", "user": STAFF, "tab": "home"})
    await slack.event({"type": "app_home_opened", "user": ASKER, "tab": "home"})
    homes = {h["user_id"]: h for h in await slack.api.wait_for("views.publish", 2)}
    staff_home, asker_home = homes[STAFF], homes[ASKER]
    assert staff_home["user_id"] == STAFF and "Waiting for staff" in texts([staff_home])
    assert "Last 30 days" in texts([staff_home]) and "Last 30 days" not in texts([asker_home])
    assert "TA-0001" in texts([staff_home])
    assert asker_home["user_id"] == ASKER and "Your questions" in texts([asker_home])
    assert "TA-0001" in texts([asker_home])


def test_missing_token_or_secret_is_a_clear_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set"):
        SlackConfig.from_env({})
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET must be set"):
        SlackConfig.from_env({"SLACK_BOT_TOKEN": "xoxb-1"})


def test_a_bot_token_given_as_the_app_token_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN must be the app-level token"):
        SlackConfig.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s",
                              "SLACK_APP_TOKEN": "xoxb-2"})


def test_an_api_url_without_its_trailing_slash_keeps_its_path() -> None:
    """slack_sdk joins a method's name onto the URL: without the slash, ".../api" and
    "chat.postMessage" made ".../chat.postMessage", and every call missed."""
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    for url in ("https://proxy.example.org/slack/api", "https://proxy.example.org/slack/api/"):
        config = SlackConfig.from_env(env | {"SLACK_API_URL": url})
        assert config.api_url == "https://proxy.example.org/slack/api/"
    assert SlackConfig.from_env(env).api_url == "https://slack.com/api/"


@pytest.mark.parametrize(("staff", "channel", "warned"), [
    ({f"slack:{STAFF}"}, None, True), ({f"slack:{STAFF}"}, TRIAGE, False),
    ({"cli:maria"}, None, False)])
async def test_slack_staff_without_a_triage_channel_are_warned_of_at_start(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, staff: set[str], channel: str | None,
        warned: bool) -> None:
    """Optional (staff also see the queue in the App Home and the console), but every new
    question is otherwise never shown to Slack staff in Slack, and that went unsaid."""
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET}
    if channel:
        env["SLACK_TRIAGE_CHANNEL"] = channel
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        staff=frozenset(staff))
    with caplog.at_level(logging.WARNING):
        async with Runtime(settings, ["slack"], env=env, handle_signals=False,
                           knowledge=shipped_kb):
            pass
    lines = [r.getMessage() for r in caplog.records if "SLACK_TRIAGE_CHANNEL" in r.getMessage()]
    assert len(lines) == (1 if warned else 0)


def test_a_socket_mode_failure_is_logged_in_one_line(
        caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise ConnectionResetError("Cannot connect to host wss-primary.slack.com")
    except ConnectionResetError:
        SOCKET_LOG.exception("Failed to retry to connect to Slack")
    [record] = caplog.records
    assert record.exc_info is None and "Traceback" not in caplog.text
    assert "ConnectionResetError: Cannot connect" in record.getMessage()


def test_long_answers_are_split_into_sections_slack_accepts() -> None:
    reply = AnswerReply("e", "Title", "word " * 3000, (Source("s"),), 1.0)
    _, blocks = render(reply)
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) >= 6 and all(len(b["text"]["text"]) <= 3000 for b in sections)


def test_escape_neutralises_mentions_and_links() -> None:
    assert escape("<!here> & <@U1>") == "&lt;!here&gt; &amp; &lt;@U1&gt;"


async def test_tabot_run_serves_slack_over_http(tmp_path: Path) -> None:
    """The process a host starts: `tabot run --adapter slack` on $PORT."""
    api = FakeSlackAPI()
    await api.start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": api.base_url, "PORT": str(port), "SLACK_TRIAGE_CHANNEL": TRIAGE,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    process = await start_tabot_run(env, "--adapter", "slack")
    try:
        body = json.dumps({"type": "event_callback", "event_id": "Ev1", "team_id": "T1",
                           "event": {"type": "message", "channel_type": "im", "channel": "D1",
                                     "user": ASKER, "text": SUBPOENA, "ts": "1.2"}}).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(
                       timestamp=stamp, body=body)}
        async with aiohttp.ClientSession() as session, session.post(
                f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers) as response:
            assert response.status == 200
        [post, *_] = await api.wait_for("chat.postMessage", timeout=20)
        assert post["channel"] == "D1" and "Responding to a subpoena" in texts([post])
    finally:
        process.terminate()
        await process.wait()
        await api.stop()


async def test_socket_mode_receives_events_and_acks_them(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    api = FakeSlackAPI()
    await api.start()
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path)
    env = slack_env(api, SLACK_APP_TOKEN="xapp-test")
    async with running(settings, ["slack"], env, shipped_kb) as runtime:
        assert runtime.web is None  # Socket Mode connects out: no port needed
        await api.envelopes.put({
            "envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
            "payload": {"type": "event_callback", "event_id": "EvSock", "team_id": "T1",
                        "event": {"type": "message", "channel_type": "im", "channel": "DS",
                                  "user": ASKER, "text": SUBPOENA, "ts": "5.5"}}})
        [post, *_] = await api.wait_for("chat.postMessage", timeout=20)
        assert post["channel"] == "DS" and "env-1" in api.socket_acks
    await api.stop()


async def test_socket_mode_once_stopped_does_not_reconnect_to_take_more_events(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Between stop and exit the runtime finishes its work in flight. Only disconnected, the
    SDK reconnected at its next check of the connection, and the envelopes it then
    acknowledged lost their replies when the process closed. The checks are made 0.2 s apart
    here (10 s by default) so a reconnection would show at once."""
    from slack_bolt.adapter.socket_mode import async_handler

    monkeypatch.setattr(async_handler, "AsyncSocketModeHandler", functools.partial(
        async_handler.AsyncSocketModeHandler, ping_interval=0.2))
    api = FakeSlackAPI()
    await api.start()
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path)
    env = slack_env(api, SLACK_APP_TOKEN="xapp-test")
    async with running(settings, ["slack"], env, shipped_kb) as runtime:
        opened = len(api.named("apps.connections.open"))
        await runtime.adapters[0].stop()
        await asyncio.sleep(1.0)
        assert len(api.named("apps.connections.open")) == opened
    await api.stop()


async def test_send_to_staff_pressed_after_a_restart_keeps_the_question(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    api = FakeSlackAPI()
    await api.start()
    async with slack_runtime(shipped_kb, database, api, tmp_path) as slack:
        await slack.dm(CURFEW)  # no state law in its answer: not filed with it
        [answer] = await api.wait_for("chat.postMessage")
        not_quite = button(answer, "tabot_not_helped")
        await slack.press("tabot_not_helped", json.loads(not_quite["value"]), ASKER)
        offer = (await api.wait_for("chat.postMessage", 2))[-1]
        assert "send your question to TA staff" in texts([offer])
    async with slack_runtime(shipped_kb, database, api, tmp_path) as slack:
        await slack.press("tabot_staff", json.loads(button(offer, "tabot_staff")["value"]),
                          ASKER)
        for _ in range(100):
            to_asker = [p for p in api.named("chat.postMessage") if p["channel"] == f"D{ASKER}"]
            if len(to_asker) >= 3:
                break
            await asyncio.sleep(0.05)
        assert "TA-0001" in texts(to_asker[-1:])
        escalation = await slack.runtime.triage.show("TA-0001", Actor("slack", STAFF))
    await api.stop()
    assert escalation.reason == "not-helped"
    assert escalation.question == CURFEW + ANSWERED_WITH.format(entry="shelter-rules")


def button(post: dict, action_id: str) -> dict:
    return next(e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == action_id)


async def test_the_monthly_review_list_is_posted_to_the_triage_channel(slack: Slack) -> None:
    runtime = slack.runtime
    later = datetime.datetime(2028, 1, 1, tzinfo=datetime.UTC)

    async def post(now: datetime.datetime) -> bool:
        return await post_review_if_due(runtime.db, runtime.knowledge, runtime.triage.platforms,
                                        12, now)

    assert await post(later)
    assert not await post(later + datetime.timedelta(days=10))
    await slack.deliver()
    [post_, *_] = [p for p in slack.api.named("chat.postMessage") if p["channel"] == TRIAGE]
    assert "not reviewed in 12 months, oldest first" in post_["text"]


@pytest.mark.postgres
async def test_a_database_lost_while_running_gets_clear_replies_on_every_path(
        shipped_kb: KnowledgeBase, tmp_path: Path) -> None:
    """A claim pressed on a button reads as the same claim typed in a chat would; a question
    for staff is kept in the spool and the asker told so."""
    if postgres_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set (CI sets it)")
    url = await fresh_postgres_database()
    api = FakeSlackAPI()
    await api.start()
    settings = Settings(database_url=url, knowledge_dir=tmp_path,
                        staff=frozenset({f"slack:{STAFF}"}), port=0)
    async with running(settings, ["slack"], slack_env(api), shipped_kb) as runtime:
        slack = Slack(runtime, api)
        admin = create_async_engine(postgres_url(), isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        await admin.dispose()
        await slack.press("triage_claim", {"ref": "TA-0001"}, STAFF, channel=TRIAGE)
        await slack.dm("/claim TA-0001", user=STAFF)
        await slack.dm(TO_STAFF)
        [pressed] = await api.wait_for("chat.postEphemeral")
        posts = await api.wait_for("chat.postMessage", 2)
    await api.stop()
    typed = next(p for p in posts if p["channel"] == f"D{STAFF}")
    asked = next(p for p in posts if p["channel"] == f"D{ASKER}")
    assert pressed["text"] == typed["text"] == QUEUE_DOWN
    assert SPOOLED in texts([asked])
