"""Block Kit for tabot's replies and for the staff's triage posts.

Everything a user wrote is escaped before it is echoed, so a question can never ping, mention
or disguise a link. Buttons carry an entry id and the reply's `context`, never the question, so
a button's value is short whatever was asked; text with a limit is cut with `clip`, never
serialized JSON.
"""

from __future__ import annotations

import json
import re
import unicodedata

from bot.chat.messages import (
    Actor,
    AnswerReply,
    CategoryReply,
    Choice,
    EscalatedReply,
    OfferStaffReply,
    Reply,
    SuggestReply,
    TextReply,
    TopicsReply,
)
from bot.chat.text import split_text
from bot.core import EscalationView, Home, Report

SECTION_LIMIT = 2900  # Slack allows 3,000 characters in a section's text
BLOCKS_PER_MESSAGE = 45  # Slack allows 50 blocks in a message
VALUE_LIMIT = 2000  # characters in a button's value
LABEL_LIMIT = 75  # characters in a button's label
HEADER_LIMIT = 150  # characters in a header
RELATED_BUTTONS = 5  # related entries offered as buttons under an answer (Slack allows 25)
ZWJ = "\u200d"  # zero-width joiner, between the emoji of one sequence
_MODIFIERS = re.compile("[\u200d\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")  # ZWJ, skin tone, tag
_FLAG = re.compile("[\U0001f1e6-\U0001f1ff]")  # a regional indicator: two make a flag


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, ending with "…" when cut.

    Counted in UTF-16 code units, as Slack's JavaScript counts them (an emoji is two), so no
    script can pass a limit. The cut is never inside a character sequence (an emoji with a
    joiner, skin tone or variation selector, a flag, a letter and its combining marks) nor
    inside an escape such as `&amp;`.
    """
    if _units(text) <= limit:
        return text
    end, used = 0, 1  # room for the "…"
    while used + _units(text[end]) <= limit:
        used += _units(text[end])
        end += 1
    while end > 0 and (_continues(text[end]) or text[end - 1] == ZWJ or _half_flag(text, end)):
        end -= 1
    head = text[:end]
    amp = head.rfind("&")
    if amp > head.rfind(";") and len(head) - amp < len("&amp;"):
        head = head[:amp]
    return head + "…"


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _continues(char: str) -> bool:
    """Does `char` belong to the character before it?"""
    return unicodedata.category(char) in {"Mn", "Mc", "Me"} or bool(_MODIFIERS.match(char))


def _half_flag(text: str, end: int) -> bool:
    """Would cutting at `end` split a flag (a pair of regional indicators)?"""
    run = 0
    while run < end and _FLAG.match(text[end - 1 - run]):
        run += 1
    return run % 2 == 1 and bool(_FLAG.match(text[end]))


def escape(text: str) -> str:
    """Slack's three control characters; escaped text cannot mention, ping or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, action_id: str, value: dict, style: str | None = None) -> dict:
    """A button whose value is JSON as written: an entry id (at most 40 ASCII characters, the
    knowledge schema says), a row id or a reference, never far from the limit. One over it is
    a bug to raise, not a value to cut: cut JSON is not JSON, and the press would do nothing."""
    encoded = json.dumps(value)
    if len(encoded) > VALUE_LIMIT:
        raise ValueError(f"a button value over Slack's {VALUE_LIMIT} characters: {encoded[:80]}…")
    button = {"type": "button", "text": {"type": "plain_text", "text": clip(label, LABEL_LIMIT)},
              "action_id": action_id, "value": encoded}
    return {**button, "style": style} if style else button


def render(reply: Reply) -> tuple[str, list[dict]]:
    """Fallback text and Block Kit blocks for one reply."""
    match reply:
        case AnswerReply():
            return reply.title, _answer_blocks(reply)
        case SuggestReply():
            buttons = [_button(c.title, f"tabot_choose_{i}", {"entry": c.entry_id,
                                                               "ctx": reply.context})
                       for i, c in enumerate(reply.choices)]
            buttons.append(_button("Ask TA staff", "tabot_staff", {"ctx": reply.context}))
            return reply.text, [section(escape(reply.text)),
                                {"type": "actions", "elements": buttons}]
        case OfferStaffReply():
            return reply.text, [section(escape(reply.text)), {"type": "actions", "elements": [
                _button("Send to TA staff", "tabot_staff", {"ctx": reply.context},
                        "primary")]}]
        case TopicsReply():
            return "Topics", _topic_blocks(reply.categories)
        case CategoryReply():
            return reply.category, _topic_blocks({reply.category: reply.choices})
        case EscalatedReply() | TextReply():
            return reply.text, [section(piece) for piece in split_text(escape(reply.text),
                                                                        SECTION_LIMIT)]
    raise TypeError(f"cannot render {type(reply).__name__}")


