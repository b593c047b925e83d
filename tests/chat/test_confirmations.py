"""What askers confirm becomes proposed phrasings for staff (the learning loop's input)."""

from __future__ import annotations

from bot.chat.conversation import Conversation
from bot.chat.messages import Action, ActionKind, AnswerReply, Message, SuggestReply
from bot.knowledge.learning import proposals

VAGUE = "grant"


def msg(text: str = "", action: Action | None = None) -> Message:
    return Message("test", "U7", "dm-U7", text, action=action)


async def pending(conversation: Conversation) -> dict[str, list[tuple[str, int, int]]]:
    groups = await proposals(conversation.db, conversation.knowledge)
    return {g.entry_id: [(p.text, p.picked, p.helped) for p in g.proposals] for g in groups}


async def test_a_picked_suggestion_proposes_the_question_for_that_entry(
        conversation: Conversation) -> None:
    [suggested] = await conversation.handle(msg(VAGUE))
    assert isinstance(suggested, SuggestReply)
    chosen = suggested.choices[0].entry_id
    answer, *_sent_to_staff = await conversation.handle(  # if it depends on state law
        msg(action=Action(ActionKind.CHOOSE, chosen, context=suggested.context)))
    assert isinstance(answer, AnswerReply) and answer.entry_id == chosen
    assert (await pending(conversation)) == {chosen: [(VAGUE, 1, 0)]}


async def test_this_helped_on_an_answer_proposes_the_question(conversation: Conversation) -> None:
    question = "what should we do about pets at the shelter"
    [answer] = await conversation.handle(msg(question))
    assert isinstance(answer, AnswerReply)
    await conversation.handle(msg(action=Action(ActionKind.HELPED, answer.entry_id,
                                                context=answer.context)))
    assert (await pending(conversation))[answer.entry_id] == [(question, 0, 1)]


async def test_a_related_entry_chosen_after_an_answer_proposes_nothing(
        conversation: Conversation) -> None:
    [answer] = await conversation.handle(msg("can a shelter have a curfew for residents"))
    assert isinstance(answer, AnswerReply) and answer.related
    related = answer.related[0].entry_id
    await conversation.handle(msg(action=Action(ActionKind.RELATED, related,
                                                context=answer.context)))
    assert related not in await pending(conversation)
