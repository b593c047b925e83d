import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat.conversation import Conversation
from bot.chat.messages import AnswerReply, Message, SuggestReply, TextReply
from bot.chat.ratelimit import RateLimiter
from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.crisis import CrisisCheck, CrisisConfig, load_crisis
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

# A third review (2026-11-28) typed invented messages the phrase list missed. Each now reads as
# danger through the structure in crisis.yaml (who, what he does, to whom, where he is, a plea
# on its own), not through its own sentence; the variants below were written for the tests.
REVIEW_DANGER = [
    # He is here, or on his way.
    "hes here",
    "he is here. what do i do",
    "im scared he will come tonight",
    "he's outside the window",
    "hes at the door",
    "he's in the house",
    "he broke into my house",
    "he kicked the door in",
    "hes on his way",
    "he is here with a gun",
    "hez at the door",
    "he's bangin on the door",
    "my ex husband is outside the house rn",
    "he is at the door again",
    "hes outside",
    "my ex is downstairs",
    "he got in the house",
    # Asking for help, and nothing else.
    "help me",
    "call 911",
    "need help now",
    "plz help",
    "HELP ME NOW!!",
    "someone call 911",
    # What he did or will do, to the writer or the children.
    "he tried to kill me",
    "he pulled a gun on me",
    "he put a gun to my head",
    "he held a knife to me",
    "he kicked me",
    "he pushed me down the stairs",
    "he broke my arm",
    "im bleeding",
    "he'll hurt me",
    "my dad beats me",
    "he shot at us",
    "hes going to kill the kids",
    "he's hurting my kids",
    "hes tryna kill me",
    "he tried 2 kil me",
    "my bf pulled a knife on me",
    "he threw me against the wall",
    "my stepdad hits me every night",
    "he'd hurt me if he knew",
    "hes gonna hurt the baby",
    "he grabbed me by the throat",
    # Sexual violence and drugging.
    "i got raped",
    "he forced me to have sex",
    "i was drugged",
    "i think i got roofied",
    # Suicide and self-harm.
    "kms",
    "i took a bunch of pills",
    "i overdosed",
    "i have no reason to live",
    "i cant go on",
    "nobody would miss me",
    "i took too many pills",
    "i cant go on like this",
    "no one would miss me if i was gone",
    # Stalking and fear, with a time that makes it now.
    "he is stalking me",
    "we're not safe",
    "my ex keeps following me",
    "i don't feel safe tonight",
    "im scared rn",
    # First-person danger that advocate-sounding words used to outweigh.
    "what do i say to 911 he has a gun",
    "they said he would kill me if i left",
    "she said hes outside my house",
    "what do i tell the police hes outside",
    "they told me hed kill me if i call the cops",
]
# Read as someone who may be in danger but not as danger now: the answer, with the hotlines.
REVIEW_HOTLINES = [
    "he took the kids",
    "my ex took the kids and wont give them back",
    "i dont feel safe",
    "i dont feel safe at home",
    "i'm scared",
]
# Raised as danger before 2026-11-28 (the first eight, by the review), or ordinary questions
# that sit close to the new structure: none may be filed as a crisis.
NOT_DANGER = [
    "if the respondent has a gun can the judge order him to surrender it",
    "when the abuser has a gun what does federal law say about firearms",
    "lethality assessment: does it matter if he has a gun",
    "is breaking in a violation of the protective order",
    "breaking in new advocates",
    "im so scared of the audit",
    "i am in danger of missing the deadline",
    "i want to end it with this vendor",
    "suicidal ideation, when do we call 988 vs 911",
    "help",
    "/help",
    "can he stay in the house during the divorce if she has a PO",
    "he is here on a student visa, can she self-petition",
    "what if he shows up at the shelter",
    "he hit the kids last week, do we have to report to CPS",
    "he broke in last night and she wants to break her lease early",
    "he threatened to kill the kids if she leaves, does that matter for custody",
    "he is in the house on the lease, can she get exclusive possession",
    "the survivor says he kicked the door in, does that help the PO",
    "what should we do if he shows up with a gun at the shelter",
    "he kicked her out of the apartment, is that an illegal eviction",
    "our ED kicked me off the committee",
    "he keeps pushing me to apply for the director job",
    "he shot me an email about the monitoring visit",
    "he beat me to the grant application",
    "can you help me with the VOCA match",
    "help me find the ROI template",
    "i need help with the OVW progress report now",
    "police showed up at the shelter asking if someone is here",
    "a man is at the door asking for a resident, what do we do",
    "i'm terrified of public speaking at the conference",
    "im afraid we will lose VOCA funding now",
    "hes coming to the hearing tomorrow, can she bring an advocate",
]

