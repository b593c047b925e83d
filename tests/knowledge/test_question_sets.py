"""The labelled question sets read like advocates, not like the knowledge base (issue #14).

No question may be a near-copy of a phrasing or title in the shipped knowledge base, since
those measure only how well the matcher finds its own text. The two labelled sets mark each
line's style with an optional "style" field ("shorthand": typed on a phone, abbreviations and
typos; "long": context before the question; absent: plain), which `read_questions` ignores,
and hold minimum shares of each.
"""

from __future__ import annotations

import json

import pytest
from rapidfuzz import fuzz, process

from bot.knowledge import evaluation
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.normalize import fold
from tests.conftest import DATA

LABELLED = ("questions.jsonl", "questions-heldout.jsonl")
ALL_SETS = (*LABELLED, "questions-needs-staff.jsonl")
TOO_CLOSE = 90  # rapidfuzz fuzz.ratio on folded text: a few characters apart
STYLES = {"shorthand", "long"}
MIN_SHARE = {"shorthand": 0.30, "long": 0.20}
LONG_WORDS = 20  # a "long" message has at least this many words


def lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()
            if line.strip()]


@pytest.fixture(scope="module")
def kb_texts(shipped_kb: KnowledgeBase) -> dict[str, str]:
    """Every phrasing and title of the shipped knowledge base, folded, with its entry id."""
    texts = {}
    for entry in shipped_kb.entries.values():
        for text in (entry.title, *entry.questions):
            texts.setdefault(fold(text), entry.id)
    return texts


@pytest.mark.parametrize("name", ALL_SETS)
def test_no_question_is_a_near_copy_of_the_knowledge_base(name: str,
                                                          kb_texts: dict[str, str]) -> None:
    choices = list(kb_texts)
    close = []
    for item in lines(name):
        text = fold(item["text"])
        best = process.extractOne(text, choices, scorer=fuzz.ratio, score_cutoff=TOO_CLOSE)
        if best is not None:
            close.append((item["text"], best[0], kb_texts[best[0]], round(best[1])))
    assert close == []


@pytest.mark.parametrize("name", ALL_SETS)
def test_every_label_is_a_shipped_entry(name: str, shipped_kb: KnowledgeBase) -> None:
    labels = {q.expect for q in evaluation.read_questions(DATA / name) if q.expect}
    assert labels - set(shipped_kb.entries) == set()


def test_the_needs_staff_set_is_all_out_of_scope_and_big_enough() -> None:
    questions = evaluation.read_questions(DATA / "questions-needs-staff.jsonl")
    assert len(questions) >= 110
    assert [q.text for q in questions if q.expect is not None] == []


@pytest.mark.parametrize("name", ALL_SETS)
def test_no_question_appears_twice(name: str) -> None:
    texts = [fold(item["text"]) for item in lines(name)]
    assert sorted(t for t in set(texts) if texts.count(t) > 1) == []


def test_the_held_out_set_shares_no_in_scope_question_with_the_tuning_set() -> None:
    tuning = {fold(item["text"]) for item in lines("questions.jsonl") if item["expect"]}
    heldout = {fold(item["text"]) for item in lines("questions-heldout.jsonl") if item["expect"]}
    assert tuning & heldout == set()


@pytest.mark.parametrize("name", LABELLED)
def test_styles_are_known_and_long_messages_are_long(name: str) -> None:
    items = lines(name)
    assert {item["style"] for item in items if "style" in item} <= STYLES
    short = [item["text"] for item in items
             if item.get("style") == "long" and len(item["text"].split()) < LONG_WORDS]
    assert short == []


@pytest.mark.parametrize("name", LABELLED)
@pytest.mark.parametrize("style", sorted(MIN_SHARE))
def test_each_labelled_set_is_mostly_how_advocates_type(name: str, style: str) -> None:
    items = lines(name)
    share = sum(item.get("style") == style for item in items) / len(items)
    assert share >= MIN_SHARE[style]


def test_the_question_reader_ignores_the_style_field(tmp_path) -> None:
    path = tmp_path / "styled.jsonl"
    path.write_text('{"text": "roi expired??", "expect": "a", "style": "shorthand"}\n',
                    encoding="utf-8")
    assert evaluation.read_questions(path) == [evaluation.LabeledQuestion("roi expired??", "a", 1)]
