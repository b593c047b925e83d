import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.chat.annotations import NO_QUESTION, proposable
from bot.chat.conversation import Conversation
from bot.chat.copy import (
    ALREADY_SENT,
    ALREADY_WITH_STAFF,
    CRISIS_ADDED,
    HELPED,
    NO_CHOICES,
    NOT_YOUR_QUESTION,
    NOTHING_OPEN,
    OFF_TOPIC,
    OWN_ONLY_PRIVATE,
    SMALL_TALK,
    SPOOLED,
    STAFF_ONLY_PRIVATE,
    STAFF_USAGE,
    STORAGE_DOWN,
    WELCOME,
)
from bot.chat.messages import (
    Action,
    ActionKind,
    AnswerRelayed,
    AnswerReply,
    CategoryReply,
    EscalatedReply,
    Message,
    OfferStaffReply,
    SuggestReply,
    TextReply,
    TopicsReply,
)
from bot.config import Settings
from bot.insights.reports import Report, build_report
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.store.tables import Escalation, Interaction, LearnedPhrasing
from bot.triage import outbox
from bot.triage.escalations import ANSWERED_WITH
from tests.conftest import write_text

# A question for staff. Matching offers suggestions for nearly any question in the domain's
# words (each with a way to staff), so a test that needs an escalation asks for staff.
UNMATCHED = "how do we reconcile our general ledger for the audit"
TO_STAFF = "/staff " + UNMATCHED


def msg(text: str = "", user: str = "U1", action: Action | None = None) -> Message:
    return Message("test", user, f"dm-{user}", text, action=action)


async def rows(db: Database, model) -> list:
    async with db.session() as session:
        return list(await session.scalars(select(model).order_by(model.id)))


async def test_a_shipped_phrasing_is_answered_with_sources_and_a_disclaimer(
        conversation: Conversation) -> None:
    replies = await conversation.handle(msg("what do we do if we get a subpoena for a survivor's "
                                         "records"))
    reply = replies[0]
    assert isinstance(reply, AnswerReply)
    assert reply.entry_id == "subpoena-for-records"
    assert reply.sources and "not legal advice" in reply.disclaimer
    [recorded] = await rows(conversation.db, Interaction)
    assert (recorded.outcome, recorded.entry_id) == ("answer", "subpoena-for-records")


async def test_an_entry_that_depends_on_state_law_is_answered_and_sent_to_staff(
        conversation: Conversation) -> None:
    replies = await conversation.handle(msg("what do we do if we get a subpoena for a survivor's "
                                         "records"))
    assert [type(r) for r in replies] == [AnswerReply, EscalatedReply]
    [escalation] = await rows(conversation.db, Escalation)
    assert escalation.reason == "state-law" and escalation.reference == "TA-0001"


async def test_a_question_for_staff_is_committed_before_the_asker_is_told(
        conversation: Conversation) -> None:
    [reply] = await conversation.handle(msg(TO_STAFF))
    assert isinstance(reply, EscalatedReply)
    [escalation] = await rows(conversation.db, Escalation)
    assert reply.reference == escalation.reference == "TA-0001"
    assert reply.expected_response in reply.text
    assert (escalation.platform, escalation.user_id, escalation.state) == ("test", "U1", "open")
    assert escalation.question == UNMATCHED


async def test_a_question_nothing_comes_close_to_goes_to_staff_directly(
        small_kb_dir: Path, database: Database, settings: Settings) -> None:
    """A knowledge base too small to calibrate has no off-topic judgement: whatever nothing
    comes close to is filed, with the reason staff see."""
    conversation = Conversation(KnowledgeBase.load(small_kb_dir), database, settings)
    [reply] = await conversation.handle(msg("how do we budget for a new roof"))
    assert isinstance(reply, EscalatedReply)
    [escalation] = await rows(conversation.db, Escalation)
    assert escalation.reason == "no-match" and reply.reference == escalation.reference


async def test_references_are_never_reused(conversation: Conversation) -> None:
    first = await conversation.handle(msg(TO_STAFF))
    second = await conversation.handle(msg("/staff how do we budget for a new roof"))
    assert [first[0].reference, second[0].reference] == ["TA-0001", "TA-0002"]


async def test_a_vague_question_gets_distinct_suggestions(conversation: Conversation) -> None:
    replies = await conversation.handle(msg("shelter"))
    suggestion = next(r for r in replies if isinstance(r, SuggestReply))
    ids = [c.entry_id for c in suggestion.choices]
    assert 1 < len(ids) <= 3 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("text", ["", "   \n\t ", "😀🙏💜", "\x00\x07\x1b", "?!..."])
async def test_empty_emoji_and_control_only_messages_get_a_clear_reply(
        conversation: Conversation, text: str) -> None:
    [reply] = await conversation.handle(msg(text))
    assert isinstance(reply, TextReply) and "Type your question in words" in reply.text
    assert await rows(conversation.db, Escalation) == []


async def test_a_20000_character_message_is_refused_with_the_limit(
        conversation: Conversation) -> None:
    [reply] = await conversation.handle(msg("subpoena " * 2223))
    assert isinstance(reply, TextReply)
    assert "20,006 characters" in reply.text and "4,000" in reply.text


