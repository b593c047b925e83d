"""What the console's pages work with: the runtime's own database, knowledge base and triage
workflow (never copies), plus the console's settings and its cookie signer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bot.config import Settings
from bot.console.auth import signing_key
from bot.console.security import CookieSigner, RateLimit
from bot.console.settings import ConsoleSettings
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.editing import editing_lock
from bot.store.database import Database
from bot.triage.workflow import Triage


@dataclass
class Services:
    db: Database
    knowledge: KnowledgeBase
    triage: Triage
    settings: Settings
    console: ConsoleSettings
    limiter: RateLimit = field(default_factory=RateLimit)
    # Knowledge edits are written one at a time per process: two saves never interleave.
    edits: asyncio.Lock = field(default_factory=asyncio.Lock)
    _signer: CookieSigner | None = None

    @contextlib.asynccontextmanager
    async def editing(self) -> AsyncIterator[None]:
        """Writing entry files: one save at a time in this process, and none while another
        process (`tabot kb learn approve`, a second console) writes the same directory.
        Approving a proposal takes the directory's lock itself, so the console holds `edits`
        around it and the directory's lock only around its own check."""
        async with self.edits, editing_lock(self.knowledge.directory):
            yield

    @property
    def staff(self) -> frozenset[str]:
        return self.settings.staff

    async def signer(self) -> CookieSigner:
        """Made on first use: the key lives in the database, read once per process."""
        if self._signer is None:
            self._signer = CookieSigner(await signing_key(self.db))
        return self._signer
