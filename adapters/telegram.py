"""Telegram, for staff at rural programs with a phone and a poor connection.

Built on python-telegram-bot's `Application`. Telegram is open to anyone, so only members of
the coalition's programs (who joined with an invite code) and configured staff get answers.
Answers fit a phone: a short first part with a *More* button for the rest and the sources,
never over Telegram's 4,096 characters, with HTML escaped so a user's `<b>` or `*` changes
nothing. An update delivered twice is handled once (the core records its id). Updates come by
long polling, or by a webhook route on the runtime's web server (PTB's custom-webhook pattern:
the route checks the secret token and puts the update on the application's queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hmac
import html
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Self, TypeVar
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram import Message as TelegramMessage
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from adapters.base import ONLY_TEXT, Adapter
from adapters.http import Refusals, Unreadable, read_body, unbroken
from bot.chat.messages import (
    Action,
    ActionKind,
    Actor,
    AnswerReply,
    CategoryReply,
    Delivery,
    EscalatedReply,
    Message,
    NotSent,
    OfferStaffReply,
    Reply,
    ReviewPost,
    StaffAlert,
    StaffNotice,
    SuggestReply,
    TextReply,
    ToAsker,
    TopicsReply,
    TriageUpdate,
    Undeliverable,
    UnsentReplies,
)
from bot.chat.text import split_text
from bot.config import ConfigError
from bot.core import STAFF_COMMANDS, UNANSWERED, WAITING, Core, StaffAction, Unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

LIMIT = 4096
CALLBACK_BYTES = 64  # Telegram's limit on a button's callback data
MAX_CONTEXT = 2**31 - 1  # a reply's context is an interactions row id (a 32-bit column)
SHORT = 600  # the first part of an answer, before "More"
RELATED_BUTTONS = 5  # related entries offered as buttons under an answer
TOPICS_PER_MESSAGE = 40  # entry buttons in one message when browsing a category
COMMANDS = [("start", "join with your program's invite code"), ("help", "what I can do"),
            ("topics", "browse the knowledge base"), ("status", "your questions for staff"),
            ("staff", "ask TA staff directly: /staff your question")]
NOT_A_MEMBER = ("Hello! This assistant is for staff and volunteers of the coalition's member "
                "programs. To join, open the invite link your program gave you, or send "
                "/start followed by your invite code. Your program's director or the "
                "coalition's TA staff can give you one.")
ONLY_STAFF = "Only the coalition's TA staff can do that."
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do."
SEND_TRIES = 3  # a direct reply (crisis hotlines among them) is tried this often on errors
SEND_BACKOFF = 0.5  # seconds before a reply's second try, doubled before its third
FLOOD_WAIT_MAX = 30.0  # seconds: a 429 asking a reply to wait longer gives up rather than hang
SEVERAL_NAMED = ("Not sent: that message names several questions ({references}). Reply to one "
                 "question's own notice, or send /answer {first} followed by your answer.")
_REFERENCE = re.compile(r"\bTA-\d{4,}\b")
_SEEN = re.compile(r"[0-9a-f]{16}")  # an `answer_seen` token, as a notice's Answer button keeps it
_TAG = re.compile(r"<[^>]*>")  # a tag in the HTML the adapter writes (text in it is escaped)
_BOT_ID = re.compile(r"[0-9]+")  # a bot token: the bot's number, a colon, the secret
_SECRET = re.compile(r"[A-Za-z0-9_-]+")
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token
_ACTIONS = {"c": ActionKind.CHOOSE, "r": ActionKind.RELATED, "h": ActionKind.HELPED,
            "n": ActionKind.NOT_HELPED, "s": ActionKind.SEND_TO_STAFF, "m": ActionKind.MORE}


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    api_url: str
    webhook_url: str | None
    webhook_secret: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TelegramConfig:
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN must be set to run the Telegram adapter; "
                              "BotFather gives it to you (see 'Setting up Telegram')")
        if problem := _token_problem(token):
            raise ConfigError(f"TELEGRAM_BOT_TOKEN must be the bot's number, a colon and its "
                              f"secret, as in 123456789:AAF1-x_...; this one {problem} (copy "
                              f"it again from BotFather: /mybots > API Token)")
        webhook = env.get("TELEGRAM_WEBHOOK_URL", "").strip() or None
        secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
        if webhook and (problem := _webhook_problem(webhook, secret)):
            raise ConfigError(problem)
        return cls(token=token,
                   api_url=env.get("TELEGRAM_API_URL", "").strip()
                   or "https://api.telegram.org/bot",
                   webhook_url=webhook, webhook_secret=secret)

    @property
    def webhook_path(self) -> str:
        """The route on tabot's web server: the path of the public webhook URL."""
        return urlsplit(self.webhook_url or "").path or "/telegram"