# A review of that structure (2026-11-28) found it filing ordinary TA messages as a crisis:
# workplace verbs after "he" or "my partner", a place word that ends a question or runs into
# the next sentence, fear with a deadline, and a request for help with nothing else. The first
# fifteen are the review's; the rest are variants written for the tests. None may be a crisis.
REVIEW_FALSE_ALARMS = [
    "he forced us to redo the whole budget",
    "he locked me out of the database",
    "he followed me on LinkedIn after the training",
    "he threatened us with a lawsuit",
    "he said the audit broke us",
    "my partner organization pushed us to sign the MOU",
    "is he coming",
    "the monitor wants the files, is he here?",
    "the board chair was away but he's back",
    "my husband is here with me at the conference",
    "I'm scared we'll miss the deadline tonight",
    "we are scared the grant will be cut now",
    "I need help",
    "need help",
    "i need help.",
    # Variants.
    "he forced me to rewrite the narrative section twice",
    "he locked us out of the grant portal again",
    "he followed us on facebook after the webinar",
    "he threatened me with a grievance over the schedule",
    "he threatened us with legal action over the subgrant",
    "he said the visit broke me",
    "my partner agency pushed us to cut the prevention budget",
    "my partner organization threatened us with a complaint to the funder",
    "he forced us to sign the new MOU before friday",
    "our director is at lunch. is he back",
    "the trainer just arrived. is he coming",
    "my husband is here with our kids for the retreat, is there childcare",
    "i'm terrified we'll lose the VOCA grant tonight",
    "we are scared the board will vote on the cuts tonight",
    "I'm scared the monitor will find gaps in our files right now",
    "we are terrified the new rule will apply now",
    "i need help!",
    "Need help.",
]


@pytest.mark.parametrize("text", REVIEW_FALSE_ALARMS)
def test_ordinary_ta_messages_shaped_like_danger_are_not_filed_as_a_crisis(crisis,
                                                                           text: str) -> None:
    assert not crisis.assess(text).crisis


def test_a_bare_request_for_help_gets_the_hotlines_but_an_urgent_one_is_a_crisis(crisis) -> None:
    for text in ("i need help", "need help", "I need help."):
        assert crisis.assess(text) == type(crisis.assess(text))(crisis=False, topic=True), text
    for text in ("need help now", "i need help right now", "help me", "call 911"):
        assert crisis.assess(text).crisis, text


def test_danger_is_read_within_a_sentence_not_across_one() -> None:
    check = _check(people=["he"], places=["here now"], places_last=["outside"])
    assert check.assess("he is here now").crisis
    assert not check.assess("yes he is here. now can we start").crisis
    assert check.assess("he is outside. what do i do").crisis
    assert not check.assess("he is outside the scope; we checked").crisis


def test_a_long_message_is_assessed_quickly(crisis) -> None:
    # A coarse guard against work that grows with the square of the message: benchmarks
    # measure speed.
    text = ("he kicked me out " * 6000)[:100_000]
    start = time.perf_counter()
    crisis.assess(text)
    assert time.perf_counter() - start < 1.0
    assert crisis.assess("lorem ipsum " * 9000 + "he is going to kill me tonight").crisis


@pytest.fixture(scope="module")
def crisis(shipped_kb: KnowledgeBase):
    return shipped_kb.crisis


