import pytest

from bot.chat.text import split_text


def test_short_text_is_one_piece() -> None:
    assert split_text("hello there", 100) == ["hello there"]


def test_long_text_breaks_at_paragraphs_and_keeps_every_word() -> None:
    paragraphs = [f"Paragraph {n} " + "word " * 40 for n in range(10)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    pieces = split_text(text, 500)
    assert all(len(p) <= 500 for p in pieces) and len(pieces) > 1
    assert " ".join(pieces).split() == text.split()
    assert all(p.startswith("Paragraph") for p in pieces)


def test_a_single_huge_word_is_cut_at_the_limit() -> None:
    pieces = split_text("x" * 250, 100)
    assert [len(p) for p in pieces] == [100, 100, 50]


def test_a_silly_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        split_text("abc", 5)
