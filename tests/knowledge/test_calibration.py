"""Each knowledge base calibrates its own lines; the figures it promises are its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.knowledge.base import SHIPPED_KNOWLEDGE, KnowledgeBase, content_hash
from bot.knowledge.calibration import (
    IN_DOMAIN_SLACK,
    Calibration,
    CalibrationCache,
    calibrate,
    examples_for,
    sampled_phrasings,
)
from bot.knowledge.matcher import Matcher, Outcome
from tests.conftest import REPO, entry, write_yaml


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    return KnowledgeBase.load(SHIPPED_KNOWLEDGE)


def test_the_expected_wrong_answer_rate_meets_the_target(shipped: KnowledgeBase) -> None:
    calibration = calibrate(shipped.index, max_wrong=0.05)
    assert calibration.calibrated
    assert 0 < calibration.expected_wrong <= 0.05
    assert calibration.expected_resolved > calibration.expected_answered > 0.3


def test_a_stricter_target_draws_a_higher_answer_line(shipped: KnowledgeBase) -> None:
    strict = calibrate(shipped.index, max_wrong=0.01)
    lenient = calibrate(shipped.index, max_wrong=0.15)
    assert strict.lines.confidence > lenient.lines.confidence
    assert strict.expected_answered < lenient.expected_answered


def test_calibration_is_repeatable(shipped: KnowledgeBase) -> None:
    first, second = calibrate(shipped.index), calibrate(shipped.index)
    assert first.lines == second.lines and first.model == second.model


def test_a_knowledge_base_too_small_to_calibrate_keeps_the_shipped_lines(
        small_kb_dir: Path) -> None:
    kb = KnowledgeBase.load(small_kb_dir)
    assert kb.calibration is not None and not kb.calibration.calibrated
    assert "too few phrasings" in kb.calibration.describe()[0]


def test_a_question_from_outside_the_domain_is_off_topic(shipped: KnowledgeBase) -> None:
    matcher = Matcher(shipped.index)
    assert matcher.match("will it snow in the mountains on saturday").outcome is Outcome.OFF_TOPIC
    in_domain = matcher.match("the court sent us a subpoena for a client's shelter records")
    assert in_domain.outcome is not Outcome.OFF_TOPIC


def test_questions_no_entry_answers_are_held_to_the_off_topic_slack_on_their_own(
        shipped: KnowledgeBase) -> None:
    """The in-domain questions nothing answers must reach staff: the off-topic line may catch
    no more of them than the slack, even though the phrasings outnumber them."""
    calibration = shipped.calibration
    assert calibration is not None and calibration.off_topic_model is not None
    no_entry = [e for e in examples_for(shipped.index) if e.kind == "no-entry"]
    caught = [e for e in no_entry if calibration.off_topic_model.probability(e.domain)
              >= calibration.lines.off_topic]
    assert len(caught) <= IN_DOMAIN_SLACK * len(no_entry) + 1


def test_staff_lines_override_the_calibrated_ones(shipped: KnowledgeBase) -> None:
    settings = load_settings({"TABOT_ANSWER_CONFIDENCE": "0.99", "TABOT_SUGGEST_THRESHOLD": "0.4"})
    matcher = Matcher(shipped.index, settings.thresholds)
    assert matcher.lines.confidence == 0.99 and matcher.lines.suggest == 0.4
    assert Matcher(shipped.index).lines == shipped.calibration.lines


@pytest.mark.parametrize("raw", ["lots", "0.9", "0"])
def test_a_wrong_answer_target_that_is_not_a_small_share_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="TABOT_MAX_WRONG"):
        load_settings({"TABOT_MAX_WRONG": raw})


def test_a_cached_calibration_is_read_back_not_recomputed(shipped: KnowledgeBase,
                                                          tmp_path: Path) -> None:
    key = content_hash(shipped.entries, shipped.synonyms)
    first = CalibrationCache(tmp_path).get(shipped.index, key, 0.05)
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    # A new process starts with an empty memory: it reads the file, timings and all.
    again = CalibrationCache(tmp_path).get(shipped.index, key, 0.05)
    assert again == first
    assert Calibration.from_json(files[0].read_text()) == first


def test_an_unreadable_cache_file_is_calibrated_again(shipped: KnowledgeBase,
                                                      tmp_path: Path) -> None:
    key = content_hash(shipped.entries, shipped.synonyms)
    first = CalibrationCache(tmp_path).get(shipped.index, key, 0.05)
    (cached,) = tmp_path.glob("*.json")
    cached.write_text("{not json")
    again = CalibrationCache(tmp_path).get(shipped.index, key, 0.05)
    assert again.calibrated and again.lines == first.lines


def test_editing_an_entry_changes_what_is_calibrated(tmp_path: Path) -> None:
    directory = tmp_path / "kb"
    items = [entry(f"topic-{n}", [f"question {w} about topic {n}" for w in "abcdefghijklmno"])
             for n in range(4)]
    for item in items:
        write_yaml(directory / f"{item['id']}.yaml", item)
    kb = KnowledgeBase.load(directory)
    before = content_hash(kb.entries, kb.synonyms)
    items[0]["questions"].append("one more way to ask about topic zero")
    write_yaml(directory / "topic-0.yaml", items[0])
    kb.reload()
    assert content_hash(kb.entries, kb.synonyms) != before
    assert kb.calibration is not None and kb.calibration.calibrated


def test_adding_a_phrasing_changes_the_calibration_sample_by_one_at_most(tmp_path: Path
                                                                         ) -> None:
    """A staff member's small edit must not redraw the whole sample: that moved the lines
    and turned unrelated phrasings into lint errors."""
    directory = tmp_path / "kb"
    items = [entry(f"topic-{n}", [f"question {w} about topic {n}" for w in "abcdefghijklmno"])
             for n in range(6)]
    for item in items:
        write_yaml(directory / f"{item['id']}.yaml", item)

    def sample() -> set[str]:
        index = KnowledgeBase.load(directory).index
        return {index.entries[i].questions[j - 1] for i, j in sampled_phrasings(index, 30)}

    before = sample()
    items[2]["questions"].insert(0, "one more way to ask about topic two")
    write_yaml(directory / "topic-2.yaml", items[2])
    after = sample()
    assert len(before) == len(after) == 30
    assert len(before - after) <= 1 and len(after - before) <= 1


def test_tabot_kb_calibrate_prints_the_lines_and_expected_rates() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "kb", "calibrate"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for words in ("answer line: confidence >=", "expected wrong among answers",
                  "suggestion line", "off-topic line"):
        assert words in result.stdout
