"""An answer's related entries as each platform offers them: numbered in the console, buttons
that choose them in Slack and Telegram, within each platform's limits at their largest."""

from __future__ import annotations

import json

from adapters import console
from adapters.slack import blocks as slack
from adapters.telegram import CALLBACK_BYTES, MAX_CONTEXT, RELATED_BUTTONS
from adapters.telegram import render as telegram_render
from bot.chat.messages import AnswerReply, Choice, Source

LONGEST_ID = "x" * 40  # the knowledge schema's limit on an entry id
RELATED = tuple(Choice(f"{LONGEST_ID[:-1]}{i}", f"Related entry {i} " + "é" * 80)
                for i in range(7))


def answer(**fields) -> AnswerReply:
    return AnswerReply(**{"entry_id": "main-entry", "title": "Main entry", "answer": "Text.",
                          "sources": (Source("s"),), "score": 1.0, "related": RELATED,
                          "context": MAX_CONTEXT, **fields})


def test_the_console_numbers_related_entries_in_the_cores_order() -> None:
    text = console.render(answer(related=RELATED[:2]))
    assert "Related (type a number):\n  1. Related entry 0" in text
    assert "\n  2. Related entry 1" in text


def test_telegram_related_buttons_open_with_the_answers_context_within_64_bytes() -> None:
    [(_, keyboard)] = telegram_render(answer())
    data = [b.callback_data for row in keyboard.inline_keyboard for b in row]
    related = [d for d in data if d.startswith("r|")]
    assert related == [f"r|{MAX_CONTEXT}|{c.entry_id}" for c in RELATED[:RELATED_BUTTONS]]
    assert all(len(d.encode()) <= CALLBACK_BYTES for d in data)


def test_telegram_shows_related_buttons_under_the_whole_answer_too() -> None:
    pieces = telegram_render(answer(answer="Long. " * 1500, full=True))
    assert len(pieces) > 1 and all(keyboard is None for _, keyboard in pieces[:-1])
    last = pieces[-1][1]
    assert last is not None and len(last.inline_keyboard) == RELATED_BUTTONS


def test_slack_related_buttons_choose_with_the_answers_context_within_limits() -> None:
    _, rendered = slack.render(answer())
    buttons = [e for b in rendered if b["type"] == "actions" for e in b["elements"]]
    ids = [e["action_id"] for e in buttons]
    assert len(set(ids)) == len(ids)  # Slack refuses a message with a repeated action id
    related = [e for e in buttons if e["action_id"].startswith("tabot_related_")]
    assert [json.loads(e["value"]) for e in related] == [
        {"entry": c.entry_id, "ctx": MAX_CONTEXT} for c in RELATED[:slack.RELATED_BUTTONS]]
    assert all(len(e["text"]["text"]) <= slack.LABEL_LIMIT for e in related)


def test_an_answer_without_related_entries_offers_none() -> None:
    _, rendered = slack.render(answer(related=()))
    assert not any(e["action_id"].startswith("tabot_related_")
                   for b in rendered if b["type"] == "actions" for e in b["elements"])
    [(_, keyboard)] = telegram_render(answer(related=()))
    assert not any(b.callback_data.startswith("r|") for row in keyboard.inline_keyboard
                   for b in row)
    assert "Related" not in console.render(answer(related=()))
