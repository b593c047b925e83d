"""The one outbox dispatcher per process: it hands each adapter what the outbox holds for it.

Adapters only say how to send one delivery; leasing, retrying and marking delivered happen
here, so they work the same for every platform. Each process leases under its own name, so
only the process that sent a message can mark it delivered. A send the platform refuses for
good (`Undeliverable`) is given up rather than retried, and staff are told if an asker
misses it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Protocol

from bot.chat.messages import Delivery, Undeliverable, UnsentReplies
from bot.store.database import Database
from bot.store.errors import STORAGE_ERRORS
from bot.triage import outbox, undelivered

log = logging.getLogger(__name__)
STALE_REPLIES = "kept replies too old to send, or unreadable"


class Deliverer(Protocol):
    name: str

    async def deliver(self, delivery: Delivery) -> None: ...

    def delivery_user(self) -> str | None: ...


class Dispatcher:
    """Sends one message at a time per platform, under a lease renewed while the send lasts."""

    def __init__(self, db: Database, deliverers: Sequence[Deliverer],
                 notify: tuple[str, ...] = ()) -> None:
        """`notify`: the platforms where staff are told of a message an asker never got."""
        self.db = db
        self.deliverers = list(deliverers)
        self.notify = notify
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def deliver_pending(self) -> int:
        """Send what the outbox holds for each platform; failures are retried later."""
        sent = 0
        for deliverer in self.deliverers:
            user = deliverer.delivery_user()
            while (delivery := await outbox.claim(self.db, deliverer.name, self.owner,
                                                  user)) is not None:
                sent += await self._send(deliverer, delivery)
        return sent

    async def _send(self, deliverer: Deliverer, delivery: Delivery) -> int:
        if isinstance(delivery, UnsentReplies) and not delivery.replies:
            await self._give_up(deliverer, delivery, STALE_REPLIES)
            return 0
        try:
            await self._leased(deliverer, delivery)
        except Undeliverable as refused:  # for good: trying again cannot help
            await self._give_up(deliverer, delivery, str(refused))
            return 0
        except Exception as exc:  # any other platform failure: keep the message for a retry
            await self._failed(deliverer, delivery, exc)
            return 0
        if not await outbox.delivered(self.db, delivery.id, self.owner):
            log.warning("delivery %s to %s was sent after its lease passed to another process",
                        delivery.id, deliverer.name)
        return 1

    async def _leased(self, deliverer: Deliverer, delivery: Delivery) -> None:
        """Deliver while renewing the lease; the renewal has stopped when this returns, so a
        late renewal cannot cut short the wait `outbox.failed` sets."""
        renewing = asyncio.create_task(self._renew(delivery.id))
        try:
            await deliverer.deliver(delivery)
        finally:
            renewing.cancel()
            await asyncio.wait([renewing])

    async def _failed(self, deliverer: Deliverer, delivery: Delivery, exc: Exception) -> None:
        """Kept for a retry; staff are told once if an asker has waited too long for it."""
        error = type(exc).__name__  # the class only: a platform's message may quote the text
        wait = await outbox.failed(self.db, delivery.id, self.owner, f"{error}: {exc}")
        log.warning("delivery %s to %s failed (%s); will retry in %.0f s", delivery.id,
                    deliverer.name, error, wait.total_seconds())
        if await undelivered.still_failing(self.db, delivery.id, error, self.notify):
            log.warning("delivery %s to %s has failed for over %s; staff told", delivery.id,
                        deliverer.name, undelivered.DELAY_ALERT)

    async def _give_up(self, deliverer: Deliverer, delivery: Delivery, reason: str) -> None:
        """Stop trying; the log says which delivery and why, never what it said."""
        if await undelivered.give_up(self.db, delivery.id, self.owner, reason, self.notify):
            log.warning("delivery %s to %s given up: %s", delivery.id, deliverer.name, reason)
        else:
            log.warning("delivery %s to %s was refused after its lease passed to another "
                        "process", delivery.id, deliverer.name)

    async def _renew(self, message_id: int) -> None:
        """Keep the lease while a slow platform call lasts; stop once it is lost."""
        interval = outbox.LEASE.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            try:
                if not await outbox.renew(self.db, message_id, self.owner):
                    return
            except STORAGE_ERRORS as exc:
                log.warning("lease renewal for delivery %s failed (%s)", message_id,
                            type(exc).__name__)
