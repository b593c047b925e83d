"""The conversation: what happens to one message, from its text to the replies.

Privacy first (redaction before anything leaves memory), then safety (crisis), then commands,
matching, and answering, suggesting or escalating. Whatever a message changes is written in
one transaction: its record, any escalation, and the notices that tell staff about it; a
record that stands alone (an answer, a suggestion, feedback) may share its commit with others
arriving at the same moment (`Recorder`). The writes are plain inserts on a connection, not
ORM objects in a session: on this, the hottest path, the session's bookkeeping cost more than
the database (see benchmarks/bench_handle.py).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import copy
from bot.chat.annotations import ANSWERED_WITH, FOLLOW_UP, NO_QUESTION
from bot.chat.locks import KeyedLocks
from bot.chat.messages import (
    Action,
    ActionKind,
    AnswerReply,
    CategoryReply,
    Choice,
    EscalatedReply,
    Message,
    OfferStaffReply,
    Reply,
    SuggestReply,
    TextReply,
    TopicsReply,
)
from bot.chat.prompts import (
    Offered,
    Prompt,
    Prompts,
    is_follow_up,
    is_probe,
    is_thanks,
    reply_word,
)
from bot.chat.ratelimit import RateLimiter
from bot.config import ConfigError, Settings
from bot.console.auth import NotStaff
from bot.console.links import link_message, signin_link
from bot.console.settings import load_console_settings
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.entries import Entry
from bot.knowledge.learning import Confirmation, record_confirmed
from bot.knowledge.matcher import Match, Matcher, Outcome
from bot.privacy.redaction import Redaction, Redactor, without_placeholders
from bot.store.database import Database
from bot.store.errors import STORAGE_ERRORS
from bot.store.interactions import (
    SHOWN_RELATED,
    Kept,
    Record,
    Recorder,
    asked_by_another,
    keep_verdict,
    record_behind,
    record_interaction,
)
from bot.triage import commands
from bot.triage.commands import StaffAction
from bot.triage.escalations import Reason, behind_button, create_escalation, waiting_with
from bot.triage.rendering import own_questions_text
from bot.triage.spool import Spool, SpooledQuestion
from bot.triage.workflow import Triage

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Filing:
    """Where a question for staff went: filed (its reference), or spooled to be filed once the
    database is back, or neither (nothing would take it); and its record's id, if written."""

    reference: str | None = None
    spooled: bool = False
    context: int | None = None

# Control and invisible formatting characters, and lone surrogates (bytes that were not UTF-8,
# or half an emoji escaped in JSON), which no database or terminal can encode.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ud800-\udfff]")
_COMMANDS = {"help", "start", "menu", "topics", "status", "staff", "console"}
STAFF_COMMANDS = {"queue", *StaffAction}


def clean(text: str) -> str:
    """Printable text only: control and invisible formatting characters become spaces."""
    text = unicodedata.normalize("NFC", text)
    return " ".join(_CONTROL.sub(" ", text).split())


