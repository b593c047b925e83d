"""The conversation test set (tests/data/conversations.yaml), played through every adapter.

One script per exchange, four ways in: the core through `QueueAdapter`, the console adapter's
rendered text, and the real slack-bolt and python-telegram-bot code against the fake servers.
Each platform's output is read back into the same neutral terms (`Seen`), so an exchange says
once what an asker should see and every platform is held to it. A button press is the
platform's own button (its Block Kit value, its callback data); the console has no buttons, so
there it is the typed equivalent, which is what a console user does.

Each platform starts once for the whole set (a runtime per platform, on one event loop for
this module), and each exchange is a new asker, so exchanges cannot see each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import io
import itertools
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
import pytest_asyncio
import yaml
from sqlalchemy import select

from adapters.console import ConsoleAdapter
from adapters.testing import QueueAdapter
from bot.chat.messages import (
    Action,
    ActionKind,
    AnswerReply,
    Choice,
    EscalatedReply,
    OfferStaffReply,
    Reply,
    SuggestReply,
    TextReply,
)
from bot.config import Settings
from bot.core import Core
from bot.knowledge.base import SHIPPED_KNOWLEDGE, KnowledgeBase
from bot.store.database import Database
from bot.store.tables import Escalation, Interaction
from bot.triage import members
from tests.adapters.test_slack import Slack, slack_env
from tests.adapters.test_telegram import telegram_env
from tests.conftest import DATA, make_core, migrated, running
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.telegram_api import FakeTelegramAPI

SET = DATA / "conversations.yaml"
KINDS = {"answer", "suggest", "offer", "escalated", "text"}
EXPECTATIONS = {"replies", "entry", "picked", "related", "says", "says_not", "escalations",
                "reason", "question", "recorded"}
BUTTONS = re.compile(r"^(choice \d|related \d|helped|not quite|staff)$")
REFERENCE = re.compile(r"Your reference is TA-\d{4,}")
REPLY_SECONDS = 10.0  # a platform that has not replied by then has lost the message


# --- the set ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Turn:
    say: str | None
    press: str | None
    expect: dict[str, Any]

    @property
    def label(self) -> str:
        return f"say {self.say!r}" if self.say is not None else f"press {self.press!r}"


@dataclass(frozen=True)
class Exchange:
    name: str
    about: str
    turns: tuple[Turn, ...]


def load(path: Path) -> list[Exchange]:
    """The exchanges in `path`; a malformed one is named in a ValueError, not a KeyError."""
    try:
        raws = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path.name} is not valid YAML: {exc}") from None
    if not isinstance(raws, list):
        raise ValueError(f"{path.name} must be a list of exchanges")
    exchanges = []
    for number, raw in enumerate(raws, 1):
        name = raw.get("name") if isinstance(raw, dict) else None
        if not name or not isinstance(raw.get("turns"), list):
            raise ValueError(f"{path.name}: exchange {number} needs a name and a list of turns")
        exchanges.append(Exchange(name, raw.get("about", ""),
                                  tuple(_turn(name, t) for t in raw["turns"])))
    return exchanges


def _turn(exchange: str, raw: object) -> Turn:
    if not isinstance(raw, dict) or ("say" in raw) == ("press" in raw):
        raise ValueError(f"{exchange}: each turn has either 'say' or 'press': {raw!r}")
    expect = raw.get("expect")
    if not isinstance(expect, dict) or "replies" not in expect:
        raise ValueError(f"{exchange}: each turn expects at least its replies: {raw!r}")
    return Turn(_text(raw.get("say")), _text(raw.get("press")), expect)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


EXCHANGES = load(SET)


# --- what an asker sees, in neutral terms ------------------------------------------------------

@dataclass(frozen=True)
class Seen:
    """One reply as an asker sees it. `choices` are entry ids in the order a number or a
    button picks them; `buttons` maps a press ("choice 2", "helped") to the platform's own
    handle for it (an `Action`, Block Kit ids and value, callback data, or typed text)."""

    kind: str
    text: str
    entry: str | None = None
    choices: tuple[str, ...] = ()
    buttons: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        detail = self.entry or ",".join(self.choices) or " ".join(self.text.split())[:60]
        return f"{self.kind}({detail})"


def numbered(name: str, handles: list[Any]) -> dict[str, Any]:
    return {f"{name} {i}": handle for i, handle in enumerate(handles, 1)}


def seen_reply(reply: Reply) -> Seen:
    """The core's reply, with the `Action` each of its buttons would send."""
    def choose(choices: tuple[Choice, ...], context: int | None,
               kind: ActionKind = ActionKind.CHOOSE) -> list[Action]:
        return [Action(kind, c.entry_id, context) for c in choices]

    match reply:
        case AnswerReply():
            buttons = {"helped": Action(ActionKind.HELPED, reply.entry_id, reply.context),
                       "not quite": Action(ActionKind.NOT_HELPED, reply.entry_id, reply.context)}
            return Seen("answer", reply.answer, reply.entry_id, _ids(reply.related),
                        buttons | numbered("related", choose(reply.related, reply.context,
                                                             ActionKind.RELATED)))
        case SuggestReply():
            staff = Action(ActionKind.SEND_TO_STAFF, context=reply.context)
            return Seen("suggest", reply.text, None, _ids(reply.choices),
                        numbered("choice", choose(reply.choices, reply.context)) | {"staff": staff})
        case OfferStaffReply():
            return Seen("offer", reply.text, buttons={
                "staff": Action(ActionKind.SEND_TO_STAFF, context=reply.context)})
        case EscalatedReply():
            return Seen("escalated", reply.text)
        case TextReply():
            return Seen("text", reply.text)
    raise AssertionError(f"an exchange got a reply it does not expect: {reply!r}")


