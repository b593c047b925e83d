from pathlib import Path

import pytest

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.matcher import Matcher, Outcome, Thresholds


@pytest.fixture
def matcher(small_kb_dir: Path) -> Matcher:
    return Matcher(KnowledgeBase.load(small_kb_dir).index)


def test_a_close_paraphrase_is_answered_with_its_entry(matcher: Matcher) -> None:
    match = matcher.match("we got a subpoena asking for a client's records, what do we do?")
    assert match.outcome is Outcome.ANSWER
    assert match.best.entry.id == "subpoena-response"


def test_typos_and_acronyms_still_find_the_entry(matcher: Matcher) -> None:
    assert matcher.match("subpeona for recrods").best.entry.id == "subpoena-response"
    assert matcher.match("what counts as IPV").best.entry.id == "dv-definition"


def test_an_unrelated_question_is_escalated(matcher: Matcher) -> None:
    match = matcher.match("what is the best recipe for banana bread")
    assert match.outcome is Outcome.ESCALATE
    assert match.score < Matcher(matcher.index).lines.suggest


def test_suggestions_are_distinct_entries_best_first(matcher: Matcher) -> None:
    match = matcher.match("shelter rules")
    ids = [e.id for e in match.suggestions(3)]
    assert len(ids) == len(set(ids))
    assert ids[0] == "shelter-curfew"
    scores = [c.score for c in match.candidates]
    assert scores == sorted(scores, reverse=True)


def test_close_runner_up_means_suggest_rather_than_answer(matcher: Matcher) -> None:
    strict = Matcher(matcher.index, Thresholds(margin=0.99))
    match = strict.match("curfew rules for shelter residents")
    assert match.outcome is Outcome.SUGGEST


def test_unknown_words_lower_coverage(matcher: Matcher) -> None:
    plain = matcher.match("curfew for residents").best
    padded = matcher.match("curfew for residents quarterly payroll reconciliation").best
    assert padded.coverage < plain.coverage


def test_explanation_fields_name_the_matched_words(matcher: Matcher) -> None:
    best = matcher.match("interpreter for intake").best
    assert best.entry.id == "interpreter-use"
    assert {"interpreter", "intake"} <= set(best.matched)
    assert 0 <= best.coverage <= 1 and 0 <= best.overlap <= 1 and 0 <= best.fuzzy <= 1


def test_leaving_a_phrasing_out_removes_its_words(matcher: Matcher) -> None:
    index = matcher.index
    position = next(i for i, e in enumerate(index.entries) if e.id == "shelter-curfew")
    with_it = matcher.match("is a 10pm curfew ok").best
    without = matcher.match("is a 10pm curfew ok", exclude=(position, 3)).best
    assert with_it.entry.id == "shelter-curfew"
    assert without.score < with_it.score


def test_an_empty_knowledge_base_escalates_everything(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    match = Matcher(KnowledgeBase.load(tmp_path / "empty").index).match("anything at all")
    assert match.outcome is Outcome.ESCALATE and match.best is None