async def test_bytes_that_were_not_utf8_are_dropped_and_the_question_answered(
        conversation: Conversation) -> None:
    """A terminal passes undecodable bytes on as lone surrogates, and Slack's JSON can carry
    half an emoji: neither can be stored, so they must not reach the record."""
    [answer, *_] = await conversation.handle(msg("can our shelter have a \udcff\udcfe curfew"))
    assert isinstance(answer, AnswerReply)
    [stored] = await rows(conversation.db, Interaction)
    assert "\udcff" not in stored.text and "curfew" in stored.text


async def test_control_characters_inside_a_question_are_ignored(conversation: Conversation) -> None:
    replies = await conversation.handle(msg("what do we do if we get a\x00 subpoena\x1b[31m for a "
                                         "survivor's records\u200b"))
    assert isinstance(replies[0], AnswerReply)


@pytest.mark.parametrize("text", ["hi", "thanks!", "hello there", "ok"])
async def test_small_talk_is_not_sent_to_staff(conversation: Conversation, text: str) -> None:
    [reply] = await conversation.handle(msg(text))
    assert reply in (TextReply(SMALL_TALK), TextReply(WELCOME))
    assert await rows(conversation.db, Escalation) == []


async def test_help_and_topics_cover_every_entry(conversation: Conversation) -> None:
    [help_reply] = await conversation.handle(msg("/help"))
    assert "/staff" in help_reply.text
    [topics] = await conversation.handle(msg("topics"))
    assert isinstance(topics, TopicsReply)
    assert set(topics.categories) == {"best-practice", "emerging-issue", "standard"}
    listed = {c.entry_id for choices in topics.categories.values() for c in choices}
    assert listed == set(conversation.knowledge.entries)


async def test_staff_command_escalates_directly_and_needs_a_question(
        conversation: Conversation) -> None:
    [hint] = await conversation.handle(msg("/staff"))
    assert isinstance(hint, TextReply) and "/staff followed by your question" in hint.text
    [reply] = await conversation.handle(msg("/staff@tabot can we use VOCA money for a van?"))
    assert isinstance(reply, EscalatedReply)
    [escalation] = await rows(conversation.db, Escalation)
    assert escalation.reason == "asked-for-staff"
    assert escalation.question == "can we use VOCA money for a van?"


async def test_status_shows_an_asker_only_their_own_questions(conversation: Conversation) -> None:
    await conversation.handle(msg("/staff question from the first advocate", user="U1"))
    await conversation.handle(msg("/staff question from the second advocate", user="U2"))
    [mine] = await conversation.handle(msg("status", user="U2"))
    assert "second advocate" in mine.text and "first advocate" not in mine.text
    [none] = await conversation.handle(msg("status", user="U3"))
    assert "no questions waiting" in none.text


async def test_identifiers_are_redacted_before_storage_and_the_asker_is_told_once(
        conversation: Conversation) -> None:
    replies = await conversation.handle(msg("/staff client Jane Roe at 555-867-5309 or "
                                         "jroe@example.com needs a ride"))
    stored = (await rows(conversation.db, Escalation))[0].question
    assert "555-867-5309" not in stored and "jroe@example.com" not in stored
    assert "Roe" not in stored and "[PHONE]" in stored and "[EMAIL]" in stored
    await conversation.handle(msg(f"{TO_STAFF} call 555-867-5309"))
    again = await conversation.handle(msg(f"{TO_STAFF} call 555-867-5309"))
    notices = [r for r in again if isinstance(r, TextReply) and "removed identifying" in r.text]
    assert notices == []
    assert isinstance(replies[-1], EscalatedReply)
    for row in await rows(conversation.db, Interaction):
        assert "555-867-5309" not in row.text


async def test_feedback_is_recorded_and_not_quite_offers_staff(conversation: Conversation) -> None:
    [answer, *_] = await conversation.handle(msg("can our shelter have a curfew for residents"))
    assert isinstance(answer, AnswerReply) and answer.context is not None
    helped = Action(ActionKind.HELPED, answer.entry_id, answer.context)
    [thanks] = await conversation.handle(msg(action=helped))
    assert "glad" in thanks.text
    not_quite = Action(ActionKind.NOT_HELPED, answer.entry_id, answer.context)
    [offer] = await conversation.handle(msg(action=not_quite))
    assert isinstance(offer, OfferStaffReply) and offer.context == answer.context
    [sent] = await conversation.handle(msg(action=Action(ActionKind.SEND_TO_STAFF,
                                                      context=offer.context)))
    assert isinstance(sent, EscalatedReply)
    # the answer's own record holds the latest verdict
    records = [(r.outcome, r.feedback) for r in await rows(conversation.db, Interaction)]
    assert records == [("answer", "not-helped")]
    [escalation] = await rows(conversation.db, Escalation)
    assert escalation.reason == "not-helped"
    assert escalation.question == ("can our shelter have a curfew for residents"
                                   + ANSWERED_WITH.format(entry="shelter-rules"))


