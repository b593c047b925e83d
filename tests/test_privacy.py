import pytest

from bot.privacy import redact


@pytest.mark.parametrize(("text", "placeholder", "planted"), [
    ("call her at (555) 010-4477 tonight", "[PHONE]", "010-4477"),
    ("her number is 555.010.4477", "[PHONE]", "555.010.4477"),
    ("email zq.test@example.org about it", "[EMAIL]", "zq.test@example.org"),
    ("ssn 900-12-3456 on the form", "[SSN]", "900-12-3456"),
    ("born 04/05/1990, is she eligible", "[DATE]", "04/05/1990"),
    ("she stays at 48 Quillfeather Lane now", "[ADDRESS]", "Quillfeather"),
    ("case # DV-2026-00417 was filed", "[CASE NUMBER]", "00417"),
    ("my client Zorba Quintaine wants to know", "[NAME]", "Quintaine"),
    ("see www.example.org/people/zq-profile", "[URL]", "zq-profile"),
])
def test_identifiers_are_replaced_by_readable_placeholders(text: str, placeholder: str,
                                                           planted: str) -> None:
    result = redact(text)
    assert planted not in result.text
    assert placeholder in result.text and placeholder in result.kinds


def test_a_question_without_identifiers_is_unchanged() -> None:
    text = "Can a resident keep her dog in shelter? We have 12 beds."
    result = redact(text)
    assert result.text == text and not result.changed
