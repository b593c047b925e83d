"""A stand-in for the Telegram Bot API on 127.0.0.1: serves getUpdates, records what is sent.

It follows what python-telegram-bot relies on: form-encoded requests with JSON-encoded
structured fields, `offset` honoured by getUpdates (and `timeout=0` answered at once), Message
objects returned by sendMessage and editMessageText, and errors judged by HTTP status.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import serve

BOT = {"id": 999, "is_bot": True, "first_name": "tabot", "username": "tabot_test_bot"}
STRUCTURED = {"reply_markup", "allowed_updates", "commands", "reply_parameters", "chat_id",
              "message_id", "reply_to_message_id", "offset", "limit", "timeout"}
LIMIT = 4096  # characters of a message's text, counted after its HTML is parsed
TAGS = {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "pre", "code", "span",
        "tg-spoiler", "tg-emoji", "blockquote"}
NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]*|#[0-9]*|[a-zA-Z]*);?")
_TAG = re.compile(r"<(/?)([^\s>]*)[^>]*(>?)")


class HtmlRefused(ValueError):
    """What Telegram's HTML parser refuses, said as Telegram says it."""


def shown_html(text: str) -> str:
    """The text Telegram shows for `text` sent with parse_mode HTML, read as its parser (TDLib's
    parse_html) reads it: an entity it knows is decoded, with or without its ";", and one it
    does not know (such as "&am", a cut "&amp;") is shown as typed; a tag it does not support,
    or one left open or closed unopened, is refused (`HtmlRefused`)."""
    shown: list[str] = []
    open_tags: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "<":
            i = _tag(text, i, open_tags)
        elif text[i] == "&" and (decoded := _entity(text, i)):
            shown.append(decoded[0])
            i = decoded[1]
        else:
            shown.append(text[i])
            i += 1
    if open_tags:
        raise HtmlRefused(f"Can't find end tag corresponding to start tag {open_tags[-1]}")
    return "".join(shown)


def _entity(text: str, at: int) -> tuple[str, int] | None:
    """The character an entity at `at` stands for and where it ends; None if it is none."""
    found = _ENTITY.match(text, at)
    name = found.group(1) if found else ""
    if name.startswith("#"):
        digits = name[2:] if name.startswith("#x") else name[1:]
        value = int(digits, 16 if name.startswith("#x") else 10) if digits else 0
        if value == 0 or value >= 0x10FFFF or len(name) >= 9:
            return None
        return chr(value), found.end()
    return (NAMED[name], found.end()) if name in NAMED else None


def _tag(text: str, at: int, open_tags: list[str]) -> int:
    """Read the tag at `at` into `open_tags`; where it ends."""
    tag = _TAG.match(text, at)
    closing, name, closed = tag.group(1), tag.group(2).lower(), tag.group(3)
    offset = len(text[:at].encode())
    if not closed:
        raise HtmlRefused(f"Unclosed {'end' if closing else 'start'} tag at byte offset {offset}")
    if not closing and name not in TAGS:
        raise HtmlRefused(f'Unsupported start tag "{name}" at byte offset {offset}')
    if not closing:
        open_tags.append(name)
    elif not open_tags:
        raise HtmlRefused(f"Unexpected end tag at byte offset {offset}")
    elif name and name != open_tags[-1]:
        raise HtmlRefused(f"Unmatched end tag at byte offset {offset}")
    else:
        open_tags.pop()
    return tag.end()


