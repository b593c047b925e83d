"""A database outage while `tabot run` serves Slack: no acknowledged question is lost.

A TCP proxy stands between the process and a real PostgreSQL server and is closed for 20 s,
cutting every connection. Questions the knowledge base answers are answered all through it;
questions for staff are kept in the spool, their askers told so, and filed exactly once when
the database is back, each asker then told its reference.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.chat import copy
from bot.store.database import Database
from bot.store.tables import Escalation
from tests.fakes.slack_askers import (
    TRIAGE_CHANNEL,
    Arrivals,
    Question,
    Tabot,
    ask,
    fake_slack,
    tabot_on_slack,
)
from tests.fakes.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres
OUTAGE_SECONDS = 20.0
ANSWERABLE = "can our shelter require residents to follow a curfew"


@pytest.fixture
async def database_behind_proxy(
        postgres_database: Database) -> AsyncIterator[tuple[Database, TcpProxy, str]]:
    """The database; the proxy the process reaches it through; the URL through the proxy."""
    proxy = TcpProxy(target_port=5432)
    await proxy.open()
    yield postgres_database, proxy, postgres_database.url.replace(
        "@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    await proxy.close()


async def escalations(db: Database) -> list[Escalation]:
    async with db.session() as session:
        return list(await session.scalars(select(Escalation).order_by(Escalation.id)))


async def until_filed(db: Database, arrivals: Arrivals, staff: list[Question],
                      tabot: Tabot) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        told = all(any("TA-" in p["text"] for p in arrivals.posts_to(q.channel)) for q in staff)
        if told and len(await escalations(db)) >= len(staff):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("spooled questions were not filed:\n" + "\n".join(tabot.log[-20:]))


async def test_a_database_outage_loses_no_question_and_files_each_staff_question_once(
        database_behind_proxy: tuple[Database, TcpProxy, str], tmp_path: Path) -> None:
    db, proxy, proxied = database_behind_proxy
    api, arrivals = fake_slack()
    await api.start()
    answerable = [Question(f"UA{n}", f"DA{n}", ANSWERABLE) for n in range(10)]
    staff = [Question(f"US{n}", f"DS{n}", f"/staff our grant report question number {n}")
             for n in range(5)]
    try:
        async with tabot_on_slack(api, proxied, TABOT_SPOOL_DIR=str(tmp_path / "spool"),
                                  TABOT_STAFF="slack:USTAFF") as tabot, \
                aiohttp.ClientSession() as session:
            await proxy.close()
            began = time.monotonic()
            asked = await asyncio.gather(*(ask(session, tabot, arrivals, q)
                                           for q in answerable + staff))
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - began)))
            await proxy.open()
            await until_filed(db, arrivals, staff, tabot)
            await asyncio.sleep(2)  # time for a second filing, were there to be one
            log = "\n".join(tabot.log)
    finally:
        await api.stop()
    assert [a.status for a in asked] == [200] * 15
    assert [a.question for a in asked if a.seconds is None] == [], "acknowledged, no reply"
    for question in answerable:
        assert "shelter rules" in arrivals.posts_to(question.channel)[0]["text"].lower()
    for question in staff:
        first, *later = [p["text"] for p in arrivals.posts_to(question.channel)]
        assert first == copy.SPOOLED
        assert len([t for t in later if "TA-" in t]) == 1
    filed = await escalations(db)
    assert sorted(e.question for e in filed) == sorted(
        q.text.removeprefix("/staff ") for q in staff)
    posts = arrivals.posts_to(TRIAGE_CHANNEL)
    assert sorted(p["text"] for p in posts) == sorted(f"New question {e.reference}"
                                                       for e in filed)
    assert "Traceback" not in log