def _ids(choices: tuple[Choice, ...]) -> tuple[str, ...]:
    return tuple(c.entry_id for c in choices)


_NUMBERED = re.compile(r"^\s+(\d+)\. (.+)$")


def seen_console(chunk: str, ids: dict[str, str]) -> Seen:
    """One reply as the console printed it; entries are known by their titles."""
    lines, flat = chunk.splitlines(), " ".join(chunk.split())
    if chunk.startswith("== "):
        related = _titles_after(lines, "Related (type a number):")
        typed = {"helped": "yes", "not quite": "no", "staff": "staff"}
        return Seen("answer", chunk, ids[lines[0].strip("= ")], tuple(ids[t] for t in related),
                    typed | numbered("related", [str(i) for i in range(1, len(related) + 1)]))
    if "Type a number, 'none' if none fit" in flat:
        titles = [m.group(2) for line in lines if (m := _NUMBERED.match(line))]
        return Seen("suggest", chunk, None, tuple(ids[t] for t in titles),
                    numbered("choice", [str(i) for i in range(1, len(titles) + 1)])
                    | {"staff": "staff"})
    if "Type 'yes' or 'staff' to send it" in flat:
        return Seen("offer", chunk, buttons={"staff": "staff"})
    return Seen("escalated" if REFERENCE.search(flat) else "text", chunk)


def _titles_after(lines: list[str], heading: str) -> list[str]:
    if heading not in lines:
        return []
    titles = []
    for line in lines[lines.index(heading) + 1:]:
        if not (found := _NUMBERED.match(line)):
            break
        titles.append(found.group(2))
    return titles


def seen_slack(post: dict) -> Seen:
    """One chat.postMessage as Slack shows it: Block Kit text and buttons."""
    blocks = post.get("blocks") or []
    elements = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    press = {e["action_id"]: (e["action_id"], json.loads(e["value"])) for e in elements}
    text = html.unescape(" ".join(_block_texts(blocks)))

    def started(prefix: str) -> list[tuple[str, dict]]:
        return [press[e["action_id"]] for e in elements if e["action_id"].startswith(prefix)]

    if blocks and blocks[0]["type"] == "header":
        related = started("tabot_related_")
        buttons = {"helped": press["tabot_helped"], "not quite": press["tabot_not_helped"]}
        return Seen("answer", text, press["tabot_helped"][1]["entry"],
                    tuple(v["entry"] for _, v in related), buttons | numbered("related", related))
    if choices := started("tabot_choose_"):
        return Seen("suggest", text, None, tuple(v["entry"] for _, v in choices),
                    numbered("choice", choices) | {"staff": press["tabot_staff"]})
    if "tabot_staff" in press:
        return Seen("offer", text, buttons={"staff": press["tabot_staff"]})
    return Seen("escalated" if REFERENCE.search(text) else "text", text)


def _block_texts(blocks: list[dict]) -> Iterator[str]:
    for block in blocks:
        if isinstance(block.get("text"), dict):
            yield block["text"]["text"]
        for element in block.get("elements", []) if block["type"] == "context" else []:
            yield element["text"]


