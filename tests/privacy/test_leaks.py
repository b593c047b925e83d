"""Planted identifiers in 650 realistic messages: none may appear anywhere tabot writes.

The corpus (tests/data/pii_corpus.jsonl) was written for this test, the first 320 by hand and
330 more by scripts/make_pii_corpus.py to cover every identifier kind; every name, number and
address in it is invented (towns are real places, which identify no one on their own). Each
message goes through Slack (direct message), Telegram (private chat) and the core, half of
them straight to staff with /staff; staff notices and relays are delivered. Then every
database row, every log line and every call to the platforms' APIs is searched for every
planted identifier.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot.chat.messages import Actor
from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.triage import members
from tests.conftest import DATA, running
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.telegram_api import FakeTelegramAPI

CORPUS = [json.loads(line) for line in (DATA / "pii_corpus.jsonl").read_text().splitlines()
          if line.strip()]


def test_the_corpus_is_big_and_varied() -> None:
    assert len(CORPUS) >= 600
    assert sum(len(item["planted"]) for item in CORPUS) >= 1200
    assert all(p in item["text"] for item in CORPUS for p in item["planted"])


async def database_text(db: Database) -> str:
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        dumped = []
        for table in tables:
            rows = await connection.execute(text(f'SELECT * FROM "{table}"'))
            dumped += [repr(tuple(row)) for row in rows]
    return "\n".join(dumped)


def leaks(haystack: str) -> list[str]:
    lowered = haystack.casefold()
    return [p for item in CORPUS for p in item["planted"] if p.casefold() in lowered]


async def test_no_planted_identifier_reaches_storage_logs_or_platforms(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    slack_api, telegram_api = FakeSlackAPI(), FakeTelegramAPI()
    await slack_api.start()
    await telegram_api.start()
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        staff=frozenset({"slack:USTAFF", "telegram:100"}),
                        rate_limit_per_minute=10_000, port=0)
    env = {"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": "secret",
           "SLACK_TRIAGE_CHANNEL": "CTRIAGE", "SLACK_API_URL": slack_api.base_url,
           "TELEGRAM_BOT_TOKEN": telegram_api.token, "TELEGRAM_API_URL": telegram_api.base_url}
    try:
        async with running(settings, ["slack", "telegram"], env, shipped_kb) as runtime:
            slack = runtime.adapters[0]
            code = await members.invite(database, "Test Program", "cli:test")
            telegram_api.text(f"/start {code}", 200)
            for n, item in enumerate(CORPUS):
                message = ("/staff " if n % 2 else "") + item["text"]
                await slack._on_message({"type": "message", "channel_type": "im",
                                         "channel": "DADVOCATE", "user": "UADVOCATE",
                                         "text": message, "ts": f"{n}.0"}, {"event_id": f"E{n}"})
                if n % 4 == 0:
                    telegram_api.text(message, 200)
            deadline = time.monotonic() + 60
            while telegram_api.updates and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)
            await runtime.dispatcher.deliver_pending()
            await runtime.triage.answer("TA-0001", Actor("slack", "USTAFF"),
                                        "Here is what to do.")
            await runtime.dispatcher.deliver_pending()
    finally:
        await slack_api.stop()
        await telegram_api.stop()

    assert len(slack_api.named("chat.postMessage")) > len(CORPUS)
    assert len(telegram_api.sent()) > len(CORPUS) // 4
    assert leaks(await database_text(database)) == []
    assert leaks(json.dumps(slack_api.calls, default=str)) == []
    assert leaks(json.dumps(telegram_api.calls, default=str)) == []
    assert leaks("\n".join(r.getMessage() for r in caplog.records)) == []

