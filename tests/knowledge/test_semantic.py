import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from threadpoolctl import threadpool_info

from bot.cli import main
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.calibration import off_topic_questions
from bot.knowledge.matcher import Index, Matcher
from bot.knowledge.semantic import (
    SEED_FILE,
    ModelMissing,
    PhrasingVectors,
    SentenceEncoder,
    _all_cores_if,
    _key,
    model_folder,
    shared_encoder,
)

# Computed with sentence-transformers 6.2 and PyTorch 2.13 from the same model files: the first
# six and last three of the 384 numbers.
REFERENCE = {
    "Can our shelter ask residents to be back by ten at night?":
        ([0.0564, 0.0419, 0.0558, 0.0845, 0.0481, -0.014], [0.0147, -0.0999, -0.0075]),
    "ok": ([-0.0461, -0.0591, -0.0219, 0.0169, 0.0453, -0.0173], [0.019, 0.0555, -0.0272]),
}


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return shared_encoder()


def test_the_numpy_encoder_agrees_with_sentence_transformers(encoder: SentenceEncoder) -> None:
    texts = list(REFERENCE)
    vectors = encoder.encode(texts)
    for text, vector in zip(texts, vectors, strict=True):
        head, tail = REFERENCE[text]
        assert np.allclose(vector[:6], head, atol=2e-3)
        assert np.allclose(vector[-3:], tail, atol=2e-3)


def test_vectors_are_unit_length_and_keep_the_order_given(encoder: SentenceEncoder) -> None:
    texts = ["a much longer sentence about a protective order and a move to another county",
             "hi", "curfew"]
    together = encoder.encode(texts)
    alone = np.stack([encoder.encode([t])[0] for t in texts])
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, alone, atol=1e-4)  # padding in a batch changes nothing


def test_a_question_is_padded_to_a_multiple_of_four_word_pieces(
        encoder: SentenceEncoder) -> None:
    """OpenBLAS's fastest case (see PAD_TO); the reference test above shows the vectors keep."""
    for text in ("hi", "can our shelter have a curfew", "what about teens?"):
        (encoding,) = encoder.tokenizer.encode_batch([text])
        assert len(encoding.ids) % 4 == 0
        assert 0 in encoding.attention_mask or len(encoding.ids) == sum(encoding.attention_mask)


