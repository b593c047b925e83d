"""The one interface adapters get to tabot.

An adapter turns a platform event into a `Message` or a staff `Actor` and calls one of these
methods; it never sees the database, the triage workflow or the knowledge base. Every method
treats a database that is down the same way: the ones that answer a person return a reply that
says so, the ones that return data raise `Unavailable`, whose text an adapter shows as it is,
and each logs one line, never a traceback.

The core also counts the work in flight, so the runtime can finish it before the process
stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bot.chat.conversation import STAFF_COMMANDS, Conversation
from bot.chat.copy import SENT_LATE
from bot.chat.messages import Actor, Message, NotSent, Reply, TextReply
from bot.insights.reports import Report, build_report
from bot.knowledge.base import KnowledgeBase
from bot.store import platform_state
from bot.store.database import Database
from bot.store.errors import STORAGE_ERRORS
from bot.triage import commands, members, outbox
from bot.triage.commands import StaffAction, StaffResult
from bot.triage.members import MembershipError
from bot.triage.workflow import WAITING, EscalationView, Triage, TriageError, answer_seen

# Every type and constant an adapter needs, from this one module.
__all__ = ["STAFF_COMMANDS", "UNANSWERED", "WAITING", "About", "Core", "EscalationView", "Home",
           "Report", "StaffAction", "StaffResult", "Unavailable"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# `Core.staff_act(seen=...)` for an answer to a notice sent before anyone answered: if someone
# has answered since, this answer is refused rather than sent as a correction nobody meant.
UNANSWERED = answer_seen(None)
RECENT_EVENTS = 10_000  # event keys remembered in memory, for when the database cannot say
UNAVAILABLE = ("tabot can't reach its database just now, so it can't do that. Please try again "
               "in a few minutes.")


class Unavailable(Exception):
    """The database is down; the message is fit to show the person who asked."""

    def __init__(self, text: str = UNAVAILABLE) -> None:
        super().__init__(text)


@dataclass(frozen=True)
class Home:
    """A person's own page (Slack's App Home): the queue for staff, their questions otherwise."""

    staff: bool
    questions: list[EscalationView]
    figures: Report | None = None


@dataclass(frozen=True)
class About:
    entries: int
    knowledge_dir: Path
    database: str


class Core:
    """Everything an adapter may ask of tabot, with one set of rules for every path."""

    def __init__(self, conversation: Conversation, triage: Triage, db: Database,
                 knowledge: KnowledgeBase) -> None:
        self._conversation = conversation
        self._triage = triage
        self._db = db
        self._knowledge = knowledge
        self._zone = conversation.settings.timezone  # the home page's figures count its days
        self._busy = 0
        self._recent_events: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._idle = asyncio.Event()
        self._idle.set()

    # --- work in flight -------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def working(self) -> AsyncIterator[None]:
        """Wrap the handling of one platform event, replies included."""
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing is in flight (True), or `timeout` seconds have passed (False)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(self._idle.wait(), max(left, 0))
            except TimeoutError:
                return False
            await asyncio.sleep(0.05)  # an acknowledged event whose handler is about to start
            if self._busy == 0:
                return True

    # --- asking ---------------------------------------------------------------------------

    async def handle(self, message: Message) -> list[Reply]:
        """An asker's message or button press; see `Conversation.handle`."""
        async with self.working():
            return await self._conversation.handle(message)

    def hotlines_only(self, text: str) -> list[Reply]:
        """The hotlines for a message an adapter cannot hand in (see
        `Conversation.hotlines_only`); none if it does not read as danger."""
        return self._conversation.hotlines_only(text)

    async def keep_unsent(self, to: Message, replies: list[Reply], unsent: NotSent) -> None:
        """Replies the platform did not take (`NotSent`): those not sent go to the outbox, to
        follow when it takes them again, after a word that they come late. Text that must not
        wait there (`TextReply.keep_if_unsent`) is dropped. If the database is down too they
        are lost, and the log says so (never what they said)."""
        left = [r for r in replies[unsent.sent:]
                if not isinstance(r, TextReply) or r.keep_if_unsent]
        if not left:
            log.warning("%s: %d replies not sent (%s) and not kept: they held a link or "
                        "records", to.platform, len(replies) - unsent.sent, unsent)
            return
        try:
            await outbox.keep_replies(self._db, to, [TextReply(SENT_LATE), *left])
        except STORAGE_ERRORS as exc:
            log.error("%s: %d replies not sent (%s) and not kept: database unavailable (%s)",
                      to.platform, len(left), unsent, type(exc).__name__)
            return
        log.warning("%s: %d replies not sent now (%s); kept, to be sent when %s takes them",
                    to.platform, len(left), unsent, to.platform)

    def about(self) -> About:
        return About(len(self._knowledge.entries), self._knowledge.directory, self._db.location)

    # --- staff ----------------------------------------------------------------------------

    def is_staff(self, actor: Actor) -> bool:
        return self._triage.is_staff(actor)

    def staff_on(self, platform: str) -> list[str]:
        return self._triage.staff_on(platform)

    async def staff_act(self, actor: Actor, action: StaffAction, reference: str,
                        text: str = "", seen: str | None = None) -> StaffResult:
        """`seen`: an answer form's `EscalationView.answer_seen` from when it was opened."""
        async with self.working():
            return await commands.act(self._triage, actor, action, reference, text, seen)

    async def escalation(self, reference: str) -> EscalationView | None:
        """What a staff-only triage post shows; None if there is no such escalation."""
        async with self._guard("escalation lookup"):
            try:
                return await self._triage.summary(reference)
            except TriageError:
                return None

    async def home(self, actor: Actor, today: dt.date | None = None) -> Home:
        """Staff: the waiting queue and the last 30 days' figures; askers: their questions."""
        async with self._guard("home page"):
            if not self.is_staff(actor):
                return Home(False, await self._triage.asked_by(actor))
            today = today or dt.datetime.now(self._zone).date()
            figures = await build_report(self._db, self._knowledge,
                                         today - dt.timedelta(days=29), today, zone=self._zone)
            return Home(True, await self._triage.queue(actor, WAITING), figures)

    # --- platform bookkeeping -------------------------------------------------------------

    async def first_time(self, platform: str, key: str) -> bool:
        """Has this platform event been handled before, by any process? If the database cannot
        say, this process's own memory of recent events decides: a retry that reaches another
        process may then be answered twice, which is better than a lost question."""
        seen = (platform, key)
        if seen in self._recent_events:
            return False
        self._recent_events[seen] = None
        if len(self._recent_events) > RECENT_EVENTS:
            self._recent_events.popitem(last=False)
        return await _unless_down(platform_state.first_time(self._db, platform, key), True,
                                  "event de-duplication by this process only")

    async def sent_before(self, platform: str, key: str) -> bool:
        """Did an earlier attempt send this piece of an outbox message (`mark_sent`)? When the
        database cannot say, no: the piece is sent again rather than lost."""
        return await _unless_down(platform_state.recorded(self._db, platform, key), False,
                                  "cannot tell what an earlier attempt sent")

    async def mark_sent(self, platform: str, key: str) -> None:
        """Remember that one piece of an outbox message reached the platform, for a platform
        that cannot be asked afterwards what it was sent (Telegram)."""
        await _unless_down(platform_state.first_time(self._db, platform, key), False,
                           "a sent piece was not remembered")

    async def chat_moved(self, platform: str, old: str, new: str) -> None:
        """A chat the platform says now has another id (a Telegram group upgraded to a
        supergroup): what waits for it, and later answers to questions asked there, follow."""
        moved = await _unless_down(platform_state.chat_moved(self._db, platform, old, new),
                                   None, "a chat's new id was not recorded")
        if moved is not None:
            log.warning("%s: a chat moved to a new id; %d waiting messages follow it",
                        platform, moved)

    async def remember_triage_post(self, reference: str, platform: str, channel: str,
                                   message_id: str) -> None:
        async with self._guard("triage post"):
            await platform_state.remember_post(self._db, reference, platform, channel,
                                               message_id)

    async def forget_triage_post(self, reference: str, platform: str, channel: str) -> None:
        async with self._guard("triage post"):
            await platform_state.forget_post(self._db, reference, platform, channel)

    async def triage_posts(self, reference: str, platform: str) -> list[tuple[str, str]]:
        async with self._guard("triage post lookup"):
            return await platform_state.posts(self._db, reference, platform)

    # --- members --------------------------------------------------------------------------

    async def join(self, actor: Actor, code: str) -> tuple[bool, str]:
        """Register with an invite code: (joined, what to tell the person)."""
        async with self._guard("joining"):
            try:
                program = await members.join(self._db, actor.platform, actor.user_id, code)
            except MembershipError as exc:
                return False, str(exc)
        return True, (f"Welcome! You're registered with {program}. Ask me a question any "
                      "time, or send /help.")

    async def program_of(self, actor: Actor) -> str | None:
        """The member program of a registered person, or None."""
        async with self._guard("membership lookup"):
            return await members.program_of(self._db, actor.platform, actor.user_id)

    # --- --------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _guard(self, what: str) -> AsyncIterator[None]:
        try:
            yield
        except STORAGE_ERRORS as exc:
            log.warning("%s failed: database unavailable (%s)", what, type(exc).__name__)
            raise Unavailable() from None


async def _unless_down(call: Awaitable[T], fallback: T, what: str) -> T:
    """`call`'s result, or `fallback` when the database is down: platform bookkeeping that
    must never stop a message being handled or sent."""
    try:
        return await call
    except STORAGE_ERRORS as exc:
        log.warning("%s: database unavailable (%s)", what, type(exc).__name__)
        return fallback
