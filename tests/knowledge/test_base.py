from pathlib import Path

import pytest

from bot.knowledge.base import KnowledgeBase, KnowledgeError
from bot.knowledge.problems import Severity
from tests.conftest import entry, write_text, write_yaml


def test_loads_entries_synonyms_and_builds_the_index(small_kb_dir: Path) -> None:
    kb = KnowledgeBase.load(small_kb_dir)
    assert set(kb.entries) == {"subpoena-response", "shelter-curfew", "interpreter-use",
                               "dv-definition"}
    assert "domestic violence" in kb.synonyms
    assert len(kb.index.entries) == 4
    assert kb.problems == []


def test_a_file_that_breaks_keeps_its_last_good_version_on_reload(small_kb_dir: Path) -> None:
    kb = KnowledgeBase.load(small_kb_dir)
    write_text(small_kb_dir / "shelter-curfew.yaml", "id: shelter-curfew\ntitle: [unclosed\n")
    problems = kb.reload()
    assert any(p.severity is Severity.ERROR and p.path.name == "shelter-curfew.yaml"
               for p in problems)
    assert "shelter-curfew" in kb.entries
    assert kb.index.entries and len(kb.entries) == 4


def test_a_date_no_calendar_has_keeps_the_last_good_version_on_reload(
        small_kb_dir: Path) -> None:
    kb = KnowledgeBase.load(small_kb_dir)
    path = small_kb_dir / "shelter-curfew.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    write_text(path, "\n".join("reviewed: 2026-02-30" if line.startswith("reviewed:") else line
                               for line in lines) + "\n")
    problems = kb.reload()
    assert [p.path.name for p in problems] == ["shelter-curfew.yaml"]
    assert "not a real date" in problems[0].message
    assert len(kb.entries) == 4


def test_reload_picks_up_new_and_changed_entries(small_kb_dir: Path) -> None:
    kb = KnowledgeBase.load(small_kb_dir)
    write_yaml(small_kb_dir / "new.yaml", entry("pets-in-shelter", ["can residents bring pets"]))
    write_yaml(small_kb_dir / "shelter-curfew.yaml",
               entry("shelter-curfew", ["curfew"], answer="Updated answer."))
    assert kb.reload() == []
    assert kb.get("pets-in-shelter") is not None
    assert kb.get("shelter-curfew").answer == "Updated answer."


def test_a_broken_file_at_first_load_does_not_stop_the_rest(small_kb_dir: Path) -> None:
    write_text(small_kb_dir / "broken.yaml", "id: [\n")
    kb = KnowledgeBase.load(small_kb_dir)
    assert len(kb.entries) == 4
    assert [p.path.name for p in kb.problems] == ["broken.yaml"]


def test_an_entry_missing_because_its_file_failed_is_told_from_one_never_there(
        small_kb_dir: Path) -> None:
    write_text(small_kb_dir / "shelter-curfew.yaml", "- id: 'shelter-curfew'  # kept\n"
               "  title: [unclosed\n")
    write_text(small_kb_dir / "notes.yaml", "id: shelter-curfew-2\ntitle: [\n")
    write_text(small_kb_dir / "synonyms.yaml", "")  # an error too, but it holds no entries
    kb = KnowledgeBase.load(small_kb_dir)
    [error] = kb.load_errors_naming("shelter-curfew")
    assert error.path.name == "shelter-curfew.yaml" and "YAML syntax error" in error.message
    assert kb.load_errors_naming("shelter-curfews") == []  # a typo: no file names it
    assert kb.load_errors_naming("dv-definition") == []  # loaded: nothing to explain
    assert {p.path.name for p in kb.entry_errors()} == {"shelter-curfew.yaml", "notes.yaml"}


def test_duplicate_ids_keep_the_first_and_name_both_files(small_kb_dir: Path) -> None:
    write_yaml(small_kb_dir / "zz-copy.yaml", entry("shelter-curfew", ["another curfew q"]))
    kb = KnowledgeBase.load(small_kb_dir)
    [problem] = kb.problems
    assert problem.path.name == "zz-copy.yaml"
    assert "duplicate id 'shelter-curfew'" in problem.message
    assert "shelter-curfew.yaml" in problem.message
    assert kb.get("shelter-curfew").questions[0] == "can our shelter have a curfew"