def clean_lines(text: str) -> str:
    """`clean`, line by line: a staff answer's paragraphs and lists reach the asker as
    written."""
    lines = [clean(line) for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def parse_command(text: str) -> tuple[str | None, str]:
    """`/cmd rest`, `/cmd@botname rest`, or a bare command word on its own."""
    if text.startswith("/"):
        head, rest = _first_word(text[1:])
        name = head.split("@", 1)[0].casefold()
        return (name if name in _COMMANDS | STAFF_COMMANDS else None), rest
    word = text.casefold().strip(" ?!.")
    return (word if word in _COMMANDS | {"queue"} else None), ""


def _first_word(text: str) -> tuple[str, str]:
    """The first word and the rest, split at any space or line break, the rest's own line
    breaks kept."""
    words = text.split(maxsplit=1)
    return (words[0] if words else ""), (words[1] if len(words) > 1 else "")


class Conversation:
    """Turns one `Message` into replies, the same way whichever platform it came from.

    It holds no state that matters across a restart: the question behind a button is the
    record the button's `context` points at. What it keeps in memory (rate-limit windows,
    who has seen the redaction notice, the last prompt each asker was given, see `Prompts`)
    is allowed to be forgotten: a typed "2" or "no" then gets a short explanation.
    """

    def __init__(self, knowledge: KnowledgeBase, db: Database, settings: Settings,
                 triage: Triage | None = None, prompts: Prompts | None = None) -> None:
        self.knowledge = knowledge
        self.db = db
        self.settings = settings
        self.triage = triage or Triage.from_settings(db, settings)
        self.spool = Spool(settings.spool_directory, settings.former_spool_directories)
        self._told_about_redaction: set[tuple[str, str]] = set()
        self._rate = RateLimiter(settings.rate_limit_per_minute)
        self._recorder = Recorder(db)
        self._prompts = prompts if prompts is not None else Prompts()
        self._redactor: Redactor | None = None
        self._redactor_index: object = None
        self._filing = KeyedLocks()

    @property
    def matcher(self) -> Matcher:
        return Matcher(self.knowledge.index, self.settings.thresholds)

    def redact(self, text: str) -> Redaction:
        """Redaction that knows the knowledge base's words, so they are never taken for names."""
        index = self.knowledge.index
        if self._redactor is None or self._redactor_index is not index:
            self._redactor = Redactor.knowing(index.normalizer)
            self._redactor_index = index
        return self._redactor.redact(text)

    async def handle(self, message: Message) -> list[Reply]:
        """The one way in for an asker's message or button press; never raises for bad input
        or a database that is down, but says so in a reply."""
        if message.action is not None:
            return self._limited(message) or await self._pressed(message, message.action)
        if (acted := await self._staff_typed(message)) is not None:
            return acted
        text = clean(message.text)
        if not any(ch.isalnum() for ch in text):
            return [TextReply(copy.NO_WORDS)]
        assessment = self.knowledge.crisis.assess(text)
        if assessment.crisis:
            self._prompts.forget(message)
            return await self._crisis(message, text)  # before any limit: safety comes first
        replies = await self._typed(message, text)
        if assessment.topic:  # whatever the reply, a limit's included: danger was mentioned
            replies.append(self._hotlines(copy.CRISIS_ADDED))
        return replies

    async def _typed(self, message: Message, text: str) -> list[Reply]:
        """Typed text that is no crisis: a reply to the last prompt, a command or a question,
        within the limits."""
        if problem := self._too_long(text):
            return [problem]
        if limited := self._limited(message):
            return limited
        if (replied := await self._reply_to_prompt(message, text)) is not None:
            return replied
        command, rest = parse_command(text)
        if command is not None:
            return await self._on_command(message, command, rest)
        return await self._ask(message, text)

    async def _staff_typed(self, message: Message) -> list[Reply] | None:
        """A staff command typed by staff is an instruction, not a question: an answer that
        says "if he has a gun, call 911" must reach the asker, not be filed as a crisis, and
        its paragraphs and length are the answer's (checked by triage), not a question's."""
        if not self.triage.is_staff(message.actor):
            return None
        command, rest = parse_command(clean_lines(message.text))
        if command not in STAFF_COMMANDS:
            return None
        return self._limited(message) or [await self._staff_command_reply(message, command,
                                                                           rest)]

    def hotlines_only(self, text: str) -> list[Reply]:
        """For a message that cannot be taken in (a stranger's, or one that arrives while the
        database cannot say who is a member): the hotlines if it reads as danger. Nothing is
        filed or stored, which is what lets it run with no database."""
        assessment = self.knowledge.crisis.assess(clean(text))
        if assessment.crisis:
            return [self._hotlines(copy.CRISIS_FIRST)]
        return [self._hotlines(copy.CRISIS_ADDED)] if assessment.topic else []

    def _hotlines(self, lead: str) -> TextReply:
        """The hotlines under `lead`: first for a crisis, added for a mention of danger."""
        return TextReply(lead + self.knowledge.crisis.hotlines())

    def _limited(self, message: Message) -> list[Reply]:
        if self._rate.allow(message.actor):
            return []
        return [TextReply(copy.RATE_LIMITED.format(limit=self.settings.rate_limit_per_minute))]

    def _too_long(self, text: str) -> TextReply | None:
        if len(text) > self.settings.max_message_chars:
            return TextReply(copy.TOO_LONG.format(length=len(text),
                                                  limit=self.settings.max_message_chars))
        return None

    async def _pressed(self, message: Message, action: Action) -> list[Reply]:
        """A button: what it leaves open replaces the prompt. The prompt's question goes on
        with it when the button is the prompt's own; "This helped" keeps the answer's topic
        for a follow-up, as a typed "yes" does."""
        held = self._prompts.get(message)
        own = held is not None and held.context is not None and held.context == action.context
        replies = await self._on_action(message, action)
        self._prompts.after(message, replies, question=held.question if own and held else "")
        if own and held and action.kind is ActionKind.HELPED:
            self._keep_for_follow_up(message, held, replies)
        return replies

    def _keep_for_follow_up(self, message: Message, answered: Prompt,
                            replies: list[Reply]) -> None:
        """After "it helped", nothing is left to say yes or no to, but a follow-up ("what
        about teens?") is still matched with the answer, for the rest of its window."""
        if answered.offered is Offered.ANSWER and replies == [TextReply(copy.HELPED)]:
            self._prompts.put(message, replace(answered, offered=Offered.FOLLOW, choices=()),
                              fresh=False)

    async def _store(self, record: Record) -> int | None:
        """Store a record that stands alone (see `Recorder`); None if the database is down."""
        if record.replaces is not None:
            async def write(connection: AsyncConnection) -> int:
                return await record_interaction(connection, record)

            return await self._transaction(write)
        try:
            return await self._recorder.record(record)
        except STORAGE_ERRORS as exc:
            log.warning("database unavailable (%s); a message was answered without storing it",
                        type(exc).__name__)
            return None

    async def _transaction(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T | None:
        """Run `work` in one transaction; None (and one log line) if the database is down."""
        try:
            async with self.db.engine.begin() as connection:
                return await work(connection)
        except STORAGE_ERRORS as exc:
            log.warning("database unavailable (%s); a message was answered without storing it",
                        type(exc).__name__)
            return None

    async def _crisis(self, message: Message, text: str) -> list[Reply]:
        """Hotlines first and at once; staff flagged urgent; no counselling."""
        replies: list[Reply] = [self._hotlines(copy.CRISIS_FIRST)]
        # A crisis is never refused for its length, but no more than the limit is kept: cut
        # after redacting, since a cut through a phone number or name would hide it from the
        # redactor.
        question = self.redact(text).text[:self.settings.max_message_chars]
        filing = await self._file(message, question, Reason.CRISIS,
                                  record=Record(message, question, "crisis"))
        if filing.reference is not None:
            replies.append(TextReply(copy.CRISIS_STAFF_TOLD.format(reference=filing.reference)))
        elif filing.spooled:
            replies.append(TextReply(copy.CRISIS_STAFF_SPOOLED))
        return replies

    async def _on_command(self, message: Message, command: str, rest: str) -> list[Reply]:
        if command == "console":
            return [await self._console_link(message)]
        if command in STAFF_COMMANDS:
            return [await self._staff_command_reply(message, command, rest)]
        if command in {"help", "start", "menu"}:
            staff = self.triage.is_staff(message.actor)
            return [TextReply(copy.HELP + ("\n\n" + copy.STAFF_HELP if staff else ""))]
        if command == "topics":
            self._prompts.forget(message)  # a number now means nothing from before
            return [self.topics()]
        if command == "status":
            return [await self._status(message)]
        if not rest:
            return [TextReply(copy.STAFF_USAGE)]
        return await self._staff_question(message, rest)

    async def _staff_question(self, message: Message, rest: str) -> list[Reply]:
        """`/staff QUESTION`: a TA contact of its own, recorded once; it closes the prompt
        before it, so a "staff" after it cannot send the earlier question as well."""
        redaction = self.redact(rest)
        record = Record(message, redaction.text, Outcome.ESCALATE)
        filing = await self._file(message, redaction.text, Reason.ASKED_FOR_STAFF, record=record)
        replies = [*self._redaction_notice(message, redaction),
                   self._escalated(filing, Reason.ASKED_FOR_STAFF)]
        self._prompts.after(message, replies)
        return replies

    async def _staff_command_reply(self, message: Message, command: str, rest: str
                                   ) -> TextReply:
        """Staff commands only where nobody else reads the reply (a conversation with no
        thread, as for console links): `/show` prints internal notes and `/queue` every
        program's waiting questions, which must never land in a program's group or channel."""
        if message.thread_id is not None:
            staff = self.triage.is_staff(message.actor)
            return TextReply(copy.STAFF_ONLY_PRIVATE if staff else copy.OWN_ONLY_PRIVATE)
        return TextReply(await self._staff_command(message, command, rest),
                         keep_if_unsent=False)

    async def _staff_command(self, message: Message, command: str, rest: str) -> str:
        if command == "queue":
            return await commands.queue(self.triage, message.actor)
        if not rest:
            return copy.REFERENCE_USAGE.format(command=command)
        reference, text = _first_word(rest)
        result = await commands.act(self.triage, message.actor, StaffAction(command), reference,
                                    text)
        return result.text

    async def _console_link(self, message: Message) -> TextReply:
        """A one-time sign-in link to the web console, for staff only and only in a private
        conversation (one with no thread: a Slack DM, `/ta`, a Telegram private chat), so a
        link is never posted where others read it. The core decides both; adapters only send
        the reply. The link is sent and not kept: the database holds its digest alone, and
        nothing logs it. TABOT_PUBLIC_URL is read as `tabot console link` reads it."""
        if not self.triage.is_staff(message.actor):
            return TextReply(copy.CONSOLE_ONLY_STAFF.format(actor=message.actor.id))
        if message.thread_id is not None:
            return TextReply(copy.CONSOLE_ONLY_PRIVATE)
        try:
            public_url = load_console_settings(port=self.settings.port).public_url
            url = await signin_link(self.db, message.actor, self.settings.staff, public_url)
        except ConfigError as exc:
            log.warning("no console link for %s: %s", message.actor, exc)
            return TextReply(copy.CONSOLE_NOT_SET_UP)
        except NotStaff:
            return TextReply(copy.CONSOLE_ONLY_STAFF.format(actor=message.actor.id))
        except STORAGE_ERRORS as exc:
            log.warning("no console link: database unavailable (%s)", type(exc).__name__)
            return TextReply(copy.CONSOLE_DOWN)
        return TextReply(link_message(url), keep_if_unsent=False)

    async def _status(self, message: Message) -> TextReply:
        """Only in a direct conversation: the list holds questions asked privately, crisis
        messages among them, which a program's group or channel must not read."""
        if message.thread_id is not None:
            return TextReply(copy.OWN_ONLY_PRIVATE)
        try:
            mine = await self.triage.asked_by(message.actor)
        except STORAGE_ERRORS:
            log.warning("status lookup failed: database unavailable")
            return TextReply(copy.LOOKUP_DOWN)
        return TextReply(own_questions_text(mine), keep_if_unsent=False)

    def topics(self) -> TopicsReply:
        return TopicsReply({
            category: tuple(Choice(e.id, e.title) for e in entries)
            for category, entries in self.knowledge.by_category().items()
        })

    async def _ask(self, message: Message, text: str) -> list[Reply]:
        if is_probe(text):
            return [TextReply(copy.SMALL_TALK)]
        if is_thanks(text):
            return [TextReply(copy.WELCOME)]  # the prompt before it stays open
        redaction = self.redact(text)
        replies = self._redaction_notice(message, redaction)
        match = self.matcher.match(without_placeholders(redaction.text))
        if not match.has_content and not redaction.changed:
            return [*replies, TextReply(copy.SMALL_TALK)]  # redacted words were content
        question, match, topic = self._in_context(message, redaction.text, match)
        handlers: dict[Outcome, Callable[[Message, str, Match], Awaitable[list[Reply]]]] = {
            Outcome.ANSWER: self._answered,
            Outcome.SUGGEST: self._suggested,
            Outcome.ESCALATE: self._unmatched,
            Outcome.OFF_TOPIC: self._off_topic,
        }
        answered = await handlers[match.outcome](message, question, match)
        self._prompts.after(message, answered, topic, question)
        return replies + answered

    def _in_context(self, message: Message, question: str, match: Match
                    ) -> tuple[str, Match, str]:
        """A follow-up to the answer just given ("what about teens?") is matched together with
        what that answer was about; the pair is kept when it answers confidently with another
        entry (the same entry again would tell the asker nothing new). Otherwise the message
        stands alone, as any question does.

        Returns the question as recorded (a follow-up carries a note of what it followed, for
        staff, and so it is never proposed as a phrasing), the match, and the topic the next
        follow-up is matched with."""
        prompt = self._prompts.get(message)
        if (prompt is None or prompt.offered not in {Offered.ANSWER, Offered.FOLLOW}
                or not is_follow_up(question)):
            return question, match, question
        combined = f"{prompt.topic} {question}"
        together = self.matcher.match(without_placeholders(combined))
        best = together.best
        noted = FOLLOW_UP.format(question=question, topic=prompt.topic)
        if match.outcome is Outcome.ANSWER and _same_entry(match, together):
            return question, match, question  # matched on its own: the context added nothing
        if together.outcome is Outcome.ANSWER and best and best.entry.id != prompt.entry_id:
            return noted, together, combined
        if match.outcome is Outcome.ANSWER:
            return question, match, question
        # Unanswered, it may reach staff, who would read "what about teens?" and nothing else.
        return noted, match, question

    async def _reply_to_prompt(self, message: Message, text: str) -> list[Reply] | None:
        """A typed reply to the last prompt: a number, yes, no or none, or a bare "staff";
        None when `text` is none of these (a new question, a command)."""
        command, rest = parse_command(text)
        word = "staff" if command == "staff" and not rest else reply_word(text)
        if word is None:
            return None
        prompt = self._prompts.get(message)
        if prompt is None or prompt.offered is Offered.FOLLOW:
            return [TextReply(_NOTHING_OPEN.get(word, copy.NO_CHOICES))]
        if (hint := _hint(prompt, word)) is not None:
            return [hint]  # the prompt stays open for a reply that fits it
        replies = await self._follow_prompt(message, prompt, word)
        self._prompts.after(message, replies, question=prompt.question)
        if word == "yes":
            self._keep_for_follow_up(message, prompt, replies)
        return replies

    async def _follow_prompt(self, message: Message, prompt: Prompt, word: str) -> list[Reply]:
        """Do what the reply says, through the same path as the button it stands for."""
        if word == "staff" or (prompt.offered is Offered.STAFF and word == "yes"):
            return [await self._send_to_staff(message, prompt.context, prompt.question)]
        if word.isdigit():
            chosen = prompt.choices[int(word) - 1]
            kind = ActionKind.RELATED if prompt.offered is Offered.ANSWER else ActionKind.CHOOSE
            return await self._on_action(message, Action(kind, chosen.entry_id, prompt.context))
        if prompt.offered is Offered.ANSWER:
            kind = ActionKind.HELPED if word == "yes" else ActionKind.NOT_HELPED
            return await self._on_action(message, Action(kind, prompt.entry_id, prompt.context))
        if prompt.offered is Offered.CHOICES:
            return [OfferStaffReply(prompt.context)]  # "none of these": staff, if they want
        return [TextReply(copy.NOT_SENT)]  # "no" to the offer of staff

    def _redaction_notice(self, message: Message, redaction: Redaction) -> list[Reply]:
        """What was removed, told once per conversation, whichever way the question came."""
        if not redaction.changed or not self._first_redaction(message):
            return []
        kinds = ", ".join(sorted(k.strip("[]").lower() for k in redaction.kinds))
        return [TextReply(copy.REDACTION_NOTICE.format(kinds=kinds))]

    def _first_redaction(self, message: Message) -> bool:
        key = (message.platform, message.conversation_id)
        first = key not in self._told_about_redaction
        self._told_about_redaction.add(key)
        return first

    async def _answered(self, message: Message, question: str, match: Match) -> list[Reply]:
        best = match.best
        assert best is not None
        entry = best.entry

        record = Record(message, question, Outcome.ANSWER, entry.id, best.score)
        if not entry.escalate:
            return [self.answer(entry, best.score, await self._store(record))]
        filing = await self._file(message, question, Reason.STATE_LAW, list(entry.tags), record)
        return [self.answer(entry, best.score, filing.context),
                self._escalated(filing, Reason.STATE_LAW)]

    async def _suggested(self, message: Message, question: str, match: Match) -> list[Reply]:
        context = await self._store(Record(message, question, Outcome.SUGGEST, None,
                                           match.score))
        choices = tuple(Choice(e.id, e.title) for e in match.suggestions(3))
        return [SuggestReply(choices, context)]

    async def _off_topic(self, message: Message, question: str, match: Match) -> list[Reply]:
        """Nothing in the knowledge base's domain: say what tabot is for and file nothing,
        but offer staff anyway, since the asker may know better than the matcher."""
        context = await self._store(Record(message, question, Outcome.OFF_TOPIC, None,
                                           match.score))
        return [OfferStaffReply(context, copy.OFF_TOPIC)]

    async def _unmatched(self, message: Message, question: str, match: Match) -> list[Reply]:
        tags = [t for e in match.suggestions(3) for t in e.tags]
        record = Record(message, question, Outcome.ESCALATE, None, match.score)
        filing = await self._file(message, question, Reason.NO_MATCH, tags, record)
        return [self._escalated(filing, Reason.NO_MATCH)]

    def answer(self, entry: Entry, score: float, context: int | None = None,
               full: bool = False) -> AnswerReply:
        related = tuple(Choice(e.id, e.title) for rid in entry.related
                        if (e := self.knowledge.get(rid)) is not None)
        return AnswerReply(entry.id, entry.title, entry.answer, entry.sources, score, related,
                           copy.DISCLAIMER, context, full)

    async def _file(self, message: Message, question: str, reason: Reason,
                    tags: list[str] | None = None, record: Record | None = None,
                    asked: int | None = None) -> Filing:
        """Hand a question to staff: its record, the escalation and the staff notices in one
        transaction; if the database is down, into the local spool to be filed later.

        `asked` is the record a button points at, whose question is read back when filing."""
        tags = tags or []

        async def write(connection: AsyncConnection) -> Filing:
            text, why = await behind_button(connection, asked, message, question, reason)
            row_id = await record_interaction(connection, record) if record else None
            reference = await create_escalation(connection, message, text, why, tags,
                                                notify=self.triage.platforms)
            log.info("escalation %s created (%s)", reference, why)
            return Filing(reference, context=row_id)

        if (filing := await self._transaction(write)) is not None:
            return filing
        if record is not None and record.replaces is not None:
            record = None  # its question's record is stored already: it counts once
        spooled = SpooledQuestion.of(message, question, reason, tags, record, asked)
        try:
            self.spool.put(spooled)
        except OSError as exc:
            log.error("a question for staff could not be spooled either (%s)",
                      type(exc).__name__)
            return Filing()
        log.warning("database unavailable; a question for staff was spooled to be filed later")
        return Filing(spooled=True)

    def _escalated(self, filing: Filing, reason: Reason) -> Reply:
        if filing.spooled:
            return TextReply(copy.SPOOLED)
        if filing.reference is None:
            return TextReply(copy.STORAGE_DOWN)
        text = copy.ESCALATED.get(reason, copy.ESCALATED_DEFAULT) + copy.ESCALATED_TAIL.format(
            reference=filing.reference, response_time=self.settings.response_time)
        return EscalatedReply(filing.reference, self.settings.response_time, text)

    async def _on_action(self, message: Message, action: Action) -> list[Reply]:
        if action.kind is ActionKind.BROWSE:
            return [self._category(action.category or "")]
        entry = self.knowledge.get(action.entry_id) if action.entry_id else None
        if action.kind is not ActionKind.SEND_TO_STAFF and entry is None:
            return [TextReply(copy.ENTRY_GONE)]
        return await self._press(message, action, entry)

    def _category(self, category: str) -> Reply:
        choices = self.topics().categories.get(category)
        return CategoryReply(category, choices) if choices else TextReply(copy.CATEGORY_GONE)

    async def _press(self, message: Message, action: Action, entry: Entry | None) -> list[Reply]:
        """A button on an earlier reply: its question is read back from the record."""
        if action.kind is ActionKind.SEND_TO_STAFF:
            return [await self._send_to_staff(message, action.context)]

        async def asked(connection: AsyncConnection) -> tuple[str, str] | None:
            assert action.context is not None
            return await record_behind(connection, action.context, message)

        behind = await self._transaction(asked) if action.context is not None else None
        question = behind[0] if behind else None
        # A pick among suggestions answers the question its record holds; a related entry
        # opened after an answer is shown beside it (`_RECORDED_AS`), not a new question.
        outcome, feedback = _RECORDED_AS[action.kind]
        picked = action.kind is ActionKind.CHOOSE and behind is not None
        record = Record(message, question or "", outcome, entry.id,
                        1.0 if outcome == Outcome.ANSWER else 0.0, feedback,
                        action.context if picked else None)
        if action.kind in _VERDICTS:
            return await self._verdict(message, action, entry, record, behind)
        if behind is not None and (source := _CONFIRMS.get((action.kind, behind[1]))):
            await self._confirm(behind[0], entry, source)
        if action.kind in _OPENS and entry.escalate and question:
            async with self._filing.get((message.platform, message.user_id)):
                return await self._state_law_pick(message, question, entry, record)
        context = await self._store(record)
        return [self.answer(entry, 1.0, context, full=action.kind is ActionKind.MORE)]

    async def _verdict(self, message: Message, action: Action, entry: Entry, record: Record,
                       behind: tuple[str, str, str | None] | None) -> list[Reply]:
        """"This helped" or "Not quite". On the asker's own answer the verdict is kept on its
        record, so pressing again changes it rather than counting twice, and "helped"
        confirms the question only as the first verdict; without such a record (the
        database was down when it was answered, another person's answer in a group, or an
        answer since replaced by another pick) it is stored on its own."""
        kept: Kept | None = None
        if behind is not None and action.context is not None:
            context, verdict = action.context, record.feedback or ""

            async def keep(connection: AsyncConnection) -> Kept | None:
                return await keep_verdict(connection, context, message, entry.id, verdict)

            kept = await self._transaction(keep)
        if kept is None:
            await self._store(record)
        if kept in (Kept.FIRST, None) and behind is not None and behind[2] == entry.id and (
                source := _CONFIRMS.get((action.kind, behind[1]))):
            await self._confirm(behind[0], entry, source)
        if action.kind is ActionKind.HELPED:
            return [TextReply(copy.HELPED)]
        waiting = await self._behind(message, action.context)
        return [waiting if isinstance(waiting, Reply) else OfferStaffReply(action.context)]

    async def _send_to_staff(self, message: Message, asked: int | None,
                             question: str = "") -> Reply:
        """A Send-to-staff press, or "staff" typed after a reply. One asker at a time, so a
        double tap cannot file twice before either filing is seen.

        `question` is the one the typed reply's prompt holds: filed when there is no record to
        read it back from (the database was down when it was asked), and then recorded, so it
        still counts once as a TA contact."""
        async with self._filing.get((message.platform, message.user_id)):
            if isinstance(behind := await self._behind(message, asked), Reply):
                return behind
            record = (Record(message, question, Outcome.ESCALATE)
                      if asked is None and question else None)
            filing = await self._file(message, question or NO_QUESTION, Reason.NOT_HELPED,
                                      record=record, asked=asked)
            return self._escalated(filing, Reason.NOT_HELPED)

    async def _behind(self, message: Message, asked: int | None) -> Reply | None:
        """Why the question behind a button must not go to staff now: it is already waiting
        for them (a double tap, or "not quite" on a state-law answer, filed with it), or it is
        someone else's (a bystander in a group pressed the asker's button); None to go on."""
        if asked is None:
            return None

        async def read(connection: AsyncConnection) -> Reply | None:
            behind = await record_behind(connection, asked, message)
            if behind is None:
                mine = await asked_by_another(connection, asked, message)
                return TextReply(copy.NOT_YOUR_QUESTION) if mine else None
            text, _, entry_id = behind
            filed_as = (text, text + ANSWERED_WITH.format(entry=entry_id)) if entry_id else (text,)
            for question in filed_as:
                if (reference := await waiting_with(connection, message, question)) is not None:
                    return EscalatedReply(reference, self.settings.response_time,
                                          copy.ALREADY_WITH_STAFF.format(reference=reference))
            return None

        return await self._transaction(read)

    async def _state_law_pick(self, message: Message, question: str, entry: Entry,
                              record: Record) -> list[Reply]:
        """Picked from a list, a state-law answer goes to staff as it would have if the
        question had matched it outright (its text says so), unless that question is
        already waiting for them."""

        async def waiting(connection: AsyncConnection) -> str | None:
            return await waiting_with(connection, message, question)

        if (reference := await self._transaction(waiting)) is not None:
            return [self.answer(entry, 1.0, await self._store(record)),
                    EscalatedReply(reference, self.settings.response_time,
                                   copy.ALREADY_WITH_STAFF.format(reference=reference))]
        filing = await self._file(message, question, Reason.STATE_LAW, list(entry.tags), record)
        return [self.answer(entry, 1.0, filing.context),
                self._escalated(filing, Reason.STATE_LAW)]

    async def _confirm(self, question: str, entry: Entry, source: Confirmation) -> None:
        """A question the asker confirmed an entry answers: a phrasing for staff to consider
        (`tabot kb learn`)."""

        async def write(connection: AsyncConnection) -> bool:
            return await record_confirmed(connection, question, entry, source)

        await self._transaction(write)


def _same_entry(alone: Match, together: Match) -> bool:
    """Whether the question and the question with its context lead to the same entry."""
    return (alone.best is not None and together.best is not None
            and alone.best.entry.id == together.best.entry.id)


# A reply with nothing open to reply to; a number gets NO_CHOICES.
_NOTHING_OPEN = {"staff": copy.STAFF_USAGE, "yes": copy.NOTHING_OPEN, "no": copy.NOTHING_OPEN}


def _hint(prompt: Prompt, word: str) -> TextReply | None:
    """What to say when a typed reply does not fit the open prompt (a number past its
    choices, "yes" to choices), or None when it does."""
    already = TextReply(copy.ALREADY_SENT.format(reference=prompt.reference))
    if word == "staff" and prompt.reference is not None:
        return already
    count = len(prompt.choices)
    if word.isdigit() and not 1 <= int(word) <= count:
        if prompt.offered is Offered.CHOICES:
            return TextReply(copy.CHOOSE_HINT.format(count=count))
        return TextReply(copy.RELATED_HINT.format(count=count) if count else copy.NO_CHOICES)
    if prompt.offered is Offered.SENT:
        return already  # "yes" or "no" to a question that is with staff: where it is
    if prompt.offered is Offered.CHOICES and word == "yes":
        return TextReply(copy.CHOOSE_HINT.format(count=count))
    return None


# A pick among suggestions, or "This helped" on an answer, confirms the question behind it;
# picking a related entry after an answer does not (the question was about the answer).
_CONFIRMS: dict[tuple[ActionKind, str], Confirmation] = {
    (ActionKind.CHOOSE, Outcome.SUGGEST): Confirmation.PICKED,
    # a second pick among the same suggestions: the first changed the record to its answer
    (ActionKind.CHOOSE, Outcome.ANSWER): Confirmation.PICKED,
    (ActionKind.HELPED, Outcome.ANSWER): Confirmation.HELPED,
}
_OPENS = (ActionKind.CHOOSE, ActionKind.RELATED)  # buttons that open an entry
_VERDICTS = (ActionKind.HELPED, ActionKind.NOT_HELPED)  # kept on the answer's own record
_RECORDED_AS: dict[ActionKind, tuple[str, str | None]] = {
    ActionKind.CHOOSE: (Outcome.ANSWER, None),
    ActionKind.RELATED: (SHOWN_RELATED, None),
    ActionKind.HELPED: ("feedback", "helped"),
    ActionKind.NOT_HELPED: ("feedback", "not-helped"),
    ActionKind.MORE: ("feedback", "more"),
}
