"""How fast the console's pages load with 10,000 escalations and 300 knowledge entries.

Run with `make bench` (or `python -m benchmarks.bench_console [--database-url URL]`). It serves
a real tabot runtime on a free port over a database filled with 10,000 escalations (states,
owners, programs and tags mixed as in a busy year, with their histories) and a knowledge base
of 300 entries (the shipped ones and variants of them), signs in the way staff do, and
requests each page over HTTP, one request at a time: the queue (waiting, the default, and
all), one escalation with its history and closest entries, the knowledge list, and Figures for
the last 30 days. The baseline, measured in the same run through the same server and client,
is `/healthz`, which does no work: the difference is the page's own cost. Medians and 95th
percentiles of 60 requests after 5 to warm up; the budget is 300 ms for a page, checked on the
95th percentile (exit status 1 when a page is over).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml
from sqlalchemy import insert

from bot.app import Runtime, Schedule
from bot.chat.messages import Actor
from bot.config import Settings
from bot.console.auth import issue_link_token
from bot.knowledge.base import SHIPPED_KNOWLEDGE, KnowledgeBase
from bot.store.database import Database
from bot.store.tables import Escalation, EscalationEvent

ESCALATIONS = 10_000
ENTRIES = 300
REQUESTS, WARM_UP = 60, 5
BUDGET_MS = 300.0
STAFF = Actor("slack", "UBENCH")
STATES = ("open",) * 4 + ("claimed",) + ("answered",) * 3 + ("closed",) * 2
PLACES = ("in a rural county", "for a tribal program", "at a campus program", "in Ohio",
          "for a youth program")
QUIET = Schedule(deliveries=3600, sweep=3600, daily=3600)


def knowledge_of(size: int, folder: Path) -> Path:
    """The shipped entries plus variants of them (another id, a place in each phrasing) up
    to `size`: realistic words, so matching costs what it costs on a real knowledge base."""
    target = folder / "kb"
    shutil.copytree(SHIPPED_KNOWLEDGE, target, ignore=shutil.ignore_patterns("drafts"))
    files = sorted(p for p in target.rglob("*.yaml")
                   if p.name not in ("synonyms.yaml", "crisis.yaml"))
    count, round_ = len(files), 0
    while count < size:
        round_ += 1
        for path in files:
            if count >= size:
                break
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            place = PLACES[(round_ - 1) % len(PLACES)]
            data |= {"id": f"{data['id']}-v{round_}", "title": f"{data['title']} ({place})",
                     "questions": [f"{q} {place}" for q in data["questions"]],
                     "related": []}
            (path.parent / f"{data['id']}.yaml").write_text(
                yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
            count += 1
    return target


async def fill(db: Database, kb: KnowledgeBase, size: int) -> int:
    """`size` escalations over the last year, with their events; returns a busy one's id."""
    rng = random.Random(15)
    entries = sorted(kb.entries.values(), key=lambda e: e.id)
    now = dt.datetime.now(dt.UTC)
    owners = [f"slack:U{n}" for n in range(6)]
    rows, events = [], []
    for n in range(1, size + 1):
        entry = rng.choice(entries)
        state = rng.choice(STATES)
        created = now - dt.timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        answered = created + dt.timedelta(hours=rng.randrange(1, 72)) \
            if state in ("answered", "closed") else None
        owner = rng.choice(owners) if state != "open" else None
        rows.append({"id": n, "question": f"{rng.choice(entry.questions)} {rng.choice(PLACES)}",
                     "platform": rng.choice(("slack", "telegram")), "user_id": f"U{n % 700}",
                     "conversation_id": f"D{n % 700}", "program": f"Program {n % 40}",
                     "tags": ",".join(entry.tags), "reason": "no-match", "state": state,
                     "claimed_by": owner, "answer": "See the coalition's guidance."
                     if answered else None, "answered_by": owner if answered else None,
                     "answered_at": answered, "created_at": created,
                     "updated_at": answered or created})
        events.append({"escalation_id": n, "kind": "created", "actor": "tabot",
                       "detail": "", "created_at": created})
        if owner:
            events.append({"escalation_id": n, "kind": "claimed", "actor": owner, "detail": "",
                           "created_at": created + dt.timedelta(minutes=30)})
        if answered:
            events.append({"escalation_id": n, "kind": "answered", "actor": owner,
                           "detail": "See the coalition's guidance.", "created_at": answered})
    busy = size // 2
    events += [{"escalation_id": busy, "kind": "note", "actor": owners[0],
                "detail": f"Checked with the grants team, round {k}.",
                "created_at": now - dt.timedelta(hours=k)} for k in range(8)]
    async with db.session() as session, session.begin():
        for start in range(0, len(rows), 2000):
            await session.execute(insert(Escalation), rows[start:start + 2000])
        for start in range(0, len(events), 2000):
            await session.execute(insert(EscalationEvent), events[start:start + 2000])
    return busy