def _webhook_problem(url: str, secret: str | None) -> str | None:
    """What Telegram's setWebhook would refuse, said at start rather than as a 400 from
    setWebhook after the bot has connected; None if nothing. The secret is never repeated."""
    if not secret:
        return ("TELEGRAM_WEBHOOK_SECRET must be set with TELEGRAM_WEBHOOK_URL, so only "
                "Telegram can post updates (1-256 of A-Z a-z 0-9 _ -)")
    if not _WEBHOOK_SECRET.fullmatch(secret):
        return ("TELEGRAM_WEBHOOK_SECRET must be 1-256 of A-Z a-z 0-9 _ - (Telegram refuses "
                "anything else); this one is longer or has another character")
    if not url.lower().startswith("https://"):
        return ("TELEGRAM_WEBHOOK_URL must start with https:// (Telegram posts updates only "
                "over HTTPS), as in https://YOUR-HOST/telegram")
    return None


def _token_problem(token: str) -> str | None:
    """What is wrong with the form of a bot token, without repeating the secret; None if
    nothing. Lenient on lengths: Telegram has not promised them."""
    bot_id, colon, secret = token.partition(":")
    if not colon:
        return "has no colon"
    if not _BOT_ID.fullmatch(bot_id):
        return "does not start with the bot's number"
    if not secret:
        return "has nothing after the colon"
    if not _SECRET.fullmatch(secret):
        return "has a space or a character other than letters, digits, _ and - after the colon"
    return None


def _keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label[:60], callback_data=data)
                                  for label, data in row] for row in rows])


def _data(kind: str, context: int | None, value: str = "") -> str:
    """Callback data: a kind, the reply's context and an entry id, category or reference.

    Within Telegram's 64 bytes by construction: a kind is two letters at most, a context a row
    id (ten digits), and an entry id at most 40 ASCII characters (the knowledge schema says
    so; categories and references are shorter). Data over the limit is a bug, raised here
    rather than cut: cut data would name another entry, or none."""
    data = f"{kind}|{'' if context is None else context}|{value}"
    if len(data.encode()) > CALLBACK_BYTES:
        raise ValueError(f"callback data over {CALLBACK_BYTES} bytes: {data!r}")
    return data


def _parse(data: str) -> tuple[str, int | None, str]:
    """The parts of callback data; a client can send any data, so a context that is not a row
    id (not ASCII digits, or past the column) is none."""
    kind, _, rest = data.partition("|")
    context, _, value = rest.partition("|")
    row = int(context) if context.isascii() and context.isdigit() and len(context) <= 10 else 0
    return kind, row if 0 < row <= MAX_CONTEXT else None, value


def render(reply: Reply) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """(HTML text, keyboard) messages for one reply, each within Telegram's limit."""
    match reply:
        case AnswerReply(full=True):
            pieces = full_answer(reply)
            related = _keyboard(_related_rows(reply)) if reply.related else None
            return [(piece, related if i == len(pieces) - 1 else None)
                    for i, piece in enumerate(pieces)]
        case AnswerReply():
            return [_short_answer(reply)]
        case SuggestReply():
            rows = [[(c.title, _data("c", reply.context, c.entry_id))] for c in reply.choices]
            rows.append([("Ask TA staff", _data("s", reply.context))])
            return [(html.escape(reply.text), _keyboard(rows))]
        case OfferStaffReply():
            return [(html.escape(reply.text),
                     _keyboard([[("Send to TA staff", _data("s", reply.context))]]))]
        case TopicsReply():
            rows = [[(category.replace("-", " ").title() + f" ({len(choices)})",
                      _data("t", None, category))]
                    for category, choices in reply.categories.items()]
            return [("Pick a category:", _keyboard(rows))]
        case CategoryReply():
            return _topic_lists(reply)
        case EscalatedReply() | TextReply():
            return [(piece, None) for piece in _escaped(reply.text)]
    raise TypeError(f"cannot render {type(reply).__name__}")


def _escaped(text: str, limit: int = LIMIT) -> list[str]:
    """`text` split for Telegram, then escaped: Telegram counts its limit on the text the HTML
    shows, and a piece split after escaping could be cut inside an entity ("&am" for "&amp;",
    shown as typed)."""
    return [html.escape(piece) for piece in split_text(text, limit)]


