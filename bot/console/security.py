"""The console's defences that are not about who signs in: signed cookies, CSRF tokens,
security headers on every response, and a rate limit on sign-in attempts and refusals.

The session cookie carries a random token signed with a key from the database (itsdangerous),
so a forged or altered cookie is refused before any lookup. Each form carries a CSRF token
derived from the session (an HMAC), so it needs no storage and dies with the session.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import time
from collections.abc import Callable

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "tabot_console"
PRESIGN_COOKIE = "tabot_console_signin"  # binds a sign-in form to the browser that opened it
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

# No inline script or style anywhere: every asset is a file tabot serves itself.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
}


class CookieSigner:
    """Signs and checks the values the console keeps in cookies."""

    def __init__(self, key: str) -> None:
        self._serializer = URLSafeSerializer(key, salt="tabot-console-cookie")
        self._key = key.encode("utf-8")

    def sign(self, value: str) -> str:
        return self._serializer.dumps(value)

    def unsign(self, cookie: str | None) -> str | None:
        """The value, or None for a missing, forged or altered cookie."""
        if not cookie:
            return None
        try:
            value = self._serializer.loads(cookie)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def csrf_token(self, session_hash: str) -> str:
        """The token every form of this session must send back."""
        return hmac.new(self._key, b"csrf:" + session_hash.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, session_hash: str, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf_token(session_hash), sent or "")


class SecurityHeaders:
    """Pure ASGI middleware: every response under the console gets the headers above, and
    pages are never cached (they show the queue, which is not for a shared computer's cache)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


class RateLimit:
    """At most `limit` events per key (a client address) in a sliding `window` of seconds.

    In memory, per process: it slows down guessing and floods from one address, and the log
    records every refusal. Keys are forgotten when their window is empty, and at most
    `max_keys` are held, so a flood of addresses cannot grow it without bound."""

    def __init__(self, limit: int = 20, window: float = 60.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.max_keys, self.clock = limit, window, max_keys, clock
        self._events: collections.OrderedDict[str, collections.deque[float]] = \
            collections.OrderedDict()

    def allow(self, key: str) -> bool:
        """Count one event for `key`; False once it is over the limit."""
        now = self.clock()
        events = self._events.pop(key, None) or collections.deque()
        while events and now - events[0] >= self.window:
            events.popleft()
        allowed = len(events) < self.limit
        if allowed:
            events.append(now)
        self._events[key] = events
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        return allowed
