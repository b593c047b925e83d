"""Hostile requests against a real `tabot run` process, as anyone on the internet can send them.

Two thousand requests to Slack's route (and a smaller mix to Telegram's webhook), generated from
a fixed seed: unsigned garbage, bad signatures and timestamps, missing headers, oversized and
malformed bodies, signed payloads of odd shapes, long questions in many scripts and button
presses with garbage values. Never a 500, never a traceback, a log that stays short, a process
that still answers, and buttons that work whatever was asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import hashlib
import hmac
import html
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.http import MAX_BODY, Refusals
from adapters.slack.blocks import clip, render
from adapters.telegram import _data, _parse
from bot.chat import copy
from bot.chat.messages import AnswerReply, Choice, Source, SuggestReply
from bot.knowledge.schema import MAX_ID_LENGTH
from tests.conftest import (
    REPO,
    drop_postgres_database,
    fresh_postgres_database,
    postgres_url,
    start_tabot_run,
)
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.telegram_api import BOT, FakeTelegramAPI

SEED = 16
SECRET = "test-signing-secret"
STAFF = "USTAFF"
TRIAGE = "CTRIAGE"
QUESTIONS = ["what do we do if we get a subpoena for a survivor's records",
             "can our shelter have a curfew", "can a child interpret for their mom",
             "is financial control abuse", "how do we keep the shelter location confidential",
             "release of information form", "shelter"]
EMOJI = ["😀", "👩‍💻", "👍🏽", "🇺🇸", "1️⃣", "🏳️‍🌈", "❤️", "👨‍👩‍👧‍👦", "🤷🏿‍♀️", "🧕🏾"]
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
SCRIPTS = ["Привет", "你好吗", "שלום", "नमस्ते", "こんにちは", "안녕하세요", "Γειά", "ሰላም", "ᚠᚢᚦ",
           "e\u0301\u0302", "ﷺ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Z̷̢͎a̸l̴g̵o̶"]
CONTROLS = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\u200b\u200e\u202e\u2028\u2066\ufeff"
LIMIT = 4000  # tabot's longest question (TABOT_MAX_MESSAGE_CHARS)
REFUSED = {401, 403, 413}
FAILED = [copy.ENTRY_GONE, copy.STORAGE_DOWN, copy.SPOOLED, copy.RATE_LIMITED.split("(")[0]]


@dataclass
class Hostile:
    """One request: what it is, what it sends and the statuses it may get."""

    category: str
    body: bytes
    headers: dict[str, str]
    expected: frozenset[int]
    chunked: bool = False


@dataclass
class Asked:
    """A signed question: who asked and where the reply goes."""

    user: str
    channel: str
    text: str


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class Texts:
    """Long questions in many scripts, from a seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def emoji(self, count: int) -> str:
        return "".join(self.rng.choice(EMOJI) for _ in range(count))

    def arabic(self, length: int) -> str:
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < length:
            words.append("".join(self.rng.choice(ARABIC) for _ in range(self.rng.randint(2, 8))))
        return " ".join(words)[:length]

    def mixed(self, question: str) -> str:
        words = question.split()
        for _ in range(self.rng.randint(5, 120)):
            words.insert(self.rng.randrange(len(words) + 1), self.rng.choice(SCRIPTS + EMOJI))
        return " ".join(words)

    def controlled(self, question: str) -> str:
        return "".join(c + (self.rng.choice(CONTROLS) if self.rng.random() < 0.3 else "")
                       for c in question)

    def question(self) -> str:
        """One of: a question and 400 emoji, 800 Arabic characters (alone or after a question),
        mixed scripts, control characters, a lone surrogate, or emoji up to tabot's limit."""
        question = self.rng.choice(QUESTIONS)
        return self.rng.choice([
            lambda: f"{question} {self.emoji(400)}",
            lambda: self.arabic(800),
            lambda: f"{question} {self.arabic(800)}",
            lambda: self.mixed(question),
            lambda: self.controlled(question),
            lambda: f"{question} \ud800 \udfff",
            lambda: (f"{question} " + "🧕🏾" * LIMIT)[:LIMIT],
        ])()