def seen_telegram(payload: dict) -> Seen:
    """One sendMessage as Telegram shows it: HTML text and an inline keyboard."""
    markup = payload.get("reply_markup") or {}
    data = [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]
    text = html.unescape(re.sub(r"<[^>]+>", "", payload["text"]))
    message = payload["_returned"]

    def kind(letter: str) -> list[tuple[str, dict]]:
        return [(d, message) for d in data if d.split("|")[0] == letter]

    def entry(handle: tuple[str, dict]) -> str:
        return handle[0].rsplit("|", 1)[1]

    if helped := kind("h"):
        related = kind("r")
        return Seen("answer", text, entry(helped[0]), tuple(entry(c) for c in related),
                    {"helped": helped[0], "not quite": kind("n")[0]}
                    | numbered("related", related))
    if choices := kind("c"):
        return Seen("suggest", text, None, tuple(entry(c) for c in choices),
                    numbered("choice", choices) | {"staff": kind("s")[0]})
    if staff := kind("s"):
        return Seen("offer", text, buttons={"staff": staff[0]})
    return Seen("escalated" if REFERENCE.search(text) else "text", text)


# --- the platforms ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Stored:
    escalations: list[Escalation]
    last: Interaction | None


async def stored(db: Database, platform: str, user_id: str) -> Stored:
    async with db.session() as session:
        escalations = list(await session.scalars(
            select(Escalation).where(Escalation.platform == platform,
                                     Escalation.user_id == user_id).order_by(Escalation.id)))
        last = await session.scalar(
            select(Interaction).where(Interaction.platform == platform,
                                      Interaction.user_id == user_id)
            .order_by(Interaction.id.desc()).limit(1))
    return Stored(escalations, last)


class Platform(Protocol):
    """An adapter under test, seen from the asker's side; `asker` numbers a new person."""

    db: Database

    def user(self, asker: int) -> tuple[str, str]:
        """(platform, user id) as the database stores them."""

    async def say(self, asker: int, text: str) -> list[Seen]: ...

    async def press(self, asker: int, handle: Any) -> list[Seen]: ...


async def replies_after(posts: Callable[[], list[dict]], before: int, core: Core) -> list[dict]:
    """The posts a platform sent for one event: wait for the first, then for the core to be
    idle, so a turn with two replies (an answer sent to staff as well) has both."""
    deadline = asyncio.get_running_loop().time() + REPLY_SECONDS
    while len(posts()) <= before:
        assert asyncio.get_running_loop().time() < deadline, "no reply came"
        await asyncio.sleep(0.01)
    assert await core.drain(REPLY_SECONDS)
    return posts()[before:]


class QueuePlatform:
    """The core itself, through the test adapter: replies are the core's own objects."""

    def __init__(self, adapter: QueueAdapter, db: Database) -> None:
        self.adapter, self.db = adapter, db

    def user(self, asker: int) -> tuple[str, str]:
        return self.adapter.name, f"asker{asker}"

    async def say(self, asker: int, text: str) -> list[Seen]:
        return [seen_reply(r) for r in await self.adapter.ask(text, self.user(asker)[1])]

    async def press(self, asker: int, handle: Action) -> list[Seen]:
        return [seen_reply(r) for r in await self.adapter.press(handle, self.user(asker)[1])]


