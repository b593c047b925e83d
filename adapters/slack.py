"""Slack: advocates ask in a DM, by @mention or with /ta; TA staff triage in a channel.

Built on slack-bolt's AsyncApp. Bolt acknowledges each request first and runs the listener
after, so Slack's 3-second limit is always met; a retried or duplicated event is handled once
because its id is recorded by the core (`Conversation.first_time`), whichever process gets it.
Everything a user wrote is escaped before it is echoed, so a question can never ping, mention
or disguise a link.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

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
from bot.insights.reports import Report
from bot.triage.outbox import Delivery
from bot.triage.workflow import Actor, EscalationView, TriageError

log = logging.getLogger(__name__)

SECTION_LIMIT = 2900  # Slack allows 3,000 characters in a section's text
BLOCKS_PER_MESSAGE = 45  # Slack allows 50 blocks in a message
_MENTION = re.compile(r"<@[A-Z0-9]+>")


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str
    signing_secret: str
    app_token: str | None
    triage_channel: str | None
    api_url: str
    port: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackConfig:
        env = os.environ if env is None else env
        missing = [name for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
                   if not env.get(name, "").strip()]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} must be set to run the Slack adapter; "
                              "see 'Setting up Slack' in the README")
        port = env.get("PORT", "3000")
        if not port.isdigit():
            raise ConfigError(f"PORT must be a port number, got {port!r}")
        return cls(bot_token=env["SLACK_BOT_TOKEN"].strip(),
                   signing_secret=env["SLACK_SIGNING_SECRET"].strip(),
                   app_token=env.get("SLACK_APP_TOKEN", "").strip() or None,
                   triage_channel=env.get("SLACK_TRIAGE_CHANNEL", "").strip() or None,
                   api_url=env.get("SLACK_API_URL", "").strip() or "https://slack.com/api/",
                   port=int(port))


def escape(text: str) -> str:
    """Slack's three control characters; escaped text cannot mention, ping or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, action_id: str, value: dict, style: str | None = None) -> dict:
    button = {"type": "button", "text": {"type": "plain_text", "text": label[:75]},
              "action_id": action_id, "value": json.dumps(value)[:2000]}
    return {**button, "style": style} if style else button


def render(reply: Reply) -> tuple[str, list[dict]]:
    """Fallback text and Block Kit blocks for one reply."""
    match reply:
        case AnswerReply():
            return reply.title, _answer_blocks(reply)
        case SuggestReply():
            buttons = [_button(c.title, f"tabot_choose_{i}", {"entry": c.entry_id,
                                                               "q": reply.question[:1500]})
                       for i, c in enumerate(reply.choices)]
            buttons.append(_button("Ask TA staff", "tabot_staff", {"q": reply.question[:1500]}))
            return reply.text, [_section(escape(reply.text)),
                                {"type": "actions", "elements": buttons}]
        case OfferStaffReply():
            return reply.text, [_section(escape(reply.text)), {"type": "actions", "elements": [
                _button("Send to TA staff", "tabot_staff", {"q": reply.question[:1500]},
                        "primary")]}]
        case TopicsReply():
            return "Topics", _topic_blocks(reply)
        case EscalatedReply() | TextReply():
            return reply.text, [_section(piece) for piece in split_text(escape(reply.text),
                                                                        SECTION_LIMIT)]
    raise TypeError(f"cannot render {type(reply).__name__}")


def _answer_blocks(reply: AnswerReply) -> list[dict]:
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text",
                                                      "text": reply.title[:150]}}]
    blocks += [_section(piece) for piece in split_text(escape(reply.answer), SECTION_LIMIT)]
    sources = [f"<{s.url}|{escape(s.title)}>" if s.url else escape(s.title)
               for s in reply.sources]
    notes = ["Sources: " + " · ".join(sources)]
    if reply.disclaimer:
        notes.append(f"_{escape(reply.disclaimer)}_")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": n[:3000]}
                                                   for n in notes]})
    feedback = {"entry": reply.entry_id, "q": reply.question[:1500]}
    blocks.append({"type": "actions", "elements": [
        _button("This helped", "tabot_helped", feedback, "primary"),
        _button("Not quite", "tabot_not_helped", feedback)]})
    return blocks