@pytest.mark.parametrize("text", REVIEW_DANGER)
def test_danger_the_third_review_found_gets_the_hotlines_first(crisis, text: str) -> None:
    assert crisis.assess(text).crisis


@pytest.mark.parametrize("text", REVIEW_HOTLINES)
def test_fear_without_danger_now_gets_the_answer_with_the_hotlines(crisis, text: str) -> None:
    found = crisis.assess(text)
    assert found.topic and not found.crisis


@pytest.mark.parametrize("text", NOT_DANGER)
def test_questions_near_the_danger_structure_are_not_filed_as_a_crisis(crisis, text: str) -> None:
    assert not crisis.assess(text).crisis


def _check(**lists: list[str]) -> CrisisCheck:
    return CrisisCheck(CrisisConfig.model_validate({
        "last_verified": "2026-11-29", "hotlines": [{"name": "Emergency", "contact": "911"}],
        "danger": ["kill myself"], **lists}))


def test_an_act_added_once_is_found_with_every_person_and_target() -> None:
    check = _check(people=["he", "my ex"], acts=["smack", "smacked"], targets=["me", "the kids"],
                   spellings={"gonna": "going to"})
    for text in ("he smacked me", "my ex just smacked the kids", "he is gonna smack me"):
        assert check.assess(text).crisis, text
    assert not check.assess("she smacked the table").crisis
    assert not check.assess("he smacked the table, me and the kids left").crisis


def test_everyday_speech_cancels_the_danger_it_overlaps_unless_a_longer_phrase_holds_it(
        ) -> None:
    check = _check(danger=["im in danger", "in danger of being"], not_danger=["in danger of"])
    assert not check.assess("im in danger of missing the deadline").crisis
    assert check.assess("im in danger of being hurt").crisis
    assert check.assess("im in danger").crisis


def test_what_outweighs_danger_depends_on_whom_it_names() -> None:
    check = _check(danger=["has a gun", "he has a gun", "going to kill me"],
                   advocate_framing=["client", "what do i say"], someone_else=["she"],
                   hypothetical=["if"], past=["last week"], now=["now"])
    assert not check.assess("what do i say when a caller has a gun").crisis  # names no one
    assert check.assess("what do i say he has a gun").crisis  # names him: the writer's words
    assert not check.assess("my client says he has a gun").crisis  # names him: a third party
    assert not check.assess("does it matter if he has a gun").crisis
    assert not check.assess("he has a gun and she wants a PO").crisis
    assert check.assess("he has a gun and she is with me").crisis
    assert not check.assess("he has a gun, he bought it last week").crisis
    assert check.assess("he bought it last week and now he has a gun").crisis
    assert check.assess("my client says he is going to kill me").crisis  # names the writer


def test_a_place_alone_counts_only_where_the_message_ends() -> None:
    check = _check(people=["he is"], places_last=["outside"], spellings={"he is": "hes"})
    assert check.assess("he's outside").crisis
    assert not check.assess("he is outside the jurisdiction").crisis


def test_a_crisis_file_with_only_the_first_lists_still_loads(tmp_path: Path) -> None:
    write_text(tmp_path / "crisis.yaml", """\
        last_verified: 2026-11-29
        hotlines: [{name: Emergency, contact: call 911}]
        danger: [going to kill me]
        advocate_framing: [client]
        """)
    check, problems = load_crisis(tmp_path)
    assert problems == [] and check is not None
    assert check.assess("he is going to kill me").crisis
    assert not check.assess("client says he is going to kill her").crisis


def test_a_misspelt_list_name_in_the_crisis_file_is_an_error_on_its_line(tmp_path: Path) -> None:
    write_text(tmp_path / "crisis.yaml", """\
        last_verified: 2026-11-29
        hotlines: [{name: Emergency, contact: call 911}]
        danger: [going to kill me]
        peeple: [he]
        """)
    check, problems = load_crisis(tmp_path)
    assert check is None and [(p.line, p.severity) for p in problems] == [(4, Severity.ERROR)]


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
    assert alarms == []


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
