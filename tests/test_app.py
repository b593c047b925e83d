"""The runtime: one web server for every route, one scheduler, and a clean stop under load."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import time
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import (
    Runtime,
    Schedule,
    check_staff,
    configured_platforms,
    known_platforms,
    load_adapter,
    notice_platforms,
)
from bot.chat.messages import Actor
from bot.config import ConfigError, Settings
from bot.knowledge import base as knowledge_base
from bot.knowledge.base import SHIPPED_KNOWLEDGE, KnowledgeBase, KnowledgeError
from bot.store.database import Database
from bot.store.tables import AuditEntry, Interaction, InteractionCount
from tests.conftest import (
    QUIET,
    fresh_postgres_database,
    postgres_url,
    running,
    start_tabot_run,
)
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_askers import free_port
from tests.fakes.telegram_api import FakeTelegramAPI

SECRET = "app-test-secret"
HOOK_SECRET = "hook-secret"
SUBPOENA = "what do we do if we get a subpoena for a survivor's records"


def both_platforms_env(slack: FakeSlackAPI, telegram: FakeTelegramAPI) -> dict[str, str]:
    """Slack in HTTP mode and Telegram by webhook: both need the web server."""
    return {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url, "SLACK_TRIAGE_CHANNEL": "CTRIAGE",
            "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_URL": telegram.base_url,
            "TELEGRAM_WEBHOOK_URL": "https://tabot.example.org/hooks/telegram",
            "TELEGRAM_WEBHOOK_SECRET": HOOK_SECRET}


def slack_event(n: int, text: str = SUBPOENA) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": f"Ev{n}",
                       "event": {"type": "message", "channel_type": "im", "channel": f"D{n}",
                                 "user": f"U{n}", "text": text, "ts": f"{n}.1"}}).encode()
    stamp = str(int(time.time()))
    return body, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                  "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(
                      timestamp=stamp, body=body)}


def telegram_update(update_id: int, user: int, text: str) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1, "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "S"}, "text": text}}


async def post_slack(session: aiohttp.ClientSession, port: int, n: int) -> int:
    body, headers = slack_event(n)
    async with session.post(f"http://127.0.0.1:{port}/slack/events", data=body,
                            headers=headers) as response:
        return response.status


def test_tabot_run_serves_the_platforms_whose_tokens_are_set() -> None:
    assert configured_platforms({}) == []
    assert configured_platforms({"TELEGRAM_BOT_TOKEN": "1:x"}) == ["telegram"]
    assert configured_platforms({"SLACK_BOT_TOKEN": "xoxb", "TELEGRAM_BOT_TOKEN": "1:x"}) == [
        "slack", "telegram"]


def test_staff_notices_go_only_to_platforms_whose_adapter_pushes_them() -> None:
    settings = Settings(database_url="sqlite+aiosqlite://", knowledge_dir=Path("."),
                        staff=frozenset({"slack:U1", "telegram:2", "cli:ana", "console:ana"}))
    assert notice_platforms(settings) == ("slack", "telegram")


def test_staff_must_be_on_a_platform_some_adapter_or_the_terminal_serves() -> None:
    assert {"cli", "console", "slack", "telegram"} <= known_platforms()
    check_staff(frozenset({"slack:U1", "telegram:2", "cli:ana", "console:ana"}))
    check_staff(frozenset())
    with pytest.raises(ConfigError) as refused:
        check_staff(frozenset({"slak:U1", "Slack:U2", "cli:ana"}))
    assert str(refused.value) == (
        f"TABOT_STAFF entries must start with a platform tabot knows "
        f"({', '.join(sorted(known_platforms()))}); fix 'Slack:U2', 'slak:U1'")


@pytest.mark.parametrize("entry", ["telegram:@maria_ta", "telegram: 42", "slack: U1"])
def test_a_staff_id_that_cannot_be_one_on_its_platform_is_refused(entry: str) -> None:
    """A username typed for Telegram's numeric id, or a stray space, is nobody: that person's
    notices would be marked delivered and reach no one."""
    with pytest.raises(ConfigError, match=f"TABOT_STAFF entry '{entry}'"):
        check_staff(frozenset({entry, "cli:ana"}))


async def test_the_runtime_refuses_staff_on_an_unknown_platform_before_it_opens_anything(
        settings: Settings, tmp_path: Path) -> None:
    runtime = Runtime(replace(settings, staff=frozenset({"slak:U1"})), ["console"], env={},
                      handle_signals=False)
    with pytest.raises(ConfigError, match="fix 'slak:U1'"):
        async with runtime:
            pass
    assert not (tmp_path / "tabot.db").exists()


@pytest.mark.parametrize("name", ["base", "http", "testing", "nope", "slack.listeners"])
def test_only_a_module_defining_an_adapter_is_one_and_the_refusal_lists_them(name: str) -> None:
    """`--adapter base` raised AttributeError; `--adapter testing` ran the tests' queue
    adapter, which waits for messages nobody can send."""
    with pytest.raises(ConfigError) as refused:
        load_adapter(name)
    assert str(refused.value) == (f"there is no adapter named {name!r}; the adapters are "
                                  "console, slack, telegram")
    assert load_adapter("telegram").name == "telegram"
    assert "test" not in known_platforms()


async def test_the_runtime_refuses_the_test_double_before_it_opens_anything(
        settings: Settings, tmp_path: Path) -> None:
    runtime = Runtime(settings, ["testing"], env={}, handle_signals=False)
    with pytest.raises(ConfigError, match="no adapter named 'testing'"):
        async with runtime:
            pass
    assert not (tmp_path / "tabot.db").exists()


async def test_a_broken_crisis_file_with_nothing_to_fall_back_on_stops_the_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default knowledge folder is the shipped one: a coalition that breaks its
    crisis.yaml there has no other to fall back on, and every message would fail. The start
    says so, before a database is opened or a message taken."""
    shipped = tmp_path / "knowledge"
    shutil.copytree(SHIPPED_KNOWLEDGE, shipped)
    (shipped / "crisis.yaml").write_text('hotlines: ["unclosed\n', encoding="utf-8")
    monkeypatch.setattr(knowledge_base, "SHIPPED_KNOWLEDGE", shipped)
    knowledge_base.shipped_crisis.cache_clear()
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'tabot.db'}",
                        knowledge_dir=shipped)
    try:
        with pytest.raises(KnowledgeError, match=r"crisis\.yaml.*without its crisis hotlines"):
            async with Runtime(settings, ["console"], env={}, handle_signals=False):
                pass
    finally:
        knowledge_base.shipped_crisis.cache_clear()
    assert not (tmp_path / "tabot.db").exists()


