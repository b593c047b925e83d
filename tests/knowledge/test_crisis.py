import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat.conversation import Conversation
from bot.chat.messages import AnswerReply, Message, SuggestReply, TextReply
from bot.chat.ratelimit import RateLimiter
from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.crisis import load_crisis
from bot.knowledge.problems import Severity
from bot.store.database import Database
from bot.store.tables import Escalation, Interaction, OutboxMessage
from tests.conftest import DATA, write_text

IN_DANGER = [
    "he is going to kill me tonight",
    "He's outside my house right now and I'm scared",
    "i want to die",
    "I don't want to live anymore",
    "please help me he has a gun",
    "I was raped last night and I don't know what to do",
    "im not safe at home",
    "he choked me again",
    "my boyfriend hit me and I'm locked in the bathroom",
    "I'm an advocate and honestly I can't do this anymore, I'm thinking of ending my life. "
    "I want to die",
    "HE IS HURTING ME",
    "scared for my life",
    # Typed as people type on a phone; each was missed before 2026-11-28.
    "i dont want to be here anymore",
    "thinking about ending it all",
    "i think i'm gonna hurt myself tonight",
    "he said he'll kill me tonight",
    "hes outside rn banging on the door im so scared",
    "he found me, hes in the parking lot of the shelter",
    "he has a knife and hes drunk",
    "he's trying to get in, what do i do",
    "someone is following me home rn",
    "i was just raped",
    "my ex just texted that hes coming over w his gun",
    "I'm a victim of domestic violence and he is hitting me",
    # Missed before a second review on 2026-11-28: threats and blows in other forms, suicide
    # said outright, and "what do we do" outweighing a survivor's own danger.
    "he's threatening to kill me",
    "he said he'd kill me",
    "i am going to commit suicide",
    "he is going to shoot me",
    "he punched me",
    "he's strangling me",
    "i want to end it",
    "my husband is going to kill me, what do we do",
    "he's outside with a gun what should we do",
]
ADVOCATES_ASKING = [
    "a caller said he is going to kill her, what do we do",
    "how do we respond when a client is suicidal",
    "what should we do when a survivor says she was raped last night",
    "our policy on residents who say they want to die",
    "my client says her ex has a gun, how do we safety plan",
    "what do I say on the hotline when the caller is in danger",
    "client says her ex will find her, do we have to tell police if she tells us he has a gun",
    "our client's ex has a gun and a PO hearing is friday",
]
ORDINARY = [
    "can we have a curfew in shelter",
    "how do I respond to a subpoena",
    "what is a U visa",
    "is our shelter address PII",
    "can residents bring their dogs",
    "who do we report elder abuse to",
    "what does an emergency transfer plan need to cover under VAWA",
    "how long can ppl stay in emergency shelter, she needs another 30 days",
    # Read as a crisis before 2026-11-28, by "please help me", "trying to get in", "he is
    # outside", "locked in the", "hit me" and "hurt me" on their own.
    "please help me understand the new FVPSA confidentiality rule",
    "i'm trying to get in touch with our OVW program specialist",
    "the abuser lives in another state, he is outside the jurisdiction - can the PO be enforced",
    "are we locked in the budget once the grant is submitted",
    "can someone hit me up with the grant template",
    "would it hurt me to apply for the grant late",
]


@pytest.fixture(scope="module")
def crisis(shipped_kb: KnowledgeBase):
    return shipped_kb.crisis


@pytest.mark.parametrize("text", IN_DANGER)
def test_someone_in_danger_is_recognised(crisis, text: str) -> None:
    assert crisis.assess(text).crisis


@pytest.mark.parametrize("text", ADVOCATES_ASKING)
def test_advocates_asking_about_crisis_are_not_treated_as_in_crisis(crisis, text: str) -> None:
    found = crisis.assess(text)
    assert not found.crisis and found.topic


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_questions_carry_no_crisis_flag(crisis, text: str) -> None:
    assert crisis.assess(text) == type(crisis.assess(text))(crisis=False, topic=False)