def test_a_lone_surrogate_is_encoded_not_refused(encoder: SentenceEncoder) -> None:
    vectors = encoder.encode(["can our shelter have a curfew \ud800 \udfff", "\ud800"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_paraphrase_is_closer_than_a_question_about_something_else(
        encoder: SentenceEncoder) -> None:
    rule, paraphrase, other = encoder.encode([
        "can our shelter have a curfew",
        "residents must be back inside by 10 pm, is that allowed",
        "how do I bake banana bread"])
    assert rule @ paraphrase > rule @ other + 0.2


def test_a_question_sharing_no_word_with_its_entry_is_found_by_meaning(
        small_kb_dir: Path) -> None:
    index = KnowledgeBase.load(small_kb_dir).index
    question = "must the women staying with us be indoors before some fixed hour each night"
    match = Matcher(index).match(question)
    assert match.best.entry.id == "shelter-curfew"
    assert match.best.matched == ()  # not one word in common
    assert match.best.semantic > 0.3
    words_only = Index(index.entries, {})  # the same entries, matched by words alone
    assert "shelter-curfew" not in [c.entry.id for c in Matcher(words_only).match(question)
                                    .candidates]


def test_phrasing_vectors_are_cached_on_disk_by_text(tmp_path: Path,
                                                     encoder: SentenceEncoder) -> None:
    texts = ["court subpoena for client file", "is a 10pm curfew ok"]
    first = PhrasingVectors(tmp_path).vectors(encoder, texts)
    assert list(tmp_path.glob("phrasings-*.npz"))
    reread = PhrasingVectors(tmp_path)
    reread._load(encoder)
    assert len(reread._memory) == 2  # both came back from the file, none encoded again
    assert np.array_equal(reread.vectors(encoder, texts[::-1]), first[::-1])


def test_an_unreadable_vector_cache_is_encoded_again(tmp_path: Path,
                                                     encoder: SentenceEncoder) -> None:
    PhrasingVectors(tmp_path).vectors(encoder, ["court subpoena for client file"])
    for path in tmp_path.glob("phrasings-*.npz"):
        path.write_bytes(b"not a numpy file")
    vectors = PhrasingVectors(tmp_path).vectors(encoder, ["court subpoena for client file"])
    assert np.allclose(vectors[0], encoder.encode(["court subpoena for client file"])[0],
                       atol=1e-5)


def test_a_long_first_encoding_tells_the_admin_why_once(
        tmp_path: Path, encoder: SentenceEncoder, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PhrasingVectors, "NOTICE_FROM", 3)
    texts = [f"question number {n} about shelter rules" for n in range(4)]
    PhrasingVectors(tmp_path).vectors(encoder, texts)
    assert "encoding 4 knowledge-base texts" in caplog.text
    caplog.clear()
    PhrasingVectors(tmp_path).vectors(encoder, [*texts, "one new phrasing"])
    assert caplog.text == ""  # read back from disk; one new text is not worth a notice


def test_a_missing_model_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="make install"):
        SentenceEncoder(tmp_path)


def test_the_model_folder_can_be_set_for_a_copy_elsewhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABOT_SENTENCE_MODEL", str(tmp_path))
    assert model_folder() == tmp_path


@pytest.mark.parametrize("blank", ["", " ", "\t\n"])
def test_a_blank_model_setting_means_the_installed_model(
        blank: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABOT_SENTENCE_MODEL", raising=False)
    installed = model_folder()
    monkeypatch.setenv("TABOT_SENTENCE_MODEL", blank)
    assert model_folder() == installed


def test_a_model_folder_under_home_is_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABOT_SENTENCE_MODEL", " ~/models/minilm ")
    assert model_folder() == Path.home() / "models" / "minilm"


def test_the_cli_reports_a_missing_model_without_a_traceback(
        small_kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TABOT_SENTENCE_MODEL", str(tmp_path / "nowhere"))
    shared_encoder.cache_clear()
    try:
        assert main(["kb", "lint", "--kb", str(small_kb_dir)]) == 2
    finally:
        shared_encoder.cache_clear()
    error = capsys.readouterr().err
    assert error.startswith("tabot: no sentence model in")
    assert "Traceback" not in error


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_a_bulk_encoding_uses_only_the_cores_the_process_may_run_on(
        encoder: SentenceEncoder) -> None:
    """A container or a pinned benchmark may run on fewer cores than the machine has; more BLAS
    threads than that would only take turns."""
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        with _all_cores_if(True):
            threads = [pool["num_threads"] for pool in threadpool_info()
                       if pool["user_api"] == "blas"]
    finally:
        os.sched_setaffinity(0, allowed)
    assert threads and set(threads) == {1}


class CountingEncoder:
    """The real encoder, noting what it is asked to encode."""

    def __init__(self, real: SentenceEncoder, version: str | None = None) -> None:
        self.real, self.encoded = real, []
        self.version = version or real.version
        self.dimensions = real.dimensions

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += texts
        return self.real.encode(texts)


SEEDED = ["can our shelter have a curfew", "what about teens in shelter"]


def test_a_shipped_seed_spares_a_new_machine_from_encoding_what_it_holds(
        tmp_path: Path, encoder: SentenceEncoder) -> None:
    seed = tmp_path / SEED_FILE
    assert PhrasingVectors(tmp_path / "made-here").write_seed(encoder, SEEDED, seed) == 2
    new_machine = PhrasingVectors(tmp_path / "empty-cache")
    new_machine.add_seed(seed)
    counting = CountingEncoder(encoder)
    texts = [*SEEDED, "a phrasing written after the seed"]
    vectors = new_machine.vectors(counting, texts)
    assert counting.encoded == [texts[2]]
    assert np.allclose(vectors, encoder.encode(texts), atol=1e-5)


@pytest.mark.parametrize("spoiled", ["another model", "not a seed"])
def test_a_seed_tabot_cannot_use_is_passed_over_and_its_texts_encoded(
        tmp_path: Path, encoder: SentenceEncoder, caplog: pytest.LogCaptureFixture,
        spoiled: str) -> None:
    seed = tmp_path / SEED_FILE
    PhrasingVectors(tmp_path / "made-here").write_seed(encoder, SEEDED, seed)
    if spoiled == "not a seed":
        seed.write_bytes(b"PK\x03\x04 half a file")
    new_machine = PhrasingVectors(tmp_path / "empty-cache")
    new_machine.add_seed(seed)
    counting = CountingEncoder(encoder, "another-model" if spoiled == "another model" else None)
    new_machine.vectors(counting, SEEDED)
    assert sorted(counting.encoded) == sorted(SEEDED)
    assert "`tabot kb vectors` writes" in caplog.text


def test_kb_vectors_ships_every_text_a_load_would_encode(
        small_kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "vectors", "--kb", str(small_kb_dir)]) == 0
    assert f"to {small_kb_dir / SEED_FILE}" in capsys.readouterr().out
    kb = KnowledgeBase.load(small_kb_dir)
    with np.load(small_kb_dir / SEED_FILE) as seed:
        shipped = set(seed["keys"].tolist())
    texts = kb.index.phrasing_texts() + off_topic_questions()
    assert len(shipped) == len(set(texts))
    assert shipped == {_key(t) for t in texts}


def test_a_damaged_vector_cache_is_encoded_again_not_fatal(
        tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = PhrasingVectors(tmp_path)
    cache.vectors(encoder, SEEDED)
    (stored,) = tmp_path.glob("phrasings-*.npz")
    stored.write_bytes(b"PK\x03\x04 cut off by a full disk")
    counting = CountingEncoder(encoder)
    PhrasingVectors(tmp_path).vectors(counting, SEEDED)
    assert sorted(counting.encoded) == sorted(SEEDED)


LFS_POINTER_TEXT = (b"version https://git-lfs.github.com/spec/v1\noid sha256:"
                    + b"0" * 64 + b"\nsize 90868376\n")


def damaged_model(folder: Path, name: str, content: bytes) -> Path:
    """A model folder like the installed one, with `name` holding `content` instead."""
    folder.mkdir()
    for real in ("model.safetensors", "tokenizer.json"):
        (folder / real).symlink_to(model_folder() / real)
    (folder / name).unlink()
    (folder / name).write_bytes(content)
    return folder


@pytest.mark.parametrize(("name", "content", "said"), [
    ("model.safetensors", bytes(range(256)) * 16, "cannot be read (SafetensorError"),
    ("model.safetensors", LFS_POINTER_TEXT, "is a Git LFS pointer, not the file itself"),
    ("tokenizer.json", b"{bad json", "cannot be read (Exception"),
    ("tokenizer.json", LFS_POINTER_TEXT, "is a Git LFS pointer, not the file itself"),
])
def test_a_damaged_model_file_is_named_with_what_to_do(
        tmp_path: Path, name: str, content: bytes, said: str) -> None:
    folder = damaged_model(tmp_path / "model", name, content)
    with pytest.raises(ModelMissing) as raised:
        SentenceEncoder(folder)
    message = str(raised.value)
    assert message.startswith(f"the sentence model's {name} in {folder} {said}")
    assert "make install" in message and "TABOT_SENTENCE_MODEL=off" in message


def test_weights_of_another_model_are_named_not_a_key_error(tmp_path: Path) -> None:
    folder = damaged_model(tmp_path / "model", "model.safetensors", b"")
    save_file({"classifier.weight": np.zeros((2, 2), np.float32)},
              str(folder / "model.safetensors"))
    with pytest.raises(ModelMissing, match=r"model.safetensors in .* cannot be read \(KeyError"):
        SentenceEncoder(folder)


def test_the_cli_reports_a_damaged_model_without_a_traceback(
        small_kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = damaged_model(tmp_path / "model", "model.safetensors", bytes(range(256)) * 16)
    monkeypatch.setenv("TABOT_SENTENCE_MODEL", str(folder))
    shared_encoder.cache_clear()
    try:
        assert main(["ask", "curfew", "--kb", str(small_kb_dir)]) == 2
    finally:
        shared_encoder.cache_clear()
    error = capsys.readouterr().err
    assert error.startswith(f"tabot: the sentence model's model.safetensors in {folder} "
                            "cannot be read")
    assert "Traceback" not in error