def _shown(text: str) -> int:
    """The length of HTML as Telegram counts it against its limit: tags and entities parsed."""
    return len(html.unescape(_TAG.sub("", text)))


def _in_reply_to(to: Message) -> ReplyParameters | None:
    """In a group, a reply quotes the question it answers; if the asker has deleted that
    message meanwhile (a staff answer can come days later), it is sent all the same, instead
    of refused and retried for ever."""
    if not to.thread_id:
        return None
    return ReplyParameters(int(to.thread_id), allow_sending_without_reply=True)


def _topic_lists(reply: CategoryReply) -> list[tuple[str, InlineKeyboardMarkup]]:
    """Every entry of a category, as buttons: a keyboard of more than about a hundred buttons
    is refused, so a long category comes as several messages."""
    name, total = html.escape(reply.category.replace("-", " ").title()), len(reply.choices)
    pieces = []
    for start in range(0, total, TOPICS_PER_MESSAGE):
        part = reply.choices[start:start + TOPICS_PER_MESSAGE]
        shown = f"{start + 1}–{start + len(part)} of {total}"
        rows = [[(c.title, _data("c", None, c.entry_id))] for c in part]
        pieces.append((f"{name} ({shown}):" if total > TOPICS_PER_MESSAGE else f"{name}:",
                       _keyboard(rows)))
    return pieces


def _short_answer(reply: AnswerReply) -> tuple[str, InlineKeyboardMarkup]:
    first = split_text(reply.answer, SHORT)[0]
    more = len(first) < len(reply.answer.strip())
    text = f"<b>{html.escape(reply.title)}</b>\n\n{html.escape(first)}" + ("…" if more else "")
    rows = [[("More" if more else "Sources", _data("m", reply.context, reply.entry_id))],
            [("This helped", _data("h", reply.context, reply.entry_id)),
             ("Not quite", _data("n", reply.context, reply.entry_id))]]
    return text, _keyboard(rows + _related_rows(reply))


def _related_rows(reply: AnswerReply) -> list[list[tuple[str, str]]]:
    """Related entries as buttons that open them, with the answer's context
    ("r|context|entry", within 64 bytes like a chosen suggestion's data)."""
    return [[("Related: " + c.title, _data("r", reply.context, c.entry_id))]
            for c in reply.related[:RELATED_BUTTONS]]


def full_answer(reply: AnswerReply) -> list[str]:
    """The whole answer with sources, split for Telegram. The answer is split before it is
    escaped, and the title, each source and the disclaimer are kept whole: a cut inside an
    entity shows it garbled, and one inside a tag gets the part refused."""
    title = f"<b>{html.escape(reply.title)}</b>"
    answer = _escaped(reply.answer, LIMIT - len(reply.title) - 2)
    pieces = [f"{title}\n\n{answer[0]}" if answer else title, *answer[1:]]
    for gap, block in _after_answer(reply):
        if _shown(pieces[-1]) + len(gap) + _shown(block) <= LIMIT:
            pieces[-1] += gap + block
        else:
            pieces.append(block)
    return pieces


def _after_answer(reply: AnswerReply) -> list[tuple[str, str]]:
    """What follows a full answer, in blocks never cut, each with what goes before it: the
    sources, then the disclaimer."""
    sources = [("\n", f'• <a href="{html.escape(s.url, quote=True)}">{html.escape(s.title)}</a>'
                if s.url else f"• {html.escape(s.title)}") for s in reply.sources]
    blocks = [("\n\n", "<b>Sources</b>"), *sources]
    if reply.disclaimer:
        blocks.append(("\n\n", f"<i>{html.escape(reply.disclaimer)}</i>"))
    return blocks


def _answer_value(reference: str, seen: str) -> str:
    """The Answer button's value: the reference, and the answer the question had when the
    notice went out, unless it had none ("ta||TA-0042|<token>", 28 bytes for a four-digit
    reference; a reopened question keeps its earlier answer, which a reply is meant to replace)."""
    return reference if seen == UNANSWERED else f"{reference}|{seen}"


def _answer_button(reference: str, seen: str) -> tuple[str, str]:
    """The Answer button of a notice, and of the prompts its buttons bring: it carries the
    answer the notice went out over, which a reply to any of them is checked against."""
    return "Answer", _data("ta", None, _answer_value(reference, seen))