async def test_an_off_topic_question_sent_to_staff_anyway_is_filed_as_off_topic(
        conversation: Conversation) -> None:
    [offer] = await conversation.handle(msg("what is the weather tomorrow"))
    assert isinstance(offer, OfferStaffReply) and offer.context is not None
    [sent] = await conversation.handle(msg(action=Action(ActionKind.SEND_TO_STAFF,
                                                      context=offer.context)))
    assert isinstance(sent, EscalatedReply)
    [escalation] = await rows(conversation.db, Escalation)
    assert (escalation.reason, escalation.question) == ("off-topic",
                                                        "what is the weather tomorrow")


async def test_a_button_press_finds_its_question_after_a_restart(
        shipped_kb: KnowledgeBase, database: Database, settings: Settings) -> None:
    before = Conversation(shipped_kb, database, settings)
    [answer, *_] = await before.handle(msg("can our shelter have a curfew for residents"))
    after = Conversation(shipped_kb, database, settings)  # nothing carried over in memory
    [sent] = await after.handle(msg(action=Action(ActionKind.SEND_TO_STAFF,
                                                  context=answer.context)))
    assert isinstance(sent, EscalatedReply)
    [escalation] = await rows(database, Escalation)
    assert escalation.question.startswith("can our shelter have a curfew for residents (")


async def test_a_bystanders_send_to_staff_press_files_nothing_and_reveals_nothing(
        conversation: Conversation) -> None:
    """In a group anyone can press the buttons under another person's answer."""
    [answer, *_] = await conversation.handle(msg("can our shelter have a curfew", user="U1"))
    [refused] = await conversation.handle(msg(
        action=Action(ActionKind.SEND_TO_STAFF, context=answer.context), user="U2"))
    assert refused.text == NOT_YOUR_QUESTION and "curfew" not in refused.text
    assert await rows(conversation.db, Escalation) == []


async def test_a_press_whose_record_is_gone_still_reaches_staff(
        conversation: Conversation) -> None:
    [sent] = await conversation.handle(msg(action=Action(ActionKind.SEND_TO_STAFF,
                                                         context=987654)))
    assert isinstance(sent, EscalatedReply)
    [escalation] = await rows(conversation.db, Escalation)
    assert escalation.question == NO_QUESTION


async def test_send_to_staff_pressed_twice_files_the_question_once(
        conversation: Conversation) -> None:
    [answer, *_] = await conversation.handle(msg("can our shelter have a curfew for residents"))
    press = Action(ActionKind.SEND_TO_STAFF, context=answer.context)
    first, second = await asyncio.gather(conversation.handle(msg(action=press)),
                                         conversation.handle(msg(action=press)))
    [escalation] = await rows(conversation.db, Escalation)
    told = sorted(r.text for r in first + second)
    assert "TA-0001" in told[0] and "TA-0001" in told[1]
    assert any(text == ALREADY_WITH_STAFF.format(reference="TA-0001") for text in told)
    [third] = await conversation.handle(msg(action=press))
    assert third.text == ALREADY_WITH_STAFF.format(reference="TA-0001")
    assert len(await rows(conversation.db, Escalation)) == 1 and escalation.id == 1


async def test_not_quite_on_an_answer_already_with_staff_says_so_instead_of_offering_staff(
        conversation: Conversation) -> None:
    answer, filed = await conversation.handle(msg(
        "what do we do if we get a subpoena for a survivor's records"))
    assert isinstance(filed, EscalatedReply)  # state law: filed with the answer
    [told] = await conversation.handle(msg("no"))
    assert told.text == ALREADY_WITH_STAFF.format(reference=filed.reference)
    [again] = await conversation.handle(msg(action=Action(ActionKind.SEND_TO_STAFF,
                                                          context=answer.context)))
    assert again.text == told.text
    assert len(await rows(conversation.db, Escalation)) == 1


async def test_more_and_browsing_are_rate_limited_and_more_is_recorded(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        rate_limit_per_minute=2)
    conversation = Conversation(shipped_kb, database, settings)
    [more] = await conversation.handle(msg(action=Action(ActionKind.MORE, "pets-in-shelter")))
    assert isinstance(more, AnswerReply) and more.full
    [category] = await conversation.handle(msg(action=Action(ActionKind.BROWSE,
                                                             category="standard")))
    assert isinstance(category, CategoryReply) and category.choices
    [limited] = await conversation.handle(msg(action=Action(ActionKind.MORE, "pets-in-shelter")))
    assert isinstance(limited, TextReply) and "faster than I can help" in limited.text
    assert [r.feedback for r in await rows(database, Interaction)] == ["more"]


async def test_a_message_touching_on_danger_gets_the_hotlines_whatever_else_it_gets(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    """Hotlines follow a mention of danger under a rate limit, a length limit and /staff too,
    not only under an answer: the asker may be the one in danger."""
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        rate_limit_per_minute=2, max_message_chars=200)
    conversation = Conversation(shipped_kb, database, settings)
    danger = "how should our lethality assessment ask about strangulation"
    [escalated, added] = await conversation.handle(msg(f"/staff {danger}"))
    assert isinstance(escalated, EscalatedReply) and added.text.startswith(CRISIS_ADDED)
    [too_long, added] = await conversation.handle(msg(f"{danger} {'and more ' * 30}"))
    assert "characters" in too_long.text and added.text.startswith(CRISIS_ADDED)
    await conversation.handle(msg("what are the shelter rules on pets"))  # the limit's 2nd
    [limited] = await conversation.handle(msg("what are the shelter rules on pets"))
    assert "faster than I can help" in limited.text
    [limited, added] = await conversation.handle(msg(danger))
    assert "faster than I can help" in limited.text and added.text.startswith(CRISIS_ADDED)


