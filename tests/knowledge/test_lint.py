"""kb lint's check for phrasings that the bot would answer with another entry."""

from pathlib import Path

import numpy as np

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.lint import BORDERLINE, lint, misleading_severity
from bot.knowledge.problems import Severity
from tests.conftest import SMALL_KB, entry, write_yaml

STRAY = "can our shelter have a curfew rule for residents at night"


def misleading(tmp_path: Path, interpreter_questions: list[str]) -> list:
    directory = tmp_path / "kb"
    for item in SMALL_KB:
        if item["id"] == "interpreter-use":
            item = entry("interpreter-use", interpreter_questions, tags=["language"])
        write_yaml(directory / f"{item['id']}.yaml", item)
    return [p for p in lint(KnowledgeBase.load(directory)) if "better than its own" in p.message]


def test_a_phrasing_that_belongs_to_another_entry_is_an_error(tmp_path: Path) -> None:
    [problem] = misleading(tmp_path, ["can a child interpret for their mom",
                                      "finding an interpreter for a survivor", STRAY])
    assert problem.severity is Severity.ERROR
    assert "'shelter-curfew'" in problem.message and STRAY in problem.message
    assert problem.path.name == "interpreter-use.yaml"


def test_phrasings_that_stay_with_their_entry_are_not_flagged(tmp_path: Path) -> None:
    assert misleading(tmp_path, ["can a child interpret for their mom",
                                 "finding an interpreter for a survivor"]) == []


def test_a_wrong_answer_only_just_over_the_line_is_a_warning_not_an_error() -> None:
    """The line moves with every edit; a borderline case must not flip CI or block a save."""
    assert misleading_severity(0.70, 0.70) is Severity.WARNING
    assert misleading_severity(0.70 + BORDERLINE / 2, 0.70) is Severity.WARNING
    assert misleading_severity(0.70 + BORDERLINE, 0.70) is Severity.ERROR
    assert misleading_severity(0.99, 0.70) is Severity.ERROR


def test_an_answer_too_long_for_a_phone_is_a_warning(tmp_path: Path) -> None:
    directory = tmp_path / "kb"
    for item in SMALL_KB:
        write_yaml(directory / f"{item['id']}.yaml", item)
    write_yaml(directory / "shelter-curfew.yaml", entry(
        "shelter-curfew", ["can our shelter have a curfew"], answer="Keep rules few. " * 500))
    [problem] = [p for p in lint(KnowledgeBase.load(directory)) if "characters" in p.message]
    assert problem.severity is Severity.WARNING and problem.path.name == "shelter-curfew.yaml"
    assert "7,999 characters" in problem.message  # YAML drops the trailing space


def test_a_vector_seed_older_than_the_entries_is_a_warning(tmp_path: Path) -> None:
    directory = tmp_path / "kb"
    for item in SMALL_KB:
        write_yaml(directory / f"{item['id']}.yaml", item)
    kb = KnowledgeBase.load(directory)

    def seed_warnings() -> list:
        return [p for p in lint(kb) if p.path.name == "sentence-vectors.npz"]

    assert seed_warnings() == []  # no seed shipped: nothing to keep current
    kb.write_vector_seed()
    assert seed_warnings() == []
    write_yaml(directory / "shelter-curfew.yaml", entry(
        "shelter-curfew", ["can our shelter have a curfew", "curfew on weekends too?"]))
    kb.reload()
    [problem] = seed_warnings()
    assert problem.severity is Severity.WARNING and "tabot kb vectors" in problem.message
    assert "for 1 of the" in problem.message  # the one new phrasing


def test_a_vector_seed_made_by_another_model_is_stale_for_every_text(tmp_path: Path) -> None:
    directory = tmp_path / "kb"
    for item in SMALL_KB:
        write_yaml(directory / f"{item['id']}.yaml", item)
    kb = KnowledgeBase.load(directory)
    path, _ = kb.write_vector_seed()
    with np.load(path) as seed:
        keys, vectors = seed["keys"], seed["vectors"]
    np.savez(path, keys=keys, vectors=vectors, model=np.array("another-model"))
    [problem] = [p for p in lint(kb) if p.path.name == "sentence-vectors.npz"]
    assert f"for {len(keys)} of the {len(keys)} texts" in problem.message