class Transcript(io.StringIO):
    """The console's stdout, one entry per write: the console writes each reply at once."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


class ConsolePlatform:
    """The console adapter: its rendered text, read back by entry titles."""

    def __init__(self, core: Core, db: Database, knowledge: KnowledgeBase) -> None:
        self.core, self.db = core, db
        self.ids = {e.title: e.id for e in knowledge.entries.values()}
        self.consoles: dict[int, ConsoleAdapter] = {}

    def user(self, asker: int) -> tuple[str, str]:
        return ConsoleAdapter.name, f"asker{asker}"

    def _console(self, asker: int) -> ConsoleAdapter:
        if asker not in self.consoles:
            console = ConsoleAdapter(self.core, stdin=io.StringIO(), stdout=Transcript())
            console.user_id = self.user(asker)[1]
            self.consoles[asker] = console
        return self.consoles[asker]

    async def say(self, asker: int, text: str) -> list[Seen]:
        console = self._console(asker)
        writes = console.stdout.writes
        before = len(writes)
        await console.dispatch(console.message(text))
        return [seen_console(chunk, self.ids) for chunk in writes[before:]]

    async def press(self, asker: int, handle: str) -> list[Seen]:
        return await self.say(asker, handle)


class SlackPlatform:
    """slack-bolt over HTTP, each asker in a DM of their own."""

    def __init__(self, slack: Slack) -> None:
        self.slack, self.db = slack, slack.runtime.db

    def user(self, asker: int) -> tuple[str, str]:
        return "slack", f"UASKER{asker}"

    async def _turn(self, asker: int, send: Callable[[str, str], Any]) -> list[Seen]:
        user = self.user(asker)[1]
        channel = f"D{user}"

        def posts() -> list[dict]:
            return [p for p in self.slack.api.named("chat.postMessage")
                    if p["channel"] == channel]

        before = len(posts())
        assert await send(user, channel) == 200
        return [seen_slack(p) for p in await replies_after(posts, before,
                                                            self.slack.runtime.core)]

    async def say(self, asker: int, text: str) -> list[Seen]:
        return await self._turn(asker, lambda user, _: self.slack.dm(text, user))

    async def press(self, asker: int, handle: tuple[str, dict]) -> list[Seen]:
        action_id, value = handle
        return await self._turn(asker, lambda user, channel: self.slack.press(
            action_id, value, user, channel=channel))


class TelegramPlatform:
    """python-telegram-bot polling the fake Bot API; each asker a member in a private chat."""

    def __init__(self, api: FakeTelegramAPI, core: Core, db: Database, code: str) -> None:
        self.api, self.core, self.db, self.code = api, core, db, code
        self.members: set[int] = set()

    def user(self, asker: int) -> tuple[str, str]:
        return "telegram", str(7000 + asker)

    async def _turn(self, asker: int, send: Callable[[int], object]) -> list[Seen]:
        chat = int(self.user(asker)[1])
        if chat not in self.members:
            await members.join(self.db, "telegram", str(chat), self.code)
            self.members.add(chat)

        def posts() -> list[dict]:
            return [p for p in self.api.sent() if p["chat_id"] == chat]

        before = len(posts())
        send(chat)
        return [seen_telegram(p) for p in await replies_after(posts, before, self.core)]

    async def say(self, asker: int, text: str) -> list[Seen]:
        return await self._turn(asker, lambda chat: self.api.text(text, chat))

    async def press(self, asker: int, handle: tuple[str, dict]) -> list[Seen]:
        data, message = handle
        return await self._turn(asker, lambda chat: self.api.press(data, chat, message))


def sqlite(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'tabot.db'}"


@contextlib.asynccontextmanager
async def queue_platform(knowledge: KnowledgeBase, directory: Path) -> AsyncIterator[Platform]:
    settings = Settings(database_url=sqlite(directory), knowledge_dir=SHIPPED_KNOWLEDGE)
    async with migrated(settings.database_url) as db:
        adapter = QueueAdapter(make_core(knowledge, db, settings))
        serving = asyncio.create_task(adapter.run())
        try:
            yield QueuePlatform(adapter, db)
        finally:
            await adapter.stop()
            await serving


@contextlib.asynccontextmanager
async def console_platform(knowledge: KnowledgeBase, directory: Path) -> AsyncIterator[Platform]:
    settings = Settings(database_url=sqlite(directory), knowledge_dir=SHIPPED_KNOWLEDGE)
    async with migrated(settings.database_url) as db:
        yield ConsolePlatform(make_core(knowledge, db, settings), db, knowledge)


@contextlib.asynccontextmanager
async def slack_platform(knowledge: KnowledgeBase, directory: Path) -> AsyncIterator[Platform]:
    api = FakeSlackAPI()
    await api.start()
    settings = Settings(database_url=sqlite(directory), knowledge_dir=directory, port=0)
    try:
        async with running(settings, ["slack"], slack_env(api), knowledge) as runtime:
            yield SlackPlatform(Slack(runtime, api))
    finally:
        await api.stop()


@contextlib.asynccontextmanager
async def telegram_platform(knowledge: KnowledgeBase,
                            directory: Path) -> AsyncIterator[Platform]:
    api = FakeTelegramAPI()
    await api.start()
    settings = Settings(database_url=sqlite(directory), knowledge_dir=directory)
    try:
        async with running(settings, ["telegram"], telegram_env(api), knowledge) as runtime:
            code = await members.invite(runtime.db, "Conversation Test Program", "cli:test")
            yield TelegramPlatform(api, runtime.core, runtime.db, code)
    finally:
        await api.stop()


PLATFORMS = {"core": queue_platform, "console": console_platform, "slack": slack_platform,
             "telegram": telegram_platform}
ASKERS = itertools.count(1)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=list(PLATFORMS))
async def platform(request: pytest.FixtureRequest, shipped_kb: KnowledgeBase,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """One running platform for every exchange: starting a runtime per exchange would cost
    more than the exchanges."""
    directory = tmp_path_factory.mktemp(f"conversations-{request.param}")
    async with PLATFORMS[request.param](shipped_kb, directory) as started:
        yield started


# --- playing and checking --------------------------------------------------------------------

async def play(platform: Platform, exchange: Exchange) -> None:
    asker = next(ASKERS)
    history: list[list[Seen]] = []
    for number, turn in enumerate(exchange.turns, 1):
        where = f"{exchange.name}, turn {number} ({turn.label})"
        if turn.say is not None:
            seen = await platform.say(asker, turn.say)
        else:
            seen = await platform.press(asker, pressed(history, turn.press or "", where))
        offered = next((s.choices for replies in reversed(history) for s in reversed(replies)
                        if s.choices), ())
        await check(platform, asker, turn.expect, seen, offered, where)
        history.append(seen)


def pressed(history: list[list[Seen]], button: str, where: str) -> Any:
    """The newest reply's button of that name, as an asker scrolls up to find it."""
    for replies in reversed(history):
        for seen in reversed(replies):
            if button in seen.buttons:
                return seen.buttons[button]
    raise AssertionError(f"{where}: no reply so far has a {button!r} button")