def _topic_blocks(reply: TopicsReply) -> list[dict]:
    blocks = []
    for category, choices in reply.categories.items():
        lines = "\n".join(f"• {escape(c.title)}" for c in choices)
        blocks += [_section(f"*{category.replace('-', ' ').title()}*\n{piece}")
                   for piece in split_text(lines, SECTION_LIMIT)]
    return blocks


def triage_blocks(view: EscalationView) -> list[dict]:
    """The staff post for one escalation, re-rendered in place as its state changes."""
    owner = f" · claimed by <@{view.claimed_by.split(':', 1)[1]}>" if (
        view.claimed_by and view.claimed_by.startswith("slack:")) else (
        f" · claimed by {escape(view.claimed_by)}" if view.claimed_by else "")
    topic = ", ".join(view.tags[:2]) or "no topic"
    hours = view.age().total_seconds() / 3600
    head = (f"*{view.reference}* · {view.state}{owner} · {escape(topic)} · "
            f"asked {hours:.0f} h ago" if hours >= 1 else
            f"*{view.reference}* · {view.state}{owner} · {escape(topic)} · just now")
    blocks = [_section(head), _section(">" + escape(view.question)[:SECTION_LIMIT])]
    if view.answer:
        answered = next((e for e in reversed(view.events) if e.kind == "answered"), None)
        when = f" (by {escape(answered.actor)}, {answered.at:%Y-%m-%d %H:%M} UTC)" if answered \
            else ""
        blocks.append(_section(f"*Answer{when}:* " + escape(view.answer)[:SECTION_LIMIT]))
    value = {"ref": view.reference}
    buttons = {"open": [("Claim", "triage_claim"), ("Answer", "triage_answer"),
                        ("Close", "triage_close")],
               "claimed": [("Answer", "triage_answer"), ("Close", "triage_close")],
               "answered": [("Close", "triage_close")],
               "closed": [("Reopen", "triage_reopen")]}[view.state]
    blocks.append({"type": "actions", "elements": [_button(label, action, value)
                                                   for label, action in buttons]})
    return blocks


def answer_modal(reference: str) -> dict:
    return {"type": "modal", "callback_id": "triage_answer_modal",
            "private_metadata": reference,
            "title": {"type": "plain_text", "text": f"Answer {reference}"[:24]},
            "submit": {"type": "plain_text", "text": "Send answer"},
            "blocks": [{"type": "input", "block_id": "answer", "label": {
                "type": "plain_text", "text": "Your answer goes back to the asker"},
                "element": {"type": "plain_text_input", "action_id": "text",
                            "multiline": True, "max_length": 3000}}]}


def figure_blocks(report: Report) -> list[dict]:
    """The last 30 days at a glance, for TA staff (the same figures as `tabot report`)."""
    outcomes = report.by_outcome
    median = report.staff_answer_hours_median
    lines = [f"*{report.contacts}* TA contacts from *{report.programs_served}* member programs",
             f"Answered by the assistant: {outcomes.get('answer', 0)} · offered choices: "
             f"{outcomes.get('suggest', 0)} · sent to staff: {outcomes.get('escalate', 0)}",
             f"Staff answers: {report.staff_answers} of {report.escalations}; median time "
             + (f"{median:.1f} h" if median is not None else "n/a")]
    top = ", ".join(f"{escape(k)} ({v})" for k, v in list(report.by_topic.items())[:5])
    if top:
        lines.append(f"Top topics: {top}")
    return [{"type": "header", "text": {"type": "plain_text", "text": "Last 30 days"}},
            _section("\n".join(lines))]


def home_view(views: list[EscalationView], staff: bool, user: str) -> dict:
    """App Home: the queue and your claims for staff; your own questions for advocates."""
    if staff:
        mine = [v for v in views if v.claimed_by == f"slack:{user}"]
        waiting = [v for v in views if v.state == "open"]
        sections = [("Waiting for staff, oldest first", waiting), ("Claimed by you", mine)]
    else:
        sections = [("Your questions to TA staff", views)]
    blocks: list[dict] = []
    for title, items in sections:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": title}})
        lines = [f"*{v.reference}* · {v.state} · {escape(v.question)[:150]}"
                 + (f"\n_Answer:_ {escape(v.answer)[:500]}" if v.answer and not staff else "")
                 for v in items[:40]]
        blocks += [_section(piece) for piece in split_text("\n".join(lines) or "_Nothing._",
                                                            SECTION_LIMIT)]
    return {"type": "home", "blocks": blocks[:100]}


