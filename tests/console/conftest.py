"""A real tabot runtime serving the console on a free port, over a real database, and a
client that signs in the way staff do: by opening a one-time link and pressing Sign in."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest

from bot.app import Runtime
from bot.chat.messages import Actor
from bot.config import Settings
from bot.console.auth import issue_link_token
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from tests.adapters.test_slack import slack  # noqa: F401  (tabot on the fake Slack server)
from tests.conftest import running

STAFF = Actor("slack", "USTAFF1")
OTHER_STAFF = Actor("telegram", "777")
NOT_STAFF = Actor("slack", "UNOBODY")
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
_NONCE = re.compile(r'name="nonce" value="([^"]+)"')


class _Fields(HTMLParser):
    """The named inputs, selects and textareas of an HTML page, as a browser would submit
    them (checkboxes only when checked, a select's selected option)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and "name" in a:
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.values[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[a["name"]] = ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and ("selected" in a
                                                   or self._select not in self.values):
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_fields(html: str) -> dict[str, str]:
    parser = _Fields()
    parser.feed(html)
    return parser.values


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
def console_env() -> dict[str, str]:
    """The runtime's environment; a test module overrides this fixture to set variables."""
    return {}


@pytest.fixture
async def console(database: Database, console_kb_dir: Path,
                  console_env: dict[str, str]) -> AsyncIterator[Console]:
    settings = Settings(database_url=database.url, knowledge_dir=console_kb_dir,
                        staff=frozenset({STAFF.id, OTHER_STAFF.id}), port=0)
    knowledge = KnowledgeBase.load(console_kb_dir)
    async with running(settings, [], console_env, knowledge) as runtime:
        assert runtime.web is not None
        yield Console(runtime, f"http://127.0.0.1:{runtime.web.port}/console", database,
                      knowledge, console_kb_dir)