async def test_tabot_run_serves_slack_and_a_telegram_webhook_on_one_port(tmp_path: Path) -> None:
    slack, telegram = FakeSlackAPI(), FakeTelegramAPI()
    await slack.start()
    await telegram.start()
    port = free_port()
    env = {**os.environ, **both_platforms_env(slack, telegram), "PORT": str(port),
           "TABOT_STAFF": "telegram:100", "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    process = await start_tabot_run(env)
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/healthz") as health:
                assert health.status == 200
            async with session.get(f"{base}/readyz") as ready:
                assert ready.status == 200
                assert await ready.json() == {"status": "ok", "database": "ok",
                                              "knowledge": "ok"}
            assert await post_slack(session, port, 1) == 200
            async with session.post(f"{base}/hooks/telegram",
                                    json=telegram_update(1, 100, SUBPOENA),
                                    headers={"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
                                    ) as hook:
                assert hook.status == 200
        [post, *_] = await slack.wait_for("chat.postMessage", timeout=20)
        assert post["channel"] == "D1" and "subpoena" in json.dumps(post).lower()
        [answer, *_] = await telegram.wait_for("sendMessage", timeout=20)
        assert answer["chat_id"] == 100 and "subpoena" in answer["text"].lower()
        assert [h["url"] for h in telegram.sent("setWebhook")] == [
            "https://tabot.example.org/hooks/telegram"]
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 15) == 0
        await slack.stop()
        await telegram.stop()


async def test_readyz_says_which_part_is_not_ready(database: Database, tmp_path: Path) -> None:
    empty = KnowledgeBase.load(tmp_path)
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path, port=0)
    async with running(settings, [], {}, empty) as runtime, aiohttp.ClientSession() as session, \
            session.get(f"http://127.0.0.1:{runtime.web.port}/readyz") as ready:
        assert ready.status == 503
        assert await ready.json() == {"status": "not ready", "database": "ok",
                                      "knowledge": "no entries loaded"}


