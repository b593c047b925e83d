"""Telegram, for staff at rural programs with a phone and a poor connection.

Built on python-telegram-bot's `Application`. Telegram is open to anyone, so only members of
the coalition's programs (who joined with an invite code) and configured staff get answers.
Answers fit a phone: a short first part with a *More* button for the rest and the sources,
never over Telegram's 4,096 characters, with HTML escaped so a user's `<b>` or `*` changes
nothing. An update delivered twice is handled once (its id is recorded by the core).
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram import Message as TelegramMessage
from telegram.constants import ChatType, ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
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

from adapters.base import Adapter
from bot.chat.conversation import Conversation
from bot.chat.messages import (
    Action,
    ActionKind,
    AnswerReply,
    EscalatedReply,
    Message,
    OfferStaffReply,
    Reply,
    SuggestReply,
    TextReply,
    TopicsReply,
)
from bot.chat.text import split_text
from bot.config import ConfigError
from bot.triage import members
from bot.triage.members import MembershipError
from bot.triage.outbox import Delivery
from bot.triage.workflow import Actor, TriageError

log = logging.getLogger(__name__)

LIMIT = 4096
SHORT = 600  # the first part of an answer, before "More"
COMMANDS = [("start", "join with your program's invite code"), ("help", "what I can do"),
            ("topics", "browse the knowledge base"), ("status", "your questions for staff"),
            ("staff", "ask TA staff directly: /staff your question")]
NOT_A_MEMBER = ("Hello! This assistant is for staff and volunteers of the coalition's member "
                "programs. To join, open the invite link your program gave you, or send "
                "/start followed by your invite code. Your program's director or the "
                "coalition's TA staff can give you one.")
ONLY_TEXT = ("I can only read text. Please type your question; photos, voice messages, "
             "stickers, files and locations are not kept.")
_REFERENCE = re.compile(r"\bTA-\d{4,}\b")


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    api_url: str
    webhook_url: str | None
    webhook_secret: str | None
    port: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TelegramConfig:
        env = os.environ if env is None else env
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN must be set to run the Telegram adapter; "
                              "BotFather gives it to you (see 'Setting up Telegram')")
        port = env.get("PORT", "8443")
        if not port.isdigit():
            raise ConfigError(f"PORT must be a port number, got {port!r}")
        webhook = env.get("TELEGRAM_WEBHOOK_URL", "").strip() or None
        secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
        if webhook and not secret:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be set with TELEGRAM_WEBHOOK_URL, "
                              "so only Telegram can post updates (1-256 of A-Z a-z 0-9 _ -)")
        return cls(token=token,
                   api_url=env.get("TELEGRAM_API_URL", "").strip()
                   or "https://api.telegram.org/bot",
                   webhook_url=webhook, webhook_secret=secret, port=int(port))


def _keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label[:60], callback_data=data[:64])
                                  for label, data in row] for row in rows])


def render(reply: Reply) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """(HTML text, keyboard) messages for one reply, each within Telegram's limit."""
    match reply:
        case AnswerReply():
            return [_short_answer(reply)]
        case SuggestReply():
            rows = [[(c.title, f"c|{c.entry_id}")] for c in reply.choices]
            rows.append([("Ask TA staff", "s")])
            return [(html.escape(reply.text), _keyboard(rows))]
        case OfferStaffReply():
            return [(html.escape(reply.text), _keyboard([[("Send to TA staff", "s")]]))]
        case TopicsReply():
            rows = [[(category.replace("-", " ").title() + f" ({len(choices)})",
                      f"t|{category}")] for category, choices in reply.categories.items()]
            return [("Pick a category:", _keyboard(rows))]
        case EscalatedReply() | TextReply():
            return [(piece, None) for piece in split_text(html.escape(reply.text), LIMIT)]
    raise TypeError(f"cannot render {type(reply).__name__}")


def _short_answer(reply: AnswerReply) -> tuple[str, InlineKeyboardMarkup]:
    first = split_text(reply.answer, SHORT)[0]
    more = len(first) < len(reply.answer.strip())
    text = f"<b>{html.escape(reply.title)}</b>\n\n{html.escape(first)}" + ("…" if more else "")
    rows = [[("More", f"m|{reply.entry_id}")]] if more else [[("Sources", f"m|{reply.entry_id}")]]
    rows.append([("This helped", f"h|{reply.entry_id}"),
                 ("Not quite", f"n|{reply.entry_id}")])
    return text, _keyboard(rows)


def full_answer(reply: AnswerReply) -> list[str]:
    """The whole answer with sources, split for Telegram."""
    sources = "\n".join(
        f'• <a href="{html.escape(s.url, quote=True)}">{html.escape(s.title)}</a>' if s.url
        else f"• {html.escape(s.title)}" for s in reply.sources)
    body = (f"<b>{html.escape(reply.title)}</b>\n\n{html.escape(reply.answer)}\n\n"
            f"<b>Sources</b>\n{sources}")
    if reply.disclaimer:
        body += f"\n\n<i>{html.escape(reply.disclaimer)}</i>"
    return split_text(body, LIMIT)


