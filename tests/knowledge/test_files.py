from pathlib import Path

import pytest

from bot.knowledge.files import entry_files, load_entry_file, load_synonyms
from bot.knowledge.problems import Severity
from tests.conftest import entry, write_text, write_yaml


def messages(result) -> list[str]:
    return [f"{p.line}: {p.message}" for p in result.problems]


def test_a_single_entry_file_loads_with_every_field(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "one.yaml", entry("shelter-rules", ["a", "b"], owner="TA team"))
    result = load_entry_file(path)
    assert result.ok
    [loaded] = result.entries
    assert loaded.id == "shelter-rules" and loaded.questions == ("a", "b")
    assert loaded.owner == "TA team" and loaded.reviewed.year == 2026


def test_a_list_file_loads_every_entry_and_records_each_line(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "many.yaml", [entry("one", ["q1"]), entry("two", ["q2"])])
    result = load_entry_file(path)
    assert [e.id for e in result.entries] == ["one", "two"]
    assert result.entries[0].line < result.entries[1].line


def test_an_unclosed_quote_found_far_below_is_traced_back_to_where_it_began(
        tmp_path: Path) -> None:
    path = write_text(tmp_path / "bad.yaml", """\
        id: broken
        category: standard
        title: Broken quoting
        questions:
          - "can we ask for ID at intake
          - is photo ID required
          - do residents need identification
        answer: No.
        tags: [intake]
        """)
    [problem] = load_entry_file(path).problems
    assert "YAML syntax error" in problem.message and "from line 5 on" in problem.message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write_text(tmp_path / "bad.yaml", """\
        id: broken
        category: standard
        title: "unterminated
        questions: [a]
        """)
    result = load_entry_file(path)
    assert not result.ok and not result.entries
    [problem] = result.problems
    assert problem.line >= 3 and "YAML syntax error" in problem.message


def test_a_key_given_twice_in_an_entry_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    """Staff adding phrasings in a second `questions:` block at the end would lose the first
    block without a word: YAML keeps only the last."""
    path = write_text(tmp_path / "e.yaml", """\
        id: twice
        category: standard
        title: Twice
        questions: [first wording, second wording]
        answer: A.
        reviewed: 2026-02-01
        questions: [third wording]
        """)
    result = load_entry_file(path)
    assert not result.entries
    assert messages(result) == ["7: 'questions' appears twice in this entry (first on line 4); "
                                "YAML keeps only the last, so merge them into one"]


def test_a_key_given_twice_drops_only_its_own_entry_from_a_list_file(tmp_path: Path) -> None:
    path = write_text(tmp_path / "list.yaml", """\
        - id: kept
          category: standard
          title: Kept
          questions: [a question]
          answer: A.
          sources: [{title: Test source, url: "https://example.org"}]
          reviewed: 2026-02-01
        - id: twice
          category: standard
          title: Twice
          reviewed: 2026-02-01
          questions: [b question]
          answer: B.
          reviewed: 2026-02-02
        """)
    result = load_entry_file(path)
    assert [e.id for e in result.entries] == ["kept"]
    assert [p.line for p in result.problems] == [14]


def test_a_date_no_calendar_has_is_reported_with_its_line(tmp_path: Path) -> None:
    """YAML reads 2026-02-30 as a date and fails making it; that must be a problem in the
    file, not an exception that stops every other file from loading."""
    path = write_text(tmp_path / "e.yaml", """\
        id: bad-date
        category: standard
        title: A bad date
        questions: [q]
        answer: A.
        reviewed: 2026-02-30
        """)
    result = load_entry_file(path)
    assert not result.entries
    assert messages(result) == ["6: '2026-02-30' is not a real date; write it as YYYY-MM-DD"]


def test_invalid_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"id: x\ntitle: caf\xe9\n")
    result = load_entry_file(path)
    assert messages(result) == ["2: not valid UTF-8 (byte 0xe9); save the file as UTF-8"]


def test_missing_answer_is_reported_at_the_entry(tmp_path: Path) -> None:
    data = entry("no-answer", ["q"])
    del data["answer"]
    result = load_entry_file(write_yaml(tmp_path / "e.yaml", data))
    assert messages(result) == ["1: missing required field 'answer'"]


