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
                 "that helped", "send it", "please do", "yes it did", "yes it helped",
                 "it did"})
NO = frozenset({"no", "n", "nope", "no thanks", "not quite", "not really", "none", "neither",
                "none of these", "none of them", "none of those", "none of the above",
                "didn't help", "did not help", "doesn't help", "does not help", "it didn't help",
                "it did not help", *(f"no {it} {verb}{helping}" for it in ("it", "that")
                                     for verb in ("didn't", "doesn't", "did not", "does not")
                                     for helping in ("", " help"))})
STAFF = frozenset({"staff", "send to staff", "send it to staff", "send this to staff",
                   "ask staff", "ask the staff", "talk to staff", "talk to a person",
                   "talk to a human", "send to a person", "send it to a person"})
# Said after the reply itself ("Yes, thanks", "Staff pls", "2 please"): dropped, four at most,
# so "2 please tell me about grants" is still a question of its own.
_COURTESY = frozenset({"thanks", "thank", "you", "pls", "plz", "please", "thx", "ty", "so",
                       "much"})
COURTESY_WORDS = 4
_NUMBERS = {word: str(n) for n, word in enumerate(
    "one two three four five six seven eight nine ten".split(), 1)}
_NUMBER_WORDS = ("option ", "number ", "choice ", "no. ", "#")
_KEYCAP = str.maketrans({"\ufe0f": None, "\u20e3": None, "\U0001f51f": "10"})
_EDGES = " .!?,;:()[]#*"


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
    FOLLOW = "follow"  # an answer the asker said helped: only a follow-up can still use it


@dataclass(frozen=True)
class Prompt:
    """The last thing an asker was offered. `topic` is what an answer was about (the redacted
    question, or the title of an entry they picked), for matching a follow-up; `question` is
    the redacted question as recorded, filed from here when its record could not be stored."""

    offered: Offered
    context: int | None = None
    choices: tuple[Choice, ...] = ()
    entry_id: str | None = None
    topic: str = ""
    reference: str | None = None
    question: str = ""
    at: float = 0.0


def reply_word(text: str) -> str | None:
    """"yes", "no", "staff", a number, or None: what a short typed reply to a prompt says.

    Only whole replies count, with a few courtesy words after them at most: "2", "Option 2",
    "(2)", "2️⃣", "two", "No, thanks", "Staff pls". Anything longer is a question of its own."""
    words = _plain(text).split()
    for courtesy in range(min(COURTESY_WORDS, len(words)) + 1):
        if courtesy and words[-courtesy] not in _COURTESY:
            break
        if (word := _reply(" ".join(words[:len(words) - courtesy]).strip(_EDGES))) is not None:
            return word
    return None


def _plain(text: str) -> str:
    """Casefolded, one kind of apostrophe, keycap emoji as their digits, commas as spaces."""
    said = text.casefold().translate(_KEYCAP).replace("’", "'").replace(",", " ")
    return " ".join(said.strip(_EDGES).split())


def _reply(said: str) -> str | None:
    for prefix in _NUMBER_WORDS:
        said = said.removeprefix(prefix).strip(_EDGES)
    said = _NUMBERS.get(said, said)
    if said.isdecimal() and len(said) <= 3:  # not isdigit(): "²" is a digit int() refuses
        return str(int(said))  # "１" or "١" typed on a phone keyboard is 1
    for word, forms in (("yes", YES), ("no", NO), ("staff", STAFF)):
        if said in forms:
            return word
    return None


def is_follow_up(text: str) -> bool:
    """Short, or opening like a follow-up: "teens?", "what about older survivors?"."""
    words = len(_WORDS.findall(text))
    opens = text.casefold().lstrip().startswith(_OPENERS)
    return 0 < words <= FOLLOW_UP_WORDS or (opens and words <= OPENER_WORDS)


def prompt_of(replies: Sequence[Reply], topic: str | None,
              question: str = "") -> Prompt | None:
    """The prompt a set of replies leaves open, if any.

    An answer sent to staff as well (state law) is still an answer to say yes or no to; it
    keeps the reference, so "staff" does not file the same question twice."""
    reference = next((r.reference for r in replies if isinstance(r, EscalatedReply)), None)
    for reply in reversed(replies):
        match reply:
            case AnswerReply():
                return Prompt(Offered.ANSWER, reply.context, reply.related, reply.entry_id,
                              topic or reply.title, reference, question)
            case SuggestReply():
                return Prompt(Offered.CHOICES, reply.context, reply.choices, topic=topic or "",
                              reference=reference, question=question)
            case OfferStaffReply():
                return Prompt(Offered.STAFF, reply.context, reference=reference,
                              question=question)
    return Prompt(Offered.SENT, reference=reference) if reference else None


Key = tuple[str, str, str | None, str]


class Prompts:
    """The last prompt per (platform, conversation, thread, asker), for `seconds`; at most
    `size`.

    Each Slack thread has prompts of its own, so "staff" typed in one thread never files the
    question asked in another. A platform whose every message names a thread of its own (a
    Telegram group, where a reply quotes the message it answers) would never find a prompt
    that way; so a message in a thread with nothing remembered for it reads the asker's latest
    prompt in that conversation, as before threads counted. A thread whose prompt was closed
    or expired keeps a marker (None), so it never falls back to another thread's prompt."""

    def __init__(self, seconds: float = PROMPT_SECONDS, size: int = REMEMBERED,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._last: OrderedDict[Key, Prompt | None] = OrderedDict()
        self._latest: OrderedDict[tuple[str, str, str], Key] = OrderedDict()

    @staticmethod
    def _key(message: Message) -> Key:
        return message.platform, message.conversation_id, message.thread_id, message.user_id

    @staticmethod
    def _asker(message: Message) -> tuple[str, str, str]:
        return message.platform, message.conversation_id, message.user_id

    def get(self, message: Message) -> Prompt | None:
        """The open prompt, or None if there is none or it is older than `seconds`."""
        key = self._key(message)
        if key not in self._last and message.thread_id is not None:
            key = self._latest.get(self._asker(message), key)
        prompt = self._last.get(key)
        if prompt is not None and self.clock() - prompt.at > self.seconds:
            self._last[key] = None
            return None
        return prompt

    def put(self, message: Message, prompt: Prompt, fresh: bool = True) -> None:
        """Remember `prompt`, timed from now, or from when it was first given if not `fresh`."""
        self._remember(message, replace(prompt, at=self.clock()) if fresh else prompt)

    def forget(self, message: Message) -> None:
        self._remember(message, None)

    def _remember(self, message: Message, prompt: Prompt | None) -> None:
        key = self._key(message)
        _newest(self._last, key, prompt, self.size)
        _newest(self._latest, self._asker(message), key, self.size)

    def after(self, message: Message, replies: Sequence[Reply], topic: str | None = None,
              question: str = "") -> None:
        """Remember what `replies` leave open; forget the last prompt if they leave nothing."""
        prompt = prompt_of(replies, topic, question)
        if prompt is None:
            self.forget(message)
        else:
            self.put(message, prompt)

    def __len__(self) -> int:
        return sum(1 for prompt in self._last.values() if prompt is not None)


def _newest(memory: OrderedDict, key: object, value: object, size: int) -> None:
    """Put `key` last (the most recent), dropping the least recent beyond `size`."""
    memory.pop(key, None)
    memory[key] = value
    while len(memory) > size:
        memory.popitem(last=False)
