"""A real tabot runtime serving the console on a free port, over a real database, and a
client that signs in the way staff do: by opening a one-time link and pressing Sign in."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.app import Runtime
from bot.chat.messages import Actor
from bot.config import Settings
from bot.console.auth import issue_link_token
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from tests.conftest import running

STAFF = Actor("slack", "USTAFF1")
OTHER_STAFF = Actor("telegram", "777")
NOT_STAFF = Actor("slack", "UNOBODY")
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
_NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def nonce_of(html: str) -> str:
    found = _NONCE.search(html)
    assert found, "the sign-in page has no nonce field"
    return found.group(1)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@dataclass
class Console:
    runtime: Runtime
    base: str  # http://127.0.0.1:PORT/console
    db: Database
    knowledge: KnowledgeBase
    kb_dir: Path

    async def link(self, actor: Actor = STAFF) -> str:
        token = await issue_link_token(self.db, actor, self.runtime.settings.staff)
        return f"{self.base}/signin/{token}"

    def client(self) -> aiohttp.ClientSession:
        """A browser-like client: keeps cookies (for 127.0.0.1 too), follows redirects."""
        return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def sign_in(self, client: aiohttp.ClientSession, actor: Actor = STAFF) -> str:
        """Open a fresh link, press Sign in; returns the queue page's HTML."""
        async with client.get(await self.link(actor)) as opened:
            assert opened.status == 200, await opened.text()
            html = await opened.text()
        token = (await self.link_token_of(html))
        nonce = nonce_of(html)
        async with client.post(f"{self.base}/signin",
                               data={"token": token, "nonce": nonce}) as done:
            assert done.status == 200, await done.text()
            assert str(done.url).endswith("/console/queue")
            return await done.text()

    @staticmethod
    async def link_token_of(html: str) -> str:
        return re.search(r'name="token" value="([^"]+)"', html).group(1)


@pytest.fixture
def console_kb_dir(small_kb_dir: Path, tmp_path: Path) -> Path:
    """An editable copy of a small knowledge base: console tests write to it."""
    target = tmp_path / "console-kb"
    shutil.copytree(small_kb_dir, target)
    return target


@pytest.fixture
async def console(database: Database, console_kb_dir: Path) -> AsyncIterator[Console]:
    settings = Settings(database_url=database.url, knowledge_dir=console_kb_dir,
                        staff=frozenset({STAFF.id, OTHER_STAFF.id}), port=0)
    knowledge = KnowledgeBase.load(console_kb_dir)
    async with running(settings, [], {}, knowledge) as runtime:
        assert runtime.web is not None
        yield Console(runtime, f"http://127.0.0.1:{runtime.web.port}/console", database,
                      knowledge, console_kb_dir)
