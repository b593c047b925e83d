"""The notes tabot adds to a question for staff, and reading the asker's words back."""

from bot.chat.annotations import ANSWERED_WITH, FOLLOW_UP, NO_QUESTION, proposable


def test_a_question_sent_after_an_answer_is_read_back_without_its_note() -> None:
    question = "can residents keep a cat"
    assert proposable(question + ANSWERED_WITH.format(entry="pets-in-shelter")) == question
    assert proposable(question) == question


def test_a_question_tabot_no_longer_had_is_never_proposed() -> None:
    assert proposable(NO_QUESTION) is None


def test_a_follow_up_is_never_proposed() -> None:
    """Without the answer it followed, "what about teens?" says nothing about an entry."""
    assert proposable(FOLLOW_UP.format(question="what about teens?", topic="shelter rules")) \
        is None
