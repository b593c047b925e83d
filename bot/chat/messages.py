"""The message and reply types every adapter speaks.

Adapters turn a platform event into a `Message` and render the `Reply` objects that
`Conversation.handle()` returns. Nothing here knows about any platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ActionKind(StrEnum):
    CHOOSE = "choose"  # the asker picked one of the suggested entries
    HELPED = "helped"  # "This helped"
    NOT_HELPED = "not-helped"  # "Not quite": offers to send the question to staff
    SEND_TO_STAFF = "send-to-staff"  # confirms the offer made after "Not quite"


@dataclass(frozen=True)
class Action:
    """A button press (or its console equivalent) tied to an entry or a question."""

    kind: ActionKind
    entry_id: str | None = None
    question: str | None = None


@dataclass(frozen=True)
class Message:
    """One thing an asker said or pressed, in platform-neutral form."""

    platform: str
    user_id: str
    conversation_id: str
    text: str = ""
    thread_id: str | None = None
    program: str | None = None
    action: Action | None = None


@dataclass(frozen=True)
class Source:
    title: str
    url: str | None = None


@dataclass(frozen=True)
class Choice:
    entry_id: str
    title: str


@dataclass(frozen=True)
class TextReply:
    """Plain text from the bot: help, notices, clear explanations of bad input."""

    text: str


@dataclass(frozen=True)
class AnswerReply:
    entry_id: str
    title: str
    answer: str
    sources: tuple[Source, ...]
    score: float
    question: str
    related: tuple[Choice, ...] = ()
    disclaimer: str = ""


@dataclass(frozen=True)
class SuggestReply:
    question: str
    choices: tuple[Choice, ...]
    text: str = "I'm not sure which of these you mean. Pick one, or ask staff:"


@dataclass(frozen=True)
class EscalatedReply:
    reference: str
    expected_response: str
    text: str


@dataclass(frozen=True)
class OfferStaffReply:
    """After "Not quite": offer to send the question to TA staff."""

    question: str
    text: str = "Sorry that didn't fit. Do you want me to send your question to TA staff?"


@dataclass(frozen=True)
class TopicsReply:
    """The knowledge base browsed by category: category -> its entries."""

    categories: dict[str, tuple[Choice, ...]] = field(default_factory=dict)


Reply = TextReply | AnswerReply | SuggestReply | EscalatedReply | OfferStaffReply | TopicsReply
