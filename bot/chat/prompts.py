"""What each asker was last offered, so a short reply ("2", "no", "staff") means something.

A chat reply such as "no" or "1" only makes sense against the prompt before it. Buttons carry
their own context, but typed replies do not, and not every platform has buttons. So the
conversation remembers, per asker and conversation, the last prompt it gave: what it offered,
the record (`context`) of the question behind it, and when. This memory is allowed to be
forgotten: after a restart, after a few minutes, or when it is full, a typed reply gets a short
explanation instead, and buttons keep working because they carry their context.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.chat.messages import (
    AnswerReply,
    Choice,
    EscalatedReply,
    Message,
    OfferStaffReply,
    Reply,
    SuggestReply,
)

PROMPT_SECONDS = 300.0  # how long a prompt can be answered by typing (and a follow-up asked)
REMEMBERED = 10_000  # askers remembered at most; the least recently prompted go first
FOLLOW_UP_WORDS = 6  # a message this short, right after an answer, may be a follow-up
OPENER_WORDS = 12  # ... or up to this long, when it opens like one ("what about ...")
_OPENERS = ("what about", "how about", "what if", "but what", "but if", "and ", "also ",
            "same for")
_WORDS = re.compile(r"\w+")

YES = frozenset({"yes", "y", "yep", "yeah", "yes please", "helped", "this helped", "it helped",
                 "that helped", "send it", "please do"})
NO = frozenset({"no", "n", "nope", "no thanks", "not quite", "not really", "none", "neither",
                "none of these", "none of them", "none of those", "didn't help",
                "did not help"})


# What people type to see whether a bot is alive. Said alone (with filler, numbers or
# punctuation) they get the greeting rather than a match: "test" would otherwise find an entry
# about drug tests at intake.
_PROBES = frozenset({"test", "testing", "ping", "working", "there", "anyone", "anybody", "bot",
                     "tabot"})
_FILLER = frozenset({"this", "is", "a", "are", "you", "just", "only", "it", "hi", "hello"})
_LETTERS = re.compile(r"[^\W\d_]+")
# Thanks, said alone ("thx!!", "thank you so much", "ok great thanks"), gets a short "you're
# welcome" rather than the greeting, which would read as if the bot had not been listening.
_THANKS = frozenset({"thanks", "thank", "thanx", "thx", "thnx", "tx", "ty", "tysm", "tyvm",
                     "appreciate", "appreciated", "cheers", "merci", "gracias"})
_POLITE = frozenset("""
    you u so very much a lot lots again all it that this great awesome perfect ok okay cool got
    gotcha helps helped helpful bye have good day and really for the help info i we many kindly
    """.split())


def is_probe(text: str) -> bool:
    """A message that only checks the bot answers: "test", "testing 123", "is anyone there?"."""
    words = set(_LETTERS.findall(text.casefold()))
    return bool(words & _PROBES) and words <= _PROBES | _FILLER


def is_thanks(text: str) -> bool:
    """A message that only says thank you: "thx!!", "thanks so much for the help"."""
    words = set(_LETTERS.findall(text.casefold()))
    return bool(words & _THANKS) and words <= _THANKS | _POLITE


class Offered(StrEnum):
    CHOICES = "choices"  # numbered suggestions, after a question it was unsure about
    ANSWER = "answer"  # an answer: yes/no, and its related entries numbered
    STAFF = "staff"  # an offer to send the question to staff (after "no", or off-topic)
    SENT = "sent"  # the question is with staff already: nothing to offer, but its reference


@dataclass(frozen=True)
class Prompt:
    """The last thing an asker was offered. `topic` is what an answer was about (the redacted
    question, or the title of an entry they picked), for matching a follow-up."""

    offered: Offered
    context: int | None = None
    choices: tuple[Choice, ...] = ()
    entry_id: str | None = None
    topic: str = ""
    reference: str | None = None
    at: float = 0.0


def reply_word(text: str) -> str | None:
    """"yes", "no", a number, or None: what a short typed reply to a prompt says."""
    said = " ".join(text.casefold().strip(" .!?)#").replace("’", "'").split())
    if said.isdecimal() and len(said) <= 3:  # not isdigit(): "²" is a digit int() refuses
        return str(int(said))  # "１" or "١" typed on a phone keyboard is 1
    if said in YES:
        return "yes"
    if said in NO:
        return "no"
    return None


def is_follow_up(text: str) -> bool:
    """Short, or opening like a follow-up: "teens?", "what about older survivors?"."""
    words = len(_WORDS.findall(text))
    opens = text.casefold().lstrip().startswith(_OPENERS)
    return 0 < words <= FOLLOW_UP_WORDS or (opens and words <= OPENER_WORDS)


def prompt_of(replies: Sequence[Reply], topic: str | None) -> Prompt | None:
    """The prompt a set of replies leaves open, if any.

    An answer sent to staff as well (state law) is still an answer to say yes or no to; it
    keeps the reference, so "staff" does not file the same question twice."""
    reference = next((r.reference for r in replies if isinstance(r, EscalatedReply)), None)
    for reply in reversed(replies):
        match reply:
            case AnswerReply():
                return Prompt(Offered.ANSWER, reply.context, reply.related, reply.entry_id,
                              topic or reply.title, reference)
            case SuggestReply():
                return Prompt(Offered.CHOICES, reply.context, reply.choices, topic=topic or "",
                              reference=reference)
            case OfferStaffReply():
                return Prompt(Offered.STAFF, reply.context, reference=reference)
    return Prompt(Offered.SENT, reference=reference) if reference else None


class Prompts:
    """The last prompt per (platform, conversation, asker), for `seconds`; at most `size`."""

    def __init__(self, seconds: float = PROMPT_SECONDS, size: int = REMEMBERED,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._last: OrderedDict[tuple[str, str, str], Prompt] = OrderedDict()

    @staticmethod
    def _key(message: Message) -> tuple[str, str, str]:
        return message.platform, message.conversation_id, message.user_id

    def get(self, message: Message) -> Prompt | None:
        """The open prompt, or None if there is none or it is older than `seconds`."""
        key = self._key(message)
        prompt = self._last.get(key)
        if prompt is not None and self.clock() - prompt.at > self.seconds:
            del self._last[key]
            return None
        return prompt

    def put(self, message: Message, prompt: Prompt) -> None:
        key = self._key(message)
        self._last.pop(key, None)
        self._last[key] = replace(prompt, at=self.clock())
        while len(self._last) > self.size:
            self._last.popitem(last=False)

    def forget(self, message: Message) -> None:
        self._last.pop(self._key(message), None)

    def after(self, message: Message, replies: Sequence[Reply], topic: str | None = None) -> None:
        """Remember what `replies` leave open; forget the last prompt if they leave nothing."""
        prompt = prompt_of(replies, topic)
        if prompt is None:
            self.forget(message)
        else:
            self.put(message, prompt)

    def __len__(self) -> int:
        return len(self._last)