def _answer_target(value: str) -> tuple[str, str]:
    """An Answer button's question and the answer it was sent over. A button with no token (a
    new question, or a notice from before tokens) was sent before any answer."""
    reference, _, seen = value.partition("|")
    return reference, seen if _SEEN.fullmatch(seen) else UNANSWERED


def _notice(message: TelegramMessage | None) -> tuple[str, str] | None:
    """For a notice or a prompt its buttons brought (known by the Answer button), its
    question's reference and the answer the notice was sent over, so a reply after someone
    else has answered is refused rather than sent as a correction nobody meant; None for any
    other message, where a reply is a deliberate correction. The reference comes from the
    button: the notice's text quotes the asker, who may name another question."""
    markup = getattr(message, "reply_markup", None)  # a message too old to read has none
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            kind, _, value = _parse(str(button.callback_data or ""))
            if kind == "ta":
                return _answer_target(value)
    return None


def refused_for_good(error: Exception, who: str) -> str | None:
    """Why Telegram will never take a message for `who` ("the asker", "a staff member"), or
    None if a later try may get it through. Only 403s (blocked, deleted account, removed from
    the group) and a chat that is gone are certain; a 400 is otherwise a bug to fix, and the
    network, server errors and flood control pass, as does a group upgraded to a supergroup
    (its new id is followed)."""
    said = str(error).lower()
    if isinstance(error, Forbidden):
        if "blocked" in said:
            return f"{who} has blocked the bot"
        if "deactivated" in said:
            return f"the Telegram account of {who} was deleted"
        if "kicked" in said or "not a member" in said:
            return "the bot was removed from the Telegram chat"
        return f"Telegram does not let the bot write to {who}"
    if isinstance(error, BadRequest) and "chat not found" in said:
        return "the Telegram chat no longer exists"
    return None  # ChatMigrated included: what waits follows the group (`_follow_migration`)


def _failure(failures: list[Exception], who: str) -> Exception:
    """What a send that failed raises: the first failure a retry may get past, or, when every
    one was a refusal for good, `Undeliverable` with the first one's reason."""
    reasons = [refused_for_good(failure, who) for failure in failures]
    for failure, reason in zip(failures, reasons, strict=True):
        if reason is None:
            return failure
    given_up = Undeliverable(reasons[0])
    given_up.__cause__ = failures[0]
    return given_up


async def _with_backoff(call: Callable[[], Awaitable[T]], what: str, tries: int | None = None,
                        delay: float = 1.0) -> T:
    """`call()`, tried again after a network error or a Telegram server error (5xx), waiting
    twice as long each time (up to a minute), or after flood control (a 429), waiting what it
    asks (a counted call gives up if that is over FLOOD_WAIT_MAX): `tries` times in all, or
    until it goes when None. Startup must outlast a short outage rather than die with a
    traceback; a reply to someone waiting (a crisis hotline) must survive a blip. A 400
    (`BadRequest`, a kind of `NetworkError` in PTB) would fail again: it is raised at once."""
    attempt = 1
    while True:
        try:
            return await call()
        except BadRequest:
            raise
        except (NetworkError, RetryAfter) as exc:
            wait = _flood_wait(exc) if isinstance(exc, RetryAfter) else delay
            if tries is not None and (attempt >= tries or wait > FLOOD_WAIT_MAX):
                raise
            log.warning("Telegram: %s failed (%s); retrying in %.1f s", what,
                        type(exc).__name__, wait)
            await asyncio.sleep(wait)
            delay, attempt = min(delay * 2, 60), attempt + 1


def _flood_wait(error: RetryAfter) -> float:
    """Seconds flood control (a 429) asks this one call to wait: only this call waits, not
    every chat's replies, as a shared limiter would make them."""
    wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)


@dataclass(frozen=True)
class Admitted:
    """A member or staff member; `program` is None for staff with no member program."""

    program: str | None


