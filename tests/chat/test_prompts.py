"""The conversation's memory of its last prompt: what a typed reply means, and forgetting it.

The conversation test set (tests/test_conversations.py) plays whole exchanges on every
platform; these are the edges it cannot reach: time passing, a full memory, a restart.
"""

from __future__ import annotations

import pytest

from bot.chat import copy
from bot.chat.conversation import Conversation
from bot.chat.messages import (
    Action,
    ActionKind,
    AnswerReply,
    Choice,
    EscalatedReply,
    Message,
    OfferStaffReply,
    SuggestReply,
    TextReply,
)
from bot.chat.prompts import (
    PROMPT_SECONDS,
    Offered,
    Prompt,
    Prompts,
    is_follow_up,
    is_probe,
    is_thanks,
    prompt_of,
    reply_word,
)
from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database

CHILDREN = "what services do children in shelter need"


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def msg(text: str, user: str = "U1", conversation: str | None = None) -> Message:
    return Message("test", user, conversation or f"dm-{user}", text)


@pytest.mark.parametrize(("text", "word"), [
    ("2", "2"), (" 3. ", "3"), ("#1", "1"), ("Yes!", "yes"), ("y", "yes"), ("This helped", "yes"),
    ("NO", "no"), ("nope.", "no"), ("None of these", "no"), ("not quite", "no"),
    ("no pets allowed?", None), ("1234", None), ("yes we can have a curfew", None), ("", None),
    ("²", None), ("①", None), ("１", "1"), ("٣", "3")])
def test_only_short_replies_are_read_as_replies(text: str, word: str | None) -> None:
    assert reply_word(text) == word


@pytest.mark.parametrize(("text", "word"), [
    ("two", "2"), ("Option 2", "2"), ("number 3", "3"), ("option #2", "2"), ("(2)", "2"),
    ("2\ufe0f\u20e3", "2"), ("\U0001f51f", "10"), ("ten", "10"), ("2 please", "2"),
    ("Yes, thanks", "yes"), ("yes thank you", "yes"), ("No, thanks", "no"),
    ("no thank you so much", "no"), ("2 thank you so much", "2"), ("None of the above", "no"),
    ("none of them", "no"),
    ("No it didn't", "no"), ("no it didn’t help, thanks", "no"), ("no it does not", "no"),
    ("Staff pls", "staff"), ("send to staff", "staff"), ("send it to staff please", "staff"),
    ("ask staff", "staff"), ("talk to a person", "staff"), ("talk to a human", "staff"),
    # the boundary: more than a few words beyond those forms is a question of its own
    ("two shelters share one hotline, what do we do", None),
    ("option 2 but for rural programs", None), ("2 thanks for the list of grants", None),
    ("none of the above, can residents bring their pets", None),
    ("no it didn't mention confidentiality waivers", None),
    ("staff pls tell me about grants for vans", None), ("ask staff about our audit", None),
    ("yes thanks but what about teens", None), ("thank you", None), ("please", None)])
def test_common_forms_of_a_reply_are_read_and_questions_are_not(text: str,
                                                                 word: str | None) -> None:
    assert reply_word(text) == word


def test_each_thread_has_its_own_prompt_and_a_new_thread_reads_the_latest() -> None:
    prompts = Prompts()
    a, b = (Message("test", "U1", "C1", "x", thread_id=t) for t in ("A", "B"))
    prompts.put(a, Prompt(Offered.CHOICES, 1))
    prompts.put(b, Prompt(Offered.ANSWER, 2))
    assert prompts.get(a).context == 1 and prompts.get(b).context == 2
    new = Message("test", "U1", "C1", "x", thread_id="C")  # as a Telegram group's messages
    assert prompts.get(new).context == 2
    assert prompts.get(msg("x", conversation="C1")) is None  # outside any thread
    prompts.put(a, Prompt(Offered.CHOICES, 1))
    prompts.forget(b)
    assert prompts.get(b) is None and prompts.get(a).context == 1  # closed: not A's instead


@pytest.mark.parametrize(("text", "follows"), [
    ("what about teens?", True), ("housing", True), ("and if he tracks her phone?", True),
    ("how about in a rural county with one police officer", True),
    ("what about a program whose board wants every advocate on call every weekend all year",
     False),
    ("how do we respond to a subpoena for a survivor's records", False), ("?!", False)])
def test_follow_ups_are_short_or_open_like_one(text: str, follows: bool) -> None:
    assert is_follow_up(text) is follows


@pytest.mark.parametrize(("text", "probe"), [
    ("test", True), ("Testing 1 2 3", True), ("is this working?", True), ("anyone there??", True),
    ("ping", True), ("hi, just a test", True), ("hello", False), ("", False),
    ("is a breath test at intake a barrier", False), ("drug testing in shelter", False)])
def test_only_a_message_checking_the_bot_is_alive_is_a_probe(text: str, probe: bool) -> None:
    assert is_probe(text) is probe


async def test_a_probe_gets_the_greeting_not_an_entry(conversation: Conversation) -> None:
    assert await conversation.handle(msg("test")) == [TextReply(copy.SMALL_TALK)]
    [reply, *_] = await conversation.handle(msg("is a breath test at shelter intake a barrier"))
    assert not isinstance(reply, TextReply)


@pytest.mark.parametrize(("text", "thanks"), [
    ("thx!!", True), ("Thank you so much!", True), ("ok great, thanks for the help", True),
    ("ty", True), ("thanks, that helped", True), ("hello", False), ("ok", False),
    ("thanks, can we share her info with the housing authority?", False),
    ("how do we thank our volunteers", False)])