async def test_choosing_a_suggestion_answers_with_that_entry(conversation: Conversation) -> None:
    [reply] = await conversation.handle(msg(action=Action(ActionKind.CHOOSE, "pets-in-shelter")))
    assert isinstance(reply, AnswerReply) and reply.entry_id == "pets-in-shelter"
    [gone] = await conversation.handle(msg(action=Action(ActionKind.CHOOSE, "no-such-entry")))
    assert "no longer in the knowledge base" in gone.text


async def test_a_state_law_entry_picked_from_suggestions_is_sent_to_staff_as_it_says(
        conversation: Conversation) -> None:
    [suggested] = await conversation.handle(msg("papers from court about records"))
    assert isinstance(suggested, SuggestReply)
    assert suggested.choices[0].entry_id == "subpoena-for-records"  # escalate: true
    replies = await conversation.handle(msg("1"))
    assert [type(r) for r in replies] == [AnswerReply, EscalatedReply]
    [escalation] = await rows(conversation.db, Escalation)
    assert (escalation.reason, escalation.question) == ("state-law",
                                                        "papers from court about records")
    [also] = await conversation.handle(msg(action=Action(ActionKind.CHOOSE, "pets-in-shelter",
                                                          suggested.context)))
    assert isinstance(also, AnswerReply)  # no state law in it: nothing more is filed
    assert len(await rows(conversation.db, Escalation)) == 1


async def test_two_state_law_picks_at_once_file_the_question_once(
        conversation: Conversation) -> None:
    [suggested] = await conversation.handle(msg("papers from court about records"))
    picks = [entry for entry in ("subpoena-for-records", "mandatory-reporting-child-abuse")
             if conversation.knowledge.get(entry).escalate]
    assert len(picks) == 2
    await asyncio.gather(*(conversation.handle(msg(action=Action(
        ActionKind.CHOOSE, entry, suggested.context))) for entry in picks))
    assert len(await rows(conversation.db, Escalation)) == 1


async def test_a_superscript_or_circled_number_is_not_read_as_a_choice(
        conversation: Conversation) -> None:
    [suggested] = await conversation.handle(msg("papers from court about records"))
    assert isinstance(suggested, SuggestReply)
    for typed in ("²", "①"):  # str.isdigit() says yes to both; int() refuses them
        replies = await conversation.handle(msg(typed))
        assert replies and not any(isinstance(r, AnswerReply) for r in replies)
    [chosen, *_] = await conversation.handle(msg("１"))  # a full-width 1 from a phone keyboard
    assert isinstance(chosen, AnswerReply)
    assert chosen.entry_id == suggested.choices[0].entry_id


async def test_a_second_state_law_pick_for_the_same_question_is_not_filed_twice(
        conversation: Conversation) -> None:
    [suggested] = await conversation.handle(msg("papers from court about records"))
    assert conversation.knowledge.get(suggested.choices[0].entry_id).escalate
    await conversation.handle(msg(action=Action(ActionKind.CHOOSE, suggested.choices[0].entry_id,
                                                suggested.context)))
    [escalation] = await rows(conversation.db, Escalation)
    answer, told = await conversation.handle(msg(action=Action(
        ActionKind.CHOOSE, "mandatory-reporting-child-abuse", suggested.context)))
    assert conversation.knowledge.get("mandatory-reporting-child-abuse").escalate
    assert isinstance(answer, AnswerReply) and isinstance(told, EscalatedReply)
    assert told.text == ALREADY_WITH_STAFF.format(reference=escalation.reference)
    [again] = await conversation.handle(msg("staff"))  # typed: still the same question
    assert escalation.reference in again.text
    assert len(await rows(conversation.db, Escalation)) == 1


async def test_a_database_that_is_down_still_answers_and_spools_questions_for_staff(
        shipped_kb: KnowledgeBase, tmp_path: Path) -> None:
    down = Database("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")
    settings = Settings(database_url=down.url, knowledge_dir=tmp_path,
                        spool_dir=tmp_path / "spool")
    conversation = Conversation(shipped_kb, down, settings)
    [reply] = await conversation.handle(msg(TO_STAFF))
    assert reply == TextReply(SPOOLED)
    assert len(conversation.spool) == 1
    answered = await conversation.handle(msg("what do we do if we get a subpoena for a "
                                          "survivor's records"))
    assert isinstance(answered[0], AnswerReply)
    await down.close()


async def test_a_question_nothing_will_store_is_refused_plainly(
        shipped_kb: KnowledgeBase, tmp_path: Path) -> None:
    down = Database("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")
    blocked = write_text(tmp_path / "not-a-directory", "")
    settings = Settings(database_url=down.url, knowledge_dir=tmp_path, spool_dir=blocked)
    [reply] = await Conversation(shipped_kb, down, settings).handle(msg("/staff " + UNMATCHED))
    assert reply == TextReply(STORAGE_DOWN)
    await down.close()


