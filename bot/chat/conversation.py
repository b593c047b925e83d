"""The core: every adapter hands its messages to `Conversation.handle()` and renders the replies.

Here, and only here, is decided what happens to a question: privacy first (redaction before
anything leaves memory), then commands, matching, answering, suggesting or escalating, and
recording.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.chat.messages import (
    Action,
    ActionKind,
    AnswerReply,
    Choice,
    EscalatedReply,
    Message,
    OfferStaffReply,
    Reply,
    SuggestReply,
    TextReply,
    TopicsReply,
)
from bot.chat.ratelimit import RateLimiter
from bot.config import Settings
from bot.insights import gaps, reports
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.entries import Entry
from bot.knowledge.matcher import Match, Matcher, Outcome
from bot.privacy.redaction import Redaction, Redactor, without_placeholders
from bot.store import audit, platform_state
from bot.store.database import Database, DatabaseUnavailable
from bot.store.interactions import record_interaction
from bot.store.retention import PurgeRaced, PurgeResult, purge
from bot.store.tables import AuditEntry
from bot.triage import outbox
from bot.triage.escalations import Reason, create_escalation
from bot.triage.outbox import Delivery
from bot.triage.workflow import Actor, EscalationView, Triage, TriageError, as_utc

log = logging.getLogger(__name__)

HELP = """I answer questions about serving survivors, confidentiality, shelter, grants, standards \
and coalition work, from the coalition's knowledge base. Just type your question.

Commands:
  help            this message
  topics          browse the knowledge base by category
  status          your questions waiting for TA staff
  /staff QUESTION send a question straight to TA staff

