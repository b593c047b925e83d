"""Per-user rate limits: a sliding one-minute window, kept in memory."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

WINDOW = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._recent: dict[Hashable, deque[float]] = {}

    def allow(self, key: Hashable) -> bool:
        now = self.clock()
        recent = self._recent.setdefault(key, deque())
        while recent and now - recent[0] >= WINDOW:
            recent.popleft()
        if len(recent) >= self.per_minute:
            return False
        recent.append(now)
        if len(self._recent) > 10_000:  # forget idle users so memory stays bounded
            self._recent = {k: v for k, v in self._recent.items() if v and now - v[-1] < WINDOW}
        return True