async def sign_in(client: aiohttp.ClientSession, base: str, db: Database,
                  staff: frozenset[str]) -> None:
    token = await issue_link_token(db, STAFF, staff)
    async with client.get(f"{base}/signin/{token}") as opened:
        html = await opened.text()
    fields = dict(re.findall(r'name="(token|nonce)" value="([^"]+)"', html))
    async with client.post(f"{base}/signin", data=fields) as done:
        if not str(done.url).endswith("/console/queue"):
            raise SystemExit(f"could not sign in: {done.status}")


async def timings(client: aiohttp.ClientSession, url: str) -> tuple[list[float], int]:
    """Milliseconds per request, sequential, after a warm-up, and the page's size in bytes;
    every response must be 200."""
    found, size = [], 0
    for n in range(WARM_UP + REQUESTS):
        start = time.perf_counter()
        async with client.get(url) as response:
            size = len(await response.read())
            if response.status != 200:
                raise SystemExit(f"{url} answered {response.status}")
        if n >= WARM_UP:
            found.append((time.perf_counter() - start) * 1000)
    return found, size


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def measure(database_url: str | None) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        kb_dir = knowledge_of(ENTRIES, Path(folder))
        kb = KnowledgeBase.load(kb_dir)
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        db = Database(url)
        await db.upgrade()
        busy = await fill(db, kb, ESCALATIONS)
        await db.close()
        settings = Settings(database_url=url, knowledge_dir=kb_dir,
                            staff=frozenset({STAFF.id}), port=0)
        async with Runtime(settings, [], env={}, schedule=QUIET, handle_signals=False,
                           knowledge=kb) as runtime:
            serving = asyncio.create_task(runtime.run())
            await runtime.ready.wait()
            root = f"http://127.0.0.1:{runtime.web.port}"
            base = f"{root}/console"
            pages = {"/healthz (baseline)": f"{root}/healthz",
                     "queue (waiting)": f"{base}/queue",
                     "queue (all)": f"{base}/queue?state=all",
                     "escalation": f"{base}/escalations/TA-{busy:04d}",
                     "knowledge list": f"{base}/knowledge",
                     "figures (30 days)": f"{base}/figures"}
            async with aiohttp.ClientSession(
                    cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
                await sign_in(client, base, runtime.db, settings.staff)
                results = {name: await timings(client, address)
                           for name, address in pages.items()}
            runtime.stop()
            await serving
    return report(results, len(kb.entries), database_url)


def report(results: dict[str, tuple[list[float], int]], entries: int,
           database_url: str | None) -> bool:
    baseline = statistics.median(results["/healthz (baseline)"][0])
    where = "PostgreSQL" if database_url and database_url.startswith("postgres") else "SQLite"
    print(f"console pages, {ESCALATIONS:,} escalations, {entries} entries, {where}; "
          f"{REQUESTS} requests each, budget {BUDGET_MS:.0f} ms at the 95th percentile")
    print(f"{'page':<22}{'median ms':>10}{'p95 ms':>9}{'x baseline':>12}{'KB':>7}")
    within = True
    for name, (values, size) in results.items():
        median, high = statistics.median(values), p95(values)
        over = name != "/healthz (baseline)" and high > BUDGET_MS
        within &= not over
        print(f"{name:<22}{median:>10.1f}{high:>9.1f}{median / baseline:>12.1f}"
              f"{size / 1024:>7.1f}"
              f"{'  OVER BUDGET' if over else ''}")
    return within


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL database to fill (it must be "
                        "empty); default: a temporary SQLite file")
    args = parser.parse_args()
    if not asyncio.run(measure(args.database_url)):
        sys.exit(1)


if __name__ == "__main__":
    main()
