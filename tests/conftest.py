"""Fixtures build real objects: knowledge directories on disk, real databases, real cores."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import Runtime, Schedule
from bot.chat.conversation import Conversation
from bot.chat.messages import Message
from bot.config import Settings, async_database_url
from bot.core import Core
from bot.knowledge.base import SHIPPED_KNOWLEDGE, KnowledgeBase
from bot.store.database import Database
from bot.store.interactions import Record, record_interaction
from bot.store.tables import Escalation
from bot.triage.escalations import Reason, create_escalation
from bot.triage.workflow import Triage

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"


def entry(id: str, questions: list[str], **fields) -> dict:
    """A valid knowledge entry; tests override the fields they care about."""
    return {
        "id": id,
        "category": fields.pop("category", "best-practice"),
        "title": fields.pop("title", id.replace("-", " ").capitalize()),
        "questions": questions,
        "answer": fields.pop("answer", f"Practical guidance about {id.replace('-', ' ')}."),
        "tags": fields.pop("tags", [id.split("-")[0]]),
        "sources": fields.pop("sources", [{"title": "Test source", "url": "https://example.org"}]),
        "reviewed": fields.pop("reviewed", "2026-10-01"),
        **fields,
    }


def write_yaml(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_text(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(content), encoding="utf-8")
    return path


@pytest.fixture(scope="session", autouse=True)
def own_data_directory(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Whatever tabot keeps in the user's data directory by default (a PostgreSQL database's
    spool, say) and in its cache (calibrations) goes to directories of the test run's own, in
    this process and the ones it starts, never to the home directory of the machine running
    the tests."""
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


SMALL_KB = [
    entry("subpoena-response", ["what do we do when we get a subpoena for records",
                                "court subpoena for client file", "records demand from a lawyer"],
          tags=["subpoena", "records"]),
    entry("shelter-curfew", ["can our shelter have a curfew", "rules about curfew for residents",
                             "is a 10pm curfew ok"], tags=["shelter", "rules"]),
    entry("interpreter-use", ["can a child interpret for their mom",
                              "finding an interpreter for a survivor", "language line for intake"],
          tags=["language", "interpreters"]),
    entry("dv-definition", ["what counts as domestic violence", "definition of dv",
                            "is financial control abuse"], tags=["domestic-violence"]),
]


@pytest.fixture
def small_kb_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "kb"
    for item in SMALL_KB:
        write_yaml(directory / f"{item['id']}.yaml", item)
    write_yaml(directory / "synonyms.yaml",
               {"domestic violence": ["DV", "IPV", "intimate partner violence"]})
    return directory


@pytest.fixture(scope="session")
def shipped_kb() -> KnowledgeBase:
    return KnowledgeBase.load(SHIPPED_KNOWLEDGE)


def postgres_url() -> str | None:
    raw = os.environ.get("TEST_DATABASE_URL")
    return async_database_url(raw) if raw else None


async def drop_postgres_database(url: str) -> None:
    base = postgres_url()
    assert base is not None
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"'))
    await admin.dispose()


async def fresh_postgres_database() -> str:
    """A new, empty database on the test server, so tests never see each other's rows."""
    base = postgres_url()
    assert base is not None
    name = f"tabot_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def require_postgres() -> None:
    """Skip a PostgreSQL test where no server is named; under CI, fail instead."""
    if postgres_url() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set TEST_DATABASE_URL")
        pytest.skip("TEST_DATABASE_URL is not set (CI sets it)")


@contextlib.asynccontextmanager
async def migrated(url: str | None) -> AsyncIterator[Database]:
    """The database at `url`, migrated, for as long as the block lasts; without a URL, a new
    database on the PostgreSQL test server, dropped afterwards."""
    if url is None:
        require_postgres()
        url = await fresh_postgres_database()
    db = Database(url)
    await db.upgrade()
    try:
        yield db
    finally:
        await db.close()
        if not url.startswith("sqlite"):
            await drop_postgres_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database: SQLite always; PostgreSQL where TEST_DATABASE_URL names a server."""
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'tabot.db'}"
    async with migrated(sqlite if request.param == "sqlite" else None) as db:
        yield db


@pytest.fixture
async def postgres_database() -> AsyncIterator[Database]:
    """A new, migrated PostgreSQL database, for tests that only make sense on a server."""
    async with migrated(None) as db:
        yield db


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'tabot.db'}",
                    knowledge_dir=SHIPPED_KNOWLEDGE)


@pytest.fixture
async def conversation(shipped_kb: KnowledgeBase, database: Database,
                       settings: Settings) -> Conversation:
    return Conversation(shipped_kb, database, settings)


def make_core(knowledge: KnowledgeBase, db: Database, settings: Settings,
              notify: tuple[str, ...] = ()) -> Core:
    """The core as the runtime builds it, for adapters under test."""
    triage = Triage.from_settings(db, settings, notify)
    return Core(Conversation(knowledge, db, settings, triage), triage, db, knowledge)


@pytest.fixture
async def core(shipped_kb: KnowledgeBase, database: Database, settings: Settings) -> Core:
    return make_core(shipped_kb, database, settings)


async def new_escalation(db: Database, message: Message, question: str, reason: Reason,
                         tags: list[str], notify: tuple[str, ...] = ()) -> Escalation:
    """An escalation committed on its own, as the conversation would commit it."""
    async with db.engine.begin() as connection:
        reference = await create_escalation(connection, message, question, reason, tags, notify)
    async with db.session() as session:
        return await session.get(Escalation, int(reference.removeprefix("TA-")))


async def new_interaction(db: Database, message: Message, text: str, outcome: str,
                          entry_id: str | None = None) -> None:
    async with db.engine.begin() as connection:
        await record_interaction(connection, Record(message, text, outcome, entry_id))


QUIET = Schedule(deliveries=3600, sweep=3600, daily=3600)  # tests deliver when they choose


@contextlib.asynccontextmanager
async def running(settings: Settings, adapters: list[str], env: dict[str, str],
                  knowledge: KnowledgeBase, schedule: Schedule = QUIET) -> AsyncIterator[Runtime]:
    """A real runtime serving `adapters` until the block ends."""
    runtime = Runtime(settings, adapters, env=env, schedule=schedule, handle_signals=False,
                      knowledge=knowledge)
    async with runtime:
        task = asyncio.create_task(runtime.run())
        ready = asyncio.create_task(runtime.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            ready.cancel()
            task.result()  # start failed: raise its error
        try:
            yield runtime
        finally:
            runtime.stop()
            await task


async def start_tabot_run(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """`tabot run ARGS` as a host starts it, once it says it is listening."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", *args, cwd=REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    line = b""
    while b"listening on port" not in line:
        line = await asyncio.wait_for(process.stderr.readline(), 120)
        assert line, "tabot run exited before listening"
    return process


async def logged(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    """The log lines holding `words`, once there is one (work after an acknowledged event
    logs a moment later); none after about ten seconds."""
    for _ in range(200):
        if found := [r.getMessage() for r in caplog.records if words in r.getMessage()]:
            return found
        await asyncio.sleep(0.05)
    return []
