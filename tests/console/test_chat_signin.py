"""Signing in from chat: staff ask the bot in Slack (`/ta console`, or the App Home's button)
or Telegram (`/console`) and get a one-time link in a direct message, which signs them in.
The real adapters run against the fake Slack and Telegram servers; the core decides who gets
a link, and nothing logs it."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.chat import copy
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.store.tables import ConsoleLink
from tests.adapters.test_slack import ASKER, STAFF, Slack, texts
from tests.adapters.test_telegram import (
    ADVOCATE,
    Harness,
    register,
    telegram_env,
    telegram_settings,
)
from tests.adapters.test_telegram import STAFF as TELEGRAM_STAFF
from tests.conftest import running
from tests.console.conftest import Console, nonce_of
from tests.fakes.telegram_api import BOT, FakeTelegramAPI

LINK = re.compile(r"(https?://\S+/console/signin/)(\S+)")


async def links_issued(db: Database) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(ConsoleLink)) or 0


async def signs_in(port: int, text: str) -> bool:
    """Open the link found in `text` on the running tabot and press Sign in, as a browser
    does; True if that lands on the queue."""
    found = LINK.search(text)
    assert found, f"no sign-in link in {text!r}"
    local = f"http://127.0.0.1:{port}/console/signin/{found.group(2)}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.get(local) as opened:
            html = await opened.text()
        token = await Console.link_token_of(html)
        async with client.post(f"http://127.0.0.1:{port}/console/signin",
                               data={"token": token, "nonce": nonce_of(html)}) as done:
            return done.status == 200 and str(done.url).endswith("/console/queue")


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch) -> str:
    url = "https://tabot.example.org"
    monkeypatch.setenv("TABOT_PUBLIC_URL", url)
    return url


async def slash(slack: Slack, user: str, text: str) -> None:
    assert await slack.form({"command": "/ta", "text": text, "user_id": user,
                             "channel_id": "CGENERAL", "trigger_id": f"t-{user}-{text}",
                             "response_url": f"http://127.0.0.1:{slack.api.port}/respond",
                             "team_id": "T1"}) == 200


async def test_slack_staff_get_a_link_by_command_and_by_the_app_home_button(
        slack: Slack, public_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await slash(slack, STAFF, "console")
    [by_command] = await slack.api.wait_for("chat.postMessage")
    assert by_command["channel"] == f"D{STAFF}"  # the DM with the bot, never a channel
    assert f"{public_url}/console/signin/" in by_command["text"]
    assert await signs_in(slack.runtime.web.port, by_command["text"])

    await slack.event({"type": "app_home_opened", "user": STAFF, "tab": "home"})
    await slack.event({"type": "app_home_opened", "user": ASKER, "tab": "home"})
    homes = {h["user_id"]: h for h in await slack.api.wait_for("views.publish", 2)}
    assert "console_signin" in texts([homes[STAFF]])
    assert "console_signin" not in texts([homes[ASKER]])
    assert await slack.press("console_signin", {}, STAFF, channel=STAFF) == 200
    _, by_button = await slack.api.wait_for("chat.postMessage", 2)
    assert by_button["channel"] == f"D{STAFF}"
    assert LINK.search(by_button["text"]).group(2) != LINK.search(by_command["text"]).group(2)
    assert await signs_in(slack.runtime.web.port, by_button["text"])
    assert await links_issued(slack.runtime.db) == 2
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for text in (by_command["text"], by_button["text"]):
        assert LINK.search(text).group(2) not in logged


async def test_slack_refuses_non_staff_and_links_in_channels(slack: Slack,
                                                             public_url: str) -> None:
    await slash(slack, ASKER, "console")
    [refused] = await slack.api.wait_for("chat.postMessage")
    assert refused["text"] == copy.CONSOLE_ONLY_STAFF.format(actor=f"slack:{ASKER}")
    assert "/console/signin/" not in refused["text"]
    assert await slack.press("console_signin", {}, ASKER, channel=ASKER) == 200
    _, pressed = await slack.api.wait_for("chat.postMessage", 2)
    assert "/console/signin/" not in pressed["text"]
    await slack.event({"type": "app_mention", "user": STAFF, "channel": "CGENERAL",
                       "text": "<@UBOT> console", "ts": "1700000000.000100"})
    _, _, in_channel = await slack.api.wait_for("chat.postMessage", 3)
    assert in_channel["channel"] == "CGENERAL" and "direct message" in in_channel["text"]
    assert "/console/signin/" not in in_channel["text"]
    assert await links_issued(slack.runtime.db) == 0


@pytest.fixture
async def telegram(shipped_kb: KnowledgeBase, database: Database,
                   tmp_path: Path) -> AsyncIterator[Harness]:
    api = FakeTelegramAPI()
    await api.start()
    async with running(telegram_settings(database, tmp_path, port=0), ["telegram"],
                       telegram_env(api), shipped_kb) as runtime:
        yield Harness(api, runtime)
    await api.stop()


async def test_telegram_staff_get_a_link_in_a_private_chat_only(
        telegram: Harness, public_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    telegram.api.text("/console", TELEGRAM_STAFF)
    [reply] = await telegram.replies_to(TELEGRAM_STAFF)
    assert f"{public_url}/console/signin/" in reply["text"] and "works once" in reply["text"]
    assert await signs_in(telegram.runtime.web.port, reply["text"])
    assert LINK.search(reply["text"]).group(2) not in "\n".join(
        r.getMessage() for r in caplog.records)

    group = -555
    telegram.api.text(f"/console@{BOT['username']}", TELEGRAM_STAFF, chat=group,
                      chat_type="group")
    [in_group] = await telegram.replies_to(group)
    assert "direct message" in in_group["text"] and "/console/signin/" not in in_group["text"]
    assert await links_issued(telegram.db) == 1


async def test_telegram_members_who_are_not_staff_are_refused(telegram: Harness,
                                                              public_url: str) -> None:
    await register(telegram, ADVOCATE)
    telegram.api.text("/console", ADVOCATE)
    [refused] = await telegram.replies_to(ADVOCATE)
    assert "for the coalition's TA staff" in html.unescape(refused["text"])
    assert "/console/signin/" not in refused["text"]
    assert await links_issued(telegram.db) == 0


async def test_a_bad_public_url_is_a_clear_reply_not_a_link(
        telegram: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABOT_PUBLIC_URL", "tabot.example.org")  # no scheme
    telegram.api.text("/console", TELEGRAM_STAFF)
    [reply] = await telegram.replies_to(TELEGRAM_STAFF)
    assert "TABOT_PUBLIC_URL is not set correctly" in reply["text"]
    assert await links_issued(telegram.db) == 0
