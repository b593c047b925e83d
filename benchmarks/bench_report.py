"""How long `tabot report` and `tabot gaps` take on a large history, against reading the rows.

Run with `make bench`. It fills a SQLite database with 5,000 and then 50,000 generated
interactions (and one escalation in ten), and times, in the same run: reading every interaction
row (the baseline: no report can be faster than reading its data once), building the report,
rendering the PNG, and grouping the gaps. Medians of three runs; ratios against the baseline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bot.insights import gaps, reports
from bot.knowledge.base import SHIPPED_KNOWLEDGE, KnowledgeBase
from bot.store.database import Database
from bot.store.tables import Escalation, Interaction
from tests.insights.test_reports import history

SIZES = (5_000, 50_000)


async def fill(db: Database, kb: KnowledgeBase, size: int) -> None:
    rows = history(kb, n=size)
    async with db.session() as session, session.begin():
        session.add_all(rows)
        session.add_all(Escalation(question=f"how do we insure the program van {n % 40}",
                                   platform="slack", user_id="U", conversation_id="c",
                                   tags="", reason="no-match", state="open",
                                   created_at=rows[n].created_at, updated_at=rows[n].created_at)
                        for n in range(0, size, 10))


async def timed(work) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        await work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def measure(size: int, kb: KnowledgeBase) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        await db.upgrade()
        await fill(db, kb, size)
        since, until = dt.date(2026, 5, 1), dt.date(2026, 10, 31)

        async def read_rows() -> None:
            async with db.session() as session:
                list(await session.execute(select(Interaction)))

        async def report() -> None:
            await reports.build_report(db, kb, since, until)

        async def png() -> None:
            reports.as_png(await reports.build_report(db, kb, since, until))

        async def gap_groups() -> None:
            await gaps.find_gaps(db, kb, dt.datetime(2026, 5, 1, tzinfo=dt.UTC))

        results = {"read rows (baseline)": await timed(read_rows), "report": await timed(report),
                   "report + PNG": await timed(png), "gaps": await timed(gap_groups)}
        await db.close()
    return results


def main() -> None:
    kb = KnowledgeBase.load(SHIPPED_KNOWLEDGE)
    print(f"{'interactions':>12}  {'step':<22}{'median s':>9}{'vs baseline':>13}")
    for size in SIZES:
        results = asyncio.run(measure(size, kb))
        baseline = results["read rows (baseline)"]
        for step, seconds in results.items():
            print(f"{size:>12,}  {step:<22}{seconds:>9.3f}{seconds / baseline:>12.1f}x")


if __name__ == "__main__":
    main()