def _answer_blocks(reply: AnswerReply) -> list[dict]:
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text",
                                                      "text": clip(reply.title, HEADER_LIMIT)}}]
    blocks += [section(piece) for piece in split_text(escape(reply.answer), SECTION_LIMIT)]
    sources = [f"<{s.url}|{escape(s.title)}>" if s.url else escape(s.title)
               for s in reply.sources]
    notes = ["Sources: " + " · ".join(sources)]
    if reply.disclaimer:
        notes.append(f"_{escape(reply.disclaimer)}_")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": n[:3000]}
                                                   for n in notes]})
    feedback = {"entry": reply.entry_id, "ctx": reply.context}
    blocks.append({"type": "actions", "elements": [
        _button("This helped", "tabot_helped", feedback, "primary"),
        _button("Not quite", "tabot_not_helped", feedback)]})
    return blocks + _related_blocks(reply)


def _related_blocks(reply: AnswerReply) -> list[dict]:
    """Related entries as buttons that choose them, with the answer's context, so what they
    answer is recorded against the question that led here (as a chosen suggestion is)."""
    if not reply.related:
        return []
    buttons = [_button(c.title, f"tabot_related_{i}", {"entry": c.entry_id, "ctx": reply.context})
               for i, c in enumerate(reply.related[:RELATED_BUTTONS])]
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": "Related:"}]},
            {"type": "actions", "elements": buttons}]


def _topic_blocks(categories: dict[str, tuple[Choice, ...]]) -> list[dict]:
    blocks = []
    for category, choices in categories.items():
        lines = "\n".join(f"• {escape(c.title)}" for c in choices)
        blocks += [section(f"*{category.replace('-', ' ').title()}*\n{piece}")
                   for piece in split_text(lines, SECTION_LIMIT)]
    return blocks


def triage_blocks(view: EscalationView) -> list[dict]:
    """The staff post for one escalation, re-rendered in place as its state changes."""
    owner = _owner(view.claimed_by)
    topic = ", ".join(view.tags[:2]) or "no topic"
    hours = view.age().total_seconds() / 3600
    head = (f"*{view.reference}* · {view.state}{owner} · {escape(topic)} · "
            f"asked {hours:.0f} h ago" if hours >= 1 else
            f"*{view.reference}* · {view.state}{owner} · {escape(topic)} · just now")
    blocks = [section(head), section(">" + clip(escape(view.question), SECTION_LIMIT))]
    if view.answer:
        answered = next((e for e in reversed(view.events) if e.kind == "answered"), None)
        when = f" (by {escape(answered.actor)}, {answered.at:%Y-%m-%d %H:%M} UTC)" if answered \
            else ""
        blocks.append(section(f"*Answer{when}:* " + clip(escape(view.answer), SECTION_LIMIT)))
    value = {"ref": view.reference}
    buttons = {"open": [("Claim", "triage_claim"), ("Answer", "triage_answer"),
                        ("Close", "triage_close")],
               "claimed": [("Answer", "triage_answer"), ("Close", "triage_close")],
               "answered": [("Close", "triage_close")],
               "closed": [("Reopen", "triage_reopen")]}[view.state]
    blocks.append({"type": "actions", "elements": [_button(label, action, value)
                                                   for label, action in buttons]})
    return blocks


def _owner(actor: Actor | None) -> str:
    if actor is None:
        return ""
    if actor.platform == "slack":
        return f" · claimed by <@{actor.user_id}>"
    return f" · claimed by {escape(actor.id)}"


def answer_modal(reference: str, seen: str | None = None) -> dict:
    """The form staff type an answer in. It carries what it showed of the answer (`seen`), so
    an answer sent after someone else's is refused, not relayed as a second answer."""
    return {"type": "modal", "callback_id": "triage_answer_modal",
            "private_metadata": json.dumps({"ref": reference, "seen": seen}),
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
            section("\n".join(lines))]


def home_view(home: Home, user: Actor) -> dict:
    """App Home: the figures, the queue and your claims for staff; your own questions for
    advocates."""
    views, staff = home.questions, home.staff
    if staff:
        mine = [v for v in views if v.claimed_by == user]
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
        blocks += [section(piece) for piece in split_text("\n".join(lines) or "_Nothing._",
                                                            SECTION_LIMIT)]
    if home.figures is not None:
        blocks = [*figure_blocks(home.figures), *blocks]
    if staff:
        blocks = [console_button(), *blocks]
    return {"type": "home", "blocks": blocks[:100]}


CONSOLE_BUTTON = "console_signin"


def console_button() -> dict:
    """Staff's way into the web console from the App Home: pressing it asks the core for a
    one-time link, sent in the DM (a link in the Home view itself would expire unopened)."""
    return {"type": "actions", "block_id": "console", "elements": [{
        "type": "button", "action_id": CONSOLE_BUTTON, "style": "primary",
        "text": {"type": "plain_text", "text": "Sign in to the web console"},
        "value": "console"}]}