class TelegramAdapter(Adapter):
    name = "telegram"

    def __init__(self, assistant: Conversation, config: TelegramConfig) -> None:
        super().__init__(assistant)
        self.config = config
        self.application: Application = (
            ApplicationBuilder().token(config.token).base_url(config.api_url)
            .base_file_url(config.api_url.replace("/bot", "/file/bot")).build())
        self._questions: OrderedDict[tuple[int, int], str] = OrderedDict()
        self._register()

    # --- receiving -------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.application
        app.add_handler(TypeHandler(Update, self._once), group=-1)
        app.add_handler(CommandHandler("start", self._on_start))
        app.add_handler(CommandHandler(["help", "topics", "status", "staff"], self._on_command))
        app.add_handler(CallbackQueryHandler(self._on_button))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self._on_text))
        app.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL,
                                       self._on_non_text))

    async def _once(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Polling after a restart or a webhook retry can bring an update twice."""
        if not await self.assistant.first_time(self.name, str(update.update_id)):
            raise ApplicationHandlerStop

    async def _program(self, user_id: str) -> str | None:
        return await members.program_of(self.assistant.db, self.name, user_id)

    def _is_staff(self, user_id: str) -> bool:
        return self.assistant.triage.is_staff(Actor(self.name, user_id))

    async def _allowed(self, message: TelegramMessage, user_id: str) -> bool:
        if self._is_staff(user_id) or await self._program(user_id):
            return True
        if message.chat.type == ChatType.PRIVATE:
            await message.reply_text(NOT_A_MEMBER)
        return False

    async def _on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, str(update.effective_user.id)
        if context.args:
            try:
                program = await members.join(self.assistant.db, self.name, user, context.args[0])
            except MembershipError as exc:
                await message.reply_text(str(exc))
                return
            await message.reply_text(f"Welcome! You're registered with {program}. Ask me a "
                                     "question any time, or send /help.")
            return
        if await self._allowed(message, user):
            await self._ask(update, "help")

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if not await self._allowed(message, str(update.effective_user.id)):
            return
        command = message.text.split()[0].lstrip("/").split("@")[0]
        rest = " ".join(context.args or [])
        await self._ask(update, f"/{command} {rest}".strip() if command == "staff" else command)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, str(update.effective_user.id)
        text = message.text or ""
        if message.chat.type != ChatType.PRIVATE:
            if not self._addressed_to_me(message):
                return
            text = text.replace(f"@{context.bot.username}", " ")
        if not await self._allowed(message, user):
            return
        if self._is_staff(user) and await self._staff_reply(message, user, text):
            return
        await self._ask(update, text)

    def _addressed_to_me(self, message: TelegramMessage) -> bool:
        bot = self.application.bot
        replied = message.reply_to_message
        if replied is not None and replied.from_user and replied.from_user.id == bot.id:
            return True
        return any(value == f"@{bot.username}"
                   for entity, value in message.parse_entities(["mention"]).items()
                   if entity.type == "mention")

    async def _staff_reply(self, message: TelegramMessage, user: str, text: str) -> bool:
        """A staff member's reply to a triage message is the answer to that escalation."""
        replied = message.reply_to_message
        found = _REFERENCE.search(replied.text or "") if replied else None
        if found is None:
            return False
        try:
            await self.assistant.triage.act("answer", found.group(0), Actor(self.name, user),
                                            text)
        except TriageError as exc:
            await message.reply_text(str(exc))
            return True
        await message.reply_text(f"Sent to the asker of {found.group(0)}.")
        return True

    async def _on_non_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.chat.type == ChatType.PRIVATE:
            await message.reply_text(ONLY_TEXT)

    async def _ask(self, update: Update, text: str, action: Action | None = None) -> None:
        message, user = update.effective_message, str(update.effective_user.id)
        group = message.chat.type != ChatType.PRIVATE
        await self.dispatch(Message(
            self.name, user, str(message.chat.id), text,
            thread_id=str(message.message_id) if group else None,
            program=await self._program(user), action=action))

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        user = str(query.from_user.id)
        if not await self._allowed(query.message, user):
            return
        kind, _, value = (query.data or "").partition("|")
        if kind in {"tc", "ta"}:
            await self._staff_button(query.message, user, kind, value)
        elif kind == "m":
            await self._send_full(query.message, value)
        elif kind == "t":
            await self._send_category(query.message, value)
        else:
            await self._button_action(update, kind, value)

    async def _button_action(self, update: Update, kind: str, entry_id: str) -> None:
        message = update.callback_query.message
        question = self._questions.get((message.chat.id, message.message_id), "")
        actions = {"c": ActionKind.CHOOSE, "h": ActionKind.HELPED,
                   "n": ActionKind.NOT_HELPED, "s": ActionKind.SEND_TO_STAFF}
        if kind not in actions:
            return
        await self._ask(update, "", Action(actions[kind], entry_id or None, question))

    async def _staff_button(self, message: TelegramMessage, user: str, kind: str,
                            reference: str) -> None:
        if not self._is_staff(user):
            await message.reply_text("Only the coalition's TA staff can do that.")
            return
        if kind == "ta":
            await message.reply_text(f"Reply to the message about {reference} with your "
                                     "answer, and I'll send it to the asker.")
            return
        try:
            view = await self.assistant.triage.act("claim", reference, Actor(self.name, user))
        except TriageError as exc:
            await message.reply_text(str(exc))
            return
        await message.reply_text(f"{view.reference} is yours. Reply to its message with the "
                                 "answer.")

    async def _send_full(self, message: TelegramMessage, entry_id: str) -> None:
        entry = self.assistant.knowledge.get(entry_id)
        if entry is None:
            await message.reply_text("That entry is no longer in the knowledge base.")
            return
        reply = self.assistant.answer(entry, "", 1.0)
        for piece in full_answer(reply):
            await message.reply_text(piece, parse_mode=ParseMode.HTML,
                                     disable_web_page_preview=True)

    async def _send_category(self, message: TelegramMessage, category: str) -> None:
        choices = self.assistant.topics().categories.get(category, ())
        rows = [[(c.title, f"c|{c.entry_id}")] for c in choices[:40]]
        await message.reply_text(f"{category.replace('-', ' ').title()}:",
                                 reply_markup=_keyboard(rows))

    # --- sending ---------------------------------------------------------------------------

    async def send(self, to: Message, replies: list[Reply]) -> None:
        bot = self.application.bot
        question = to.text or (to.action.question if to.action else "") or ""
        for reply in replies:
            for text, keyboard in render(reply):
                sent = await bot.send_message(
                    chat_id=int(to.conversation_id), text=text, parse_mode=ParseMode.HTML,
                    reply_markup=keyboard, disable_web_page_preview=True,
                    reply_to_message_id=int(to.thread_id) if to.thread_id else None)
                if keyboard is not None:
                    self._remember(sent, getattr(reply, "question", "") or question)

    def _remember(self, sent: TelegramMessage, question: str) -> None:
        """Buttons carry an entry id; the question they relate to is kept here."""
        self._questions[(sent.chat.id, sent.message_id)] = question
        while len(self._questions) > 5000:
            self._questions.popitem(last=False)

    async def deliver(self, delivery: Delivery) -> None:
        bot = self.application.bot
        if delivery.kind in {"staff-notice", "staff-update", "kb-review"}:
            await self._notify_staff(delivery)
            return
        for piece in split_text(html.escape(delivery.text), LIMIT):
            await bot.send_message(chat_id=int(delivery.conversation_id), text=piece,
                                   parse_mode=ParseMode.HTML,
                                   reply_to_message_id=int(delivery.thread_id)
                                   if delivery.thread_id else None)

    async def _notify_staff(self, delivery: Delivery) -> None:
        """Each Telegram staff member gets new questions with Claim / Answer buttons."""
        reference = delivery.reference or ""
        if delivery.kind == "staff-update":
            return  # Telegram staff work from their own messages; updates are in the CLI/Slack
        keyboard = (_keyboard([[("Claim", f"tc|{reference}"), ("Answer", f"ta|{reference}")]])
                    if delivery.kind == "staff-notice" and reference else None)
        for staff_id in self._staff_ids():
            await self.application.bot.send_message(
                chat_id=int(staff_id), text=html.escape(delivery.text)[:LIMIT],
                parse_mode=ParseMode.HTML, reply_markup=keyboard)

    def _staff_ids(self) -> list[str]:
        return sorted(item.split(":", 1)[1] for item in self.assistant.triage.staff
                      if item.startswith(f"{self.name}:") and item.split(":", 1)[1].isdigit())

    # --- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, retrying a lost connection with backoff; a rejected token is an error."""
        delay = 1.0
        while True:
            try:
                await self.application.initialize()
                break
            except InvalidToken:
                raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN; copy it again from "
                                  "BotFather (/mybots → API Token)") from None
            except NetworkError as exc:
                log.warning("Telegram not reachable (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
        await self.application.bot.set_my_commands([BotCommand(n, d) for n, d in COMMANDS])
        await self.application.start()
        updater = self.application.updater
        if self.config.webhook_url:
            await updater.start_webhook(listen="0.0.0.0", port=self.config.port,
                                        url_path="telegram", webhook_url=self.config.webhook_url,
                                        secret_token=self.config.webhook_secret)
        else:
            await updater.start_polling(timeout=30, error_callback=self._polling_error)

    @staticmethod
    def _polling_error(error: TelegramError) -> None:
        log.warning("Telegram polling error (%s); retrying", type(error).__name__)

    async def stop(self) -> None:
        if self.application.updater and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def run(self) -> None:
        await self.start()
        log.warning("Telegram adapter running (%s)",
                    "webhook" if self.config.webhook_url else "long polling")
        poller = asyncio.create_task(self.deliver_forever(2.0))
        try:
            await asyncio.Event().wait()
        finally:
            poller.cancel()
            await self.stop()


def create(assistant: Conversation) -> TelegramAdapter:
    return TelegramAdapter(assistant, TelegramConfig.from_env())

