"""Would another sentence encoder meet the matching targets? `make eval` with it, to find out.

The shipped encoder is all-MiniLM-L6-v2 run on numpy. Before anyone ports a bigger model to
numpy and ships its weights, this measures it: any sentence-transformers model folder takes
MiniLM's place for one run of `scripts/eval_table.py`, with the shipped confidence model kept
(fitted on MiniLM's figures) or, with `--refit`, refitted on the new encoder's figures as
`scripts/calibrate.py` fits it.

It needs PyTorch and sentence-transformers, which tabot does not install; use a separate
environment holding both and tabot (`pip install torch==2.13.0 sentence-transformers -e .`).
Every text's vector is kept in a file in tabot's cache folder, so a second run encodes nothing.

    python scripts/try_encoder.py MODEL_DIR [--refit] [--banking77 DIR]
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import hashlib
import pickle
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import platformdirs

sys.path.insert(0, str(Path(__file__).resolve().parent))

import calibrate
import eval_table

from bot.knowledge import base, calibration
from bot.knowledge.confidence import DEFAULT_MODEL


class MemoisedEncoder:
    """A sentence-transformers model with the interface the index expects of an encoder."""

    def __init__(self, folder: Path) -> None:
        from sentence_transformers import SentenceTransformer  # optional: see the docstring

        self.model = SentenceTransformer(str(folder), device="cpu")
        self.version = "st-" + hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
        self.dimensions = self.model.get_embedding_dimension()
        self._file = Path(platformdirs.user_cache_dir("tabot")) / f"try-encoder-{self.version}.pkl"
        self._memo: dict[str, np.ndarray] = (
            pickle.loads(self._file.read_bytes()) if self._file.exists() else {})
        atexit.register(self.save)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._memo})
        if missing:
            vectors = self.model.encode(missing, batch_size=32, normalize_embeddings=True)
            self._memo.update(zip(missing, vectors.astype(np.float32), strict=True))
        if not texts:
            return np.zeros((0, self.dimensions), np.float32)
        return np.stack([self._memo[t] for t in texts])

    def save(self) -> None:
        self._file.parent.mkdir(parents=True, exist_ok=True)
        self._file.write_bytes(pickle.dumps(self._memo))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a sentence-transformers model folder")
    parser.add_argument("--refit", action="store_true",
                        help="refit the shipped confidence model on this encoder first")
    parser.add_argument("--banking77", type=Path, default=eval_table.BANKING77, metavar="DIR")
    args = parser.parse_args()
    encoder = MemoisedEncoder(args.model)
    base.shared_encoder = lambda: encoder  # type: ignore[assignment]  # KnowledgeBase.load's
    # Cached calibrations are keyed by code, not by the shipped model changed below: start empty.
    calibration.CACHE.directory = Path(tempfile.mkdtemp(prefix="tabot-try-encoder-"))
    if args.refit:
        model, _ = calibrate.fit_shipped_model([eval_table.ROOT / "knowledge"],
                                               [eval_table.DATA / "questions.jsonl"])
        # Default arguments hold the shipped model itself, so it is changed in place.
        for field in dataclasses.fields(model):
            object.__setattr__(DEFAULT_MODEL, field.name, getattr(model, field.name))
        calibration.CACHE._memory.clear()  # the refit's own load calibrated with the old prior
    sys.argv = [sys.argv[0], "--banking77", str(args.banking77)]
    eval_table.main()


if __name__ == "__main__":
    main()