def sign(body: bytes, stamp: str | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = stamp if stamp is not None else str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form(fields: dict) -> bytes:
    """Form-encoded, lone surrogates and all (as a hostile sender can)."""
    return urllib.parse.urlencode(fields, errors="surrogatepass").encode()


def interaction(payload: object) -> bytes:
    return form({"payload": json.dumps(payload)})


@dataclass
class SlackMix:
    """The 2,000 requests, by category, from one seed."""

    rng: random.Random
    asked: list[Asked] = field(default_factory=list)
    _n: int = 0

    def __post_init__(self) -> None:
        self.texts = Texts(self.rng)

    def next_id(self) -> int:
        self._n += 1
        return self._n

    def build(self) -> list[Hostile]:
        plan: list[tuple[int, Callable[[], Hostile]]] = [
            (300, self.unsigned), (100, self.missing_header), (300, self.bad_signature),
            (150, self.stale_timestamp), (150, self.bad_timestamp), (40, self.oversized),
            (250, self.signed_unparseable), (300, self.signed_odd), (200, self.signed_question),
            (210, self.signed_button)]
        requests = [build() for count, build in plan for _ in range(count)]
        self.rng.shuffle(requests)
        return requests

    def garbage(self) -> tuple[bytes, dict[str, str]]:
        event = json.dumps({"type": "event_callback", "event": {
            "type": "message", "channel_type": "im", "channel": "DX", "user": "UX",
            "text": QUESTIONS[0], "ts": "1.1"}}).encode()
        return self.rng.choice([
            (b"{", JSON), (b"[1]", JSON), (b"payload=%7B", FORM), (b"", {}), (b"null", JSON),
            (self.rng.randbytes(self.rng.randint(1, 4000)), {}), (b"\xff\xfe\xfd", JSON),
            (event, JSON), (form({"command": "/ta", "text": "help", "user_id": "UX"}), FORM),
            (b"[" * 5000, JSON), (interaction({"type": "block_actions"}), FORM)])

    def unsigned(self) -> Hostile:
        body, headers = self.garbage()
        return Hostile("unsigned garbage", body, headers, frozenset({401}))

    def missing_header(self) -> Hostile:
        body, headers = self.garbage()
        signed = sign(body)
        kept = self.rng.choice([{"X-Slack-Request-Timestamp": signed["X-Slack-Request-Timestamp"]},
                                {"X-Slack-Signature": signed["X-Slack-Signature"]},
                                {"X-Slack-Signature": "", "X-Slack-Request-Timestamp": ""}])
        return Hostile("missing headers", body, headers | kept, frozenset({401}))

    def bad_signature(self) -> Hostile:
        body, headers = self.garbage()
        stamp = str(int(time.time()))
        signature = self.rng.choice([
            "v0=deadbeef", "v0=" + self.rng.randbytes(32).hex(),
            "v1=" + self.rng.randbytes(32).hex(),
            sign(body + b" ", stamp)["X-Slack-Signature"],
            sign(body, stamp, "another-secret")["X-Slack-Signature"],
            "v0=é" + "0" * 62, "x" * 3000, " "])
        return Hostile("bad signature", body, headers | {"X-Slack-Request-Timestamp": stamp,
                                                         "X-Slack-Signature": signature},
                       frozenset({401}))

    def stale_timestamp(self) -> Hostile:
        body, headers = self.garbage()
        skew = self.rng.choice([-1, 1]) * self.rng.randint(301, 10**7)
        return Hostile("stale timestamp", body, headers | sign(body, str(int(time.time()) + skew)),
                       frozenset({401}))

    def bad_timestamp(self) -> Hostile:
        body, headers = self.garbage()
        stamp = self.rng.choice(["abc", "1e9", " 1700000000", "١٧٠٠٠٠٠٠٠٠", "-5", "9" * 400,
                                 f"{time.time():.3f}", "0x10", "NaN", "¹²³"])
        return Hostile("non-numeric timestamp", body, headers | sign(body, stamp),
                       frozenset({401}))

    def oversized(self) -> Hostile:
        body = b"{" * (MAX_BODY + self.rng.randint(1, 200_000))
        headers = sign(body) if self.rng.random() < 0.5 else {}
        return Hostile("oversized body", body, headers | JSON, frozenset({413}),
                       chunked=self.rng.random() < 0.5)

    def signed_unparseable(self) -> Hostile:
        body, headers = self.rng.choice([
            (b"{", JSON), (b"{", FORM), (b"[1]", JSON), (b"payload=%7B", FORM),
            (b"payload=%5B1%5D", FORM), (b"payload=", FORM), (b"null", JSON), (b"1", JSON),
            (b'"text"', JSON), (b"\xff\xfe\xfd", JSON), (b"[" * 5000, JSON),
            (b"payload=" + b"%5B" * 3000, FORM), (form({"payload": "not json"}), FORM),
            (json.dumps({"team": 5, "type": "event_callback"}).encode(), JSON),
            (json.dumps({"enterprise": 7}).encode(), JSON),
            (json.dumps({"authorizations": [5]}).encode(), JSON)])
        return Hostile("signed unparseable", body, headers | sign(body), frozenset({400}))

    def signed_odd(self) -> Hostile:
        n = self.next_id()
        message = {"type": "message", "channel_type": "im", "text": "hi", "ts": "1.1"}
        events: list[object] = [
            None, "x", 5, [], {}, {"type": "reaction_added", "user": "U1"},
            {"type": "message", "channel_type": "im"}, message,
            message | {"user": ["U1"], "channel": {"id": "D1"}},
            message | {"user": "UODD", "channel": "DODD", "text": {"a": 1}},
            {"type": "app_mention", "user": "U1", "channel": "C1"},
            {"type": "app_mention", "text": "<@UTABOT> hi"}, {"type": "app_home_opened"},
            {"type": "app_home_opened", "user": 5}, {"type": 5}]
        bodies: list[tuple[object, dict[str, str]]] = [
            ({"type": "event_callback", "event_id": f"EvOdd{n}",
              "event": self.rng.choice(events)}, JSON),
            ({}, JSON), ({"type": 5}, JSON), ({"type": "unknown"}, JSON),
            ({"type": "url_verification", "challenge": "c"}, JSON),
            ({"type": "block_actions"}, FORM), ({"type": "block_actions", "actions": "x"}, FORM),
            ({"type": "block_actions", "actions": [5]}, FORM),
            ({"type": "block_actions", "user": "U1", "actions": [{"action_id": "tabot_helped"}]},
             FORM),
            ({"type": "block_actions", "actions": [{"action_id": "tabot_helped"}]}, FORM),
            ({"type": "block_actions", "user": {"id": "U1"}, "actions": [{}]}, FORM),
            ({"type": "view_submission", "user": {"id": STAFF}}, FORM),
            ({"type": "view_submission", "user": {"id": STAFF},
              "view": {"callback_id": "triage_answer_modal", "state": 5}}, FORM),
            ({"type": "view_submission", "view": {"callback_id": "triage_answer_modal",
              "state": {"values": {"answer": {"text": {"value": "x"}}}}}}, FORM),
            ({"command": "/ta"}, "command"), ({"command": "/other", "user_id": "U1"}, "command"),
            ({"command": "/ta", "user_id": "U1", "text": "\ud800"}, "command")]
        payload, kind = self.rng.choice(bodies)
        if kind == "command":
            body, headers = form(payload), FORM
        elif kind == FORM:
            body, headers = interaction(payload), FORM
        else:
            body, headers = json.dumps(payload).encode(), JSON
        return Hostile("signed odd payload", body, headers | sign(body), frozenset({200, 400}))

    def signed_question(self) -> Hostile:
        n = self.next_id()
        user, text = f"UQ{n}", self.texts.question()
        shape = self.rng.choices(["dm", "mention", "command"], [7, 2, 1])[0]
        if shape == "command":
            body = form({"command": "/ta", "text": text, "user_id": user, "channel_id": "CGEN",
                         "trigger_id": f"trig{n}", "team_id": "T1",
                         "response_url": "http://127.0.0.1:9/respond"})
            self.asked.append(Asked(user, f"D{user}", text))  # /ta answers in the user's DM
            return Hostile("signed long question", body, FORM | sign(body), frozenset({200}))
        channel = f"D{user}" if shape == "dm" else f"C{user}"
        event = {"type": "message", "channel_type": "im", "channel": channel, "user": user,
                 "text": text, "ts": f"{1_700_000_000 + n}.000100"}
        if shape == "mention":
            event = event | {"type": "app_mention", "text": f"<@UTABOT> {text}"}
            del event["channel_type"]
        body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                           "event_id": f"EvQ{n}", "event": event}).encode()
        self.asked.append(Asked(user, channel, text))
        return Hostile("signed long question", body, JSON | sign(body), frozenset({200}))

    def signed_button(self) -> Hostile:
        n = self.next_id()
        action_id = self.rng.choice(["tabot_helped", "tabot_not_helped", "tabot_staff",
                                     "tabot_choose_0", "tabot_more", "triage_claim",
                                     "triage_answer", "triage_close", "triage_reopen"])
        value = self.rng.choice([
            None, "", "{", "[1]", "null", '"x"', "5", '{"ctx": "x"}', '{"ctx": 1e300}',
            '{"ctx": 99999999999999999999999}', '{"ctx": -1}', '{"ctx": true}',
            '{"entry": {"a": 1}}', '{"entry": "no-such-entry", "ctx": 1}', '{"ref": 5}',
            '{"ref": "TA-99999999999999999999"}', '{"ref": "ta-"}', "[" * 3000, 5,
            {"entry": "subpoena-for-records"}, self.texts.emoji(500),
            json.dumps({"entry": "subpoena-for-records", "ctx": 2**31})])
        action = {"action_id": action_id, "action_ts": f"{n}.0001", "type": "button"}
        if value is not None:
            action["value"] = value
        user = STAFF if self.rng.random() < 0.3 else f"UB{n}"
        body = interaction({"type": "block_actions", "user": {"id": user}, "team": {"id": "T1"},
                            "api_app_id": "A1", "trigger_id": f"trig{n}",
                            "channel": {"id": f"D{user}"}, "message": {"ts": "1.1"},
                            "actions": [action]})
        return Hostile("signed garbage button", body, FORM | sign(body), frozenset({200}))


