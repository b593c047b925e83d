"""The one outbox dispatcher per process: it hands each adapter what the outbox holds for it.

Adapters only say how to send one delivery; leasing, retrying and marking delivered happen
here, so they work the same for every platform.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Protocol

from bot.chat.messages import Delivery
from bot.store.database import Database
from bot.triage import outbox

log = logging.getLogger(__name__)
RETRY_IN = dt.timedelta(seconds=30)


class Deliverer(Protocol):
    name: str

    async def deliver(self, delivery: Delivery) -> None: ...

    def delivery_user(self) -> str | None: ...


class Dispatcher:
    def __init__(self, db: Database, deliverers: Sequence[Deliverer]) -> None:
        self.db = db
        self.deliverers = list(deliverers)

    async def deliver_pending(self) -> int:
        """Send what the outbox holds for each platform; failures are retried later."""
        sent = 0
        for deliverer in self.deliverers:
            for delivery in await outbox.claim(self.db, deliverer.name,
                                               deliverer.delivery_user()):
                sent += await self._send(deliverer, delivery)
        return sent

    async def _send(self, deliverer: Deliverer, delivery: Delivery) -> int:
        try:
            await deliverer.deliver(delivery)
        except Exception as exc:  # any platform failure: keep the message for a retry
            log.warning("delivery %s to %s failed (%s); will retry", delivery.id,
                        deliverer.name, type(exc).__name__)
            await outbox.failed(self.db, delivery.id, f"{type(exc).__name__}: {exc}", RETRY_IN)
            return 0
        await outbox.delivered(self.db, delivery.id)
        return 1
