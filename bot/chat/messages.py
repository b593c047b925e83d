"""The types that cross between the core and the adapters, and nothing else.

Adapters turn a platform event into a `Message` (or an `Actor` for staff work), render the
`Reply` objects the core returns, and send the `Delivery` objects the runtime hands them.
Nothing here knows about any platform, and no database object ever leaves the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class Actor:
    """A person on a platform. Written `platform:user_id` in settings, logs and the database."""

    platform: str
    user_id: str

    @classmethod
    def parse(cls, text: str) -> Actor:
        platform, _, user_id = text.partition(":")
        if not platform or not user_id:
            raise ValueError(f"{text!r} is not platform:user_id")
        return cls(platform, user_id)

    @property
    def id(self) -> str:
        return f"{self.platform}:{self.user_id}"

    def __str__(self) -> str:
        return self.id


class ActionKind(StrEnum):
    CHOOSE = "choose"  # the asker picked one of the suggested entries
    RELATED = "related"  # the asker opened one of an answer's related entries
    HELPED = "helped"  # "This helped"
    NOT_HELPED = "not-helped"  # "Not quite": offers to send the question to staff
    SEND_TO_STAFF = "send-to-staff"  # confirms the offer made after "Not quite"
    MORE = "more"  # the whole answer with its sources, after a short first part
    BROWSE = "browse"  # the entries of one category


@dataclass(frozen=True)
class Action:
    """A button press (or its console equivalent).

    `context` is the number the core gave the reply the button belongs to; the core keeps the
    (redacted) question behind it, so a press still works after a restart.
    """

    kind: ActionKind
    entry_id: str | None = None
    context: int | None = None
    category: str | None = None


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

    @property
    def actor(self) -> Actor:
        return Actor(self.platform, self.user_id)


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
    """Plain text from the bot: help, notices, clear explanations of bad input.

    `keep_if_unsent` False marks text never to be stored to send later when the platform is
    down (`UnsentReplies`): a one-time sign-in link, or records a person looked up (their
    questions, a staff command's queue or notes), which the purge would not reach there and
    which would be stale by then."""

    text: str
    keep_if_unsent: bool = True


@dataclass(frozen=True)
class AnswerReply:
    entry_id: str
    title: str
    answer: str
    sources: tuple[Source, ...]
    score: float
    related: tuple[Choice, ...] = ()
    disclaimer: str = ""
    context: int | None = None
    full: bool = False  # asked for with "More": show it all, sources included


@dataclass(frozen=True)
class SuggestReply:
    choices: tuple[Choice, ...]
    context: int | None = None
    text: str = "I'm not sure which of these you mean. Pick one, or ask staff:"


@dataclass(frozen=True)
class EscalatedReply:
    reference: str
    expected_response: str
    text: str


@dataclass(frozen=True)
class OfferStaffReply:
    """After "Not quite": offer to send the question to TA staff."""

    context: int | None = None
    text: str = "Sorry that didn't fit. Do you want me to send your question to TA staff?"


@dataclass(frozen=True)
class TopicsReply:
    """The knowledge base browsed by category: category -> its entries."""

    categories: dict[str, tuple[Choice, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class CategoryReply:
    """The entries of one category, picked from the topics."""

    category: str
    choices: tuple[Choice, ...]


Reply = (TextReply | AnswerReply | SuggestReply | EscalatedReply | OfferStaffReply | TopicsReply
         | CategoryReply)


class DeliveryKind(StrEnum):
    """What an outbox row carries; stored as its `kind`."""

    ANSWER = "answer"
    LATE = "late"
    STAFF_NOTICE = "staff-notice"
    TRIAGE_UPDATE = "staff-update"
    REVIEW = "kb-review"
    FILED = "filed"
    STAFF_ALERT = "staff-alert"
    REPLIES = "replies"


@dataclass(frozen=True)
class Recipient:
    """Where an asker asked, so what comes later reaches them in the same place."""

    user_id: str
    conversation_id: str
    thread_id: str | None = None


@dataclass(frozen=True)
class ToAsker:
    """A message for an asker, sent where they asked."""

    id: int
    platform: str
    to: Recipient
    reference: str
    text: str
    maybe_sent: bool = False  # an earlier attempt may have reached the platform


class AnswerRelayed(ToAsker):
    """A staff answer going back to the asker."""


class LateNotice(ToAsker):
    """The asker is told their question is taking longer than promised."""


class FiledNotice(ToAsker):
    """A question saved while the database was down has reached staff: here is its reference."""


@dataclass(frozen=True)
class StaffNotice:
    """A new, urgent or still-unclaimed question, for staff where they triage."""

    id: int
    platform: str
    reference: str
    text: str
    maybe_sent: bool = False


@dataclass(frozen=True)
class StaffAlert:
    """Words staff must read about one question, posted where they triage: an answer that
    could not reach its asker, say. Unlike a `StaffNotice`, which a platform may show as its
    own post of the question, the text itself is the point."""

    id: int
    platform: str
    reference: str
    text: str
    maybe_sent: bool = False


@dataclass(frozen=True)
class TriageUpdate:
    """An escalation changed state: staff posts showing it should be re-rendered."""

    id: int
    platform: str
    reference: str
    maybe_sent: bool = False


@dataclass(frozen=True)
class ReviewPost:
    """The monthly list of knowledge entries due for review, for staff."""

    id: int
    platform: str
    text: str
    maybe_sent: bool = False


@dataclass(frozen=True)
class UnsentReplies:
    """The core's replies to an asker's message that the platform did not take at the time
    (Slack or Telegram down past the adapter's own retries): kept and sent when it is back,
    with their buttons, since a crisis line or an answer must not be lost to a blip.
    `replies` are the ones still to go, in order."""

    id: int
    platform: str
    to: Recipient
    replies: tuple[Reply, ...]
    maybe_sent: bool = False


Delivery = (AnswerRelayed | LateNotice | FiledNotice | StaffNotice | StaffAlert | TriageUpdate
            | ReviewPost | UnsentReplies)


class NotSent(Exception):
    """`Adapter.send` could not get replies onto the platform for now; the first `sent` of
    them went. The rest are kept in the outbox and sent later (`UnsentReplies`). A refusal for
    good (the asker blocked the bot) is not raised: retrying could not help."""

    def __init__(self, sent: int, reason: str) -> None:
        super().__init__(reason)
        self.sent = sent


class Undeliverable(Exception):
    """The platform refused a delivery for good (the asker blocked the bot, the channel was
    archived): retrying cannot help, so the outbox gives it up instead of trying forever.

    Adapters raise it only for refusals that are certain; anything that may pass later (the
    network, a server error, a rate limit, a token to fix) stays a plain exception. The message
    is a short reason staff read and the log keeps, such as "the asker has blocked the bot":
    never the message's text, nor anyone's name or id.
    """