async def test_count_of_rows_matches_questions_asked(conversation: Conversation) -> None:
    for text in ["pets in shelter", UNMATCHED, "hi"]:
        await conversation.handle(msg(text))
    async with conversation.db.session() as session:
        count = await session.scalar(select(func.count()).select_from(Interaction))
    assert count == 2


async def test_staff_triage_from_chat_and_refusal_for_everyone_else(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        staff=frozenset({"test:STAFF"}))
    conversation = Conversation(shipped_kb, database, settings)
    [escalated] = await conversation.handle(msg(TO_STAFF, user="ASKER"))
    ref = escalated.reference
    for command in (f"/claim {ref}", f"/answer {ref} hi", f"/note {ref} x", f"/close {ref}",
                    "/queue"):
        [refused] = await conversation.handle(msg(command, user="ASKER"))
        assert "Only the coalition's TA staff" in refused.text
    [queue] = await conversation.handle(msg("queue", user="STAFF"))
    assert ref in queue.text
    [claimed] = await conversation.handle(msg(f"/claim {ref}", user="STAFF"))
    assert "claimed" in claimed.text
    await conversation.handle(msg(f"/note {ref} internal only", user="STAFF"))
    await conversation.handle(msg(f"/answer {ref} Ask a hardware store.", user="STAFF"))
    [own] = await conversation.handle(msg(f"/show {ref}", user="ASKER"))
    assert "Ask a hardware store." in own.text and "internal only" not in own.text
    [other] = await conversation.handle(msg(f"/show {ref}", user="SOMEONE"))
    assert "of yours" in other.text
    [help_text] = await conversation.handle(msg("help", user="STAFF"))
    assert "/claim TA-0042" in help_text.text
    delivery = await outbox.claim(conversation.db, "test", "tabot", "ASKER")
    assert type(delivery) is AnswerRelayed


async def test_identifiers_typed_with_a_question_do_not_keep_it_from_its_answer(
        conversation: Conversation) -> None:
    """A review found the same question answered bare but only offered as suggestions once the
    advocate added a phone number, e-mail and date of birth."""
    bare = "how do we get an emergency transfer for a survivor in a HUD unit"
    [plain, *_] = await conversation.handle(msg(bare))
    [_, detailed, *_] = await conversation.handle(msg(
        f"{bare}? her cell is 555-201-3344, dob 04/03/1990, "
        "email sky.blue@example.com", "U2"))
    assert isinstance(plain, AnswerReply) and isinstance(detailed, AnswerReply)
    assert detailed.entry_id == plain.entry_id


# --- reviewed exchanges: each of these went wrong before ---------------------------------------

CRISIS = "he is going to kill me tonight"
CHILDREN = "what services do children in shelter need"


async def test_a_crisis_message_over_the_length_limit_still_gets_hotlines_and_staff(
        conversation: Conversation) -> None:
    text = CRISIS + " and the rest is invented filler" * 200
    assert len(text) > conversation.settings.max_message_chars
    replies = await conversation.handle(msg(text))
    assert "call 911" in replies[0].text and "marked urgent" in replies[1].text
    [escalation] = await rows(conversation.db, Escalation)
    assert escalation.reason == "crisis" and escalation.question.startswith(CRISIS)
    limit = conversation.settings.max_message_chars
    assert len(escalation.question) <= limit
    assert all(len(row.text) <= limit for row in await rows(conversation.db, Interaction))
    [refused] = await conversation.handle(msg("subpoena " * 600))  # no crisis: refused
    assert "4,000" in refused.text


async def test_a_long_crisis_message_is_cut_after_redaction_not_through_a_phone_number(
        conversation: Conversation) -> None:
    limit = conversation.settings.max_message_chars
    lead = CRISIS + " call me back at "
    text = lead + "x" * (limit - len(lead) - 6) + " 555-201-3344 " + "more invented filler " * 50
    assert text.index("555-201-3344") < limit < text.index("555-201-3344") + 12
    await conversation.handle(msg(text))
    [escalation] = await rows(conversation.db, Escalation)
    assert "555" not in escalation.question and "201-3" not in escalation.question


def in_thread(text: str, thread: str) -> Message:
    return Message("test", "U1", "C-CHANNEL", text, thread_id=thread)


async def test_a_reply_in_a_thread_acts_on_that_threads_prompt(
        conversation: Conversation) -> None:
    [suggested] = await conversation.handle(in_thread("shelter", "thread-a"))
    assert isinstance(suggested, SuggestReply)
    [answer, *_] = await conversation.handle(in_thread("can residents bring their pets",
                                                       "thread-b"))
    assert isinstance(answer, AnswerReply)
    [sent] = await conversation.handle(in_thread("staff", "thread-a"))
    assert isinstance(sent, EscalatedReply)
    [escalation] = await rows(conversation.db, Escalation)
    assert escalation.question == "shelter"
    assert await conversation.handle(in_thread("yes", "thread-b")) == [TextReply(HELPED)]


