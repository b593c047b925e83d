import pytest

from bot.knowledge.base import KnowledgeBase
from bot.privacy.redaction import REDACTED_TOKEN, Redactor, redact, without_placeholders


@pytest.fixture(scope="module")
def redactor(shipped_kb: KnowledgeBase) -> Redactor:
    return Redactor(shipped_kb.index.normalizer.vocabulary)


@pytest.mark.parametrize(("text", "placeholder", "planted"), [
    ("call her at (555) 010-4477 tonight", "[PHONE]", "010-4477"),
    ("her number is 555.010.4477", "[PHONE]", "555.010.4477"),
    ("text +1 555 013 4477 after 5", "[PHONE]", "013 4477"),
    ("email zq.test@example.org about it", "[EMAIL]", "zq.test@example.org"),
    ("ssn 900-12-3456 on the form", "[SSN]", "900-12-3456"),
    ("born 04/05/1990, is she eligible", "[DATE]", "04/05/1990"),
    ("DOB April 17, 1991 on the intake", "[DATE]", "1991"),
    ("she stays at 48 Quillfeather Lane now", "[ADDRESS]", "Quillfeather"),
    ("moved to 908 N Tessaly Ave Apt 3 last week", "[ADDRESS]", "Tessaly"),
    ("case # DV-2026-00417 was filed", "[CASE NUMBER]", "00417"),
    ("the docket 26-CV-3381 hearing", "[CASE NUMBER]", "3381"),
    ("his truck, plate 7KQX219, keeps showing up", "[PLATE]", "7KQX219"),
    ("my client Zorba Quintaine wants to know", "[NAME]", "Quintaine"),
    ("her son pim is 7", "[NAME]", "pim"),
    ("ZORBELLE QUINTANAR is in shelter", "[NAME]", "QUINTANAR"),
    ("Ms. Okonkwo-Thale has a PO", "[NAME]", "Okonkwo"),
    ("Quintanar's ex keeps calling", "[NAME]", "Quintanar"),
    ("see www.example.org/people/zq-profile", "[URL]", "zq-profile"),
    ("she posted on facebook.com/zorbelle.quintanar", "[URL]", "zorbelle"),
])
def test_identifiers_are_replaced_by_readable_placeholders(redactor: Redactor, text: str,
                                                           placeholder: str,
                                                           planted: str) -> None:
    result = redactor.redact(text)
    assert planted not in result.text
    assert placeholder in result.text and placeholder in result.kinds


@pytest.mark.parametrize("text", [
    "Can a resident keep her dog in shelter? We have 12 beds.",
    "How do we share information with the Housing Authority under VAWA?",
    "Does Title VI apply to our LEP callers?",
    "my client wants to know if HMIS is required",
])
def test_questions_without_identifiers_are_unchanged(redactor: Redactor, text: str) -> None:
    result = redactor.redact(text)
    assert result.text == text and not result.changed


def test_placeholders_are_never_redacted_again() -> None:
    assert redact("case # DV-2026-00417 and 555-010-4477").text == "[CASE NUMBER] and [PHONE]"


def test_the_matcher_sees_placeholders_as_unknown_words() -> None:
    assert without_placeholders("can [NAME] get a PO at [ADDRESS]?") == (
        f"can {REDACTED_TOKEN}0 {REDACTED_TOKEN}1 get a PO at {REDACTED_TOKEN}2 ?")
