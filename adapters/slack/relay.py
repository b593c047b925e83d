"""Slack message metadata that lets an outbox message be sent exactly once.

Every message tabot relays from its outbox carries the outbox row's id as Slack message
metadata. If the process dies after Slack took a message but before the outbox recorded it,
the next attempt finds the message in the conversation by that id instead of posting it again.
"""

from __future__ import annotations

from typing import Any

OUTBOX_EVENT = "tabot_outbox"
RECENT = 100  # messages searched: a resend follows its first attempt within seconds


def outbox_tag(outbox_id: int, part: int) -> dict[str, Any]:
    """The metadata of one part of an outbox message (long messages go in several)."""
    return {"event_type": OUTBOX_EVENT,
            "event_payload": {"outbox_id": outbox_id, "part": part}}


def parts_posted(messages: list[dict[str, Any]], outbox_id: int) -> dict[int, str]:
    """{part: ts} of the parts of `outbox_id` among messages from conversations.history."""
    found: dict[int, str] = {}
    for message in messages:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == OUTBOX_EVENT and payload.get("outbox_id") == outbox_id:
            found[int(payload.get("part", 0))] = message["ts"]
    return found
