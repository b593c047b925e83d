"""What every platform's HTTP route needs, facing requests from anyone on the internet: a body
read that stops at a size limit, parsed JSON cleaned of what no database can store, and a log
of refused requests that cannot be made to fill the disk."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
import traceback
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000  # bytes; Slack's and Telegram's payloads are a few kilobytes
BODY_SECONDS = 10.0  # the platforms send their payloads in one go
_HOME = str(Path(__file__).resolve().parents[1])  # where tabot's own code is
_LIBRARIES = "site-packages"
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str, only ever half a pair


class Unreadable(Exception):
    """A request body refused before all of it is read: with the status to answer and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def read_body(request: Request, limit: int = MAX_BODY,
                    seconds: float = BODY_SECONDS) -> bytes:
    """The body, or `Unreadable`: over `limit` bytes (413), or slower than `seconds` (408).

    A Content-Length over the limit is refused before a byte is read, and a body sent without
    one is read only up to the limit, so a sender cannot make the process hold an unbounded
    body in memory, nor hold a connection open by sending it a byte at a time."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 15
                                                       or int(declared) > limit):
        raise Unreadable(413, "body too large")
    body = bytearray()
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise Unreadable(413, "body too large")
    except TimeoutError:
        raise Unreadable(408, "body too slow") from None
    return bytes(body)


def unbroken(data: Any) -> Any:
    """Parsed JSON with each lone surrogate replaced by U+FFFD. JSON may escape half of a
    UTF-16 pair (`\\ud800`), which no database or Web API can encode, so a forged escape goes
    no further than the route that parsed it."""
    if isinstance(data, str):
        return _SURROGATE.sub("\ufffd", data)
    if isinstance(data, list):
        return [unbroken(item) for item in data]
    if isinstance(data, dict):
        return {unbroken(key): unbroken(value) for key, value in data.items()}
    return data


class Refusals:
    """One warning line per refused or malformed request, at most `per_window` a minute.

    Anyone on the internet can send a request that is refused, so a line (let alone a
    traceback) for each would let them fill the log. Past the budget, refusals are counted, and
    the count is logged once when the minute is over.
    """

    def __init__(self, name: str, per_window: int = 10, window: float = 60.0) -> None:
        self.name, self.per_window, self.window = name, per_window, window
        self._started = -math.inf
        self._logged = 0
        self._held = 0
        self._summary: asyncio.TimerHandle | None = None

    def refuse(self, status: int, reason: str) -> Response:
        """The response for a refused request, logged within the budget. After a 413 the
        connection is closed: the rest of that body is unread, so it cannot carry another."""
        self.note(f"refused a request ({status}: {reason})")
        headers = {"Connection": "close"} if status in (408, 413) else None
        return PlainTextResponse(reason, status_code=status, headers=headers)

    def failed(self, error: BaseException, what: str) -> None:
        """A request that got past the checks and then failed: one line naming the error and
        where it was raised, without its message (which may quote what the sender wrote)."""
        frames = traceback.extract_tb(error.__traceback__)
        ours = [f for f in frames if f.filename.startswith(_HOME) and _LIBRARIES not in f.filename]
        frame = (ours or frames)[-1] if frames else None
        where = f" at {'/'.join(Path(frame.filename).parts[-2:])}:{frame.lineno}" if frame else ""
        self.note(f"{what} failed ({type(error).__name__}{where})")

    def note(self, line: str) -> None:
        """Log `line` if the minute's budget allows, else count it. Needs a running loop."""
        now = time.monotonic()
        if now - self._started >= self.window:
            self._summarize()
            self._started, self._logged = now, 0
        if self._logged < self.per_window:
            self._logged += 1
            log.warning("%s: %s", self.name, line)
            return
        self._held += 1
        if self._summary is None:
            self._summary = asyncio.get_running_loop().call_later(
                self._started + self.window - now, self._summarize)

    def _summarize(self) -> None:
        if self._summary is not None:
            self._summary.cancel()
            self._summary = None
        if self._held:
            log.warning("%s: ...and %d more refused or malformed requests in the last %.0f s "
                        "(not logged one by one)", self.name, self._held, self.window)
            self._held = 0