async def test_a_thread_per_message_still_finds_the_askers_last_prompt(
        conversation: Conversation) -> None:
    """A Telegram group names each message as its own thread (the message a reply quotes)."""
    [suggested] = await conversation.handle(in_thread("shelter", "101"))
    [chosen, *_] = await conversation.handle(in_thread("1", "102"))
    assert isinstance(chosen, AnswerReply)
    assert chosen.entry_id == suggested.choices[0].entry_id
    assert await conversation.handle(in_thread("yes", "103")) == [TextReply(HELPED)]
    assert await conversation.handle(in_thread("yes", "103")) == [TextReply(NOTHING_OPEN)]


async def test_none_of_the_above_then_yes_files_the_question_asked(
        conversation: Conversation) -> None:
    [suggested] = await conversation.handle(msg("funding"))
    assert isinstance(suggested, SuggestReply)
    [offer] = await conversation.handle(msg("None of the above"))
    assert isinstance(offer, OfferStaffReply) and offer.text != OFF_TOPIC
    [sent] = await conversation.handle(msg("yes"))
    assert isinstance(sent, EscalatedReply)
    [escalation] = await rows(conversation.db, Escalation)
    assert escalation.question == "funding"


async def test_no_it_didnt_then_staff_files_the_answered_question(
        conversation: Conversation) -> None:
    await conversation.handle(msg("can residents bring their pets"))
    [offer] = await conversation.handle(msg("no it didn't"))
    assert isinstance(offer, OfferStaffReply)
    [sent] = await conversation.handle(msg("Staff pls"))
    assert isinstance(sent, EscalatedReply)
    [escalation] = await rows(conversation.db, Escalation)
    assert escalation.question.startswith("can residents bring their pets (")


@pytest.mark.parametrize(("said", "feedback"), [("Yes, thanks", "helped"),
                                                ("No, thanks", "not-helped")])
async def test_yes_or_no_with_thanks_records_feedback(conversation: Conversation, said: str,
                                                      feedback: str) -> None:
    await conversation.handle(msg("can residents bring their pets"))
    [reply] = await conversation.handle(msg(said))
    assert reply != TextReply(SMALL_TALK)
    assert (await rows(conversation.db, Interaction))[-1].feedback == feedback


@pytest.mark.parametrize("said", ["two", "Option 2", "(2)", "2\ufe0f\u20e3", "number 2 please"])
async def test_common_ways_of_typing_two_pick_the_second_choice(
        conversation: Conversation, said: str) -> None:
    [suggested] = await conversation.handle(msg("shelter"))
    [chosen, *_] = await conversation.handle(msg(said))
    assert isinstance(chosen, AnswerReply)
    assert chosen.entry_id == suggested.choices[1].entry_id


async def test_a_real_question_after_suggestions_is_not_taken_for_a_reply(
        conversation: Conversation) -> None:
    await conversation.handle(msg("shelter"))
    [answer, *_] = await conversation.handle(msg("none of the above, can residents bring "
                                                 "their pets"))
    assert isinstance(answer, AnswerReply) and answer.entry_id == "pets-in-shelter"


async def down_conversation(shipped_kb: KnowledgeBase, tmp_path: Path
                            ) -> tuple[Conversation, Database]:
    down = Database("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")
    settings = Settings(database_url=down.url, knowledge_dir=tmp_path,
                        spool_dir=tmp_path / "spool")
    return Conversation(shipped_kb, down, settings), down


@pytest.mark.parametrize(("turns", "filed"), [
    (["shelter", "staff"], "shelter"),
    (["can residents bring their pets", "no", "yes"], "can residents bring their pets")])
async def test_while_the_database_is_down_staff_gets_the_question_the_prompt_holds(
        shipped_kb: KnowledgeBase, tmp_path: Path, turns: list[str], filed: str) -> None:
    conversation, down = await down_conversation(shipped_kb, tmp_path)
    for said in turns:
        replies = await conversation.handle(msg(said))
    assert replies == [TextReply(SPOOLED)]
    [(_, spooled)] = list(conversation.spool.waiting())
    assert spooled.question == filed and spooled.outcome == "escalate"
    await down.close()


async def test_a_follow_up_after_yes_is_still_matched_with_the_answer(
        conversation: Conversation) -> None:
    [answer] = await conversation.handle(msg(CHILDREN))
    assert isinstance(answer, AnswerReply) and answer.entry_id == "children-in-shelter"
    assert await conversation.handle(msg("yes")) == [TextReply(HELPED)]
    [follow_up, *_] = await conversation.handle(msg("what about teens?"))
    assert isinstance(follow_up, AnswerReply)
    assert follow_up.entry_id == "teen-boys-shelter-admission"


async def test_the_helped_button_also_keeps_the_follow_up(conversation: Conversation) -> None:
    [answer] = await conversation.handle(msg(CHILDREN))
    await conversation.handle(msg(action=Action(ActionKind.HELPED, answer.entry_id,
                                                answer.context)))
    [follow_up, *_] = await conversation.handle(msg("what about teens?"))
    assert isinstance(follow_up, AnswerReply)
    assert follow_up.entry_id == "teen-boys-shelter-admission"


