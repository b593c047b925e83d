"""Throughput and latency of `Conversation.handle()` with recording, on SQLite and PostgreSQL.

Run with `make bench`. It feeds the labeled questions (tests/data/questions.jsonl) through the
real core, which redacts, matches, answers or escalates and records every question, at 1 and at
16 concurrent askers (16 asyncio tasks, each its own asker, so the rate limit never bites), on a
fresh SQLite file and on a fresh PostgreSQL database (created and dropped here; skipped with a
note when the server is unreachable).

The baseline is the same questions through the crisis check, redaction and matching alone, no
database: the most `handle()` could do on one core; the gap is what recording costs. Each
repeat runs the baseline and then every cell in turn, so a noisy machine slows them alike; the
table shows medians over the repeats of messages/s, p50 and p99 latency per message, and the
client's CPU time per message (this process, all threads; not the PostgreSQL server's).
It runs on the runtime's event loop (uvloop where installed); --plain-asyncio compares
asyncio's own.

PostgreSQL comes from --postgres, else TEST_DATABASE_URL, else postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import event_loop_factory
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
BASELINE = "none (baseline)"

Ask = Callable[[int, str], Awaitable[object]]


@dataclass(frozen=True)
class Run:
    rate: float  # messages a second, over the whole run
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # this process's CPU time per message


@dataclass
class Cell:
    backend: str
    concurrency: int
    ask: Ask
    runs: list[Run] = field(default_factory=list)

    def median(self, figure: str) -> float:
        return statistics.median(getattr(r, figure) for r in self.runs)


def load_questions(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines if line.strip()]


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(ask: Ask, questions: list[str], concurrency: int) -> Run:
    """Every question once, shared out among `concurrency` askers that each wait for their
    reply before sending the next message, as a person in a chat does."""
    latencies: list[float] = []

    async def asker(worker: int) -> None:
        for n in range(worker, len(questions), concurrency):
            start = time.perf_counter()
            await ask(worker, questions[n])
            latencies.append(time.perf_counter() - start)

    gc.collect()
    cpu, start = _cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(asker(w) for w in range(concurrency)))
    elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    latencies.sort()
    return Run(len(latencies) / elapsed, statistics.median(latencies) * 1000,
               percentile(latencies, 0.99) * 1000, cpu / len(latencies) * 1000)


def baseline_ask(kb: KnowledgeBase, settings: Settings) -> Ask:
    """The crisis check, redaction and matching alone: `handle()` without the database."""
    index = kb.index
    redactor = Redactor.knowing(index.normalizer)
    matcher = Matcher(index, settings.thresholds)

    async def ask(_worker: int, question: str) -> None:
        kb.crisis.assess(question)
        matcher.match(without_placeholders(redactor.redact(question).text))

    return ask


def handle_ask(conversation: Conversation) -> Ask:
    tag = uuid.uuid4().hex[:6]  # askers of their own for each cell: nothing carries over

    async def ask(worker: int, question: str) -> None:
        await conversation.handle(Message(platform="bench", user_id=f"u{tag}{worker}",
                                          conversation_id=f"c{tag}{worker}", text=question))

    return ask


async def _admin(base: str, statement: str) -> None:
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def postgres_database(base: str) -> AsyncIterator[str | None]:
    """A new database on the server `base` names, dropped afterwards; None if unreachable."""
    name = f"tabot_bench_{uuid.uuid4().hex[:12]}"
    try:
        await _admin(base, f'CREATE DATABASE "{name}"')
    except Exception as exc:  # any failure here means there is no server to use
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"note: PostgreSQL skipped, cannot create a database at {base}: {reason}")
        name = ""
    if not name:
        yield None
        return
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        await _admin(base, f'DROP DATABASE IF EXISTS "{name}"')


async def measure(kb: KnowledgeBase, questions: list[str], postgres: str | None,
                  repeats: int) -> list[Cell]:
    settings = Settings(database_url="sqlite://", knowledge_dir=SHIPPED_KNOWLEDGE)
    cells = [Cell(BASELINE, 1, baseline_ask(kb, settings))]
    async with contextlib.AsyncExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        urls = [("SQLite", f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")]
        if postgres is not None:
            url = await stack.enter_async_context(postgres_database(postgres))
            if url is not None:
                urls.append(("PostgreSQL", url))
        for backend, url in urls:
            db = Database(url)
            stack.push_async_callback(db.close)
            await db.upgrade()
            conversation = Conversation(kb, db, Settings(
                database_url=url, knowledge_dir=SHIPPED_KNOWLEDGE,
                rate_limit_per_minute=RATE_LIMIT))
            cells += [Cell(backend, c, handle_ask(conversation)) for c in CONCURRENCY]
        for cell in cells:  # warm the pools and the caches
            await drive(cell.ask, questions[:32], cell.concurrency)
        for _ in range(repeats):
            for cell in cells:
                cell.runs.append(await drive(cell.ask, questions, cell.concurrency))
    return cells


def print_table(cells: list[Cell], messages: int, repeats: int) -> None:
    base = cells[0].median("rate")
    print(f"{messages} messages a run, medians of {repeats} runs; baseline = crisis check + "
          "redaction + matching, no database")
    print(f"| {'backend':<15} | {'askers':>6} | {'msg/s':>7} | {'x baseline':>10} | "
          f"{'p50 ms':>7} | {'p99 ms':>7} | {'CPU ms/msg':>10} |")
    print(f"| {'-' * 15} | {'-' * 5}: | {'-' * 6}: | {'-' * 9}: | {'-' * 6}: | {'-' * 6}: | "
          f"{'-' * 9}: |")
    for cell in cells:
        print(f"| {cell.backend:<15} | {cell.concurrency:>6} | {cell.median('rate'):>7,.0f} | "
              f"{cell.median('rate') / base:>10.2f} | {cell.median('p50_ms'):>7.2f} | "
              f"{cell.median('p99_ms'):>7.2f} | {cell.median('cpu_ms'):>10.2f} |")


def report_targets(cells: list[Cell]) -> None:
    """The issue's targets, for the cells this run measured."""
    found = {(c.backend, c.concurrency): c for c in cells}
    checks = []
    if (pg := found.get(("PostgreSQL", 16))) is not None:
        rate, p99 = pg.median("rate"), pg.median("p99_ms")
        checks.append((">= 1,000 messages/s at 16 askers on PostgreSQL", rate >= 1000,
                       f"{rate:,.0f}/s"))
        checks.append(("p99 <= 50 ms at 16 askers on PostgreSQL", p99 <= 50, f"{p99:.1f} ms"))
    if (lite := found.get(("SQLite", 16))) is not None:
        p99 = lite.median("p99_ms")
        checks.append(("p99 <= 100 ms at 16 askers on SQLite", p99 <= 100, f"{p99:.1f} ms"))
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
    parser.add_argument("--no-freeze-gc", action="store_true",
                        help="leave the knowledge base in garbage collection (by default it is "
                             "frozen after loading, as the runtime does at start-up)")
    parser.add_argument("--plain-asyncio", action="store_true",
                        help="asyncio's own event loop instead of the runtime's (uvloop)")
    args = parser.parse_args()
    kb = KnowledgeBase.load(SHIPPED_KNOWLEDGE)
    if not args.no_freeze_gc:
        gc.collect()
        gc.freeze()
    questions = load_questions(QUESTIONS) * args.rounds
    postgres = None if args.no_postgres else async_database_url(args.postgres)
    loop = None if args.plain_asyncio else event_loop_factory()
    with asyncio.Runner(loop_factory=loop) as runner:
        cells = runner.run(measure(kb, questions, postgres, args.repeats))
    print_table(cells, len(questions), args.repeats)
    report_targets(cells)


if __name__ == "__main__":
    main()