class TelegramAdapter(Adapter):
    name = "telegram"
    user_id_form = re.compile(r"[0-9]+")
    user_id_hint = ("the person's numeric Telegram user id (e.g. telegram:123456789), not their "
                    "@username: they can get it from a bot such as @userinfobot")

    def __init__(self, core: Core, config: TelegramConfig) -> None:
        super().__init__(core)
        self.config = config
        self.application: Application = (
            ApplicationBuilder().token(config.token).base_url(config.api_url)
            .base_file_url(config.api_url.replace("/bot", "/file/bot")).build())
        self._refusals = Refusals(self.name)
        self._register()

    @classmethod
    def configured(cls, env: Mapping[str, str]) -> bool:
        return bool(env.get("TELEGRAM_BOT_TOKEN", "").strip())

    @classmethod
    def from_env(cls, core: Core, env: Mapping[str, str]) -> Self:
        return cls(core, TelegramConfig.from_env(env))

    # --- receiving -------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.application
        app.add_handler(TypeHandler(Update, self._once), group=-1)
        app.add_handler(CommandHandler("start", self._on_start))
        app.add_handler(CommandHandler(["help", "topics", "status", "staff", "console",
                                        *sorted(STAFF_COMMANDS)],
                                       self._on_command))  # console, staff: the core says who may
        app.add_handler(CallbackQueryHandler(self._on_button))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self._on_text))
        app.add_handler(MessageHandler(filters.COMMAND, self._on_unknown_command))
        app.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL,
                                       self._on_non_text))
        app.add_error_handler(self._on_error)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An update a handler failed on: one line, never a traceback (see `Refusals`); anyone
        can write to a bot, so a malformed update must not be a way to fill the log."""
        if context.error is not None:
            self._refusals.failed(context.error, "a Telegram update")

    async def _once(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Polling after a restart or a webhook retry can bring an update twice; an update
        with no person or no message (a channel post, a member change) has no one to answer.
        An edited message comes as a new update, and the filters of text and command handlers
        let it through: handled, it would answer or file the question again (or relay a staff
        answer twice), so it is passed over."""
        if update.effective_user is None or update.effective_message is None:
            raise ApplicationHandlerStop
        if update.edited_message is not None:
            raise ApplicationHandlerStop  # an edit is not a new question, nor a second answer
        if not await self.core.first_time(self.name, str(update.update_id)):
            raise ApplicationHandlerStop

    @contextlib.asynccontextmanager
    async def _working(self, message: TelegramMessage | None) -> AsyncIterator[None]:
        """One update's work: counted in flight; a database that is down is told in the chat."""
        async with self.core.working():
            try:
                yield
            except Unavailable as exc:
                if message is not None:
                    await message.reply_text(str(exc))

    def _actor(self, update: Update) -> Actor:
        return Actor(self.name, str(update.effective_user.id))

    async def _admit(self, message: TelegramMessage, actor: Actor,
                     said: str | None = None) -> Admitted | None:
        """Members and staff are let in, with their program; anyone else is told how to join.

        Staff need no membership, so they are let in without asking the database. What a
        person `said`, if they are not let in or the database cannot say, still gets the
        hotlines if it reads as danger."""
        if self.core.is_staff(actor):
            return Admitted(None)
        try:
            program = await self.core.program_of(actor)
        except Unavailable:
            await self._hotlines(message, actor, said)
            raise
        if program is not None:
            return Admitted(program)
        await self._hotlines(message, actor, said)
        if message.chat.type == ChatType.PRIVATE:
            await message.reply_text(NOT_A_MEMBER)
        return None

    async def _hotlines(self, message: TelegramMessage, actor: Actor, said: str | None) -> None:
        if said:
            await self.hotlines_if_in_danger(self._as_message(message, actor, said))

    def _as_message(self, message: TelegramMessage, actor: Actor, text: str,
                    program: str | None = None, action: Action | None = None) -> Message:
        """The core's message for a Telegram one; in a group, replies quote it."""
        group = message.chat.type != ChatType.PRIVATE
        return Message(self.name, actor.user_id, str(message.chat.id), text,
                       thread_id=str(message.message_id) if group else None,
                       program=program, action=action)

    async def _on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, actor = update.effective_message, self._actor(update)
        async with self._working(message):
            if context.args:
                _, text = await self.core.join(actor, context.args[0])
                await message.reply_text(text)
            elif admitted := await self._admit(message, actor):
                await self._ask(update, admitted, "help")

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        async with self._working(message):
            if not (admitted := await self._admit(message, self._actor(update),
                                                  message.text)):
                return
            head, *after = message.text.split(None, 1)  # context.args would lose line breaks
            command = head.lstrip("/").split("@")[0].casefold()
            rest = after[0] if after else ""
            await self._ask(update, admitted, f"/{command} {rest}".strip()
                            if command in {"staff", *STAFF_COMMANDS} else command)

    async def _on_unknown_command(self, update: Update,
                                  context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command the bot does not have gets a pointer to /help rather than silence. In a
        group only one addressed to this bot (/cmd@thisbot): a bare /cmd may be another
        bot's."""
        message = update.effective_message
        command = (message.text or "").split()[0]
        if (message.chat.type != ChatType.PRIVATE
                and not command.endswith(f"@{context.bot.username}")):
            return
        async with self._working(message):
            if await self._admit(message, self._actor(update)):
                await message.reply_text(UNKNOWN_COMMAND)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, actor = update.effective_message, self._actor(update)
        text = message.text or ""
        if message.chat.type != ChatType.PRIVATE:
            if not self._addressed_to_me(message):
                return
            text = text.replace(f"@{context.bot.username}", " ")
        async with self._working(message):
            if not (admitted := await self._admit(message, actor, text)):
                return
            if self.core.is_staff(actor) and await self._staff_reply(message, actor, text):
                return
            await self._ask(update, admitted, text)

    def _from_me(self, message: TelegramMessage | None) -> bool:
        """Whether `message` is one the bot sent."""
        sender = message.from_user if message is not None else None
        return sender is not None and sender.id == self.application.bot.id

    def _addressed_to_me(self, message: TelegramMessage) -> bool:
        bot = self.application.bot
        if self._from_me(message.reply_to_message):
            return True
        return any(value == f"@{bot.username}"
                   for entity, value in message.parse_entities(["mention"]).items()
                   if entity.type == "mention")

    async def _staff_reply(self, message: TelegramMessage, actor: Actor, text: str) -> bool:
        """A staff member's reply to a triage message is the answer to that escalation. A
        message naming several (the queue list) says nothing about which one is meant, and
        guessing could answer a crisis question with an answer meant for another.

        Only in the staff member's private chat with the bot, where notices, refusals and
        "Sent to the asker" go: in a group, the bot's message naming a question is the
        asker's acknowledgement, and a reply to it is talk, not an answer to send."""
        replied = message.reply_to_message
        if message.chat.type != ChatType.PRIVATE or not self._from_me(replied):
            return False
        notice = _notice(replied)
        named = ([notice[0]] if notice
                 else list(dict.fromkeys(_REFERENCE.findall(replied.text or ""))))
        if not named:
            return False
        if len(named) > 1:
            shown = ", ".join(named[:3]) + (", …" if len(named) > 3 else "")
            await message.reply_text(SEVERAL_NAMED.format(references=shown, first=named[0]))
            return True
        seen = notice[1] if notice else None
        result = await self.core.staff_act(actor, StaffAction.ANSWER, named[0], text, seen=seen)
        await message.reply_text(f"Sent to the asker of {named[0]}." if result.done
                                 else result.text)
        return True

    async def _on_non_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.chat.type == ChatType.PRIVATE:
            await message.reply_text(ONLY_TEXT)

    async def _ask(self, update: Update, admitted: Admitted, text: str,
                   action: Action | None = None) -> None:
        message, actor = update.effective_message, self._actor(update)
        await self.dispatch(self._as_message(message, actor, text, admitted.program, action))

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        with contextlib.suppress(TelegramError):
            await query.answer()  # stops the spinner; refused for a press queued while down
        actor = self._actor(update)
        async with self._working(query.message):
            if not (admitted := await self._admit(query.message, actor)):
                return
            kind, context_id, value = _parse(query.data or "")
            if kind in {"tc", "ta"}:
                await self._staff_button(query.message, actor, kind, value)
            elif kind == "t":
                await self._ask(update, admitted, "", Action(ActionKind.BROWSE, category=value))
            elif kind in _ACTIONS:
                await self._ask(update, admitted, "",
                                Action(_ACTIONS[kind], value or None, context_id))

    async def _staff_button(self, message: TelegramMessage, actor: Actor, kind: str,
                            value: str) -> None:
        """Claim or Answer on a notice. The prompt either brings carries the notice's Answer
        button: staff reply to the prompt as readily as to the notice, and the reply must be
        checked against the answer the notice went out over, or one sent after someone else
        answered (in the console, say) would reach the asker as a second answer."""
        if not self.core.is_staff(actor):
            await message.reply_text(ONLY_STAFF)
            return
        reference, seen = _answer_target(value) if kind == "ta" else self._claimed(message, value)
        answer = _keyboard([[_answer_button(reference, seen)]])
        if kind == "ta":
            await message.reply_text(f"Reply to the message about {reference} with your "
                                     "answer, and I'll send it to the asker.", reply_markup=answer)
            return
        result = await self.core.staff_act(actor, StaffAction.CLAIM, reference)
        await message.reply_text(f"{reference} is yours. Reply to its message with the answer."
                                 if result.done else result.text,
                                 reply_markup=answer if result.done else None)

    @staticmethod
    def _claimed(message: TelegramMessage, reference: str) -> tuple[str, str]:
        """The question a Claim button names, and the answer its notice went out over (as the
        notice's Answer button keeps it); a press from anything else counts as before any
        answer, so a reply to the prompt is refused if there is one by then."""
        notice = _notice(message)
        return reference, notice[1] if notice and notice[0] == reference else UNANSWERED

    # --- sending ---------------------------------------------------------------------------

    async def send(self, to: Message, replies: list[Reply]) -> None:
        """The replies to a message, each part tried again on a network or server error (a
        429 is waited out for that reply alone). Replies stop at the first that fails, so
        none arrive out of order; the rest are `NotSent`, kept and sent later, unless
        Telegram refused them for good (the asker blocked the bot)."""
        for sent, reply in enumerate(replies):
            try:
                for part in self._reply_parts(to, reply):
                    await _with_backoff(part, "a reply", tries=SEND_TRIES, delay=SEND_BACKOFF)
            except TelegramError as exc:  # never the text: it may be a survivor's words
                if isinstance(exc, BadRequest) and refused_for_good(exc, "") is None:
                    log.error("Telegram refused a reply (%s); it is not kept, since it would "
                              "be refused again, and the replies after it go on",
                              type(exc).__name__)
                    continue
                if (reason := refused_for_good(exc, "the asker")) is None:
                    await self._follow_migration(exc, to.conversation_id)
                    raise NotSent(sent, type(exc).__name__) from exc
                log.warning("Telegram: the asker did not get a reply: %s", reason)
                return

    def _reply_parts(self, to: Message, reply: Reply) -> list[Callable[[], Awaitable[object]]]:
        """One send per message a reply takes on Telegram (a long category takes several)."""
        return [functools.partial(
            self.application.bot.send_message, chat_id=int(to.conversation_id), text=text,
            parse_mode=ParseMode.HTML, reply_markup=keyboard, disable_web_page_preview=True,
            reply_parameters=_in_reply_to(to)) for text, keyboard in render(reply)]

    async def deliver(self, delivery: Delivery) -> None:
        """Send one outbox message; a group upgraded to a supergroup meanwhile is followed,
        and the message retried there."""
        try:
            await self._deliver(delivery)
        except ChatMigrated as moved:
            if isinstance(delivery, ToAsker | UnsentReplies):
                await self._follow_migration(moved, delivery.to.conversation_id)
            raise

    async def _follow_migration(self, error: TelegramError, chat: str) -> None:
        """Telegram gives a group upgraded to a supergroup a new id and refuses the old one:
        the core moves what waits for it (this message included, retried shortly)."""
        if isinstance(error, ChatMigrated):
            await self.core.chat_moved(self.name, chat, str(error.new_chat_id))

    async def _deliver(self, delivery: Delivery) -> None:
        match delivery:
            case StaffNotice():
                seen = await self._seen_now(delivery.reference)
                await self._notify_staff(delivery, delivery.text, _keyboard([[
                    ("Claim", _data("tc", None, delivery.reference)),
                    _answer_button(delivery.reference, seen)]]))
            case ReviewPost() | StaffAlert():
                await self._notify_staff(delivery, delivery.text, None)
            case TriageUpdate():
                pass  # Telegram staff work from their own messages; Slack posts are updated
            case UnsentReplies():
                to = Message(self.name, delivery.to.user_id, delivery.to.conversation_id,
                             thread_id=delivery.to.thread_id)
                await self._once_each(delivery, {
                    f"{n}.{m}": part for n, reply in enumerate(delivery.replies)
                    for m, part in enumerate(self._reply_parts(to, reply))})
            case ToAsker():
                to = delivery.to
                await self._once_each(delivery, {str(n): functools.partial(
                    self.application.bot.send_message, chat_id=int(to.conversation_id),
                    text=piece, parse_mode=ParseMode.HTML, reply_parameters=_in_reply_to(to))
                    for n, piece in enumerate(_escaped(delivery.text))})

    async def _seen_now(self, reference: str) -> str:
        """The answer a notice goes out over, for a reply to it to be checked against: a
        waiting question's answer (none if new, the earlier one if reopened). A question
        answered or closed before the notice goes out, or one that cannot be looked up now
        (the notice must not wait for that), counts as unanswered, so a reply is refused if it
        has an answer by then."""
        with contextlib.suppress(Unavailable):
            view = await self.core.escalation(reference)
            if view is not None and view.state in WAITING:
                return view.answer_seen
        return UNANSWERED

    async def _notify_staff(self, delivery: Delivery, text: str,
                            keyboard: InlineKeyboardMarkup | None) -> None:
        """Each Telegram staff member gets new questions with Claim / Answer buttons. A long
        notice is cut before it is escaped, as Telegram counts its limit on the text shown:
        cut after, it would end in a garbled entity ("&am") at a fraction of the length."""
        await self._once_each(delivery, {staff_id: functools.partial(
            self.application.bot.send_message, chat_id=int(staff_id),
            text=html.escape(text[:LIMIT]), parse_mode=ParseMode.HTML, reply_markup=keyboard)
            for staff_id in sorted(self.core.staff_on(self.name))
            if staff_id.lstrip("-").isdigit()}, in_order=False)

    async def _once_each(self, delivery: Delivery,
                         sends: dict[str, Callable[[], Awaitable[object]]],
                         in_order: bool = True) -> None:
        """Send the platform messages one outbox message needs (the parts of a long answer,
        one per staff member). A retry after a failure part-way skips those already sent: the
        Bot API cannot be asked what a bot sent, so each is remembered once it has gone.

        Parts stop at the first failure, so they never arrive out of order; messages that
        stand alone (one per staff member) go on, so one person who blocked the bot does not
        hold back everyone else. Either way the failure is raised and the row retried, unless
        every failure was a refusal for good (`Undeliverable`): then it is given up."""
        who = "the asker" if isinstance(delivery, ToAsker | UnsentReplies) else "a staff member"
        failures: list[Exception] = []
        for piece, send in sends.items():
            key = f"outbox:{delivery.id}:{piece}"
            if delivery.maybe_sent and await self.core.sent_before(self.name, key):
                continue
            try:
                await send()
            except Exception as exc:  # the platform refused or dropped it
                failures.append(exc)
                if in_order:
                    break
                continue
            await self.core.mark_sent(self.name, key)
        if failures:
            raise _failure(failures, who)

    # --- running ---------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        if not self.config.webhook_url:
            return []
        return [Route(self.config.webhook_path, self._on_webhook, methods=["POST"])]

    async def _on_webhook(self, request: Request) -> Response:
        """Telegram's POST: the secret first, then the size, then the JSON; queued for the
        application and acknowledged."""
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(secret.encode("utf-8", "replace"),
                                   (self.config.webhook_secret or "").encode()):
            return self._refusals.refuse(403, "wrong secret token")
        if self.stopped.is_set():
            return Response(status_code=503)  # Telegram retries it after the restart
        try:
            data = unbroken(json.loads(await read_body(request)))
            update = Update.de_json(data, self.application.bot)
        except Unreadable as refused:
            return self._refusals.refuse(refused.status, refused.reason)
        except Exception:  # PTB indexes what it is given, so a bad shape raises anything
            return self._refusals.refuse(400, "not a Telegram update")
        if not isinstance(update, Update):
            return self._refusals.refuse(400, "not a Telegram update")
        await self.application.update_queue.put(update)
        return Response()

    async def start(self) -> None:
        """Connect, retrying a lost connection with backoff; a rejected token is an error."""
        bot = self.application.bot
        await self._initialize()
        await _with_backoff(functools.partial(
            bot.set_my_commands, [BotCommand(n, d) for n, d in COMMANDS]), "setMyCommands")
        await self.application.start()
        if self.config.webhook_url:
            await _with_backoff(functools.partial(
                bot.set_webhook, url=self.config.webhook_url,
                secret_token=self.config.webhook_secret), "setWebhook")
        else:  # bootstrap_retries=-1: PTB retries its deleteWebhook until it goes
            await self.application.updater.start_polling(
                timeout=30, bootstrap_retries=-1, error_callback=self._polling_error)
        log.warning("Telegram adapter running (%s)",
                    "webhook" if self.config.webhook_url else "long polling")

    async def _initialize(self) -> None:
        try:
            await _with_backoff(self.application.initialize, "connecting (getMe)")
        except InvalidToken:
            raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN; copy it again from "
                              "BotFather (/mybots → API Token)") from None

    @staticmethod
    def _polling_error(error: TelegramError) -> None:
        log.warning("Telegram polling error (%s); retrying", type(error).__name__)

    async def stop(self) -> None:
        """Stop fetching updates; the application handles those already queued, then stops."""
        await super().stop()
        if self.application.updater and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()

    async def close(self) -> None:
        await self.application.shutdown()


ADAPTER = TelegramAdapter