async def check(platform: Platform, asker: int, expect: dict[str, Any], seen: list[Seen],
                offered: tuple[str, ...], where: str) -> None:
    shown = f"{where}: saw {[s.describe() for s in seen]}"
    assert [s.kind for s in seen] == expect["replies"], shown
    answer = next((s for s in seen if s.kind == "answer"), None)
    if "entry" in expect:
        assert answer is not None and answer.entry == expect["entry"], shown
    if "picked" in expect:
        assert answer is not None and len(offered) >= expect["picked"], shown
        assert answer.entry == offered[expect["picked"] - 1], f"{shown}; offered {offered}"
    if "related" in expect:
        assert answer is not None and bool(answer.choices) == expect["related"], shown
    said = " ".join(" ".join(s.text for s in seen).split()).casefold()
    if "says" in expect:
        assert expect["says"].casefold() in said, f"{where}: said {said[:400]!r}"
    if "says_not" in expect:
        assert expect["says_not"].casefold() not in said, f"{where}: said {said[:400]!r}"
    await check_stored(platform, asker, expect, where)


async def check_stored(platform: Platform, asker: int, expect: dict[str, Any],
                       where: str) -> None:
    kept = await stored(platform.db, *platform.user(asker))
    if "escalations" in expect:
        assert len(kept.escalations) == expect["escalations"], \
            f"{where}: escalations {[(e.reason, e.question) for e in kept.escalations]}"
    latest = kept.escalations[-1] if kept.escalations else None
    if "reason" in expect:
        assert latest is not None and latest.reason == expect["reason"], where
    if "question" in expect:
        assert latest is not None and latest.question == expect["question"], \
            f"{where}: the latest escalation is {latest and latest.question!r}"
    if "recorded" in expect:
        last = kept.last
        recorded = last and (f"{last.outcome}/{last.feedback}" if last.feedback else last.outcome)
        assert recorded == expect["recorded"], f"{where}: recorded {recorded!r}"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("exchange", EXCHANGES, ids=[e.name for e in EXCHANGES])
async def test_exchange(platform: Platform, exchange: Exchange) -> None:
    await play(platform, exchange)


def test_the_set_is_well_formed(shipped_kb: KnowledgeBase) -> None:
    """Enough exchanges, each of several turns, in terms every platform can show, naming
    entries the shipped knowledge base has."""
    names = [e.name for e in EXCHANGES]
    assert len(EXCHANGES) >= 30 and len(set(names)) == len(names)
    titles = [e.title for e in shipped_kb.entries.values()]
    assert len(set(titles)) == len(titles), "the console is read back by titles"
    for exchange in EXCHANGES:
        assert len(exchange.turns) >= 2, exchange.name
        for turn in exchange.turns:
            expect = turn.expect
            assert set(expect) <= EXPECTATIONS, (exchange.name, set(expect) - EXPECTATIONS)
            assert expect["replies"] and set(expect["replies"]) <= KINDS, exchange.name
            assert turn.press is None or BUTTONS.match(turn.press), (exchange.name, turn.press)
            assert expect.get("entry") is None or shipped_kb.get(expect["entry"]), expect


def test_a_malformed_exchange_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- name: both\n  turns:\n    - {say: hi, press: staff, expect: {}}\n")
    with pytest.raises(ValueError, match="both: each turn has either 'say' or 'press'"):
        load(bad)
    bad.write_text("- turns: []\n")
    with pytest.raises(ValueError, match="exchange 1 needs a name"):
        load(bad)
