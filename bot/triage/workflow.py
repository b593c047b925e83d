"""The TA staff side of an escalation: claim, answer (in words, or with a knowledge entry),
note, close, reopen, reassign, draft.

Every interface (the CLI, and the staff commands and buttons of each chat platform) goes through
`Triage`, so the rules are the same everywhere: only configured staff act, a claim (and every
other change) is atomic across processes, an answer is committed together with the outbox
message that carries it back to the asker, and internal notes never reach the asker.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from dataclasses import dataclass, replace
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, case, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.chat.messages import Actor, DeliveryKind
from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.entries import Entry
from bot.knowledge.learning import Confirmation, record_confirmed
from bot.store import audit
from bot.store.database import Database
from bot.store.retention import PURGED
from bot.store.tables import Escalation, EscalationEvent, reference_for, utcnow
from bot.triage import outbox

MAX_ANSWER_CHARS = 20_000


class State(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    ANSWERED = "answered"
    CLOSED = "closed"


ALL_STATES = tuple(State)
WAITING = (State.OPEN, State.CLAIMED)
ANSWERABLE = (*WAITING, State.ANSWERED)  # answering an answered question again corrects it


class Reason(StrEnum):
    """Why a question reached staff."""

    NO_MATCH = "no-match"
    ASKED_FOR_STAFF = "asked-for-staff"
    NOT_HELPED = "not-helped"
    STATE_LAW = "state-law"
    CRISIS = "crisis"
    OFF_TOPIC = "off-topic"  # told it was outside tabot's domain, and sent to staff anyway


# Waiting crisis escalations come before everything else in every queue: the asker may be in
# danger, however new the message.
URGENT = and_(Escalation.reason == str(Reason.CRISIS), Escalation.state.in_(WAITING))
URGENT_FIRST = case((URGENT, 0), else_=1)
SYSTEM = Actor("tabot", "sweep")
# Changes refused once the retention rules emptied a question, with what the refusal says.
_NOT_WHEN_PURGED = {"reopened": "reopened", "note": "given notes", "drafted": "drafted"}
_REFERENCE = re.compile(r"^(?:ta-?)?0*(\d{1,9})$", re.IGNORECASE)


class TriageError(Exception):
    """A staff action that cannot be done; the message says why and what to do."""


def purged(reference: str, doing: str) -> TriageError:
    """The refusal for a question the retention rules emptied: there is nothing left to reopen,
    answer or draft from, and a note added now would outlive the purge that already ran."""
    return TriageError(f"{reference} was purged under the retention rules; its question and "
                       f"answer are no longer kept, so it cannot be {doing}. Ask the asker to "
                       "send the question again if it still needs an answer.")


def not_staff(actor: Actor, doing: str = "do that") -> TriageError:
    """The refusal for someone not in TABOT_STAFF. It names the identity they act as, which is
    what an admin adds (`tabot escalations` acts as cli:<login>, `tabot chat` as
    console:<login>)."""
    return TriageError(f"Only the coalition's TA staff can {doing}. You act as {actor.id}; "
                       f"adding {actor.id} to TABOT_STAFF makes you staff.")


@dataclass(frozen=True)
class Event:
    kind: str
    actor: str
    detail: str
    at: dt.datetime


@dataclass(frozen=True)
class EscalationView:
    """An escalation as one viewer may see it (notes only for staff)."""

    reference: str
    state: State
    question: str
    platform: str
    user_id: str
    program: str | None
    tags: tuple[str, ...]
    reason: str
    claimed_by: Actor | None
    answer: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    events: tuple[Event, ...]

    def age(self, now: dt.datetime | None = None) -> dt.timedelta:
        return (now or utcnow()) - self.created_at

    @property
    def answer_seen(self) -> str:
        """For an answer form to carry back: see `answer_seen()`."""
        return answer_seen(self.answer)

    @property
    def urgent(self) -> bool:
        """A crisis message still waiting for staff."""
        return self.reason == Reason.CRISIS and self.state in WAITING

    def as_dict(self) -> dict:
        return {
            "reference": self.reference, "state": self.state, "question": self.question,
            "platform": self.platform, "user_id": self.user_id, "program": self.program,
            "tags": list(self.tags), "reason": self.reason,
            "claimed_by": str(self.claimed_by) if self.claimed_by else None,
            "answer": self.answer, "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "age_hours": round(self.age().total_seconds() / 3600, 2),
            "events": [{"kind": e.kind, "actor": e.actor, "detail": e.detail,
                        "at": e.at.isoformat()} for e in self.events],
        }


def as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything here is stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def parse_reference(text: str) -> int:
    found = _REFERENCE.match(text.strip())
    if not found:
        raise TriageError(f"{text.strip()!r} is not a reference; they look like TA-0042")
    return int(found.group(1))


class Triage:
    """The staff workflow, the same rules behind every interface.

    `notify` names the platforms whose adapters push notices to staff (the runtime knows
    which those are); staff elsewhere, at a terminal or in the web console, read the queue.
    `knowledge` is what staff may answer with by naming an entry; without it they answer in
    words only.
    """

    @classmethod
    def from_settings(cls, db: Database, settings: Settings, notify: tuple[str, ...] = (),
                      knowledge: KnowledgeBase | None = None) -> Triage:
        return cls(db, settings.staff, notify,
                   unclaimed_after=dt.timedelta(hours=settings.unclaimed_after_hours),
                   answer_due=dt.timedelta(hours=settings.answer_due_hours), knowledge=knowledge)

    def __init__(self, db: Database, staff: frozenset[str], notify: tuple[str, ...] = (),
                 unclaimed_after: dt.timedelta = dt.timedelta(hours=4),
                 answer_due: dt.timedelta = dt.timedelta(hours=24),
                 knowledge: KnowledgeBase | None = None) -> None:
        self.db = db
        self.knowledge = knowledge
        self.staff = frozenset(Actor.parse(item) for item in staff)
        self.platforms = notify
        self.unclaimed_after = unclaimed_after
        self.answer_due = answer_due

    def is_staff(self, actor: Actor) -> bool:
        return actor in self.staff

    def staff_on(self, platform: str) -> list[str]:
        """User ids of the staff who work on `platform`."""
        return sorted(a.user_id for a in self.staff if a.platform == platform)

    def _require_staff(self, actor: Actor) -> None:
        if not self.is_staff(actor):
            raise not_staff(actor)

    async def show(self, reference: str, actor: Actor) -> EscalationView:
        """Staff see everything; an asker sees their own question and answer, nothing else."""
        async with self.db.session() as session:
            escalation = await self._load(session, reference)
            staff = self.is_staff(actor)
            own = (escalation.platform, escalation.user_id) == (actor.platform, actor.user_id)
            if not staff and not own:
                raise TriageError(f"No escalation {reference_for(escalation.id)} of yours; "
                                  "'status' lists your questions.")
            return self._view(escalation, include_notes=staff)

    async def queue(self, actor: Actor,
                    states: tuple[str, ...] = ALL_STATES) -> list[EscalationView]:
        """Urgent first, then oldest first: the ones waiting longest need staff first."""
        self._require_staff(actor)
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Escalation).where(Escalation.state.in_(states))
                .options(selectinload(Escalation.events))
                .order_by(URGENT_FIRST, Escalation.created_at, Escalation.id))
            return [self._view(e, include_notes=True) for e in rows]

    async def asked_by(self, actor: Actor) -> list[EscalationView]:
        """An asker's own escalations, newest first, without staff notes."""
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Escalation).where(Escalation.platform == actor.platform,
                                         Escalation.user_id == actor.user_id)
                .options(selectinload(Escalation.events)).order_by(Escalation.id.desc()))
            return [self._view(e, include_notes=False) for e in rows]

    async def claim(self, reference: str, actor: Actor) -> EscalationView:
        self._require_staff(actor)
        escalation_id = parse_reference(reference)
        async with self.db.session() as session, session.begin():
            won = await session.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.state == State.OPEN)
                .values(state=State.CLAIMED, claimed_by=actor.id, updated_at=utcnow()))
            if won.rowcount == 1:
                self._event(session, escalation_id, "claimed", actor)
                await self._updated(session, escalation_id)
        async with self.db.session() as session:
            escalation = await self._load(session, reference)
            mine = escalation.state == State.CLAIMED and escalation.claimed_by == actor.id
            if won.rowcount != 1 and not mine:  # claiming your own claim again is harmless
                raise TriageError(self._why_not_claimable(escalation))
            return self._view(escalation, include_notes=True)

    @staticmethod
    def _why_not_claimable(escalation: Escalation) -> str:
        ref = reference_for(escalation.id)
        if escalation.state == State.CLAIMED:
            return f"{ref} is already claimed by {escalation.claimed_by}."
        return f"{ref} is {escalation.state}; reopen it first if it needs more work."

    async def reassign(self, reference: str, actor: Actor, to: Actor) -> EscalationView:
        self._require_staff(actor)
        if to not in self.staff:
            raise TriageError(f"{to} is not on the staff list (TABOT_STAFF).")
        return await self._change(reference, actor, "reassigned", to.id,
                                  allowed=WAITING, state=State.CLAIMED, claimed_by=to.id)

    async def note(self, reference: str, actor: Actor, text: str) -> EscalationView:
        self._require_staff(actor)
        if not text.strip():
            raise TriageError("The note is empty.")
        return await self._change(reference, actor, "note", text.strip())

    async def answer(self, reference: str, actor: Actor, text: str,
                     seen: str | None = None) -> EscalationView:
        """Store the answer and, in the same transaction, queue it for the asker.

        `seen` is `answer_seen()` of the answer a form showed when it was opened: if the
        question was answered since, this answer is refused, not sent as a correction."""
        self._require_staff(actor)
        text = text.strip()
        if not text:
            raise TriageError("The answer is empty; write the answer after the reference.")
        if len(text) > MAX_ANSWER_CHARS:
            raise TriageError(f"The answer is {len(text):,} characters; the limit is "
                              f"{MAX_ANSWER_CHARS:,}. Shorten it or link to a document.")
        return await self._answer(reference, actor, text, seen=seen)

    async def answer_with_entry(self, reference: str, actor: Actor,
                                entry_id: str, seen: str | None = None) -> EscalationView:
        """Answer with a knowledge entry's answer, as the bot would have, and propose the
        question as a new phrasing of that entry (a staff confirmation, in the same
        transaction)."""
        self._require_staff(actor)
        entry = self._entry(entry_id)
        return await self._answer(reference, actor, entry_answer_text(entry), entry, seen)

    def _entry(self, entry_id: str) -> Entry:
        words = entry_id.split()
        if len(words) != 1:
            raise TriageError("Name one knowledge entry by its id, e.g. "
                              "/entry TA-0042 shelter-curfew.")
        if self.knowledge is None:
            raise TriageError("This interface has no knowledge base to answer from; answer "
                              "in words with /answer.")
        entry = self.knowledge.get(words[0])
        if entry is None:
            close = difflib.get_close_matches(words[0], list(self.knowledge.entries), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise TriageError(f"No entry {words[0]!r} in the knowledge base.{hint} `topics` "
                              "lists the entries.")
        return entry

    async def _answer(self, reference: str, actor: Actor, text: str,
                      entry: Entry | None = None, seen: str | None = None) -> EscalationView:
        """Answering again after an answer is allowed (a correction; the console offers it),
        but only over the answer this transaction read: of two answers sent at once, the
        second finds the row changed and is refused, so the asker is sent one."""
        async with self.db.session() as session, session.begin():
            escalation = await self._load(session, reference)
            self._refuse_answer(escalation)
            if seen is not None and answer_seen(escalation.answer) != seen:
                raise TriageError(
                    f"{escalation.reference} was answered by {escalation.answered_by} after you "
                    "opened it; read that answer, and send yours only if it is still needed.")
            now = utcnow()
            won = await _mark(session, escalation.id, _unchanged_since(escalation),
                              state=State.ANSWERED, answer=text, answered_by=actor.id,
                              answered_at=now, updated_at=now,
                              claimed_by=func.coalesce(Escalation.claimed_by, actor.id))
            if not won:
                self._refuse_answer(await self._load(session, reference), raced=True)
            self._event(session, escalation.id, "answered", actor, text)
            await self._updated(session, escalation.id)
            outbox.to_asker(session, DeliveryKind.ANSWER, escalation,
                            relay_text(escalation.reference, escalation.question, text))
            if entry is not None:
                await record_confirmed(await session.connection(), escalation.question, entry,
                                       Confirmation.STAFF)
        return await self.show(reference, actor)

    @staticmethod
    def _refuse_answer(escalation: Escalation, raced: bool = False) -> None:
        """Why `escalation` cannot take an answer now; `raced`: another change just won."""
        ref = escalation.reference
        if escalation.question == PURGED:
            raise purged(ref, "answered")
        if escalation.state == State.CLOSED:
            raise TriageError(f"{ref} is closed; reopen it before answering.")
        if raced:
            raise TriageError(f"{ref} was answered by {escalation.answered_by} just now; "
                              f"show {ref} to read it, and answer again only if yours is "
                              "still needed.")

    async def close(self, reference: str, actor: Actor) -> EscalationView:
        self._require_staff(actor)
        return await self._change(reference, actor, "closed", "",
                                  allowed=(*WAITING, State.ANSWERED), state=State.CLOSED)

    async def reopen(self, reference: str, actor: Actor) -> EscalationView:
        self._require_staff(actor)
        return await self._change(reference, actor, "reopened", "",
                                  allowed=(State.ANSWERED, State.CLOSED), state=State.OPEN,
                                  claimed_by=None)

    async def act(self, action: str, reference: str, actor: Actor,
                  text: str = "") -> EscalationView:
        """One staff action by name, as typed at the CLI or in a chat."""
        actions = {
            "show": lambda: self.show(reference, actor),
            "claim": lambda: self.claim(reference, actor),
            "answer": lambda: self.answer(reference, actor, text),
            "entry": lambda: self.answer_with_entry(reference, actor, text),
            "note": lambda: self.note(reference, actor, text),
            "close": lambda: self.close(reference, actor),
            "reopen": lambda: self.reopen(reference, actor),
        }
        if action not in actions:
            raise TriageError(f"Unknown action {action!r}; use one of {', '.join(actions)}.")
        return await actions[action]()

    async def record(self, reference: str, actor: Actor, kind: str, detail: str) -> None:
        """Add an event to the history (and audit trail) without changing the state."""
        self._require_staff(actor)
        await self._change(reference, actor, kind, detail)

    async def _change(self, reference: str, actor: Actor, kind: str, detail: str,
                      allowed: tuple[str, ...] | None = None, **values: object) -> EscalationView:
        """One conditional UPDATE: a change made by someone else since the read (a close
        racing an answer, say) makes this one refuse, rather than silently undo it."""
        async with self.db.session() as session, session.begin():
            escalation = await self._load(session, reference)
            self._refuse_change(escalation, kind, allowed)
            condition = [Escalation.state.in_(allowed)] if allowed is not None else []
            if kind in _NOT_WHEN_PURGED:
                condition.append(Escalation.question != PURGED)
            if not await _mark(session, escalation.id, and_(true(), *condition), **values,
                               updated_at=utcnow()):
                self._refuse_change(await self._load(session, reference), kind, allowed)
                raise TriageError(f"{escalation.reference} changed just now; show it and try "
                                  "again.")
            self._event(session, escalation.id, kind, actor, detail)
            if values:
                await self._updated(session, escalation.id)
        return await self.show(reference, actor)

    @staticmethod
    def _refuse_change(escalation: Escalation, kind: str,
                       allowed: tuple[str, ...] | None) -> None:
        """Why `kind` cannot be done to `escalation` as it now stands, if it cannot."""
        if kind in _NOT_WHEN_PURGED and escalation.question == PURGED:
            raise purged(escalation.reference, _NOT_WHEN_PURGED[kind])
        if allowed is not None and escalation.state not in allowed:
            raise TriageError(f"{escalation.reference} is {escalation.state}; it cannot be "
                              f"{kind} now.")

    async def sweep(self, now: dt.datetime | None = None) -> tuple[list[str], list[str]]:
        """Re-announce unclaimed questions to staff and tell askers when an answer is late.

        Every running process sweeps, so each notice is claimed with a conditional UPDATE
        first: of two sweeps at once, only the one that set the mark queues the message.
        Returns (re-announced references, references whose askers were told it is late).
        """
        now = now or utcnow()
        announced, late = [], []
        async with self.db.session() as session, session.begin():
            waiting = list(await session.scalars(select(Escalation).where(
                Escalation.state.in_(WAITING)).order_by(Escalation.id)))
            for escalation in waiting:
                age = now - as_utc(escalation.created_at)
                if (self._needs_announcing(escalation, now, age)
                        and await self._mark_announced(session, escalation.id, now)):
                    self._event(session, escalation.id, "reannounced", SYSTEM)
                    announce(session, escalation, f"still unclaimed after {_hours(age)}",
                             self.platforms)
                    announced.append(escalation.reference)
                if (escalation.late_notice_at is None and age >= self.answer_due
                        and await _mark(session, escalation.id, and_(
                            Escalation.state.in_(WAITING), Escalation.late_notice_at.is_(None)),
                            late_notice_at=now)):
                    outbox.to_asker(session, DeliveryKind.LATE, escalation,
                                    late_text(escalation.reference))
                    late.append(escalation.reference)
        return announced, late

    def _needs_announcing(self, escalation: Escalation, now: dt.datetime,
                          age: dt.timedelta) -> bool:
        if escalation.state != State.OPEN or age < self.unclaimed_after:
            return False
        last = escalation.announced_at
        return last is None or now - as_utc(last) >= self.unclaimed_after

    async def _mark_announced(self, session: AsyncSession, escalation_id: int,
                              now: dt.datetime) -> bool:
        """Still open, and not announced by anyone within `unclaimed_after`."""
        since = now - self.unclaimed_after
        return await _mark(session, escalation_id, and_(
            Escalation.state == State.OPEN,
            (Escalation.announced_at.is_(None)) | (Escalation.announced_at <= since)),
            announced_at=now)

    async def _updated(self, session: AsyncSession, escalation_id: int) -> None:
        """Tell staff platforms the state changed, so their posts are updated in place."""
        escalation = await session.get(Escalation, escalation_id)
        if escalation is not None:
            for platform in self.platforms:
                outbox.to_staff(session, DeliveryKind.TRIAGE_UPDATE, platform,
                                escalation_id=escalation_id)

    async def summary(self, reference: str) -> EscalationView:
        """What a staff-only triage post shows: the history without the notes' text."""
        async with self.db.session() as session:
            view = self._view(await self._load(session, reference), include_notes=True)
        return replace(view, events=tuple(e for e in view.events if e.kind != "note"))

    @staticmethod
    async def _load(session: AsyncSession, reference: str) -> Escalation:
        escalation = await session.get(Escalation, parse_reference(reference),
                                       options=[selectinload(Escalation.events)],
                                       populate_existing=True)
        if escalation is None:
            raise TriageError(f"No escalation {reference_for(parse_reference(reference))}; "
                              "check the reference.")
        return escalation

    @staticmethod
    def _event(session: AsyncSession, escalation_id: int, kind: str, actor: Actor,
               detail: str = "") -> None:
        session.add(EscalationEvent(escalation_id=escalation_id, kind=kind, actor=actor.id,
                                    detail=detail, created_at=utcnow()))
        if kind in audit.STAFF_EVENTS:  # the text stays in the history; the log keeps who/when
            audit.record(session, actor.id, kind, reference_for(escalation_id))

    @staticmethod
    def _view(escalation: Escalation, include_notes: bool) -> EscalationView:
        events = tuple(
            Event(e.kind, e.actor, e.detail, as_utc(e.created_at))
            for e in escalation.events if include_notes or e.kind != "note")
        return EscalationView(
            escalation.reference, State(escalation.state), escalation.question,
            escalation.platform, escalation.user_id, escalation.program,
            tuple(t for t in escalation.tags.split(",") if t), escalation.reason,
            Actor.parse(escalation.claimed_by) if escalation.claimed_by else None,
            escalation.answer, as_utc(escalation.created_at),
            as_utc(escalation.updated_at), events if include_notes else ())


async def _mark(session: AsyncSession, escalation_id: int, condition: ColumnElement[bool],
                **values: object) -> bool:
    """Set `values` if `condition` still holds; True for the one process that set them. Every
    change to an escalation goes this way: a change read, decided and written as plain
    attributes would silently undo another process's change made in between."""
    result = await session.execute(
        update(Escalation).where(Escalation.id == escalation_id, condition).values(**values)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def answer_seen(answer: str | None) -> str:
    """What an answer form keeps of the answer it showed (none yet, or staff's), so that two
    people who opened the page before either answered do not both reach the asker: the second
    is told, instead of sending what would read as a correction nobody meant."""
    return hashlib.sha256((answer or "").encode("utf-8")).hexdigest()[:16]


def _unchanged_since(escalation: Escalation) -> ColumnElement[bool]:
    """Still answerable, and not answered since `escalation` was read. A claim or reassignment
    in between changes nothing that matters to the answer; another answer, a close or a purge
    does."""
    answered_at = escalation.answered_at
    return and_(Escalation.state.in_(ANSWERABLE), Escalation.question != PURGED,
                Escalation.answered_at.is_(None) if answered_at is None
                else Escalation.answered_at == answered_at)


def announce(session: AsyncSession, escalation: Escalation, why: str,
             platforms: tuple[str, ...]) -> None:
    """Queue a notice for staff on each platform; its adapter posts it where staff triage."""
    text = notice_text(escalation.reference, escalation.tags, why, escalation.question)
    for platform in platforms:
        outbox.to_staff(session, DeliveryKind.STAFF_NOTICE, platform, text, escalation.id)


def notice_text(reference: str, tags: str, why: str, question: str) -> str:
    topic = tags.split(",")[0] if tags else "no topic"
    return f"{reference} ({topic}, {why}): {question}"


def relay_text(reference: str, question: str, answer: str) -> str:
    short = question if len(question) <= 120 else question[:119] + "…"
    return f"Answer from TA staff on {reference} (you asked: \"{short}\"):\n\n{answer}"


def entry_answer_text(entry: Entry) -> str:
    """An entry's answer as staff send it: title, answer and sources, in plain text."""
    sources = "\n".join(f"- {s.title}" + (f" <{s.url}>" if s.url else "") for s in entry.sources)
    return f"{entry.title}\n\n{entry.answer}\n\nSources:\n{sources}"


def late_text(reference: str) -> str:
    return (f"Your question {reference} is taking longer than we said. It is still with TA "
            "staff, and the answer will come to you here.")


def _hours(age: dt.timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{age.total_seconds() / 60:.0f} min"