@dataclass
class FakeTelegramAPI:
    token: str = "123:TEST"
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    # method -> statuses its next calls get, in turn (200: that call goes through)
    failures: dict[str, list[int]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _messages: itertools.count = field(default_factory=lambda: itertools.count(5000))
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    runner: web.AppRunner | None = None
    port: int = 0
    delay: float = 0.0  # seconds each sendMessage takes to answer, once it is sent
    blocked: set[int] = field(default_factory=set)  # chats whose user blocked the bot
    missing: set[int] = field(default_factory=set)  # chats that no longer exist
    deleted: set[int] = field(default_factory=set)  # messages their senders have deleted
    migrated: dict[int, int] = field(default_factory=dict)  # group -> its supergroup's id
    retry_after: int = 1  # seconds a 429 in `failures` tells the bot to wait

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self.runner, self.port = await serve(app)

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    # --- what a test does -----------------------------------------------------------------

    def push(self, update: dict) -> dict:
        update = {"update_id": next(self._ids), **update}
        self.updates.append(update)
        self._new_update.set()
        return update

    def text(self, text: str, user: int, chat: int | None = None, chat_type: str = "private",
             reply_to: dict | None = None, command: bool = False) -> dict:
        message = {"message_id": next(self._messages), "date": int(time.time()),
                   "chat": {"id": chat or user, "type": chat_type},
                   "from": {"id": user, "is_bot": False, "first_name": "Advocate"},
                   "text": text}
        if command or text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if "@" + BOT["username"] in text and not text.startswith("/"):
            start = text.index("@" + BOT["username"])
            message["entities"] = [{"type": "mention", "offset": start,
                                    "length": len(BOT["username"]) + 1}]
        if reply_to:
            message["reply_to_message"] = reply_to
        return self.push({"message": message})

    def edit(self, sent: dict, text: str) -> dict:
        """The asker edits a message `text()` pushed: Telegram sends it again, as an edit."""
        edited = sent["message"] | {"text": text, "edit_date": int(time.time())}
        return self.push({"edited_message": edited})

    def press(self, data: str, user: int, message: dict) -> dict:
        return self.push({"callback_query": {"id": str(next(self._ids)), "data": data,
                                             "chat_instance": "ci",
                                             "from": {"id": user, "is_bot": False,
                                                      "first_name": "Advocate"},
                                             "message": message}})

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [payload for name, payload in self.calls if name == method]

    async def wait_for(self, method: str = "sendMessage", count: int = 1,
                       timeout: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(found := self.sent(method)) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} {method}, got {self.calls}")

    def as_message(self, payload: dict) -> dict:
        """The Message object the bot got back for something it sent (to reply to or press)."""
        return payload["_returned"]

    # --- the API --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        payload = self._decode(dict(await request.post()))
        self.calls.append((method, payload))
        if method == "sendMessage" and int(payload.get("chat_id", 0)) in self.blocked:
            return web.json_response({"ok": False, "error_code": 403, "description":
                                      "Forbidden: bot was blocked by the user"}, status=403)
        if method == "sendMessage" and int(payload.get("chat_id", 0)) in self.missing:
            return web.json_response({"ok": False, "error_code": 400, "description":
                                      "Bad Request: chat not found"}, status=400)
        if method == "sendMessage" and (new := self.migrated.get(int(payload["chat_id"]))):
            return web.json_response({"ok": False, "error_code": 400, "description":
                                      "Bad Request: group chat was upgraded to a supergroup "
                                      "chat", "parameters": {"migrate_to_chat_id": new}},
                                     status=400)
        if method == "sendMessage" and self._replies_to_deleted(payload):
            return web.json_response({"ok": False, "error_code": 400, "description":
                                      "Bad Request: message to be replied not found"},
                                     status=400)
        if (statuses := self.failures.get(method)) and (status := statuses.pop(0)) != 200:
            return self._failure(status)
        if refused := self._unparsable(method, payload):
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": f"Bad Request: {refused}"}, status=400)
        result = await self._result(method, payload)
        if method == "sendMessage" and self.delay:
            await asyncio.sleep(self.delay)  # sent already: a crash now leaves it ambiguous
        return web.json_response({"ok": True, "result": result})

    def _failure(self, status: int) -> web.Response:
        """A failing call as Telegram answers it: a 429 says how long to wait."""
        if status == 429:
            return web.json_response({"ok": False, "error_code": 429, "description":
                                      f"Too Many Requests: retry after {self.retry_after}",
                                      "parameters": {"retry_after": self.retry_after}},
                                     status=429)
        return web.json_response({"ok": False, "error_code": status,
                                  "description": "Bad Gateway"}, status=status)

    @staticmethod
    def _unparsable(method: str, payload: dict[str, Any]) -> str | None:
        """Why Telegram would refuse a message's HTML, or its length once parsed; None if it
        would not, or if the text is not HTML."""
        if method not in {"sendMessage", "editMessageText"} or payload.get("parse_mode") != "HTML":
            return None
        try:
            shown = shown_html(str(payload.get("text", "")))
        except HtmlRefused as refused:
            return f"can't parse entities: {refused}"
        return "message is too long" if len(shown) > LIMIT else None

    def _replies_to_deleted(self, payload: dict[str, Any]) -> bool:
        """Telegram refuses a reply to a deleted message unless told to send it anyway."""
        quoted = payload.get("reply_parameters") or {}
        replied = quoted.get("message_id") or payload.get("reply_to_message_id")
        anyway = quoted.get("allow_sending_without_reply") or payload.get(
            "allow_sending_without_reply") in {True, "true", "True"}
        return replied is not None and int(replied) in self.deleted and not anyway

    @staticmethod
    def _decode(form: dict[str, str]) -> dict[str, Any]:
        decoded: dict[str, Any] = {}
        for key, value in form.items():
            if key in STRUCTURED:
                try:
                    decoded[key] = json.loads(value)
                    continue
                except json.JSONDecodeError:
                    pass
            decoded[key] = value
        return decoded

    async def _result(self, method: str, payload: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT
        if method == "getUpdates":
            return await self._get_updates(payload)
        if method in {"sendMessage", "editMessageText"}:
            message = {"message_id": payload.get("message_id") or next(self._messages),
                       "date": int(time.time()),
                       "chat": {"id": payload["chat_id"], "type": "private"},
                       "from": BOT, "text": payload.get("text", "")}
            if isinstance(payload.get("reply_markup"), dict):  # Telegram returns the buttons
                message["reply_markup"] = payload["reply_markup"]
            payload["_returned"] = message
            return message
        return True

    async def _get_updates(self, payload: dict[str, Any]) -> list[dict]:
        offset = int(payload.get("offset") or 0)
        timeout = float(payload.get("timeout") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and timeout:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), min(timeout, 1.0))
        return [u for u in self.updates if u["update_id"] >= offset]
