"""Notes tabot adds to a question's text so staff can read it on its own.

A follow-up ("what about teens?") is kept with the answer it followed, and a question sent to
staff after an answer names that answer. Both notes help a person reading the queue, and both
would be wrong in a phrasing proposed for an entry, so they are defined here, together with
the one function that reads them back.
"""

from __future__ import annotations

NO_QUESTION = "(no question text)"  # filed when the question behind a button is gone
_FOLLOWED = " (asked right after an answer about: "
_ANSWERED = " (sent to staff after tabot answered it with the entry '"
FOLLOW_UP = "{question}" + _FOLLOWED + "{topic})"
ANSWERED_WITH = _ANSWERED + "{entry}')"


def proposable(question: str) -> str | None:
    """The asker's own words, fit to propose as a phrasing, or None for a follow-up (without
    the answer it followed, "what about teens?" says nothing about an entry) and for a
    question tabot no longer had."""
    if _FOLLOWED in question or question == NO_QUESTION:
        return None
    return question.split(_ANSWERED, 1)[0]