async def test_a_staff_command_closes_the_prompt_before_it(conversation: Conversation) -> None:
    await conversation.handle(msg("shelter"))
    [sent] = await conversation.handle(msg(TO_STAFF))
    assert isinstance(sent, EscalatedReply)
    [again] = await conversation.handle(msg("staff"))
    assert again == TextReply(ALREADY_SENT.format(reference=sent.reference))
    assert [e.question for e in await rows(conversation.db, Escalation)] == [UNMATCHED]


async def test_topics_replaces_the_open_prompt(conversation: Conversation) -> None:
    [answer] = await conversation.handle(msg("can residents bring their pets"))
    assert answer.related
    await conversation.handle(msg("topics"))
    assert await conversation.handle(msg("2")) == [TextReply(NO_CHOICES)]
    assert await conversation.handle(msg("staff")) == [TextReply(STAFF_USAGE)]
    assert await rows(conversation.db, Escalation) == []


async def test_a_short_question_matched_on_its_own_is_not_labelled_a_follow_up(
        conversation: Conversation) -> None:
    await conversation.handle(msg("can residents bring their pets"))
    [answer] = await conversation.handle(msg("can our shelter have a curfew"))
    assert isinstance(answer, AnswerReply) and answer.entry_id == "shelter-rules"
    recorded = (await rows(conversation.db, Interaction))[-1].text
    assert recorded == "can our shelter have a curfew"
    assert proposable(recorded) == recorded


async def contacts(conversation: Conversation) -> Report:
    today = dt.date.today()
    return await build_report(conversation.db, conversation.knowledge,
                              today - dt.timedelta(days=1), today + dt.timedelta(days=1))


@pytest.mark.parametrize("turns", [["shelter", "1"], ["can residents bring their pets", "1"],
                                   ["shelter", "1", "2"]])
async def test_picking_a_suggestion_or_related_entry_is_one_contact(
        conversation: Conversation, turns: list[str]) -> None:
    for said in turns:
        await conversation.handle(msg(said))
    report = await contacts(conversation)
    assert report.contacts == 1 and report.by_outcome == {"answer": 1}


async def test_a_related_entry_opened_after_an_answer_keeps_the_answer_on_record(
        conversation: Conversation) -> None:
    [answer] = await conversation.handle(msg("can residents bring their pets"))
    assert isinstance(answer, AnswerReply) and answer.related
    [shown] = await conversation.handle(msg("1"))
    assert isinstance(shown, AnswerReply) and shown.entry_id == answer.related[0].entry_id
    report = await contacts(conversation)
    assert report.contacts == 1 and report.by_outcome == {"answer": 1}
    assert report.feedback[answer.entry_id]["answered"] == 1  # not moved to the related one
    assert report.feedback[shown.entry_id]["answered"] == 1


async def test_a_second_pick_among_the_same_suggestions_is_a_pick_not_a_related_entry(
        conversation: Conversation) -> None:
    [suggested] = await conversation.handle(msg("shelter"))
    assert isinstance(suggested, SuggestReply) and len(suggested.choices) >= 2
    first, second = (c.entry_id for c in suggested.choices[:2])
    for action in (Action(ActionKind.CHOOSE, first, suggested.context),
                   Action(ActionKind.NOT_HELPED, first, suggested.context),
                   Action(ActionKind.CHOOSE, second, suggested.context)):
        await conversation.handle(msg(action=action))
    report = await contacts(conversation)
    assert report.contacts == 1 and report.by_outcome == {"answer": 1}
    question = next(r for r in await rows(conversation.db, Interaction) if r.text == "shelter")
    assert question.outcome == "answer" and question.entry_id == second
    learned = {r.entry_id for r in await rows(conversation.db, LearnedPhrasing)}
    assert second in learned


async def test_a_state_law_pick_is_one_contact(conversation: Conversation) -> None:
    await conversation.handle(msg("papers from court about records"))
    replies = await conversation.handle(msg("1"))
    assert [type(r) for r in replies] == [AnswerReply, EscalatedReply]
    [staff] = await conversation.handle(msg("staff"))
    assert "already" in staff.text
    assert (await contacts(conversation)).contacts == 1


async def test_questions_sent_with_staff_or_after_off_topic_count_once(
        conversation: Conversation) -> None:
    await conversation.handle(msg(TO_STAFF))
    await conversation.handle(msg("what is the weather tomorrow"))
    await conversation.handle(msg("send it to staff"))
    report = await contacts(conversation)
    assert len(await rows(conversation.db, Escalation)) == 2
    assert report.contacts == 2 and report.by_outcome == {"escalate": 2}
    assert report.off_topic == 0


async def test_this_helped_pressed_twice_counts_once_in_figures_and_learning(
        conversation: Conversation) -> None:
    """A double tap (or a button and a typed "yes") is one verdict on one answer: the
    feedback rate funders see cannot pass 100 %, nor a wording climb the learning inbox."""
    [answer, *_] = await conversation.handle(msg("r we allowed to set a curfew 4 residents"))
    assert isinstance(answer, AnswerReply) and answer.context is not None
    helped = Action(ActionKind.HELPED, answer.entry_id, answer.context)
    for _ in range(2):
        await conversation.handle(msg(action=helped))
    figures = (await contacts(conversation)).feedback[answer.entry_id]
    assert (figures["answered"], figures["helped"]) == (1, 1)
    [learned] = await rows(conversation.db, LearnedPhrasing)
    assert (learned.helped, learned.confirmations) == (1, 1)


