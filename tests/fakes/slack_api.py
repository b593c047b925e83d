"""A stand-in for Slack's Web API on 127.0.0.1: answers what the adapter calls, records it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import serve

BOT_USER = "UTABOT"


@dataclass
class FakeSlackAPI:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _ts: int = 0
    envelopes: asyncio.Queue = field(default_factory=asyncio.Queue)
    socket_acks: list[str] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0
    delay: float = 0.0  # seconds each chat.postMessage takes to answer, once it is posted
    missing_scopes: set[str] = field(default_factory=set)  # methods the app may not call
    # channel -> the error Slack gives for every post there ("is_archived", ...)
    refused: dict[str, str] = field(default_factory=dict)
    # method -> HTTP statuses its next calls get, in turn (200: that call goes through); a 429
    # says "ratelimited" with a Retry-After of `retry_after` seconds, as Slack does
    failures: dict[str, list[int]] = field(default_factory=dict)
    retry_after: int = 0
    # ts of messages someone deleted: chat.update of one answers message_not_found
    deleted: set[str] = field(default_factory=set)
    # What each channel shows, oldest first, as conversations.history returns it.
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)  # history and replies are GETs
        app.router.add_post("/respond", self._respond)
        app.router.add_get("/link", self._socket)
        self.runner, self.port = await serve(app)

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _respond(self, request: web.Request) -> web.Response:
        self.calls.append(("response_url", await request.json()))
        return web.json_response({"ok": True})

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.method == "GET":
            payload = dict(request.query)
        elif request.content_type == "application/json":
            payload = await request.json()
        else:
            payload = dict(await request.post())
            for key in ("blocks", "view", "metadata"):
                if isinstance(payload.get(key), str):
                    payload[key] = json.loads(payload[key])
        payload = dict(request.query) | payload  # slack_sdk sends some methods' params there
        self.calls.append((method, payload))
        if (statuses := self.failures.get(method)) and (status := statuses.pop(0)) != 200:
            return self._failure(status)
        answer = self._answer(method, payload)
        if method == "chat.postMessage" and self.delay:
            await asyncio.sleep(self.delay)  # posted already: a crash now leaves it ambiguous
        return web.json_response(answer)

    def _failure(self, status: int) -> web.Response:
        if status == 429:
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(self.retry_after)})
        return web.json_response({"ok": False, "error": "fatal_error"}, status=status)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, push queued envelopes, collect their acks."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1})
        reader = asyncio.create_task(self._read_acks(socket))
        try:
            while not socket.closed:
                await socket.send_json(await self.envelopes.get())
        finally:
            reader.cancel()
        return socket

    async def _read_acks(self, socket: web.WebSocketResponse) -> None:
        async for message in socket:
            if message.type == web.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data)["envelope_id"])

    def _answer(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        if method in self.missing_scopes:
            return {"ok": False, "error": "missing_scope"}
        if method == "chat.postMessage" and (error := self.refused.get(payload.get("channel"))):
            return {"ok": False, "error": error}
        if method == "chat.update" and payload.get("ts") in self.deleted:
            return {"ok": False, "error": "message_not_found"}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        if method == "auth.test":
            return {"ok": True, "team_id": "T1", "user_id": BOT_USER, "bot_id": "BTABOT",
                    "url": "https://example.slack.com/"}
        if method in {"chat.postMessage", "chat.update"}:
            self._ts += 1
            ts = payload.get("ts") or f"{int(time.time())}.{self._ts:06d}"
            if method == "chat.postMessage":
                self._remember(payload, ts)
            return {"ok": True, "channel": payload.get("channel"), "ts": ts}
        if method in {"conversations.history", "conversations.replies"}:
            return {"ok": True, "messages": self._history(payload, method)}
        if method == "conversations.open":  # a DM is D followed by the user id, as dm() sends
            return {"ok": True, "channel": {"id": f"D{payload.get('users')}"}}
        return {"ok": True}

    def _remember(self, payload: dict[str, Any], ts: str) -> None:
        message = {"type": "message", "ts": ts, "text": payload.get("text", ""),
                   "bot_id": "BTABOT", "thread_ts": payload.get("thread_ts")}
        if payload.get("metadata"):
            message["metadata"] = payload["metadata"]
        self.channels.setdefault(payload.get("channel", ""), []).append(message)

    def _history(self, payload: dict[str, Any], method: str) -> list[dict[str, Any]]:
        """Newest first, as Slack answers; metadata only when asked for, as Slack does."""
        messages = self.channels.get(payload.get("channel", ""), [])
        if method == "conversations.replies":
            messages = [m for m in messages if m["thread_ts"] == payload.get("ts")]
        with_metadata = str(payload.get("include_all_metadata", "")).lower() in {"1", "true"}
        shown = [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
                 for m in reversed(messages)]
        return shown[:int(payload.get("limit") or 100)]

    def named(self, method: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.calls if name == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10) -> list[dict]:
        """The calls of `method`, once there are `count`, whether they succeeded or not."""
        return await self._until(lambda: self.named(method), count, timeout,
                                 f"{method} call(s)")

    async def wait_for_posted(self, channel: str, count: int = 1,
                              timeout: float = 10) -> list[dict]:
        """The messages `channel` shows, oldest first, once there are `count`: only the posts
        this fake took, not the ones it failed."""
        return await self._until(lambda: self.channels.get(channel, []), count, timeout,
                                 f"message(s) posted in {channel}")

    async def _until(self, found: Callable[[], list[dict]], count: int, timeout: float,
                     what: str) -> list[dict]:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if len(now := found()) >= count:
                return now
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} {what}, got {self.calls}")