@pytest.mark.postgres
async def test_readyz_reports_a_database_that_went_away(shipped_kb: KnowledgeBase,
                                                        tmp_path: Path) -> None:
    if postgres_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set (CI sets it)")
    url = await fresh_postgres_database()
    settings = Settings(database_url=url, knowledge_dir=tmp_path, port=0)
    async with running(settings, [], {}, shipped_kb) as runtime, \
            aiohttp.ClientSession() as session:
        admin = create_async_engine(postgres_url(), isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:  # the server loses it under the process
            await connection.execute(text(
                f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        await admin.dispose()
        async with session.get(f"http://127.0.0.1:{runtime.web.port}/readyz") as ready:
            body = await ready.json()
    assert ready.status == 503 and body["knowledge"] == "ok"
    assert body["database"].startswith("not reachable")


async def test_periodic_work_runs_once_per_interval_however_many_adapters(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    slack, telegram = FakeSlackAPI(), FakeTelegramAPI()
    await slack.start()
    await telegram.start()
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path, port=0)
    schedule = Schedule(deliveries=0.1, sweep=0.25, daily=3600)
    started = time.monotonic()
    async with running(settings, ["slack", "telegram"], both_platforms_env(slack, telegram),
                       shipped_kb, schedule) as runtime:
        await asyncio.sleep(1.0)
        runs = dict(runtime.scheduler.runs)
    elapsed = time.monotonic() - started
    await slack.stop()
    await telegram.stop()
    async with database.session() as session:
        purges = await session.scalar(select(func.count()).select_from(AuditEntry)
                                      .where(AuditEntry.action == "purge"))
    assert runs["daily"] == 1 and purges == 1
    assert 2 <= runs["sweep"] <= elapsed / 0.25 + 1
    assert 4 <= runs["deliveries"] <= elapsed / 0.1 + 1


async def test_the_home_figures_and_the_daily_purge_count_in_the_coalitions_zone(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    """Questions asked at 10 pm on May 31 in New York: one long past (purged at start), one
    not yet due (still live)."""
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        staff=frozenset({"cli:maria"}), timezone=ZoneInfo("America/New_York"))
    async with database.session() as session, session.begin():
        session.add_all(Interaction(platform="slack", user_id="U1", text="q", outcome="answer",
                                    score=0.5, created_at=dt.datetime(year, 6, 1, 2, tzinfo=dt.UTC))
                        for year in (2026, 2036))
    async with running(settings, [], {}, shipped_kb) as runtime:
        assert await folded_months(database) == ["2026-05"]  # by the daily work, at start
        home = await runtime.core.home(Actor("cli", "maria"), today=dt.date(2036, 5, 31))
    assert home.figures.by_month == {"2036-05": 1}


async def folded_months(db: Database, seconds: float = 10) -> list[str]:
    """The months of the counts the purge folded, once it has folded some."""
    for _ in range(int(seconds / 0.05)):
        async with db.session() as session:
            if months := list(await session.scalars(select(InteractionCount.month))):
                return months
        await asyncio.sleep(0.05)
    return []


class SlackProcess:
    """`tabot run --adapter slack` as a host runs it, and a Slack that sends it events."""

    def __init__(self, slack: FakeSlackAPI, tmp_path: Path) -> None:
        self.slack, self.port = slack, free_port()
        self.env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": slack.base_url, "PORT": str(self.port),
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
                    "TABOT_RATE_LIMIT": "10000"}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await start_tabot_run(self.env, "--adapter", "slack")

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    async def exit_code(self) -> int:
        return await asyncio.wait_for(self.process.wait(), 15)

    async def send(self, count: int, terminate_after: int | None = None) -> set[int]:
        """Send `count` DMs, a few ms apart; SIGTERM the process midway. The acknowledged ones."""
        acked: set[int] = set()

        async def one(session: aiohttp.ClientSession, n: int) -> None:
            await asyncio.sleep(n * 0.01)
            if n == terminate_after:
                self.terminate()
            try:
                if await post_slack(session, self.port, n) == 200:
                    acked.add(n)
            except aiohttp.ClientError:
                pass  # refused once the server stopped listening: Slack would retry it

        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(one(session, n) for n in range(count)))
        return acked

    def answers(self) -> dict[str, int]:
        """Replies posted, per DM channel."""
        counts: dict[str, int] = {}
        for post in self.slack.named("chat.postMessage"):
            counts[post["channel"]] = counts.get(post["channel"], 0) + 1
        return counts


async def test_sigterm_under_load_answers_every_acknowledged_event_once(tmp_path: Path) -> None:
    """Events keep arriving while the process is told to stop: each one Slack got a 200 for is
    answered before exit, and the retries Slack sends after the restart are not answered again."""
    slack = FakeSlackAPI(delay=0.05)
    await slack.start()
    tabot = SlackProcess(slack, tmp_path)
    try:
        await tabot.start()
        began = time.monotonic()
        acked = await tabot.send(80, terminate_after=40)
        assert await tabot.exit_code() == 0
        assert time.monotonic() - began < 15
        assert len(acked) >= 40, "the load should be under way when SIGTERM arrives"
        first = tabot.answers()
        missing = sorted(n for n in acked if first.get(f"D{n}", 0) == 0)
        assert missing == [], f"acknowledged but never answered: {missing}"

        await tabot.start()
        await tabot.send(80)  # Slack retries every event, acknowledged or not
        await asyncio.sleep(1.0)
        tabot.terminate()
        assert await tabot.exit_code() == 0
        again = tabot.answers()
        assert all(again[f"D{n}"] == first[f"D{n}"] for n in acked), "answered twice"
        assert all(again.get(f"D{n}", 0) >= 1 for n in range(80)), "a retry went unanswered"
    finally:
        if tabot.process is not None and tabot.process.returncode is None:
            tabot.process.kill()
        await slack.stop()


async def test_the_port_is_closed_before_the_work_in_flight_is_drained(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn looks at its stop flag only every 0.1 s and takes requests until then: a Slack
    event acknowledged after the drain began was answered after the adapters closed, or not
    at all."""
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path, port=0)
    refused: list[bool] = []
    async with running(settings, [], {}, shipped_kb) as runtime:
        drain, port = runtime.core.drain, runtime.web.port

        async def drain_once_closed(timeout: float) -> bool:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                refused.append(True)
            else:
                refused.append(False)
                writer.close()
            return await drain(timeout)

        monkeypatch.setattr(runtime.core, "drain", drain_once_closed)
    assert refused == [True]


async def test_a_stop_while_a_platform_cannot_be_reached_ends_the_run(
        database: Database, shipped_kb: KnowledgeBase, tmp_path: Path) -> None:
    """A host restarting tabot sends SIGTERM; if Telegram was unreachable at start, the
    adapter was still retrying and the signal used to be ignored until SIGKILL."""
    nowhere = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens there
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path)
    runtime = Runtime(settings, ["telegram"], env={"TELEGRAM_BOT_TOKEN": "123:abc",
                                                   "TELEGRAM_API_URL": nowhere},
                      schedule=QUIET, handle_signals=False, knowledge=shipped_kb)
    async with runtime:
        run = asyncio.create_task(runtime.run())
        await asyncio.sleep(1.5)
        assert not run.done()  # still trying to connect
        runtime.stop()
        await asyncio.wait_for(run, 10)


async def test_a_platform_unreachable_at_start_holds_back_neither_the_others_nor_the_web_server(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    """Telegram retrying its first connection must not keep Slack, the console and the health
    checks from serving (nor a host waiting for the port, which kills a slow start)."""
    from tests.adapters.test_slack import SECRET, Slack
    from tests.fakes.slack_api import FakeSlackAPI

    api = FakeSlackAPI()
    await api.start()
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": api.base_url, "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
           "TELEGRAM_API_URL": "http://127.0.0.1:9/bot"}  # nothing listens on port 9
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path, port=0)
    runtime = Runtime(settings, ["slack", "telegram"], env=env, handle_signals=False,
                      knowledge=shipped_kb)
    async with runtime:
        task = asyncio.create_task(runtime.run())
        await asyncio.wait_for(runtime.web.started(), 20)  # the web server is made in enter
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://127.0.0.1:{runtime.web.port}/healthz") as ok:
                        if ok.status == 200:
                            break
                await asyncio.sleep(0.05)
            assert ok.status == 200
        await Slack(runtime, api).dm("what do we do if we get a subpoena for a survivor's records")
        [answer, *_] = await api.wait_for("chat.postMessage", timeout=20)
        assert "Responding to a subpoena" in json.dumps(answer)
        assert not runtime.ready.is_set()  # Telegram is still retrying
        runtime.stop()
        await asyncio.wait_for(task, 30)
    await api.stop()


async def test_sighup_reloads_in_the_background_and_a_vanished_folder_keeps_what_is_served(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Reloading takes seconds (files, vectors, calibration); in the signal handler it held up
    every asker. And a folder moved away during a deploy must not end in a traceback."""
    kb_dir = tmp_path / "kb"
    shutil.copytree(SHIPPED_KNOWLEDGE, kb_dir)
    knowledge = KnowledgeBase.load(kb_dir)
    settings = Settings(database_url=database.url, knowledge_dir=kb_dir)
    async with running(settings, [], {}, knowledge) as runtime:
        runtime.reloader()  # what SIGHUP calls
        reloading = runtime.reloader.task
        assert reloading is not None and not reloading.done()  # the loop is free meanwhile
        await asyncio.wait_for(reloading, 120)
        served = len(runtime.knowledge.entries)
        kb_dir.rename(tmp_path / "moved")
        runtime.reloader()
        await asyncio.wait_for(runtime.reloader.task, 60)
        assert len(runtime.knowledge.entries) == served
    assert "knowledge: not reloaded" in capsys.readouterr().err


async def test_a_spool_folder_that_cannot_be_written_stops_start_naming_the_setting(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    """It is needed only while the database is down: found out then, questions would be lost."""
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("")
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        spool_dir=a_file / "spool")
    with pytest.raises(ConfigError, match="TABOT_SPOOL_DIR"):
        async with Runtime(settings, [], env={}, handle_signals=False, knowledge=shipped_kb):
            pass