async def test_a_changed_verdict_replaces_the_first(conversation: Conversation) -> None:
    [answer, *_] = await conversation.handle(msg("r we allowed to set a curfew 4 residents"))
    assert isinstance(answer, AnswerReply)
    for kind in (ActionKind.HELPED, ActionKind.NOT_HELPED):
        await conversation.handle(msg(action=Action(kind, answer.entry_id, answer.context)))
    figures = (await contacts(conversation)).feedback[answer.entry_id]
    assert (figures["helped"], figures["not_helped"]) == (0, 1)


async def test_helped_then_not_quite_then_helped_confirms_the_question_once(
        conversation: Conversation) -> None:
    """A change of mind and back is still one asker's one confirmation: the learning inbox
    must not count it twice."""
    [answer, *_] = await conversation.handle(msg("r we allowed to set a curfew 4 residents"))
    assert isinstance(answer, AnswerReply)
    for kind in (ActionKind.HELPED, ActionKind.NOT_HELPED, ActionKind.HELPED):
        await conversation.handle(msg(action=Action(kind, answer.entry_id, answer.context)))
    figures = (await contacts(conversation)).feedback[answer.entry_id]
    assert (figures["helped"], figures["not_helped"]) == (1, 0)
    [learned] = await rows(conversation.db, LearnedPhrasing)
    assert (learned.helped, learned.confirmations) == (1, 1)


async def test_staff_commands_in_a_group_or_channel_show_nothing(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    """`/show` prints internal notes and `/queue` every waiting question: in a program's group
    (a conversation with a thread) that would reach people who must not read them."""
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        staff=frozenset({"test:STAFF"}))
    conversation = Conversation(shipped_kb, database, settings)
    [escalated] = await conversation.handle(msg(TO_STAFF, user="ASKER"))
    ref = escalated.reference
    await conversation.handle(msg(f"/note {ref} internal only", user="STAFF"))
    for command in (f"/show {ref}", "/queue", f"/claim {ref}"):
        in_group = Message("test", "STAFF", "group-1", command, thread_id="t-1")
        [refused] = await conversation.handle(in_group)
        assert refused.text == STAFF_ONLY_PRIVATE
    [shown] = await conversation.handle(msg(f"/show {ref}", user="STAFF"))
    assert "internal only" in shown.text


async def test_a_staff_answer_that_mentions_a_gun_reaches_the_asker_as_written(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    """A staff answer is read as an instruction, not as a crisis message: filed as one, it
    never reached the asker, and a false urgent question headed the queue. Its paragraphs and
    a length over a question's limit are the answer's own."""
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        staff=frozenset({"test:STAFF"}), max_message_chars=200)
    conversation = Conversation(shipped_kb, database, settings)
    [escalated] = await conversation.handle(msg(TO_STAFF, user="ASKER"))
    answer = ("If she tells you he has a gun, call 911 first.\n\nThen plan for safety: "
              + "where she can go, who she can call. " * 6).strip()
    [sent] = await conversation.handle(msg(f"/answer {escalated.reference}\n{answer}",
                                           user="STAFF"))
    assert "answered by test:STAFF" in sent.text
    [escalation] = await rows(conversation.db, Escalation)
    assert (escalation.state, escalation.answer) == ("answered", answer)
    delivery = await outbox.claim(conversation.db, "test", "tabot", "ASKER")
    assert type(delivery) is AnswerRelayed and delivery.text.endswith("\n\n" + answer)


async def test_status_and_an_own_question_are_not_shown_in_a_group(
        conversation: Conversation) -> None:
    """The list holds questions asked privately, crisis messages among them; a program's
    group or channel must not read them because the asker typed /status there."""
    [escalated] = await conversation.handle(msg(TO_STAFF, user="ASKER"))
    for command in ("/status", f"/show {escalated.reference}"):
        in_group = Message("test", "ASKER", "group-1", command, thread_id="t-1")
        [refused] = await conversation.handle(in_group)
        assert refused.text == OWN_ONLY_PRIVATE
    [mine] = await conversation.handle(msg("/status", user="ASKER"))
    assert escalated.reference in mine.text


async def test_a_verdict_stays_with_the_answer_it_was_given_on_after_a_second_pick(
        conversation: Conversation) -> None:
    """Two picks among the same suggestions share one record: "Not quite" on the first must
    not be counted against the second, and "This helped" pressed under the first answer
    afterwards counts for the first."""
    [offered] = await conversation.handle(msg("shelter"))
    assert isinstance(offered, SuggestReply) and len(offered.choices) >= 2
    first, second = (c.entry_id for c in offered.choices[:2])
    context = offered.context
    for kind, entry_id in ((ActionKind.CHOOSE, first), (ActionKind.NOT_HELPED, first),
                           (ActionKind.CHOOSE, second), (ActionKind.HELPED, first)):
        await conversation.handle(msg(action=Action(kind, entry_id, context)))
    figures = (await contacts(conversation)).feedback
    assert (figures[second]["helped"], figures[second]["not_helped"]) == (0, 0)
    assert (figures[first]["helped"], figures[first]["not_helped"]) == (1, 0)