Answers are general guidance, not legal advice. Please leave out names and other details that \
could identify a survivor."""

DISCLAIMER = "General guidance, not legal advice; check your state's law and your program's policy."
REDACTION_NOTICE = (
    "I removed identifying details ({kinds}) from your message before saving it. Survivor "
    "information stays with your program, so there's no need to include it."
)
STORAGE_DOWN = (
    "I couldn't pass your question to TA staff just now because the database is not reachable. "
    "Please try again in a few minutes, or contact the coalition's TA staff directly."
)
CRISIS_FIRST = ("If you or someone with you is in danger right now, please call 911. I'm an "
                "automated assistant for advocates and can't give crisis support, but these "
                "services can, 24 hours a day, confidentially:\n")
CRISIS_ADDED = "If someone is in danger now, these services can help at any hour:\n"
RATE_LIMITED = ("You're sending messages faster than I can help ({limit} a minute). Please wait "
                "a minute and ask again; if this is urgent, use /staff or call your coalition.")
SMALL_TALK = ("Hello! I'm the coalition's TA assistant. Ask me a question about your work, e.g. "
              "'how do we respond to a subpoena?', or type 'help'.")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f]")
_COMMANDS = {"help", "start", "menu", "topics", "status", "staff"}
STAFF_COMMANDS = {"queue", "show", "claim", "answer", "note", "close", "reopen"}
STAFF_HELP = """Staff commands:
  /queue                   questions waiting for staff, oldest first
  /show TA-0042            one question with its history and internal notes
  /claim TA-0042           take it
  /answer TA-0042 TEXT     answer it; the answer goes back to the asker where they asked
  /note TA-0042 TEXT       an internal note, never shown to the asker
  /close TA-0042, /reopen TA-0042"""


def clean(text: str) -> str:
    """Printable text only: control and invisible formatting characters become spaces."""
    text = unicodedata.normalize("NFC", text)
    return " ".join(_CONTROL.sub(" ", text).split())


def parse_command(text: str) -> tuple[str | None, str]:
    """`/cmd rest`, `/cmd@botname rest`, or a bare command word on its own."""
    if text.startswith("/"):
        head, _, rest = text[1:].partition(" ")
        name = head.split("@", 1)[0].casefold()
        return (name if name in _COMMANDS | STAFF_COMMANDS else None), rest.strip()
    word = text.casefold().strip(" ?!.")
    return (word if word in _COMMANDS | {"queue"} else None), ""


class Conversation:
    def __init__(self, knowledge: KnowledgeBase, db: Database, settings: Settings) -> None:
        self.knowledge = knowledge
        self.db = db
        self.settings = settings
        self._told_about_redaction: set[tuple[str, str]] = set()
        self._rate = RateLimiter(settings.rate_limit_per_minute)
        self._last_purge: dt.datetime | None = None
        self._redactor: Redactor | None = None
        self._redactor_index: object = None
        self.triage = Triage.from_settings(db, settings)

    @property
    def matcher(self) -> Matcher:
        return Matcher(self.knowledge.index, self.settings.thresholds)

    def redact(self, text: str) -> Redaction:
        """Redaction that knows the knowledge base's words, so they are never taken for names."""
        index = self.knowledge.index
        if self._redactor is None or self._redactor_index is not index:
            self._redactor = Redactor(index.normalizer.vocabulary, index.normalizer.correct)
            self._redactor_index = index
        return self._redactor.redact(text)

    async def handle(self, message: Message) -> list[Reply]:
        if message.action is not None:
            return await self._on_action(message, message.action)
        text = clean(message.text)
        if len(text) > self.settings.max_message_chars:
            return [TextReply(
                f"That message is {len(text):,} characters long; I can take up to "
                f"{self.settings.max_message_chars:,}. Please ask a shorter question.")]
        if not any(ch.isalnum() for ch in text):
            return [TextReply("I didn't find a question in that. Type your question in words, "
                              "or 'help' to see what I can do.")]
        assessment = self.knowledge.crisis.assess(text)
        if assessment.crisis:
            return await self._crisis(message, text)  # before any limit: safety comes first
        if not self._rate.allow((message.platform, message.user_id)):
            return [TextReply(RATE_LIMITED.format(limit=self.settings.rate_limit_per_minute))]
        command, rest = parse_command(text)
        if command is not None:
            return await self._on_command(message, command, rest)
        replies = await self._ask(message, text)
        if assessment.topic:
            replies.append(TextReply(CRISIS_ADDED + self.knowledge.crisis.hotlines()))
        return replies

    async def _crisis(self, message: Message, text: str) -> list[Reply]:
        """Hotlines first and at once; staff flagged urgent; no counselling."""
        replies: list[Reply] = [TextReply(CRISIS_FIRST + self.knowledge.crisis.hotlines())]
        question = self.redact(text).text
        await self._record(message, question, "crisis", None, 0.0)
        escalated = await self._to_staff(message, question, Reason.CRISIS)
        if escalated and isinstance(escalated[0], EscalatedReply):
            replies.append(TextReply(f"I've also told the coalition's staff, marked urgent "
                                     f"(reference {escalated[0].reference})."))
        return replies

    async def _on_command(self, message: Message, command: str, rest: str) -> list[Reply]:
        if command in STAFF_COMMANDS:
            return await self._staff_command(message, command, rest)
        if command in {"help", "start", "menu"}:
            staff = self.triage.is_staff(Actor(message.platform, message.user_id))
            return [TextReply(HELP + ("\n\n" + STAFF_HELP if staff else ""))]
        if command == "topics":
            return [self.topics()]
        if command == "status":
            return await self._status(message)
        if not rest:
            return [TextReply("Type /staff followed by your question, e.g. "
                              "'/staff how do we handle a records request from a court?'")]
        return await self._to_staff(message, rest, Reason.ASKED_FOR_STAFF)

    async def _staff_command(self, message: Message, command: str, rest: str) -> list[Reply]:
        actor = Actor(message.platform, message.user_id)
        reference, _, text = rest.partition(" ")
        try:
            if command == "queue":
                waiting = await self.triage.queue(actor, ("open", "claimed"))
                return [TextReply(queue_text(waiting))]
            if not reference:
                return [TextReply(f"Type /{command} followed by a reference, e.g. "
                                  f"/{command} TA-0042.")]
            view = await self.triage.act(command, reference, actor, text)
        except TriageError as exc:
            return [TextReply(str(exc))]
        except (SQLAlchemyError, OSError):
            return [TextReply("The escalation queue is not reachable right now; try again soon.")]
        return [TextReply(view_text(view, staff=self.triage.is_staff(actor)))]

    async def pending_deliveries(self, platform: str, user_id: str | None = None) -> list[Delivery]:
        """Outbox messages this adapter should send; call `delivered()` after each."""
        return await outbox.claim(self.db, platform, user_id)

    async def delivered(self, delivery: Delivery) -> None:
        await outbox.delivered(self.db, delivery.id)

    async def delivery_failed(self, delivery: Delivery, error: str,
                              retry_in: dt.timedelta = dt.timedelta(seconds=30)) -> None:
        log.warning("delivery %s to %s failed; will retry", delivery.id, delivery.platform)
        await outbox.failed(self.db, delivery.id, error, retry_in)

    async def first_time(self, platform: str, key: str) -> bool:
        """Has this platform event (id) been handled before? Retries are handled once."""
        return await platform_state.first_time(self.db, platform, key)

    async def remember_triage_post(self, reference: str, platform: str, channel: str,
                                   message_id: str) -> None:
        await platform_state.remember_post(self.db, reference, platform, channel, message_id)

    async def triage_posts(self, reference: str, platform: str) -> list[tuple[str, str]]:
        return await platform_state.posts(self.db, reference, platform)

    async def own_escalations(self, platform: str, user_id: str) -> list[EscalationView]:
        return await self.triage.asked_by(Actor(platform, user_id))

    async def escalation_summary(self, reference: str) -> EscalationView:
        return await self.triage.summary(reference)

    async def sweep(self) -> tuple[list[str], list[str]]:
        """Periodic upkeep: re-announce, flag late answers, and purge once a day."""
        now = dt.datetime.now(dt.UTC)
        if self._last_purge is None or now - self._last_purge >= dt.timedelta(days=1):
            self._last_purge = now
            with contextlib.suppress(PurgeRaced):
                await self.purge("tabot:schedule")
            await self.post_review_if_due(now)
        return await self.triage.sweep()

    async def post_review_if_due(self, now: dt.datetime) -> bool:
        """Once a month, tell staff (on their platforms) which entries need reviewing."""
        due = gaps.due_for_review(self.knowledge, now.date(), self.settings.review_months)
        if not due or not self.triage.platforms:
            return False
        async with self.db.session() as session, session.begin():
            last = await session.scalar(select(AuditEntry.at).where(
                AuditEntry.action == "kb-review-posted").order_by(AuditEntry.id.desc()))
            if last is not None and now - as_utc(last) < dt.timedelta(days=30):
                return False
            text = gaps.review_text(due, self.settings.review_months)
            for platform in self.triage.platforms:
                outbox.enqueue(session, kind="kb-review", platform=platform, user_id="*",
                               conversation_id="triage", thread_id=None, text=text)
            audit.record(session, "tabot:schedule", "kb-review-posted", "", f"{len(due)} due",
                         at=now)
        return True

    async def report(self, since: dt.date, until: dt.date) -> reports.Report:
        return await reports.build_report(self.db, self.knowledge, since, until)

    async def purge(self, actor: str) -> PurgeResult:
        return await purge(self.db, dt.timedelta(days=self.settings.keep_interactions_days),
                           dt.timedelta(days=self.settings.keep_closed_days), actor)

    def topics(self) -> TopicsReply:
        return TopicsReply({
            category: tuple(Choice(e.id, e.title) for e in entries)
            for category, entries in self.knowledge.by_category().items()
        })

    async def _ask(self, message: Message, text: str) -> list[Reply]:
        redaction = self.redact(text)
        replies: list[Reply] = []
        if redaction.changed and self._first_redaction(message):
            kinds = ", ".join(sorted(k.strip("[]").lower() for k in redaction.kinds))
            replies.append(TextReply(REDACTION_NOTICE.format(kinds=kinds)))
        match = self.matcher.match(without_placeholders(redaction.text))
        if not match.has_content and not redaction.changed:
            return [*replies, TextReply(SMALL_TALK)]  # redacted words were content: not chat
        handlers: dict[Outcome, Callable[[Message, str, Match], Awaitable[list[Reply]]]] = {
            Outcome.ANSWER: self._answered,
            Outcome.SUGGEST: self._suggested,
            Outcome.ESCALATE: self._unmatched,
        }
        replies += await handlers[match.outcome](message, redaction.text, match)
        return replies

    def _first_redaction(self, message: Message) -> bool:
        key = (message.platform, message.conversation_id)
        first = key not in self._told_about_redaction
        self._told_about_redaction.add(key)
        return first

    async def _answered(self, message: Message, question: str, match: Match) -> list[Reply]:
        best = match.best
        assert best is not None
        await self._record(message, question, Outcome.ANSWER, best.entry.id, best.score)
        replies: list[Reply] = [self.answer(best.entry, question, best.score)]
        if best.entry.escalate:
            replies += await self._to_staff(message, question, Reason.STATE_LAW,
                                            tags=list(best.entry.tags))
        return replies

    async def _suggested(self, message: Message, question: str, match: Match) -> list[Reply]:
        await self._record(message, question, Outcome.SUGGEST, None, match.score)
        choices = tuple(Choice(e.id, e.title) for e in match.suggestions(3))
        return [SuggestReply(question, choices)]

    async def _unmatched(self, message: Message, question: str, match: Match) -> list[Reply]:
        await self._record(message, question, Outcome.ESCALATE, None, match.score)
        tags = [t for e in match.suggestions(3) for t in e.tags]
        return await self._to_staff(message, question, Reason.NO_MATCH, tags)

    def answer(self, entry: Entry, question: str, score: float) -> AnswerReply:
        related = tuple(Choice(e.id, e.title) for rid in entry.related
                        if (e := self.knowledge.get(rid)) is not None)
        return AnswerReply(entry.id, entry.title, entry.answer, entry.sources, score, question,
                           related, DISCLAIMER)

    async def _to_staff(self, message: Message, question: str, reason: str,
                        tags: list[str] | None = None) -> list[Reply]:
        question = self.redact(question).text
        try:
            escalation = await create_escalation(self.db, message, question, reason, tags or [],
                                                 notify=self.triage.platforms)
        except (SQLAlchemyError, DatabaseUnavailable, OSError):
            log.error("could not store an escalation from %s", message.platform)
            return [TextReply(STORAGE_DOWN)]
        log.info("escalation %s created (%s)", escalation.reference, reason)
        intro = {
            Reason.NO_MATCH: "I don't have a good answer to that in the knowledge base, so I've "
                             "sent your question to the coalition's TA staff.",
            Reason.STATE_LAW: "Because the answer depends on your state's law, I've also sent "
                              "your question to TA staff.",
        }.get(reason, "I've sent your question to the coalition's TA staff.")
        text = (f"{intro} Your reference is {escalation.reference}. Expect a reply "
                f"{self.settings.response_time}; it will come back to you here.")
        return [EscalatedReply(escalation.reference, self.settings.response_time, text)]

    async def _status(self, message: Message) -> list[Reply]:
        try:
            mine = await self.own_escalations(message.platform, message.user_id)
        except (SQLAlchemyError, OSError):
            return [TextReply("I can't look up your questions right now; please try again soon.")]
        if not mine:
            return [TextReply("You have no questions waiting for TA staff.")]
        lines = [f"{e.reference}  {e.state:<8} {_shorten(e.question, 70)}" for e in mine[:20]]
        return [TextReply("Your questions for TA staff:\n" + "\n".join(lines))]

    async def _on_action(self, message: Message, action: Action) -> list[Reply]:
        question = self.redact(clean(action.question or "")).text
        entry = self.knowledge.get(action.entry_id) if action.entry_id else None
        if action.kind is ActionKind.SEND_TO_STAFF:
            return await self._to_staff(message, question or "(no question text)",
                                        Reason.NOT_HELPED)
        if entry is None:
            return [TextReply("That entry is no longer in the knowledge base. Please ask again.")]
        if action.kind is ActionKind.CHOOSE:
            await self._record(message, question, Outcome.ANSWER, entry.id, 1.0)
            return [self.answer(entry, question, 1.0)]
        helped = action.kind is ActionKind.HELPED
        await self._record(message, question, "feedback", entry.id, 0.0,
                           feedback="helped" if helped else "not-helped")
        if helped:
            return [TextReply("Thanks, glad it helped.")]
        return [OfferStaffReply(question)]

    async def _record(self, message: Message, question: str, outcome: str, entry_id: str | None,
                      score: float, feedback: str | None = None) -> None:
        try:
            await record_interaction(self.db, message, question, outcome, entry_id, score,
                                     feedback)
        except (SQLAlchemyError, OSError):
            log.warning("could not record an interaction from %s", message.platform)


