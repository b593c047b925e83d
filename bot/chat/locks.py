"""One lock per asker, for work that must not interleave for the same person.

Slack delivers a double tap on a button as two events that run at once; each would check that
the question is not yet with staff, and each would file it. A lock per asker orders them. The
locks live only while someone holds or waits for one, so a long-running bot does not keep one
for every person who ever asked.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Hashable


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[Hashable, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    def get(self, key: Hashable) -> asyncio.Lock:
        """The lock for `key`: the same object for as long as anyone holds or waits for it."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock
