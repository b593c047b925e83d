"""`tabot gaps` over more days than the interaction records are kept: it says how many days of
records there are and looks only at those, rather than calling a purged match "never"."""

from __future__ import annotations

import datetime as dt

from bot.insights import gaps
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.store.interactions import SHOWN_RELATED
from bot.store.retention import purge
from bot.store.tables import Interaction

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


async def answered(db: Database, entry_id: str, *days_ago: int,
                   outcome: str = "answer") -> None:
    async with db.session() as session, session.begin():
        session.add_all(Interaction(platform="slack", user_id="U1", text="(generated)",
                                    outcome=outcome, entry_id=entry_id, score=0.9,
                                    created_at=NOW - dt.timedelta(days=days))
                        for days in days_ago)


async def test_an_entry_opened_only_as_a_related_entry_was_matched(
        database: Database, shipped_kb: KnowledgeBase) -> None:
    entry_id = sorted(shipped_kb.entries)[0]
    await answered(database, entry_id, 1, outcome=SHOWN_RELATED)
    found = await gaps.find_gaps(database, shipped_kb, NOW - dt.timedelta(days=5), now=NOW)
    assert entry_id not in found.never_matched


async def test_a_window_longer_than_the_records_kept_is_limited_and_says_so(
        database: Database, shipped_kb: KnowledgeBase) -> None:
    early, late = sorted(shipped_kb.entries)[:2]
    await answered(database, early, 40, 50)  # purged: the records keep ten days
    await answered(database, late, 3)
    await answered(database, early, 9)  # kept, and the oldest kept: early is matched
    await purge(database, dt.timedelta(days=10), dt.timedelta(days=30), "cli:test", now=NOW)
    found = await gaps.find_gaps(database, shipped_kb, NOW - dt.timedelta(days=90), now=NOW)
    # January was folded; nothing after it can have been (with 14 hours for the zone).
    assert found.since == dt.datetime(2026, 2, 1, 14, tzinfo=dt.UTC) and found.days_kept == 27
    text = gaps.gaps_text(found)
    assert "only 27 days" in text and "TABOT_KEEP_INTERACTIONS_DAYS" in text
    assert early not in found.never_matched and late not in found.never_matched


async def test_the_window_stops_at_the_oldest_record_kept_inside_a_folded_month(
        database: Database, shipped_kb: KnowledgeBase) -> None:
    entry = sorted(shipped_kb.entries)[0]
    await answered(database, entry, 20, 12, 5)  # February 9 and 17 purged, February 24 kept
    await purge(database, dt.timedelta(days=10), dt.timedelta(days=30), "cli:test", now=NOW)
    found = await gaps.find_gaps(database, shipped_kb, NOW - dt.timedelta(days=30), now=NOW)
    assert (found.since, found.days_kept) == (NOW - dt.timedelta(days=5), 5)


async def test_a_window_inside_the_records_kept_is_not_limited(
        database: Database, shipped_kb: KnowledgeBase) -> None:
    entry = sorted(shipped_kb.entries)[0]
    await answered(database, entry, 40, 3)
    await purge(database, dt.timedelta(days=10), dt.timedelta(days=30), "cli:test", now=NOW)
    since = NOW - dt.timedelta(days=7)
    found = await gaps.find_gaps(database, shipped_kb, since, now=NOW)
    assert (found.since, found.days_kept) == (since, None)
    assert "TABOT_KEEP_INTERACTIONS_DAYS" not in gaps.gaps_text(found)
