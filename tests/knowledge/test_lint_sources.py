"""kb lint warns on a source a reader could not find: no URL and no recognisable citation."""

from pathlib import Path

import pytest

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.lint import findable, lint
from bot.knowledge.problems import Severity
from tests.conftest import entry, write_yaml


def source_warnings(tmp_path: Path, sources: list[dict]) -> list[str]:
    write_yaml(tmp_path / "kb" / "a.yaml", entry("shelter-rules", ["curfew rules"],
                                                 sources=sources))
    kb = KnowledgeBase.load(tmp_path / "kb")
    return [p.message for p in lint(kb) if p.severity is Severity.WARNING
            and "cannot find" in p.message]


def test_a_private_reference_without_url_is_a_warning(tmp_path: Path) -> None:
    [warning] = source_warnings(tmp_path, [{"title": "seed document 004"}])
    assert "'shelter-rules' cites 'seed document 004'" in warning


def test_a_title_with_nothing_to_look_up_is_a_warning(tmp_path: Path) -> None:
    assert source_warnings(tmp_path, [{"title": "Our Partners: Identify key partners"}])


@pytest.mark.parametrize("source", [
    {"title": "Some page", "url": "https://example.org/page"},
    {"title": "34 U.S.C. 12291(b) - VAWA grant conditions"},
    {"title": "28 CFR 94.115"},
    {"title": "45 C.F.R. part 1370"},
    {"title": "A.G. Order 6335-2025 (90 FR 32023)"},
    {"title": "Bipartisan Safer Communities Act, Pub. L. 117-159"},
    {"title": "UN Women Virtual Knowledge Centre, 'Identify key partners' (2019)"},
])
def test_a_url_or_a_citation_is_enough(tmp_path: Path, source: dict) -> None:
    assert source_warnings(tmp_path, [source]) == []


def test_a_seed_reference_is_not_findable_even_with_a_url() -> None:
    assert not findable("Coalition Building (seed document 001)", "https://example.org")
    assert findable("Coalition Building (2019)", None)


def test_the_warning_does_not_fail_lint(tmp_path: Path) -> None:
    write_yaml(tmp_path / "kb" / "a.yaml", entry("shelter-rules", ["curfew rules"],
                                                 sources=[{"title": "seed document 004"}]))
    problems = lint(KnowledgeBase.load(tmp_path / "kb"))
    assert problems and all(p.severity is Severity.WARNING for p in problems)