def test_the_question_sets_raise_no_new_false_alarms(crisis) -> None:
    texts = [json.loads(line)["text"] for path in sorted(DATA.glob("*questions*.jsonl"))
             for line in path.read_text().splitlines() if line.strip()]
    alarms = [text for text in texts if crisis.assess(text).crisis]
    assert len(texts) >= 1200
    assert len(alarms) <= 1, alarms  # "suicidal ideation, when do we call 988 vs 911"


def test_hotlines_carry_the_numbers_and_the_date_they_were_checked(crisis) -> None:
    text = crisis.hotlines()
    for number in ("911", "1-800-799-7233", "88788", "1-800-656-4673", "1-844-762-8483",
                   "988", "1-866-488-7386", "1-800-787-3224", "1-866-331-9474", "22522",
                   "1-888-373-7888", "233733", "678-678"):
        assert number in text
    assert "last verified 2026-11-27" in text


async def test_a_person_in_danger_gets_hotlines_first_and_staff_are_told_urgently(
        conversation: Conversation) -> None:
    message = Message("test", "U9", "dm-U9", "he is going to kill me, call 555-010-4477")
    replies = await conversation.handle(message)
    assert "call 911" in replies[0].text and "1-800-799-7233" in replies[0].text
    assert "marked urgent" in replies[1].text
    assert not any(isinstance(r, AnswerReply | SuggestReply) for r in replies)
    async with conversation.db.session() as session:
        [escalation] = list(await session.scalars(select(Escalation)))
        notices = list(await session.scalars(select(OutboxMessage)))
        [record] = list(await session.scalars(select(Interaction)))
    assert escalation.reason == "crisis" and "555-010-4477" not in escalation.question
    assert all("URGENT" in n.text for n in notices if n.kind == "staff-notice")
    assert record.outcome == "crisis"


async def test_an_advocates_crisis_question_gets_its_answer_with_hotlines_added(
        conversation: Conversation) -> None:
    replies = await conversation.handle(Message("test", "U9", "dm", "what is a lethality "
                                             "assessment and how do advocates use the LAP"))
    assert isinstance(replies[0], AnswerReply | SuggestReply)
    assert isinstance(replies[-1], TextReply) and "988" in replies[-1].text


async def test_a_rate_limited_user_is_told_why_but_danger_still_gets_hotlines(
        shipped_kb: KnowledgeBase, database: Database, tmp_path: Path) -> None:
    settings = Settings(database_url=database.url, knowledge_dir=tmp_path,
                        rate_limit_per_minute=3)
    conversation = Conversation(shipped_kb, database, settings)
    for _ in range(3):
        await conversation.handle(Message("test", "U1", "dm", "can we have a curfew"))
    [limited] = await conversation.handle(Message("test", "U1", "dm", "can we have a curfew"))
    assert "faster than I can help (3 a minute)" in limited.text
    [other] = (await conversation.handle(Message("test", "U2", "dm", "can we have a curfew")))[:1]
    assert "faster" not in getattr(other, "text", "")
    urgent = await conversation.handle(Message("test", "U1", "dm", "he is going to kill me"))
    assert "1-800-799-7233" in urgent[0].text


def test_the_rate_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")
    now[0] = 61
    assert limiter.allow("a")


def test_a_broken_crisis_file_is_reported_and_the_last_good_one_kept(small_kb_dir: Path,
                                                                    shipped_kb) -> None:
    kb = KnowledgeBase.load(small_kb_dir)
    assert kb.crisis.assess("i want to die").crisis  # no file: the shipped settings
    write_text(small_kb_dir / "crisis.yaml", "last_verified: soon\nhotlines: []\n")
    problems = kb.reload()
    assert any(p.severity is Severity.ERROR and p.path.name == "crisis.yaml" for p in problems)
    assert kb.crisis.assess("i want to die").crisis
    check, errors = load_crisis(small_kb_dir)
    assert check is None and {p.line for p in errors} >= {1, 2}
