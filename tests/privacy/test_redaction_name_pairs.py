"""A first name and a surname that are also words: the whole name goes, the field's words stay.

A review (2026-11-28) ran the redactor on invented names: "Jane Doe", "Amy Long", "Kim Law",
"Liz Page" and "Ida Fields" lost the first name and kept the surname; "Grace Young", "Sue
Black", "Lee Case" and "Joy House" were kept whole, since both words are also English words.
The 650-message corpus (tests/data/pii_corpus.jsonl) has no such pair, and its recall test
counts a name as redacted when any part of it is, so these cases live here, measured word by
word: no word of a planted name may survive. Every name is invented (a common first name and a
common surname, paired at random; "Jane Doe" is the placeholder name itself).
"""

from __future__ import annotations

import pytest

from bot.privacy.redaction import Redactor
from tests.privacy.conftest import surviving

# (message, planted name): the review's cases, then the same gap typed other ways.
NAMES_THAT_ARE_WORDS = [
    ("none, call Jane Doe at 555-201-3344", "Jane Doe"),
    ("can Amy Long get a PO in another county", "Amy Long"),
    ("ask Kim Law if the hearing moved", "Kim Law"),
    ("we met Liz Page at intake", "Liz Page"),
    ("is Ida Fields eligible for the housing voucher", "Ida Fields"),
    ("call Grace Young tomorrow about the U visa", "Grace Young"),
    ("talk to Sue Black before the hearing", "Sue Black"),
    ("we met Lee Case at the courthouse", "Lee Case"),
    ("is Joy House eligible for VOCA funds", "Joy House"),
    ("can Will Black keep the kids this weekend", "Will Black"),
    ("is May Long eligible for TANF", "May Long"),
    ("her name was Hope Rivers", "Hope Rivers"),
    ("does Faith Young need a new PO", "Faith Young"),
    ("Grace Young called the hotline again", "Grace Young"),  # a sentence start, not a verb
    ("Lee Case wants to know about the hearing", "Lee Case"),
]
# A cue, an age or capitals took the first name and the surname stayed ("[NAME] Doe").
SURNAMES_AFTER_A_REDACTED_NAME = [
    ("my client Jane Doe filed for a PO", "Jane Doe"),
    ("my client Grace Young filed last week", "Grace Young"),
    ("her son Will Case is 7", "Will Case"),
    ("Ms. Sue Black said she would testify", "Sue Black"),
    ("CALL JANE DOE NOW", "JANE DOE"),  # all capitals: a listed first name, same case after
    ("we met Hope Quillfeather at intake", "Hope Quillfeather"),  # an invented surname
    ("her ex Will Zorbane keeps calling", "Will Zorbane"),
    ("the abuser is Tyrone Washington, is that in the hmis", "Tyrone Washington"),
    ("a survivor named Marisol McAllister called", "Marisol McAllister"),
]


@pytest.mark.parametrize(("text", "planted"),
                         NAMES_THAT_ARE_WORDS + SURNAMES_AFTER_A_REDACTED_NAME)
def test_a_name_whose_words_are_also_words_is_redacted_whole(
        redactor: Redactor, text: str, planted: str) -> None:
    result = redactor.redact(text)
    assert surviving(redactor, text, planted) == [], result.text
    assert "[NAME]" in result.text and "[NAME]" in result.kinds


@pytest.mark.parametrize(("text", "expected"), [
    ("none, call Jane Doe at 555-201-3344", "none, call [NAME] at [PHONE]"),
    ("my client Amy Long filed", "my client [NAME] filed"),
    ("CALL JANE DOE NOW", "CALL [NAME] NOW"),
    ("thanks Amy\nCase closed?", "thanks [NAME]\nCase closed?"),  # a new line, a new sentence
    ("Amy's Case worker called", "[NAME]'s Case worker called"),  # a possessive ends a name
])
def test_one_placeholder_for_one_name(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.redact(text).text == expected


# Advocates' words that look like a common-word first name and a surname: kept.
KEPT_WORDS = [
    "does Safe Horizon have a text line",
    "can Legal Aid help her with the custody case",
    "Child Protective Services called the shelter",
    "is there a Grace Period for rent after she moves",
    "the May Day rally is at the capitol",  # "Mayday" is one word in the dictionary
    "Will the court accept a typed declaration?",  # a verb at a sentence start
    "May we share the file with her attorney?",
    "Will Legal Aid take the case?",
    "there was an Amber Alert for her son",  # "Alert" is hardly a surname
    "a Silver Alert for her dad",
    "the Sunshine Law request named our shelter",
    "Early Head Start has slots for her kids",  # programmes, in the domain lexicon
    "does the Elder Justice Act cover her mom",
    "what is the Trevor Project number",  # "Project" is in no name list
    "WILL THE COURT SEE IT",  # all capitals say nothing about names
    "How Will The Court See It",  # every word capitalised: "The" is no surname
    "Can She Get A Grace Period",
]


@pytest.mark.parametrize("text", KEPT_WORDS)
def test_field_words_that_look_like_names_are_kept(redactor: Redactor, text: str) -> None:
    result = redactor.redact(text)
    assert result.text == text and not result.changed, result.text


def test_a_programme_named_like_a_person_may_be_redacted_but_its_kind_stays(
        redactor: Redactor) -> None:
    """ "Hope House" could be a person: redacting it is the safe error; "shelter" stays."""
    assert redactor.redact("is Hope House shelter full tonight").text.endswith(
        "shelter full tonight")


def test_a_place_is_still_a_place(redactor: Redactor) -> None:
    assert redactor.redact("her hearing is in Will County court").text == \
        "her hearing is in [PLACE] court"


def test_a_legal_pseudonym_is_still_a_name(redactor: Redactor) -> None:
    """ "Jane Doe" is also the name a court gives an anonymous party; it reads as a name
    either way, and [NAME] keeps the question's sense."""
    assert redactor.redact("can she file as Jane Doe").text == "can she file as [NAME]"