async def send(session: aiohttp.ClientSession, url: str, request: Hostile) -> int | str:
    """The status, or the name of the client error when no response came."""
    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(request.body), 65536):
            yield request.body[start:start + 65536]

    try:
        async with session.post(url, data=stream() if request.chunked else request.body,
                                headers=request.headers) as response:
            await response.read()
            return response.status
    except aiohttp.ClientError as exc:
        return type(exc).__name__


async def send_all(url: str, requests: list[Hostile]) -> list[int | str]:
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        return await asyncio.gather(*(send(session, url, r) for r in requests))


class Stderr:
    """Every line the process writes to stderr, read as it comes (a full pipe would block it)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.lines: list[str] = []
        self._task = asyncio.create_task(self._read(process))

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        while line := await process.stderr.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    async def until_closed(self) -> list[str]:
        await asyncio.wait_for(self._task, 20)
        return self.lines


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """PostgreSQL where the tests have a server (as CI does), else SQLite."""
    if postgres_url() is None:
        yield f"sqlite:///{tmp_path / 'hostile.db'}"
        return
    url = await fresh_postgres_database()
    try:
        yield url.replace("+asyncpg", "")
    finally:
        await drop_postgres_database(url)


@contextlib.asynccontextmanager
async def tabot_run(env: dict[str, str], adapter: str) -> AsyncIterator[Stderr]:
    process = await start_tabot_run({**os.environ, **env}, "--adapter", adapter)
    stderr = Stderr(process)
    try:
        yield stderr
        assert process.returncode is None, "tabot run died under hostile requests"
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


def posted_to(api: FakeSlackAPI) -> set[str]:
    return {p["channel"] for p in api.named("chat.postMessage")}


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b.get("type") == "actions" for e in b.get("elements", [])
            if e.get("type") == "button"]


def posted_blocks(api: FakeSlackAPI) -> list[list[dict]]:
    """The blocks of every message, update, modal and home the bot sent."""
    found = []
    for method, payload in api.calls:
        if method in {"chat.postMessage", "chat.update"}:
            found.append(payload.get("blocks") or [])
        elif method in {"views.open", "views.publish"}:
            found.append(payload["view"].get("blocks", []))
    return found


async def until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def press(user: str, channel: str, button: dict, n: int, thread: str | None = None) -> bytes:
    message = {"ts": "1.1", **({"thread_ts": thread} if thread else {})}
    return interaction({
        "type": "block_actions", "user": {"id": user}, "team": {"id": "T1"}, "api_app_id": "A1",
        "trigger_id": f"press{n}", "container": {"type": "message", "channel_id": channel},
        "channel": {"id": channel}, "message": message,
        "actions": [{"action_id": button["action_id"], "value": button["value"],
                     "action_ts": f"{2_000_000_000 + n}.0001", "type": "button"}]})


def report(title: str, requests: list[Hostile], statuses: list[int | str],
           stderr: list[str]) -> None:
    """The measured counts, shown with `pytest -s`."""
    print(f"\n{title}: {len(requests)} requests, {len(stderr)} stderr lines")
    by_category: dict[str, Counter] = {}
    for request, status in zip(requests, statuses, strict=True):
        by_category.setdefault(request.category, Counter())[status] += 1
    for category, counts in sorted(by_category.items()):
        print(f"  {category:24} {sum(counts.values()):5}  {dict(sorted(counts.items(), key=str))}")


async def test_two_thousand_hostile_requests_get_no_500_no_traceback_and_buttons_still_work(
        tmp_path: Path) -> None:
    api = FakeSlackAPI()
    await api.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    mix = SlackMix(random.Random(SEED))
    async with database_url(tmp_path) as database:
        env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": api.base_url, "SLACK_TRIAGE_CHANNEL": TRIAGE, "PORT": str(port),
               "TABOT_STAFF": f"slack:{STAFF}", "DATABASE_URL": database}
        async with tabot_run(env, "slack") as stderr:
            requests = mix.build()
            statuses = await send_all(url, requests)
            replied = await until(lambda: {a.channel for a in mix.asked} <= posted_to(api), 60)
            pressed, worked = await press_reply_buttons(api, url, mix.asked)
            claims, updated = await claim_triage_posts(api, url)
            normal = Hostile("normal", *normal_question(), frozenset({200}))
            assert await send_all(url, [normal]) == [200]
            answered = await until(lambda: any(p["channel"] == "DUNORMAL" and
                                               "Responding to a subpoena" in json.dumps(p)
                                               for p in api.named("chat.postMessage")), 20)
        lines = await stderr.until_closed()
    await api.stop()
    report("Slack", requests, statuses, lines)
    values = [b for blocks in posted_blocks(api) for b in buttons(blocks)]
    print(f"  {len(values)} buttons checked; {pressed} reply buttons pressed, {worked} worked; "
          f"{claims} triage posts claimed, {updated} updated")

    for request, status in zip(requests, statuses, strict=True):
        assert status in request.expected, (request.category, status, request.body[:80])
    assert 500 not in statuses
    assert not [line for line in lines if "Traceback" in line], "\n".join(lines[-40:])
    refused = sum(status in REFUSED for status in statuses)
    assert refused > 1000 and len(lines) < 60, f"{len(lines)} lines for {refused} refusals"
    assert replied, [a for a in mix.asked if a.channel not in posted_to(api)][:3]
    assert answered, "the process stopped answering"
    assert pressed >= 20 and worked == pressed
    assert claims >= 5 and updated >= claims
    for button in values:
        assert isinstance(button["value"], str) and len(button["value"]) <= 2000
        assert isinstance(json.loads(button["value"]), dict)
        assert utf16(button["text"]["text"]) <= 75


def normal_question() -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "EvNormal",
                       "event": {"type": "message", "channel_type": "im", "channel": "DUNORMAL",
                                 "user": "UNORMAL", "text": QUESTIONS[0], "ts": "9.9"}}).encode()
    return body, JSON | sign(body)


async def press_reply_buttons(api: FakeSlackAPI, url: str, asked: list[Asked]) -> tuple[int, int]:
    """Press one button of each reply to a long question that has one; (pressed, worked): it
    worked when the press got a reply that is not an error."""
    presses: list[tuple[Asked, int]] = []
    requests = []
    for n, question in enumerate(asked):
        posts = [p for p in api.named("chat.postMessage") if p["channel"] == question.channel]
        choices = [b for p in posts for b in buttons(p.get("blocks") or [])
                   if b["action_id"].startswith("tabot_")]
        if not choices:
            continue
        thread = posts[0].get("thread_ts")
        body = press(question.user, question.channel, choices[n % len(choices)], n, thread)
        presses.append((question, len(posts)))
        requests.append(Hostile("press", body, FORM | sign(body), frozenset({200})))
    statuses = await send_all(url, requests)
    assert set(statuses) <= {200}, statuses

    def replies(question: Asked, before: int) -> list[dict]:
        return [p for p in api.named("chat.postMessage")
                if p["channel"] == question.channel][before:]

    def worked(question: Asked, before: int) -> bool:
        text = json.dumps(replies(question, before), ensure_ascii=False)
        return bool(replies(question, before)) and not any(f in text for f in FAILED)

    await until(lambda: all(replies(q, before) for q, before in presses), 30)
    return len(presses), sum(worked(q, before) for q, before in presses)


async def claim_triage_posts(api: FakeSlackAPI, url: str) -> tuple[int, int]:
    """Staff press Claim on the triage posts of escalated long questions; (claims, updates)."""
    await until(lambda: len([p for p in api.named("chat.postMessage")
                             if p["channel"] == TRIAGE]) >= 5, 20)
    posts = [p for p in api.named("chat.postMessage") if p["channel"] == TRIAGE][:10]
    claims = [next(b for b in buttons(p["blocks"]) if b["action_id"] == "triage_claim")
              for p in posts]
    before = len(api.named("chat.update"))
    requests = [Hostile("claim", body := press(STAFF, TRIAGE, claim, 10_000 + i),
                        FORM | sign(body), frozenset({200})) for i, claim in enumerate(claims)]
    assert set(await send_all(url, requests)) <= {200}
    await until(lambda: len(api.named("chat.update")) >= before + len(claims), 20)
    return len(claims), len(api.named("chat.update")) - before


# --- Telegram's webhook ---------------------------------------------------------------------

WEBHOOK_SECRET = "s3cret-token"
PROGRAM = "Riverside Shelter"


@dataclass
class TelegramMix:
    """A smaller mix for the webhook: the secret, the size, the JSON, odd updates, questions
    from members and garbage button presses."""

    rng: random.Random
    askers: list[int]  # one question each
    members: list[int]  # odd updates and garbage presses
    asked: list[int] = field(default_factory=list)
    _update: int = 0

    def __post_init__(self) -> None:
        self.texts = Texts(self.rng)

    def update(self, **fields: object) -> dict:
        self._update += 1
        return {"update_id": self._update, **fields}

    def message(self, user: int, text: object) -> dict:
        return {"message_id": self.rng.randint(1, 10**6), "date": int(time.time()),
                "chat": {"id": user, "type": "private"},
                "from": {"id": user, "is_bot": False, "first_name": "Advocate"}, "text": text}

    def build(self) -> list[Hostile]:
        plan: list[tuple[int, Callable[[], Hostile]]] = [
            (100, self.wrong_secret), (20, self.oversized), (80, self.unparseable),
            (100, self.odd_update), (60, self.question), (40, self.garbage_button)]
        requests = [build() for count, build in plan for _ in range(count)]
        self.rng.shuffle(requests)
        return requests

    def secret(self) -> dict[str, str]:
        return JSON | {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}

    def wrong_secret(self) -> Hostile:
        body = self.rng.choice([b"{", b"[1]", json.dumps(self.update(message=self.message(
            self.rng.choice(self.members), QUESTIONS[0]))).encode(), self.rng.randbytes(300)])
        header = self.rng.choice([{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                                  {"X-Telegram-Bot-Api-Secret-Token": ""},
                                  {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "x"},
                                  {"X-Telegram-Bot-Api-Secret-Token": "é" * 300}])
        return Hostile("wrong secret", body, JSON | header, frozenset({403}))

    def oversized(self) -> Hostile:
        body = b"[" * (MAX_BODY + self.rng.randint(1, 100_000))
        return Hostile("oversized body", body, self.secret(), frozenset({413}),
                       chunked=self.rng.random() < 0.5)

    def unparseable(self) -> Hostile:
        body = self.rng.choice([
            b"{", b"[1]", b"null", b"1", b'"x"', b"\xff\xfe", b"[" * 5000, b"{}", b"",
            b'{"update_id": 1, "message": "x"}', b'{"update_id": 1, "message": {}}',
            b'{"update_id": 1, "callback_query": {"id": "1"}}'])
        return Hostile("unparseable", body, self.secret(), frozenset({400}))

    def odd_update(self) -> Hostile:
        user = self.rng.choice(self.members)
        message = self.message(user, QUESTIONS[0])
        update = self.rng.choice([
            self.update(),
            self.update(callback_query={"id": "q", "chat_instance": "c", "data": "h|1|x",
                                        "from": message["from"]}),
            self.update(message={k: v for k, v in message.items() if k != "from"}),
            self.update(message=message | {"text": 5}),
            self.update(message=message | {"entities": [{"type": "bot_command", "offset": 90,
                                                         "length": 5}], "text": "/s"}),
            self.update(message=message | {"chat": {"id": -5, "type": "channel"}}),
            self.update(edited_message=message),
            self.update(channel_post={k: v for k, v in message.items() if k != "from"}),
            self.update(message=message | {"text": "/staff"}),
            self.update(message=message | {"text": "/start " + "x" * 3000}),
            self.update(unknown_kind={"a": 1}),
            {"update_id": "not-a-number", "message": message}])
        body = json.dumps(update).encode()
        return Hostile("odd update", body, self.secret(), frozenset({200, 400}))

    def question(self) -> Hostile:
        user = self.askers[len(self.asked)]
        self.asked.append(user)
        body = json.dumps(self.update(message=self.message(user, self.texts.question()))
                          ).encode()
        return Hostile("long question", body, self.secret(), frozenset({200}))

    def garbage_button(self) -> Hostile:
        user = self.rng.choice(self.members)
        data = self.rng.choice([
            "", "x", "|||", "m|99999999999999999999|subpoena-for-records", "h|١٢|x",
            "c||no-such-entry", "t||no-category", "tc||TA-99999999999", "ta||", "s|-1|",
            "n|0|subpoena-for-records", "🧕🏾" * 16, "c|1|" + "a" * 60])
        query = {"id": str(self.rng.randint(1, 10**9)), "chat_instance": "c", "data": data,
                 "from": {"id": user, "is_bot": False, "first_name": "Advocate"},
                 "message": self.message(user, "an earlier reply") | {"from": BOT}}
        body = json.dumps(self.update(callback_query=query)).encode()
        return Hostile("garbage button", body, self.secret(), frozenset({200}))


def invite_code(env: dict[str, str]) -> str:
    """A member invite made as staff make one, with `tabot members invite`."""
    done = subprocess.run([sys.executable, "-m", "bot", "members", "invite", PROGRAM, "--json"],
                          cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True,
                          check=True, timeout=60)
    return json.loads(done.stdout)["code"]


def keyboard(payload: dict) -> list[str]:
    markup = payload.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_hostile_requests_to_the_telegram_webhook_get_no_500_and_no_traceback(
        tmp_path: Path) -> None:
    api = FakeTelegramAPI()
    await api.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    mix = TelegramMix(random.Random(SEED), list(range(1000, 1060)), list(range(2000, 2010)))
    members = mix.askers + mix.members
    async with database_url(tmp_path) as database:
        env = {"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url,
               "TELEGRAM_WEBHOOK_URL": "https://tabot.example.org/telegram",
               "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "PORT": str(port),
               "TABOT_STAFF": f"telegram:100,cli:{getpass.getuser()}",
               "TABOT_RATE_LIMIT": "1000", "DATABASE_URL": database}
        code = invite_code(env)
        async with tabot_run(env, "telegram") as stderr:
            joins = [json.dumps(mix.update(message=mix.message(user, f"/start {code}") | {
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}]})).encode()
                for user in members]
            await send_all(url, [Hostile("join", b, mix.secret(), frozenset({200}))
                                 for b in joins])
            assert await until(lambda: {p["chat_id"] for p in api.sent()} >= set(members), 30)
            api.calls.clear()
            requests = mix.build()
            statuses = await send_all(url, requests)
            replied = await until(lambda: set(mix.asked) <= {p["chat_id"] for p in api.sent()},
                                  60)
            pressed, worked = await press_telegram_buttons(api, url, mix)
        lines = await stderr.until_closed()
    await api.stop()
    report("Telegram", requests, statuses, lines)
    data = [d for method in ("sendMessage", "editMessageText") for p in api.sent(method)
            for d in keyboard(p)]
    print(f"  {len(data)} callback data checked; {pressed} buttons pressed, {worked} worked")

    for request, status in zip(requests, statuses, strict=True):
        assert status in request.expected, (request.category, status, request.body[:80])
    assert not [line for line in lines if "Traceback" in line], "\n".join(lines[-40:])
    refused = sum(status in REFUSED for status in statuses)
    assert refused >= 100 and len(lines) < 40, f"{len(lines)} lines for {refused} refusals"
    assert replied and pressed >= 5 and worked == pressed
    assert all(len(d.encode()) <= 64 for d in data)


async def press_telegram_buttons(api: FakeTelegramAPI, url: str,
                                 mix: TelegramMix) -> tuple[int, int]:
    """Press the first button of each asker's latest reply with buttons; (pressed, worked): it
    worked when the press got a reply that is not an error."""
    latest = {p["chat_id"]: p for p in api.sent() if keyboard(p) and p["chat_id"] in mix.asked}
    before = len(api.sent())
    requests = []
    for chat, payload in latest.items():
        query = {"id": f"press{chat}", "chat_instance": "c", "data": keyboard(payload)[0],
                 "from": {"id": chat, "is_bot": False, "first_name": "Advocate"},
                 "message": api.as_message(payload)}
        body = json.dumps(mix.update(callback_query=query)).encode()
        requests.append(Hostile("press", body, mix.secret(), frozenset({200})))
    assert set(await send_all(url, requests)) <= {200}

    def replies(chat: int) -> str:
        return "\n".join(html.unescape(p["text"]) for p in api.sent()[before:]
                         if p["chat_id"] == chat)

    await until(lambda: all(replies(chat) for chat in latest), 30)
    return len(latest), sum(bool(replies(c)) and not any(f in replies(c) for f in FAILED)
                            for c in latest)


# --- the pieces, one at a time --------------------------------------------------------------

KINDS = ["c", "h", "n", "s", "m", "t", "tc", "ta"]
entry_ids = st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,5}", fullmatch=True).filter(
    lambda i: len(i) <= MAX_ID_LENGTH)
contexts = st.none() | st.integers(1, 2**31 - 1)


@given(st.sampled_from(KINDS), contexts, entry_ids)
def test_telegram_callback_data_fits_64_bytes_for_any_entry_id_and_context(
        kind: str, context: int | None, entry_id: str) -> None:
    data = _data(kind, context, entry_id)
    assert len(data.encode()) <= 64
    assert _parse(data) == (kind, context, entry_id)


def test_telegram_callback_data_over_the_limit_is_refused_not_cut() -> None:
    longest = "a" * MAX_ID_LENGTH
    assert len(_data("tc", 2**31 - 1, longest).encode()) <= 64
    with pytest.raises(ValueError, match="over 64 bytes"):
        _data("c", 1, "ü" * 40)


def test_forged_telegram_callback_data_never_names_a_context_no_row_can_have() -> None:
    for context in ["99999999999", "2147483648", "١٢", "0", "-1", "1e3", " 1"]:
        assert _parse(f"m|{context}|subpoena-for-records") == ("m", None,
                                                               "subpoena-for-records")
    assert _parse("garbage") == ("garbage", None, "")


titles = st.text(min_size=1, max_size=400)


@given(st.lists(st.tuples(entry_ids, titles), min_size=1, max_size=5), contexts, titles)
def test_slack_buttons_are_whole_json_and_labels_fit_whatever_the_titles(
        choices: list[tuple[str, str]], context: int | None, title: str) -> None:
    suggest = SuggestReply(tuple(Choice(i, t) for i, t in choices), context)
    answer = AnswerReply(choices[0][0], title, "An answer.", (Source("s"),), 1.0,
                         context=context)
    for reply in (suggest, answer):
        _, blocks = render(reply)
        for button in buttons(blocks):
            assert json.loads(button["value"])["ctx"] == context
            assert len(button["value"]) <= 2000 and utf16(button["text"]["text"]) <= 75
    assert utf16(render(answer)[1][0]["text"]["text"]) <= 150


def test_clip_cuts_between_characters_never_inside_one() -> None:
    assert clip("short", 75) == "short"
    for unit in ["👩‍💻", "👍🏽", "🇺🇸", "1️⃣", "e\u0301", "🏳️‍🌈", "&amp;"]:
        for pad in range(8):
            clipped = clip("x" * pad + unit * 40, 75)
            assert utf16(clipped) <= 75 and clipped.endswith("…")
            body = clipped[:-1].removeprefix("x" * pad)
            assert body == unit * (len(body) // len(unit)), (unit, pad, clipped)


async def test_refusals_log_a_few_lines_a_window_then_one_count(
        caplog: pytest.LogCaptureFixture) -> None:
    refusals = Refusals("slack", per_window=3, window=0.2)
    for _ in range(10):
        assert refusals.refuse(401, "bad signature").status_code == 401
    assert len(caplog.records) == 3
    await asyncio.sleep(0.3)
    assert len(caplog.records) == 4 and "...and 7 more" in caplog.records[-1].getMessage()
    refusals.note("a new minute")
    assert len(caplog.records) == 5