def test_only_a_message_that_just_says_thank_you_is_thanks(text: str, thanks: bool) -> None:
    assert is_thanks(text) is thanks


async def test_thanks_gets_a_short_reply_and_leaves_the_answer_open(
        conversation: Conversation) -> None:
    [answer, *_] = await conversation.handle(msg("how do we respond to a subpoena for records"))
    assert isinstance(answer, AnswerReply)
    assert await conversation.handle(msg("thx!!")) == [TextReply(copy.WELCOME)]
    assert await conversation.handle(msg("yes")) == [TextReply(copy.HELPED)]


def test_a_prompt_is_forgotten_after_its_time_and_when_memory_is_full() -> None:
    clock = Clock()
    prompts = Prompts(seconds=60, size=2, clock=clock)
    first, second, third = msg("a", "U1"), msg("b", "U2"), msg("c", "U3")
    prompts.put(first, Prompt(Offered.STAFF, 1))
    clock.now += 59
    assert prompts.get(first) == Prompt(Offered.STAFF, 1, at=1000.0)
    clock.now += 2
    assert prompts.get(first) is None and len(prompts) == 0
    for message in (first, second, third):
        prompts.put(message, Prompt(Offered.STAFF, 1))
    assert prompts.get(first) is None and len(prompts) == 2  # the oldest went first


def test_what_replies_leave_open() -> None:
    related = (Choice("a", "A"),)
    answer = AnswerReply("e", "Title", "text", (), 1.0, related, context=7)
    sent = EscalatedReply("TA-0009", "soon", "sent")
    assert prompt_of([answer, sent], "q") == Prompt(Offered.ANSWER, 7, related, "e", "q",
                                                   "TA-0009")
    assert prompt_of([answer], None).topic == "Title"  # picked, not typed: its title
    assert prompt_of([SuggestReply(related, 3)], "q").offered is Offered.CHOICES
    assert prompt_of([OfferStaffReply(4)], None) == Prompt(Offered.STAFF, 4)
    assert prompt_of([sent], "q") == Prompt(Offered.SENT, reference="TA-0009")
    assert prompt_of([TextReply("hello")], "q") is None


async def test_a_reply_after_the_prompt_has_expired_is_explained_not_guessed(
        shipped_kb: KnowledgeBase, database: Database, settings: Settings) -> None:
    clock = Clock()
    conversation = Conversation(shipped_kb, database, settings, prompts=Prompts(clock=clock))
    [suggested] = await conversation.handle(msg("shelter"))
    assert isinstance(suggested, SuggestReply)
    clock.now += PROMPT_SECONDS + 1
    assert await conversation.handle(msg("1")) == [TextReply(copy.NO_CHOICES)]
    assert await conversation.handle(msg("no")) == [TextReply(copy.NOTHING_OPEN)]


async def test_a_follow_up_after_the_prompt_has_expired_stands_alone(
        shipped_kb: KnowledgeBase, database: Database, settings: Settings) -> None:
    clock = Clock()
    conversation = Conversation(shipped_kb, database, settings, prompts=Prompts(clock=clock))
    [answer] = await conversation.handle(msg(CHILDREN))
    assert isinstance(answer, AnswerReply) and answer.entry_id == "children-in-shelter"
    clock.now += PROMPT_SECONDS + 1
    replies = await conversation.handle(msg("what about teens?"))
    together = conversation.matcher.match(f"{CHILDREN} what about teens?")
    assert together.best and together.best.entry.id == "teen-boys-shelter-admission"
    assert not any(isinstance(r, AnswerReply) and r.entry_id == together.best.entry.id
                   for r in replies)  # the set shows that, in time, it is this entry


async def test_prompts_belong_to_one_asker_in_one_conversation(
        conversation: Conversation) -> None:
    [suggested] = await conversation.handle(msg("shelter", "U1"))
    assert isinstance(suggested, SuggestReply)
    assert await conversation.handle(msg("1", "U2")) == [TextReply(copy.NO_CHOICES)]
    elsewhere = msg("1", "U1", conversation="C-GENERAL")
    assert await conversation.handle(elsewhere) == [TextReply(copy.NO_CHOICES)]
    [chosen] = await conversation.handle(msg("1", "U1"))
    assert isinstance(chosen, AnswerReply) and chosen.entry_id == suggested.choices[0].entry_id


async def test_after_a_restart_typed_replies_are_explained_and_buttons_still_work(
        shipped_kb: KnowledgeBase, database: Database, settings: Settings) -> None:
    before = Conversation(shipped_kb, database, settings)
    [suggested] = await before.handle(msg("shelter"))
    after = Conversation(shipped_kb, database, settings)  # nothing carried over in memory
    assert await after.handle(msg("staff")) == [TextReply(copy.STAFF_USAGE)]
    assert await after.handle(msg("2")) == [TextReply(copy.NO_CHOICES)]
    staff = Action(ActionKind.SEND_TO_STAFF, context=suggested.context)  # its button
    [sent] = await after.handle(Message("test", "U1", "dm-U1", action=staff))
    assert isinstance(sent, EscalatedReply)


async def test_a_bare_staff_command_after_a_prompt_sends_the_question_just_asked(
        conversation: Conversation) -> None:
    """Telegram's /staff from its command menu arrives as "/staff@botname" with nothing
    after it; right after a prompt it means the question behind that prompt."""
    await conversation.handle(msg("shelter"))
    [sent] = await conversation.handle(msg("/staff@tabot_bot"))
    assert isinstance(sent, EscalatedReply)
    [again] = await conversation.handle(msg("/staff"))
    assert again == TextReply(copy.ALREADY_SENT.format(reference=sent.reference))
