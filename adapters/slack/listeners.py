"""Slack's listeners and lifecycle: advocates ask in a DM, by @mention or with /ta; TA staff
triage in a channel.

Built on slack-bolt's AsyncApp. Bolt acknowledges each request first and runs the listener
after, so Slack's 3-second limit is always met; a retried or duplicated event is handled once
because the core records its id (`Core.first_time`), whichever process gets it. HTTP mode is a
route on the runtime's web server; Socket Mode connects out and needs no port.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Self

import aiohttp
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.payload_utils import (
    to_action,
    to_command,
    to_event,
    to_message,
    to_options,
    to_shortcut,
    to_step,
    to_view,
)
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.base import FILES_NOT_READ, ONLY_TEXT, Adapter
from adapters.http import Refusals, Unreadable, read_body, unbroken
from adapters.slack.blocks import (
    BLOCKS_PER_MESSAGE,
    CONSOLE_BUTTON,
    SECTION_LIMIT,
    answer_modal,
    escape,
    home_view,
    render,
    section,
    triage_blocks,
)
from adapters.slack.relay import RECENT, outbox_tag, parts_posted
from bot.chat.messages import (
    Action,
    ActionKind,
    Actor,
    Delivery,
    Message,
    NotSent,
    Reply,
    ReviewPost,
    StaffAlert,
    StaffNotice,
    ToAsker,
    TriageUpdate,
    Undeliverable,
    UnsentReplies,
)
from bot.chat.text import split_text
from bot.config import ConfigError
from bot.core import Core, EscalationView, StaffAction, Unavailable

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+>")
_LINK = re.compile(r"<((?:https?|mailto):[^<>|]*)(?:\|([^<>]*))?>")
_BUTTONS = {"tabot_helped": ActionKind.HELPED, "tabot_not_helped": ActionKind.NOT_HELPED,
            "tabot_staff": ActionKind.SEND_TO_STAFF}
ONLY_STAFF = "Only the coalition's TA staff can do that."
MAX_AGE = 300  # seconds a signed request stays valid, as Slack advises
# What the Web API client raises when Slack cannot be reached at all (its retry handlers have
# tried again already): the network, or no answer in time.
SLACK_UNREACHABLE = (aiohttp.ClientError, TimeoutError)
# Slack's codes for a post it could not take as made: sent again later, it would be refused again.
MALFORMED = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long",
                       "invalid_arguments", "no_text", "too_many_attachments"})
MAX_CONTEXT = 2**31 - 1  # a reply's context is an interactions row id (a 32-bit column)
RETRIES = 2  # tries again after a rate limit (waiting its Retry-After) or a Slack server error
# Errors Slack gives for a message that can never go where it was meant to, with the reason
# staff are told. Token and scope errors (invalid_auth, account_inactive, which Slack gives
# for a token of a deleted bot user or workspace, missing_scope) are not here: they are the
# installation's to fix, and the message goes once they are.
_REFUSED_FOR_GOOD = {
    "channel_not_found": "the Slack conversation no longer exists or the bot cannot see it",
    "is_archived": "the Slack channel was archived",
    "not_in_channel": "the bot is no longer in the Slack channel",
    "user_not_found": "the Slack user no longer exists",
    "user_disabled": "the Slack account was deactivated",
    "cannot_dm_bot": "the Slack recipient is a bot",
    "message_not_found": "the Slack post to update was deleted",
    "restricted_action": "a Slack workspace setting does not let the bot post there",
}
_BOLT_READS = (to_options, to_shortcut, to_action, to_view, to_command, to_event, to_message,
               to_step)  # what bolt reads from every payload, for each listener and on errors


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str
    signing_secret: str
    app_token: str | None
    triage_channel: str | None
    api_url: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackConfig:
        missing = [name for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
                   if not env.get(name, "").strip()]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} must be set to run the Slack adapter; "
                              "see 'Setting up Slack' in the README")
        app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
        if app_token and not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be the app-level token, which starts with "
                              "xapp- (Basic Information > App-Level Tokens); "
                              f"this one starts with {app_token[:5]!r}")
        return cls(bot_token=env["SLACK_BOT_TOKEN"].strip(),
                   signing_secret=env["SLACK_SIGNING_SECRET"].strip(),
                   app_token=app_token,
                   triage_channel=env.get("SLACK_TRIAGE_CHANNEL", "").strip() or None,
                   api_url=_base_url(env.get("SLACK_API_URL", "")))


def _base_url(value: str) -> str:
    """SLACK_API_URL ending in a slash. slack_sdk joins each method's name on with `urljoin`,
    which drops a path's last part without one (".../api" + "chat.update" is ".../chat.update");
    only its releases since late 2024 add the slash themselves, and pyproject allows older."""
    url = value.strip() or "https://slack.com/api/"
    return url if url.endswith("/") else url + "/"


def retry_handlers() -> list[AsyncRetryHandler]:
    """What the Web API client tries again before a call fails. slack_sdk's default is a
    dropped connection only; a rate limit or a Slack server error then lost a reply posted
    straight to the asker (its event is already recorded as handled, so Slack's own retry of
    the event is dropped too)."""
    return [AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=RETRIES)]


class _OneLine(logging.Filter):
    """slack_sdk logs each failed reconnect with its whole traceback: three thousand lines in
    ten minutes while Slack cannot be reached. One line each says as much."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


