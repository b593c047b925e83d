"""How far the learning loop moves matching: BANKING77's kb-10, fed confirmed questions.

For N = 0, 5, 10 and 20, each entry of a copy of `kb-10` gets N more questions confirmed (as if
advocates had picked the entry among suggestions), taken in file order from that entry's
phrasings in `kb-all` that `kb-10` does not have. They go through the real path: redacted as a
chat message is, recorded with `record_confirmed` in a SQLite database, approved with
`approve` (which writes the YAML files and reloads the knowledge base). The dev set,
`questions.jsonl`, is then evaluated with the matcher as `tabot eval` builds it.

The matcher and its calibration change over time; this measures whatever the current one does.

    .venv/bin/python -m benchmarks.learning_curve [--data ../shared/data/banking77]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bot.config import load_settings
from bot.knowledge import evaluation
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.evaluation import EvalResult, LabeledQuestion
from bot.knowledge.learning import Confirmation, approve, proposals, record_confirmed
from bot.knowledge.matcher import Matcher
from bot.knowledge.normalize import fold
from bot.privacy.redaction import Redactor
from bot.store.database import Database

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "banking77"
STEPS = (0, 5, 10, 20)
ACTOR = "benchmark:learning-curve"


def held_back(small: KnowledgeBase, full: KnowledgeBase) -> dict[str, list[str]]:
    """Per entry of `small`, the phrasings `full` has and `small` lacks, in file order."""
    pool = {}
    for entry_id, entry in small.entries.items():
        known = {fold(q) for q in entry.questions}
        more = full.get(entry_id)
        pool[entry_id] = [q for q in (more.questions if more else ()) if fold(q) not in known]
    return pool


async def confirm(db: Database, kb: KnowledgeBase, batch: dict[str, list[str]]) -> int:
    """Record each question as confirmed for its entry, then approve every proposal; returns
    how many phrasings were written into the files."""
    redactor = Redactor.knowing(kb.index.normalizer)
    async with db.engine.begin() as connection:
        for entry_id, questions in batch.items():
            for question in questions:
                await record_confirmed(connection, redactor.redact(question).text,
                                       kb.entries[entry_id], Confirmation.PICKED)
    ids = [p.id for group in await proposals(db, kb) for p in group.proposals]
    if not ids:
        return 0
    done = await approve(db, kb, ids, ACTOR)
    return sum(len(texts) for texts in done.added.values())


def measure(kb: KnowledgeBase, questions: list[LabeledQuestion]) -> EvalResult:
    settings = load_settings(kb=str(kb.directory))
    return evaluation.summarise(
        evaluation.run(Matcher(kb.index, settings.thresholds), questions))


async def curve(data: Path, workdir: Path) -> list[tuple[int, int, EvalResult]]:
    kb_dir = workdir / "kb"
    shutil.copytree(data / "kb-10", kb_dir)
    kb = KnowledgeBase.load(kb_dir)
    pool = held_back(kb, KnowledgeBase.load(data / "kb-all"))
    questions = evaluation.read_questions(data / "questions.jsonl")
    db = Database(f"sqlite+aiosqlite:///{workdir / 'learning.db'}")
    await db.upgrade()
    rows, fed, written = [], 0, 0
    try:
        for n in STEPS:
            batch = {entry_id: more[fed:n] for entry_id, more in pool.items()}
            written += await confirm(db, kb, batch)
            fed = n
            rows.append((n, written, measure(kb, questions)))
            print(_row(*rows[-1]), flush=True)
    finally:
        await db.close()
    return rows


HEADER = ("| confirmed per entry | phrasings written | right | resolved | OOS not answered "
          "| wrong (of answers) |\n| --- | --- | --- | --- | --- | --- |")


def _row(n: int, written: int, result: EvalResult) -> str:
    return (f"| {n} | {written:,} | {result.in_scope_accuracy:.1%} | {result.resolved:.1%} | "
            f"{result.oos_recall:.1%} | {result.wrong_answer_rate:.1%} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA,
                        help="the BANKING77 directory with kb-10/, kb-all/, questions.jsonl")
    args = parser.parse_args(argv)
    missing = [p for p in ("kb-10", "kb-all", "questions.jsonl") if not (args.data / p).exists()]
    if missing:
        print(f"learning_curve: {args.data} lacks {', '.join(missing)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    print(HEADER)
    with tempfile.TemporaryDirectory(prefix="tabot-learning-") as workdir:
        asyncio.run(curve(args.data, Path(workdir)))
    print(f"\n{time.perf_counter() - started:.0f} s; questions redacted as in chat before "
          "being recorded; evaluated on the questions as written, as `tabot eval` does.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