def queue_text(views: list[EscalationView]) -> str:
    if not views:
        return "Nothing is waiting for staff."
    return "Waiting for staff, oldest first:\n" + escalation_table(views)


def escalation_table(views: list[EscalationView]) -> str:
    """Oldest first, with age, state, owner and topic: what a triage shift scans."""
    if not views:
        return "No escalations."
    header = f"{'ref':<8} {'age':>5}  {'state':<8} {'owner':<22} {'topic':<18} question"
    rows = [f"{v.reference:<8} {_age(v):>5}  {v.state:<8} {v.claimed_by or '-':<22} "
            f"{(v.tags or ('-',))[0]:<18} {_shorten(v.question, 60)}" for v in views]
    return "\n".join([header, *rows])


def view_text(view: EscalationView, staff: bool) -> str:
    lines = [f"{view.reference} · {view.state} · asked {_age(view)} ago",
             f"Question: {view.question}"]
    if view.claimed_by and staff:
        lines.append(f"Claimed by: {view.claimed_by}")
    if view.answer:
        lines.append(f"Answer: {view.answer}")
    lines += [f"  {e.at:%Y-%m-%d %H:%M} {e.kind} by {e.actor}" + (f": {e.detail}" if e.detail
              and e.kind in {"note", "reassigned"} else "") for e in view.events]
    return "\n".join(lines)


def _age(view: EscalationView) -> str:
    minutes = int(view.age().total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h" if minutes < 48 * 60 else f"{minutes // 1440}d"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