class SlackAdapter(Adapter):
    name = "slack"

    def __init__(self, assistant: Conversation, config: SlackConfig) -> None:
        super().__init__(assistant)
        self.config = config
        self.client = AsyncWebClient(token=config.bot_token, base_url=config.api_url)
        self.app = AsyncApp(client=self.client, signing_secret=config.signing_secret)
        self._register()

    # --- receiving -------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_mention)
        app.event("app_home_opened")(self._on_home)
        app.command("/ta")(self._on_command)
        app.action(re.compile(r"^tabot_"))(self._on_button)
        app.action(re.compile(r"^triage_"))(self._on_triage_button)
        app.view("triage_answer_modal")(self._on_answer_submitted)

    async def _once(self, key: str) -> bool:
        return await self.assistant.first_time(self.name, key)

    async def _on_message(self, event: dict, body: dict) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if await self._once(body.get("event_id") or f"{event['channel']}:{event['ts']}"):
            await self.dispatch(Message(self.name, event["user"], event["channel"],
                                        event.get("text", ""), thread_id=event.get("thread_ts")))

    async def _on_mention(self, event: dict, body: dict) -> None:
        if not await self._once(body.get("event_id") or f"{event['channel']}:{event['ts']}"):
            return
        text = _MENTION.sub(" ", event.get("text", "")).strip()
        thread = event.get("thread_ts") or event["ts"]
        await self.dispatch(Message(self.name, event["user"], event["channel"], text,
                                    thread_id=thread))

    async def _on_command(self, ack: Any, command: dict) -> None:
        await ack("One moment: I'll answer in our direct messages.")
        if not await self._once(f"command:{command.get('trigger_id')}"):
            return
        text = command.get("text", "").strip()
        word = text.casefold()
        if word in {"help", "topics", "status"}:
            text = word
        await self.dispatch(Message(self.name, command["user_id"], command["user_id"],
                                    text or "help"))

    async def _on_button(self, ack: Any, body: dict, action: dict) -> None:
        await ack()
        if not await self._once(f"action:{body['user']['id']}:{action.get('action_ts')}"):
            return
        value = json.loads(action.get("value") or "{}")
        kind = {"tabot_helped": ActionKind.HELPED, "tabot_not_helped": ActionKind.NOT_HELPED,
                "tabot_staff": ActionKind.SEND_TO_STAFF}.get(action["action_id"],
                                                              ActionKind.CHOOSE)
        channel = body.get("channel", {}).get("id") or body["user"]["id"]
        thread = body.get("message", {}).get("thread_ts")
        await self.dispatch(Message(self.name, body["user"]["id"], channel, thread_id=thread,
                                    action=Action(kind, value.get("entry"), value.get("q"))))

    async def _on_triage_button(self, ack: Any, body: dict, action: dict) -> None:
        await ack()
        user = body["user"]["id"]
        reference = json.loads(action.get("value") or "{}").get("ref", "")
        name = action["action_id"].removeprefix("triage_")
        if not self.assistant.triage.is_staff(Actor(self.name, user)):
            await self._refuse(body, user, "Only the coalition's TA staff can do that.")
            return
        if name == "answer":
            await self.client.views_open(trigger_id=body["trigger_id"],
                                         view=answer_modal(reference))
            return
        await self._staff_act(body, user, name, reference)

    async def _on_answer_submitted(self, ack: Any, body: dict, view: dict) -> None:
        text = view["state"]["values"]["answer"]["text"]["value"] or ""
        if not text.strip():
            await ack(response_action="errors", errors={"answer": "Write an answer first."})
            return
        await ack()
        await self._staff_act(body, body["user"]["id"], "answer", view["private_metadata"], text)

    async def _staff_act(self, body: dict, user: str, name: str, reference: str,
                         text: str = "") -> None:
        try:
            await self.assistant.triage.act(name, reference, Actor(self.name, user), text)
        except TriageError as exc:
            await self._refuse(body, user, str(exc))
            return
        await self._update_posts(reference)

    async def _refuse(self, body: dict, user: str, text: str) -> None:
        channel = body.get("channel", {}).get("id") or self.config.triage_channel or user
        await self.client.chat_postEphemeral(channel=channel, user=user, text=escape(text))

    async def _on_home(self, event: dict) -> None:
        user = event["user"]
        actor = Actor(self.name, user)
        staff = self.assistant.triage.is_staff(actor)
        views = (await self.assistant.triage.queue(actor, ("open", "claimed")) if staff
                 else await self.assistant.own_escalations(self.name, user))
        view = home_view(views, staff, user)
        if staff:
            today = dt.date.today()
            figures = await self.assistant.report(today - dt.timedelta(days=30), today)
            view["blocks"] = [*figure_blocks(figures), *view["blocks"]][:100]
        await self.client.views_publish(user_id=user, view=view)

    # --- sending ---------------------------------------------------------------------------

    async def send(self, to: Message, replies: list[Reply]) -> None:
        for reply in replies:
            text, blocks = render(reply)
            for start in range(0, len(blocks), BLOCKS_PER_MESSAGE):
                await self.client.chat_postMessage(
                    channel=to.conversation_id, thread_ts=to.thread_id, text=escape(text)[:3000],
                    blocks=blocks[start:start + BLOCKS_PER_MESSAGE])

    async def deliver(self, delivery: Delivery) -> None:
        if delivery.kind == "staff-notice":
            await self._post_for_staff(delivery)
        elif delivery.kind == "staff-update":
            await self._update_posts(delivery.reference or "")
        elif delivery.kind == "kb-review":
            if self.config.triage_channel:
                for piece in split_text(escape(delivery.text), SECTION_LIMIT):
                    await self.client.chat_postMessage(channel=self.config.triage_channel,
                                                       text=piece, blocks=[_section(piece)])
        else:
            for piece in split_text(escape(delivery.text), SECTION_LIMIT):
                await self.client.chat_postMessage(channel=delivery.conversation_id,
                                                   thread_ts=delivery.thread_id, text=piece,
                                                   blocks=[_section(piece)])

    async def _post_for_staff(self, delivery: Delivery) -> None:
        channel, reference = self.config.triage_channel, delivery.reference
        if not channel or not reference:
            return
        if await self.assistant.triage_posts(reference, self.name):
            await self._update_posts(reference)  # a re-announcement: bump the existing post
            return
        view = await self.assistant.escalation_summary(reference)
        posted = await self.client.chat_postMessage(channel=channel,
                                                    text=f"New question {reference}",
                                                    blocks=triage_blocks(view))
        await self.assistant.remember_triage_post(reference, self.name, posted["channel"],
                                                  posted["ts"])

    async def _update_posts(self, reference: str) -> None:
        posts = await self.assistant.triage_posts(reference, self.name)
        if not posts:
            return
        view = await self.assistant.escalation_summary(reference)
        for channel, ts in posts:
            await self.client.chat_update(channel=channel, ts=ts, text=f"{reference}: "
                                          f"{view.state}", blocks=triage_blocks(view))

    # --- running ---------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        return self.app.web_app(path="/slack/events")

    async def run(self) -> None:
        poller = asyncio.create_task(self.deliver_forever(2.0))
        try:
            if self.config.app_token:
                await self._run_socket_mode()
            else:
                await self._run_http()
        finally:
            poller.cancel()

    async def _run_http(self) -> None:
        runner = web.AppRunner(self.web_app())
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", self.config.port).start()
        log.warning("Slack adapter listening on port %s at /slack/events", self.config.port)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    async def _run_socket_mode(self) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(self.app, self.config.app_token)  # uses self.client
        log.warning("Slack adapter connecting in Socket Mode")
        try:
            await handler.start_async()
        finally:
            await handler.close_async()


def create(assistant: Conversation) -> SlackAdapter:
    return SlackAdapter(assistant, SlackConfig.from_env())