def test_empty_fields_and_unknown_category_point_at_their_lines(tmp_path: Path) -> None:
    path = write_text(tmp_path / "e.yaml", """\
        id: empty-things
        category: rumour
        title: "  "
        questions: []
        answer: ok
        sources: [{title: s}]
        reviewed: 2026-01-01
        """)
    found = messages(load_entry_file(path))
    assert ("2: unknown category 'rumour'; use one of: best-practice, emerging-issue, standard"
            in found)
    assert "3: 'title' is empty; fill it in" in found
    assert "4: 'questions' is empty; fill it in" in found


def test_a_misspelt_field_is_named(tmp_path: Path) -> None:
    data = entry("typo-field", ["q"])
    data["anwser"] = "x"
    found = messages(load_entry_file(write_yaml(tmp_path / "e.yaml", data)))
    assert any("unknown field 'anwser'" in m for m in found)


def test_a_bad_id_and_a_bad_date_are_explained(tmp_path: Path) -> None:
    data = entry("Not Kebab", ["q"], reviewed="last spring")
    found = messages(load_entry_file(write_yaml(tmp_path / "e.yaml", data)))
    assert any("'id' must be kebab-case" in m for m in found)
    assert any("'reviewed' must be a date written YYYY-MM-DD" in m for m in found)


def test_one_bad_entry_in_a_list_does_not_stop_the_others(tmp_path: Path) -> None:
    bad = entry("bad", ["q"])
    del bad["sources"]
    result = load_entry_file(write_yaml(tmp_path / "e.yaml", [entry("good", ["q"]), bad]))
    assert [e.id for e in result.entries] == ["good"]
    assert [p.severity for p in result.problems] == [Severity.ERROR]


def test_drafts_and_synonyms_are_not_served_as_entries(tmp_path: Path) -> None:
    write_yaml(tmp_path / "a.yaml", entry("a", ["q"]))
    write_yaml(tmp_path / "drafts" / "b.yaml", entry("b", ["q"]))
    write_yaml(tmp_path / "synonyms.yaml", {"x": ["y"]})
    assert [p.name for p in entry_files(tmp_path)] == ["a.yaml"]
    assert len(entry_files(tmp_path, include_drafts=True)) == 2


def test_synonyms_with_the_wrong_shape_are_explained(tmp_path: Path) -> None:
    write_text(tmp_path / "synonyms.yaml", "domestic violence: DV\n")
    synonyms, problems = load_synonyms(tmp_path)
    assert synonyms == {}
    assert "maps a term to a list of words" in problems[0].message


def test_an_id_too_long_for_a_chat_button_is_explained(tmp_path: Path) -> None:
    longest = "a" * 37 + "-bc"
    result = load_entry_file(write_yaml(tmp_path / "e.yaml", [
        entry(longest, ["q1"]), entry(longest + "d", ["q2"])]))
    assert [e.id for e in result.entries] == [longest]
    assert [p.message for p in result.problems] == [
        "'id' is 41 characters long; shorten it to 40 or fewer (buttons in chat carry the id, "
        "and they have little room)"]


def test_an_unreadable_entry_file_is_reported_and_the_rest_still_load(tmp_path: Path) -> None:
    """A folder named like an entry file (or a broken link) used to stop the whole load."""
    write_yaml(tmp_path / "good.yaml", entry("good-entry", ["a question"]))
    (tmp_path / "folder.yaml").mkdir()
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    results = {path.name: load_entry_file(path) for path in entry_files(tmp_path)}
    assert [e.id for e in results["good.yaml"].entries] == ["good-entry"]
    for name in ("folder.yaml", "gone.yaml"):
        assert not results[name].entries
        [message] = messages(results[name])
        assert message.startswith("1: could not be read (") and "fix or remove it" in message


@pytest.mark.parametrize("content", ["", "# synonyms kept by the TA team\n"])
def test_an_empty_synonyms_file_is_an_error_not_an_empty_list(tmp_path: Path,
                                                               content: str) -> None:
    """Read as "no synonyms", a save cut short dropped every synonym, even on a running bot's
    reload, and lint said nothing."""
    write_text(tmp_path / "synonyms.yaml", content)
    synonyms, [problem] = load_synonyms(tmp_path)
    assert synonyms == {} and problem.severity is Severity.ERROR
    assert problem.message == "file is empty; to use no synonyms, delete the file or write {}"
    write_text(tmp_path / "synonyms.yaml", "{}\n")
    assert load_synonyms(tmp_path) == ({}, [])