SOCKET_LOG = logging.getLogger("tabot.slack.socket_mode")
SOCKET_LOG.addFilter(_OneLine())


def _event_key(body: dict, event: dict) -> str:
    """What makes an event the same event when Slack sends it again."""
    return body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}"


def _unsigned(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """Why a request is not Slack's (signature or timestamp), or None when it is.

    Checked on the raw bytes, before anything parses them: bolt parses a body before it
    checks the signature, so an unsigned `{` would otherwise fail in its parser (a 500).
    slack_sdk's `SignatureVerifier` is not used because it raises instead of refusing: on a
    timestamp that is not a number, a non-ASCII signature, or a body that is not UTF-8."""
    stamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not (stamp and signature):
        return "unsigned"
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        return "bad timestamp"
    if abs(now - int(stamp)) > MAX_AGE:
        return "stale timestamp"
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    if not hmac.compare_digest(f"v0={digest.hexdigest()}".encode(),
                               signature.encode("utf-8", "replace")):
        return "bad signature"
    return None


def _parsed(request: Request, body: bytes) -> AsyncBoltRequest | None:
    """The request as bolt reads it, or None if it cannot. Bolt parses with json and urllib,
    then indexes what it parsed (for every listener's arguments, and on its own error path,
    where a failure escapes it as a 500), so anything raised here means a malformed body."""
    try:
        parsed = to_async_bolt_request(request, body)
        parsed.body = unbroken(parsed.body)
        for read in _BOLT_READS:
            read(parsed.body)
    except Exception:
        return None
    return parsed


def _field(data: object, key: str) -> str | None:
    """`data[key]` if `data` is an object and that is a non-empty string (payloads are not
    trusted to have the shape Slack gives them), else None."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _ids(data: object, *keys: str) -> bool:
    """Are these ids in the payload? Slack always sends them; a payload without is ignored."""
    return all(_field(data, key) for key in keys)


def _text(value: object) -> str:
    """What someone typed, or nothing if the payload has something else there.

    Slack sends &, < and > as &amp;, &lt; and &gt;, and a pasted link as <url|label>; stored
    as they come, staff would read "&lt;18" and the triage post would escape it again. A link
    reads as its label (or its address); mentions (<@U…>, <!channel>) stay, escaped on output."""
    if not isinstance(value, str):
        return ""
    text = _LINK.sub(lambda link: link.group(2) or link.group(1), value)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _modal_metadata(metadata: object) -> tuple[str, str | None]:
    """The reference and answer-seen an answer modal carries; a modal opened before it
    carried both holds the bare reference."""
    if not isinstance(metadata, str):
        return "", None
    try:
        data = json.loads(metadata)
    except ValueError:
        return metadata, None
    if not isinstance(data, dict):
        return metadata, None
    return _field(data, "ref") or "", _field(data, "seen")


def _value(action: dict) -> dict:
    """A button's value as `blocks` wrote it (a JSON object); anything else reads as empty."""
    try:
        value = json.loads(action.get("value") or "{}")
    except (ValueError, TypeError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _kind(body: object) -> str:
    """What a payload says it is, for a log line: short, and quoted so it cannot forge lines."""
    if not isinstance(body, dict):
        return type(body).__name__
    event = body.get("event")
    kinds = [body.get("type"), event.get("type") if isinstance(event, dict) else None]
    return "/".join(repr(k)[:40] for k in kinds if k is not None) or "no type"


def _opens(action_id: str) -> ActionKind:
    """A suggestion's button picks it; a related entry's opens it beside the answer."""
    return ActionKind.RELATED if action_id.startswith("tabot_related_") else ActionKind.CHOOSE


def error_code(error: SlackApiError) -> str:
    """Slack's error code ("ratelimited", "channel_not_found"): what a log line may say of a
    failed call, which never quotes the message."""
    code = error.response.get("error") if error.response is not None else None
    return code if isinstance(code, str) else "no error code"


def refused_for_good(error: SlackApiError) -> str | None:
    """Why Slack will never take the message, or None if a later try may get it through (a
    server error, a rate limit, a token to fix). The restricted_action family (read-only
    channel, locked thread, ...) all mean a workspace setting."""
    code = error_code(error)
    if code.startswith("restricted_action"):
        return _REFUSED_FOR_GOOD["restricted_action"]
    return _REFUSED_FOR_GOOD.get(code)


def _given_back(refusal: str, typed: str) -> str:
    """A refusal of an answer typed in the form, with the answer: the form closed when it was
    sent (Slack needs its acknowledgement within 3 s, before the answer is saved), so the
    words would otherwise be lost."""
    if not typed.strip():
        return refusal
    return f"{refusal}\n\nYour answer, to send again if it still applies:\n\n{typed}"


def _context(value: object) -> int | None:
    """A row id or nothing: a bool, a float or an int no column holds is not a context."""
    return value if type(value) is int and 0 < value <= MAX_CONTEXT else None


class SlackAdapter(Adapter):
    name = "slack"

    def __init__(self, core: Core, config: SlackConfig) -> None:
        super().__init__(core)
        self.config = config
        self.client = AsyncWebClient(token=config.bot_token, base_url=config.api_url,
                                     retry_handlers=retry_handlers())
        self.app = AsyncApp(client=self.client, signing_secret=config.signing_secret,
                            raise_error_for_unhandled_request=True)
        self._refusals = Refusals(self.name)
        self._socket: Any = None
        self._register()
        self._warn_if_no_triage_channel()

    def _warn_if_no_triage_channel(self) -> None:
        """A triage channel is optional (staff also see the queue in the App Home and the
        console), but Slack staff without one are never told of a new question in Slack, and
        that went unsaid."""
        if not self.config.triage_channel and self.core.staff_on(self.name):
            log.warning("SLACK_TRIAGE_CHANNEL is not set: Slack staff in TABOT_STAFF get no "
                        "post of new questions, only the App Home and the console; set it to "
                        "the triage channel's id")

    @classmethod
    def configured(cls, env: Mapping[str, str]) -> bool:
        return bool(env.get("SLACK_BOT_TOKEN", "").strip())

    @classmethod
    def from_env(cls, core: Core, env: Mapping[str, str]) -> Self:
        return cls(core, SlackConfig.from_env(env))

    # --- receiving -------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_mention)
        app.event("app_home_opened")(self._on_home)
        app.command("/ta")(self._on_command)
        app.action(re.compile(r"^tabot_"))(self._on_button)
        app.action(re.compile(r"^triage_"))(self._on_triage_button)
        app.action(CONSOLE_BUTTON)(self._on_console_button)
        app.view("triage_answer_modal")(self._on_answer_submitted)
        app.error(self._on_error)

    async def _on_error(self, error: Exception,
                        response: BoltResponse | None) -> BoltResponse | None:
        """Bolt's error path, as one line and never a traceback (see `Refusals`). A request no
        listener takes is acknowledged, so Slack does not retry it; one that failed before it
        was acknowledged gets 400; after, Slack has its answer already."""
        if isinstance(error, BoltUnhandledRequestError):
            self._refusals.note(f"ignored a request nothing here handles ({_kind(error.body)})")
            return BoltResponse(status=200, body="")
        self._refusals.failed(error, "a Slack request")
        return None if response is None else BoltResponse(status=400, body="")

    @contextlib.asynccontextmanager
    async def _working(self, user: str, channel: str | None = None) -> AsyncIterator[None]:
        """One event's work: counted in flight; a database that is down is told to the user."""
        async with self.core.working():
            try:
                yield
            except Unavailable as exc:
                await self._tell(user, channel, str(exc))

    async def _once(self, key: str) -> bool:
        return await self.core.first_time(self.name, key)

    async def _on_message(self, event: dict, body: dict) -> None:
        """A direct message. One with a file attached (subtype file_share) is read for its
        text alone; other subtypes (edits, joins, bot posts) are not questions."""
        subtype = event.get("subtype")
        if event.get("channel_type") != "im" or subtype not in {None, "file_share"}:
            return
        if event.get("bot_id") or not _ids(event, "user", "channel"):
            return
        async with self._working(event["user"], event["channel"]):
            if not await self._once(_event_key(body, event)):
                return
            text, thread = _text(event.get("text")), _field(event, "thread_ts")
            if subtype == "file_share":
                await self.client.chat_postMessage(
                    channel=event["channel"], thread_ts=thread,
                    text=FILES_NOT_READ if text.strip() else ONLY_TEXT)
                if not text.strip():
                    return
            await self.dispatch(Message(self.name, event["user"], event["channel"], text,
                                        thread_id=thread))

    async def _on_mention(self, event: dict, body: dict) -> None:
        if not _ids(event, "user", "channel", "ts"):
            return
        async with self._working(event["user"], event["channel"]):
            if not await self._once(_event_key(body, event)):
                return
            text = _MENTION.sub(" ", _text(event.get("text"))).strip()
            thread = _field(event, "thread_ts") or event["ts"]
            await self.dispatch(Message(self.name, event["user"], event["channel"], text,
                                        thread_id=thread))

    async def _on_command(self, ack: Any, command: dict) -> None:
        await ack("One moment: I'll answer in our direct messages.")
        if not _ids(command, "user_id"):
            return
        user = command["user_id"]
        async with self._working(user):
            if not await self._once(f"command:{command.get('trigger_id')}"):
                return
            text = _text(command.get("text")).strip()
            if text.casefold() in {"help", "topics", "status"}:
                text = text.casefold()
            await self.dispatch(Message(self.name, user, await self._direct_channel(user),
                                        text or "help"))

    async def _direct_channel(self, user: str) -> str:
        """The id of the person's DM with the bot (D…). A reply typed after `/ta` arrives
        there, and must find the prompt `/ta` left. Opening it needs the im:write scope; an
        app installed before that scope was asked for answers under the user id, as before."""
        with contextlib.suppress(SlackApiError, *SLACK_UNREACHABLE):
            opened = await self.client.conversations_open(users=user)
            if channel := _field(opened.get("channel"), "id"):
                return channel
        return user

    async def _on_button(self, ack: Any, body: dict, action: dict) -> None:
        await ack()
        if not (user := _field(body.get("user"), "id")):
            return
        channel = _field(body.get("channel"), "id") or user
        async with self._working(user, channel):
            if not await self._once(f"action:{user}:{action.get('action_ts')}"):
                return
            value = _value(action)
            kind = _BUTTONS.get(action["action_id"], _opens(action["action_id"]))
            thread = _field(body.get("message"), "thread_ts")
            pressed = Action(kind, _field(value, "entry"), _context(value.get("ctx")))
            await self.dispatch(Message(self.name, user, channel, thread_id=thread,
                                        action=pressed))

    async def _on_console_button(self, ack: Any, body: dict, action: dict) -> None:
        """The App Home's button: the same as `/ta console`, answered in the person's DM with
        the bot; the core decides whether they get a link."""
        await ack()
        if not (user := _field(body.get("user"), "id")):
            return
        async with self._working(user):
            if await self._once(f"console:{user}:{action.get('action_ts')}"):
                await self.dispatch(Message(self.name, user, await self._direct_channel(user),
                                            "/console"))

    async def _on_triage_button(self, ack: Any, body: dict, action: dict) -> None:
        await ack()
        if not (user := _field(body.get("user"), "id")):
            return
        reference = _field(_value(action), "ref") or ""
        name = action["action_id"].removeprefix("triage_")
        channel = _field(body.get("channel"), "id")
        async with self._working(user, channel):
            if not self.core.is_staff(Actor(self.name, user)):
                await self._tell(user, channel, ONLY_STAFF)
            elif name == StaffAction.ANSWER:
                shown = await self.core.escalation(reference)
                await self.client.views_open(trigger_id=body["trigger_id"], view=answer_modal(
                    reference, shown.answer_seen if shown else None))
            elif name in set(StaffAction):
                await self._staff_act(user, channel, StaffAction(name), reference)

    async def _on_answer_submitted(self, ack: Any, body: dict, view: dict) -> None:
        text = view["state"]["values"]["answer"]["text"]["value"] or ""
        if not text.strip():
            await ack(response_action="errors", errors={"answer": "Write an answer first."})
            return
        await ack()
        user = body["user"]["id"]
        reference, seen = _modal_metadata(view.get("private_metadata"))
        async with self._working(user):
            await self._staff_act(user, None, StaffAction.ANSWER, reference, text, seen)

    async def _staff_act(self, user: str, channel: str | None, action: StaffAction,
                         reference: str, text: str = "", seen: str | None = None) -> None:
        result = await self.core.staff_act(Actor(self.name, user), action, reference, text,
                                           seen)
        if not result.done:
            await self._tell(user, channel, _given_back(result.text, text))
            return
        await self._update_posts(reference)

    async def _tell(self, user: str, channel: str | None, text: str) -> None:
        """A message only this user sees, where they are (or in the triage channel)."""
        channel = channel or self.config.triage_channel or user
        await self.client.chat_postEphemeral(channel=channel, user=user, text=escape(text))

    async def _on_home(self, event: dict) -> None:
        if not (user := _field(event, "user")):
            return
        async with self._working(user):
            actor = Actor(self.name, user)
            view = home_view(await self.core.home(actor), actor)
            await self.client.views_publish(user_id=user, view=view)

    # --- sending ---------------------------------------------------------------------------

    async def send(self, to: Message, replies: list[Reply]) -> None:
        """Post the replies where the message came from. The client has tried again through
        rate limits and server errors (`retry_handlers`); replies Slack still does not take are
        `NotSent`, kept and posted later, unless it refused them for good (the channel was
        archived), which is logged with Slack's error code, never the text."""
        for sent, reply in enumerate(replies):
            try:
                await self._post_reply(to, reply)
            except SlackApiError as exc:
                if error_code(exc) in MALFORMED:  # this one only: the hotlines after it go on
                    log.error("slack: a reply could not be posted (%s) and is not kept",
                              error_code(exc))
                    continue
                if refused_for_good(exc) is None:
                    raise NotSent(sent, error_code(exc)) from exc
                log.warning("slack: a reply could not be posted (%s); the asker did not get it",
                            error_code(exc))
                return
            except SLACK_UNREACHABLE as exc:
                raise NotSent(sent, type(exc).__name__) from exc

    async def _post_reply(self, to: Message, reply: Reply) -> None:
        text, blocks = render(reply)
        for start in range(0, len(blocks), BLOCKS_PER_MESSAGE):
            await self.client.chat_postMessage(
                channel=to.conversation_id, thread_ts=to.thread_id, text=escape(text)[:3000],
                blocks=blocks[start:start + BLOCKS_PER_MESSAGE])

    async def deliver(self, delivery: Delivery) -> None:
        """Send one outbox message; a refusal for good is `Undeliverable`, so it is given up
        rather than retried forever. Only where the asker asked, or for an update (a post
        that was deleted is forgotten, not refused: `_update_posts`): the triage channel
        refusing a post (the bot not invited, a mistyped SLACK_TRIAGE_CHANNEL) is the
        installation's to fix, and the post goes once it is."""
        try:
            await self._deliver(delivery)
        except SlackApiError as exc:
            reason = refused_for_good(exc)
            if reason is None or not isinstance(delivery, ToAsker | TriageUpdate
                                                    | UnsentReplies):
                if reason is not None:
                    log.warning("the triage channel refused a post (%s): invite the bot to "
                                "SLACK_TRIAGE_CHANNEL, or correct it; retrying", reason)
                raise
            raise Undeliverable(reason) from exc

    async def _deliver(self, delivery: Delivery) -> None:
        match delivery:
            case StaffNotice():
                await self._post_for_staff(delivery)
            case TriageUpdate():
                await self._update_posts(delivery.reference)  # an update is safe to repeat
            case ReviewPost() | StaffAlert():
                if self.config.triage_channel:
                    await self._post_text(self.config.triage_channel, None, delivery)
            case ToAsker():
                await self._post_text(delivery.to.conversation_id, delivery.to.thread_id,
                                      delivery)
            case UnsentReplies():
                await self._post_kept(delivery)

    async def _post_kept(self, delivery: UnsentReplies) -> None:
        """Kept replies, in order, each once: one posted by an earlier attempt is remembered
        (`Core.mark_sent`), since its blocks carry no outbox tag to find it by."""
        to = Message(self.name, delivery.to.user_id, delivery.to.conversation_id,
                     thread_id=delivery.to.thread_id)
        for n, reply in enumerate(delivery.replies):
            key = f"outbox:{delivery.id}:{n}"
            if delivery.maybe_sent and await self.core.sent_before(self.name, key):
                continue
            await self._post_reply(to, reply)
            await self.core.mark_sent(self.name, key)

    async def _post_text(self, channel: str, thread: str | None,
                         delivery: ToAsker | ReviewPost | StaffAlert) -> None:
        """Post an outbox message in parts, each tagged with its outbox id; the parts that an
        earlier attempt already posted are not posted again."""
        posted = await self._already_posted(channel, thread, delivery)
        for part, piece in enumerate(split_text(escape(delivery.text), SECTION_LIMIT)):
            if part not in posted:
                await self.client.chat_postMessage(channel=channel, thread_ts=thread, text=piece,
                                                   blocks=[section(piece)],
                                                   metadata=outbox_tag(delivery.id, part))

    async def _already_posted(self, channel: str, thread: str | None,
                              delivery: Delivery) -> dict[int, str]:
        """{part: ts} of this outbox message's parts already in the conversation.

        Asked only when an earlier attempt may have reached Slack (its process died between
        posting and recording it). If Slack won't say (a missing history scope, a channel
        given by name), the message is posted again: a duplicate rather than a loss.
        """
        if not delivery.maybe_sent:
            return {}
        try:
            if thread:
                page = await self.client.conversations_replies(
                    channel=channel, ts=thread, include_all_metadata=True, limit=RECENT)
            else:
                page = await self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=RECENT)
        except SlackApiError as exc:
            log.warning("could not check for an earlier send of delivery %s (%s); sending "
                        "it again", delivery.id, exc.response.get("error"))
            return {}
        return parts_posted(page.get("messages", []), delivery.id)

    async def _post_for_staff(self, delivery: StaffNotice) -> None:
        """The question's post in the triage channel: a re-announcement brings the existing
        one up to date, or posts it afresh if someone deleted it (`_update_posts`)."""
        channel, reference = self.config.triage_channel, delivery.reference
        if not channel or not reference:
            return
        if await self._update_posts(reference):
            return
        posted = await self._post_question(channel, reference, delivery)
        if posted is not None:
            await self.core.remember_triage_post(reference, self.name, *posted)

    async def _post_question(self, channel: str, reference: str,
                             delivery: StaffNotice) -> tuple[str, str] | None:
        """(channel, ts) of the question's new post, or of the one an earlier attempt made;
        None if there is no such question."""
        if earlier := (await self._already_posted(channel, None, delivery)).get(0):
            return channel, earlier
        view = await self.core.escalation(reference)
        if view is None:
            return None
        posted = await self.client.chat_postMessage(channel=channel,
                                                    text=f"New question {reference}",
                                                    blocks=triage_blocks(view),
                                                    metadata=outbox_tag(delivery.id, 0))
        return posted["channel"], posted["ts"]

    async def _update_posts(self, reference: str) -> int:
        """Bring the question's posts up to date; how many it has left. A post Slack says was
        deleted is forgotten, and the next re-announcement posts the question afresh. It was
        once kept: each staff action then failed after it was done, each update was given up,
        and a re-announcement was retried forever without staff seeing the question again."""
        posts = await self.core.triage_posts(reference, self.name)
        view = await self.core.escalation(reference) if posts else None
        if view is None:
            return len(posts)
        left = len(posts)
        for channel, ts in posts:
            try:
                await self._update_post(reference, view, channel, ts)
            except SlackApiError as exc:
                if error_code(exc) != "message_not_found":
                    raise
                log.warning("slack: a triage post of %s was deleted; forgotten, to be posted "
                            "afresh when the question is next announced", reference)
                await self.core.forget_triage_post(reference, self.name, channel)
                left -= 1
        return left

    async def _update_post(self, reference: str, view: EscalationView, channel: str,
                           ts: str) -> None:
        await self.client.chat_update(channel=channel, ts=ts, text=f"{reference}: "
                                      f"{view.state}", blocks=triage_blocks(view))

    # --- running ---------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        if self.config.app_token:
            return []
        return [Route("/slack/events", self._on_request, methods=["POST"])]

    async def _on_request(self, request: Request) -> Response:
        """Slack's POST: its size, then its signature and timestamp, on the raw bytes; only a
        request that passes is parsed, and only one that parses goes to bolt."""
        try:
            body = await read_body(request)
        except Unreadable as refused:
            return self._refusals.refuse(refused.status, refused.reason)
        if problem := _unsigned(self.config.signing_secret, request.headers, body, time.time()):
            return self._refusals.refuse(401, problem)
        if (parsed := _parsed(request, body)) is None:
            return self._refusals.refuse(400, "not a Slack payload")
        try:
            return to_starlette_response(await self.app.async_dispatch(parsed))
        except Exception as exc:  # the last guard: what bolt fails on outside its error path
            self._refusals.failed(exc, "a Slack request")
            return Response("not a Slack payload", status_code=400)

    async def start(self) -> None:
        # One HTTP session for every Web API call: without it slack_sdk opens a connection per
        # call (thousands under load, each a TCP and TLS handshake).
        self.client.session = aiohttp.ClientSession()
        if not self.config.app_token:
            return
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._socket = AsyncSocketModeHandler(self.app, self.config.app_token,
                                              logger=SOCKET_LOG)
        await self._socket.connect_async()
        log.warning("Slack adapter connected in Socket Mode")

    async def stop(self) -> None:
        """In Socket Mode, close the connection for good. Only disconnecting it let the SDK
        reconnect within seconds, and the envelopes it then acknowledged lost their replies
        when the process closed."""
        await self._close_socket()
        await super().stop()

    async def _close_socket(self) -> None:
        if self._socket is not None and not self._socket.client.closed:
            await self._socket.close_async()

    async def close(self) -> None:
        await self._close_socket()
        if self.client.session is not None:
            await self.client.session.close()
