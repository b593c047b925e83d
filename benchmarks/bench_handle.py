"""Throughput and latency of `Conversation.handle()` with recording, on SQLite and PostgreSQL.

Run with `make bench`. It feeds the labeled questions (tests/data/questions.jsonl) through the
real core, which redacts, matches, answers or escalates and records every question, at 1 and at
16 concurrent askers (16 asyncio tasks, each its own asker, so the rate limit never bites), on a
fresh SQLite file and on a fresh PostgreSQL database (created and dropped here; skipped with a
note when the server is unreachable). For each cell it prints messages/s and p50/p99 latency per
message, the medians of three runs, and how that compares with the baseline measured in the same
run: the same questions through the crisis check, redaction and matching alone, no database.
That baseline is the most `handle()` could do; the gap is what recording costs.

PostgreSQL comes from --postgres, else TEST_DATABASE_URL, else postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.chat.conversation import Conversation
from bot.chat.messages import Message
from bot.config import Settings, async_database_url
from bot.knowledge.base import SHIPPED_KNOWLEDGE, KnowledgeBase
from bot.knowledge.matcher import Matcher
from bot.privacy.redaction import Redactor, without_placeholders
from bot.store.database import Database

QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "data" / "questions.jsonl"
CONCURRENCY = (1, 16)
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
RATE_LIMIT = 1_000_000  # the benchmark measures the core, not the rate limiter


@dataclass(frozen=True)
class Run:
    rate: float  # messages a second, over the whole run
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Cell:
    backend: str
    concurrency: int
    runs: list[Run]

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)


def load_questions(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines if line.strip()]


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def summarise(latencies: list[float], elapsed: float) -> Run:
    ordered = sorted(latencies)
    return Run(len(ordered) / elapsed, statistics.median(ordered) * 1000,
               percentile(ordered, 0.99) * 1000)


async def drive(ask: Callable[[int, int, str], Awaitable[object]], questions: list[str],
                concurrency: int) -> Run:
    """Every question once, shared out among `concurrency` askers that each wait for their
    reply before sending the next message, as a person in a chat does."""
    latencies: list[float] = []

    async def asker(worker: int) -> None:
        for n in range(worker, len(questions), concurrency):
            start = time.perf_counter()
            await ask(worker, n, questions[n])
            latencies.append(time.perf_counter() - start)

    gc.collect()
    start = time.perf_counter()
    await asyncio.gather(*(asker(w) for w in range(concurrency)))
    return summarise(latencies, time.perf_counter() - start)


def baseline(kb: KnowledgeBase, settings: Settings, questions: list[str], repeats: int) -> Cell:
    """The crisis check, redaction and matching alone: `handle()` without the database. One
    core does this work, so concurrency cannot change it; it is measured once, serially."""
    index = kb.index
    redactor = Redactor(index.normalizer.vocabulary, index.normalizer.correct)
    matcher = Matcher(index, settings.thresholds)

    async def ask(_worker: int, _n: int, question: str) -> None:
        kb.crisis.assess(question)
        matcher.match(without_placeholders(redactor.redact(question).text))

    runs = [asyncio.run(drive(ask, questions, 1)) for _ in range(repeats + 1)][1:]
    return Cell("none (baseline)", 1, runs)


async def measure_backend(name: str, url: str, kb: KnowledgeBase, questions: list[str],
                          repeats: int) -> list[Cell]:
    db = Database(url)
    try:
        await db.upgrade()
        settings = Settings(database_url=url, knowledge_dir=SHIPPED_KNOWLEDGE,
                            rate_limit_per_minute=RATE_LIMIT)
        conversation = Conversation(kb, db, settings)
        cells = []
        for concurrency in CONCURRENCY:
            tag = uuid.uuid4().hex[:6]  # new askers for each cell: nothing carries over

            async def ask(worker: int, n: int, question: str, tag: str = tag) -> None:
                await conversation.handle(Message(platform="bench", user_id=f"u{tag}{worker}",
                                                  conversation_id=f"c{tag}{worker}",
                                                  text=question))

            await drive(ask, questions[:32], concurrency)  # warm the pool and the caches
            runs = [await drive(ask, questions, concurrency) for _ in range(repeats)]
            cells.append(Cell(name, concurrency, runs))
        return cells
    finally:
        await db.close()


def run_sqlite(kb: KnowledgeBase, questions: list[str], repeats: int) -> list[Cell]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        return asyncio.run(measure_backend("SQLite", url, kb, questions, repeats))


async def _admin(base: str, statement: str) -> None:
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def run_postgres(base: str, kb: KnowledgeBase, questions: list[str],
                 repeats: int) -> list[Cell]:
    """On a new database on the server `base` names, dropped afterwards."""
    name = f"tabot_bench_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure here means there is no server to use
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"note: PostgreSQL skipped, cannot create a database at {base}: {reason}")
        return []
    try:
        url = base.rsplit("/", 1)[0] + "/" + name
        return asyncio.run(measure_backend("PostgreSQL", url, kb, questions, repeats))
    finally:
        asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}"'))


def print_table(base: Cell, cells: list[Cell], messages: int, repeats: int) -> None:
    print(f"{messages} messages a run, medians of {repeats} runs; baseline = crisis check + "
          "redaction + matching, no database")
    print(f"| {'backend':<15} | {'askers':>6} | {'msg/s':>7} | {'x baseline':>10} | "
          f"{'p50 ms':>7} | {'p99 ms':>7} |")
    print(f"| {'-' * 15} | {'-' * 5}: | {'-' * 6}: | {'-' * 9}: | {'-' * 6}: | {'-' * 6}: |")
    for cell in [base, *cells]:
        print(f"| {cell.backend:<15} | {cell.concurrency:>6} | {cell.rate:>7,.0f} | "
              f"{cell.rate / base.rate:>10.2f} | {cell.p50_ms:>7.2f} | {cell.p99_ms:>7.2f} |")


def report_targets(cells: list[Cell]) -> None:
    """The issue's targets, for the cells this run measured."""
    found = {(c.backend, c.concurrency): c for c in cells}
    checks = []
    if (pg := found.get(("PostgreSQL", 16))) is not None:
        checks.append((">= 1,000 messages/s at 16 askers on PostgreSQL", pg.rate >= 1000,
                       f"{pg.rate:,.0f}/s"))
        checks.append(("p99 <= 50 ms at 16 askers on PostgreSQL", pg.p99_ms <= 50,
                       f"{pg.p99_ms:.1f} ms"))
    if (lite := found.get(("SQLite", 16))) is not None:
        checks.append(("p99 <= 100 ms at 16 askers on SQLite", lite.p99_ms <= 100,
                       f"{lite.p99_ms:.1f} ms"))
    for name, ok, figure in checks:
        print(f"target {name}: {figure} ({'met' if ok else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL")
                        or DEFAULT_POSTGRES, help="a server URL; a new database is made on it")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--rounds", type=int, default=2,
                        help="how many times each run asks every question (240 of them)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell; medians reported")
    args = parser.parse_args()
    kb = KnowledgeBase.load(SHIPPED_KNOWLEDGE)
    questions = load_questions(QUESTIONS) * args.rounds
    settings = Settings(database_url="sqlite://", knowledge_dir=SHIPPED_KNOWLEDGE)
    base = baseline(kb, settings, questions, args.repeats)
    cells = run_sqlite(kb, questions, args.repeats)
    if not args.no_postgres:
        cells += run_postgres(async_database_url(args.postgres), kb, questions, args.repeats)
    print_table(base, cells, len(questions), args.repeats)
    report_targets(cells)


if __name__ == "__main__":
    main()