def test_a_folder_emptied_for_a_moment_keeps_every_entry_on_reload(small_kb_dir: Path) -> None:
    """A reload during a git checkout or an rsync can find no entry files at all."""
    kb = KnowledgeBase.load(small_kb_dir)
    aside = small_kb_dir.parent / "aside"
    aside.mkdir()
    for path in small_kb_dir.glob("*.yaml"):
        path.rename(aside / path.name)
    [problem] = kb.reload()
    assert problem.severity is Severity.ERROR and "no entry files" in problem.message
    assert len(kb.entries) == 4 and kb.index.entries
    for path in aside.glob("*.yaml"):
        path.rename(small_kb_dir / path.name)
    assert kb.reload() == [] and len(kb.entries) == 4


def test_a_file_emptied_by_mistake_keeps_its_entry_on_reload(small_kb_dir: Path) -> None:
    kb = KnowledgeBase.load(small_kb_dir)
    write_text(small_kb_dir / "shelter-curfew.yaml", "")
    [problem] = kb.reload()
    assert problem.severity is Severity.ERROR and "delete the file" in problem.message
    assert "shelter-curfew" in kb.entries


def test_a_synonyms_file_emptied_by_mistake_keeps_every_synonym_on_reload(
        small_kb_dir: Path) -> None:
    kb = KnowledgeBase.load(small_kb_dir)
    write_text(small_kb_dir / "synonyms.yaml", "")
    [problem] = kb.reload()
    assert problem.severity is Severity.ERROR and problem.path.name == "synonyms.yaml"
    assert "file is empty" in problem.message
    assert kb.synonyms["domestic violence"] == ["DV", "IPV", "intimate partner violence"]


def test_a_new_file_copying_a_served_id_does_not_replace_the_served_entry(
        small_kb_dir: Path) -> None:
    kb = KnowledgeBase.load(small_kb_dir)
    write_yaml(small_kb_dir / "aaa-template.yaml", entry("shelter-curfew", ["a copied q"]))
    [problem] = kb.reload()
    assert problem.path.name == "aaa-template.yaml"  # blamed: the new file, not the old one
    assert "shelter-curfew.yaml" in problem.message and "which is kept" in problem.message
    assert kb.get("shelter-curfew").questions[0] == "can our shelter have a curfew"


def test_a_folder_without_entries_or_a_file_in_its_place_is_a_clear_error(
        tmp_path: Path) -> None:
    [problem] = KnowledgeBase.load(tmp_path).problems
    assert problem.severity is Severity.ERROR and "no entry files" in problem.message
    write_text(tmp_path / "README.md", "not a knowledge base")
    with pytest.raises(KnowledgeError, match="is a file, not a folder"):
        KnowledgeBase.load(tmp_path / "README.md")


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="does not exist; pass --kb DIR or set TABOT_KB"):
        KnowledgeBase.load(tmp_path / "nowhere")


def test_the_shipped_knowledge_base_meets_the_content_contract(shipped_kb) -> None:
    entries = list(shipped_kb.entries.values())
    assert len(entries) >= 60
    assert {e.category for e in entries} == {"best-practice", "emerging-issue", "standard"}
    assert all(len(e.questions) >= 6 for e in entries)
    assert all(e.sources for e in entries)
    assert not [p for p in shipped_kb.problems if p.severity is Severity.ERROR]


def test_a_broken_crisis_file_falls_back_on_the_shipped_hotlines(tmp_path: Path) -> None:
    write_yaml(tmp_path / "a.yaml", entry("shelter-rules", ["can our shelter have rules"]))
    write_text(tmp_path / "crisis.yaml", 'hotlines: ["unclosed\n')
    kb = KnowledgeBase.load(tmp_path)
    assert "988" in kb.require_crisis().hotlines()
