"""The asker is told, once per conversation, which kinds of details were removed."""

from bot.chat.conversation import Conversation
from bot.chat.messages import Message, TextReply
from bot.store.tables import Interaction
from tests.chat.test_conversation import rows


def msg(text: str, user: str = "U1") -> Message:
    return Message("test", user, f"dm-{user}", text)


def notices(replies: list) -> list[str]:
    return [r.text for r in replies if isinstance(r, TextReply) and "removed identifying" in r.text]


async def test_the_notice_names_the_kinds_removed_once(conversation: Conversation) -> None:
    first = await conversation.handle(msg(
        "my client Keisha Okafor lives in Bismarck, her a-number is A-123-456-789, can she "
        "self petition under vawa"))
    [notice] = notices(first)
    assert all(kind in notice for kind in ("a-number", "name", "place"))
    again = await conversation.handle(msg("her son attends Lincoln Elementary, is that a risk"))
    assert notices(again) == []
    other = await conversation.handle(msg("she moved to Minot, what now", user="U2"))
    assert "place" in notices(other)[0]
    stored = " ".join(row.text for row in await rows(conversation.db, Interaction))
    for planted in ("Keisha", "Okafor", "Bismarck", "123-456-789", "Lincoln", "Minot"):
        assert planted not in stored
