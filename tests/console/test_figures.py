"""The Figures page: the funder report for a chosen period, its CSV and PNG, and the entries due
for review; every number is `tabot report`'s own."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from starlette.datastructures import QueryParams

from bot.config import Settings
from bot.console.charts import bar_chart
from bot.console.figures import PeriodError, parse_period, presets
from bot.insights import reports
from bot.knowledge.base import KnowledgeBase
from bot.store.database import Database
from bot.store.retention import purge
from bot.store.tables import Interaction
from tests.conftest import running
from tests.console.conftest import STAFF, Console

OCTOBER = "from=2026-10-01&to=2026-10-31"


@asynccontextmanager
async def zoned_console(database: Database, kb_dir: Path, zone: ZoneInfo,
                        ) -> AsyncIterator[Console]:
    """The console of a runtime with TABOT_TIMEZONE set to `zone`."""
    settings = Settings(database_url=database.url, knowledge_dir=kb_dir,
                        staff=frozenset({STAFF.id}), port=0, timezone=zone)
    knowledge = KnowledgeBase.load(kb_dir)
    async with running(settings, [], {}, knowledge) as runtime:
        yield Console(runtime, f"http://127.0.0.1:{runtime.web.port}/console", database,
                      knowledge, kb_dir)


async def history(console: Console) -> None:
    """Four questions in October (two programs, two platforms) and one in September."""
    def row(day: dt.date, platform: str, program: str | None, outcome: str,
            entry: str | None = None) -> Interaction:
        return Interaction(platform=platform, user_id="U1", program=program, text="(test)",
                           outcome=outcome, entry_id=entry, score=0.5,
                           created_at=dt.datetime.combine(day, dt.time(12), dt.UTC))

    october, september = dt.date(2026, 10, 14), dt.date(2026, 9, 30)
    async with console.db.session() as session, session.begin():
        session.add_all([
            row(october, "telegram", "Riverside Shelter", "answer", "shelter-curfew"),
            row(october, "telegram", "Riverside Shelter", "answer", "shelter-curfew"),
            row(october, "slack", "Hill County Advocates", "answer", "dv-definition"),
            row(october, "slack", None, "escalate"),
            row(september, "slack", "Hill County Advocates", "answer", "dv-definition")])


async def test_a_period_shows_the_reports_figures_with_charts(console: Console) -> None:
    await history(console)
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/figures?{OCTOBER}") as shown:
            assert shown.status == 200
            html = await shown.text()
    assert re.search(r'id="contacts">4<', html)  # September's question is outside
    assert html.count('role="img"') == len(reports.SECTIONS)  # one SVG chart per section
    assert "Riverside Shelter" in html and "Hill County Advocates" in html
    assert "answered by the assistant" in html  # the report's own words, not its keys
    assert '<a href="/console/knowledge/shelter-curfew">' in html  # feedback per entry
    assert 'href="/console/figures/report.csv?from=2026-10-01&amp;to=2026-10-31"' in html
    assert len(html.encode()) < 100_000  # light enough for a phone on a slow connection


async def test_the_csv_and_png_downloads_are_tabot_reports(console: Console) -> None:
    await history(console)
    expected = reports.as_csv(await reports.build_report(
        console.db, console.knowledge, dt.date(2026, 10, 1), dt.date(2026, 10, 31)))
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/figures/report.csv?{OCTOBER}") as got:
            assert got.status == 200 and got.content_type == "text/csv"
            assert got.headers["content-disposition"] == \
                'attachment; filename="tabot-report-2026-10-01-to-2026-10-31.csv"'
            text = await got.text()
        async with client.get(f"{console.base}/figures/report.png?{OCTOBER}") as png:
            assert png.status == 200 and png.content_type == "image/png"
            assert (await png.read()).startswith(b"\x89PNG\r\n\x1a\n")
    assert text == expected
    rows = {(r["section"], r["key"]): r["value"] for r in csv.DictReader(io.StringIO(text))}
    assert rows[("summary", "contacts")] == "4"
    assert rows[("program", "Riverside Shelter")] == "2"



async def test_a_period_cutting_a_purged_month_says_which_days_are_not_available(
        console: Console) -> None:
    """October 1-14 purged at October 15 (keeping a day); October 10-31 counts the kept
    records and says October 10 up to the oldest kept record cannot be counted."""
    async with console.db.session() as session, session.begin():
        session.add_all(Interaction(platform="slack", user_id="U1", text="(test)",
                                    outcome="answer", score=0.5,
                                    created_at=dt.datetime(2026, 10, day, 12, tzinfo=dt.UTC))
                        for day in range(1, 16))
    await purge(console.db, dt.timedelta(days=1), dt.timedelta(days=30), "cli:test",
                now=dt.datetime(2026, 10, 15, 13, tzinfo=dt.UTC))
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/figures?from=2026-10-10&to=2026-10-31") as shown:
            html = await shown.text()
    assert re.search(r'id="contacts">1<', html)  # October 15, kept; not the whole month's 15
    assert re.search(r'role="note">Figures from 2026-10-10 until 2026-10-15 12:00 UTC are not '
                     r"available: .*TABOT_KEEP_INTERACTIONS_DAYS", html)


async def test_the_figures_count_days_in_the_coalitions_time_zone(
        database: Database, console_kb_dir: Path) -> None:
    """TABOT_TIMEZONE=America/New_York: a question at 10 pm there is that day's, though it is
    the next day in UTC."""
    new_york = ZoneInfo("America/New_York")
    day = dt.datetime.now(new_york).date() - dt.timedelta(days=2)
    async with database.session() as session, session.begin():
        session.add(Interaction(platform="slack", user_id="U1", program="Riverside Shelter",
                                text="(test)", outcome="answer", score=0.5,
                                created_at=dt.datetime.combine(day, dt.time(22), new_york)
                                .astimezone(dt.UTC)))  # SQLite keeps UTC wall times
    query = f"from={day}&to={day}"
    async with zoned_console(database, console_kb_dir, new_york) as console, \
            console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/figures?{query}") as shown:
            html = await shown.text()
        async with client.get(f"{console.base}/figures/report.csv?{query}") as got:
            text = await got.text()
    assert re.search(r'id="contacts">1<', html) and "summary,contacts,1" in text
    assert "midnight to midnight in America/New_York" in html  # not UTC


async def test_a_period_from_before_2000_is_refused_in_a_zone_ahead_of_utc(
        database: Database, console_kb_dir: Path) -> None:
    """In Auckland, midnight on 0001-01-01 is still year 0 in UTC, which Python cannot
    represent: such a date is refused by name, not left to fail in the report."""
    query = "from=0001-01-01&to=0001-01-05"
    auckland = ZoneInfo("Pacific/Auckland")
    async with zoned_console(database, console_kb_dir, auckland) as console, \
            console.client() as client:
        await console.sign_in(client)
        for path in ("/figures", "/figures/report.csv", "/figures/report.png"):
            async with client.get(f"{console.base}{path}?{query}") as refused:
                assert refused.status == 400, path
                assert "start date (0001-01-01) is before 2000-01-01" in \
                    await refused.text(), path


@pytest.mark.parametrize(("query", "message"), [
    ("from=2026-13-01&to=2026-10-31", "start date must be a date like 2026-07-01"),
    ("from=2026-10-01&to=yesterday", "end date must be a date like 2026-07-01"),
    ("from=2026-10-31&to=2026-10-01", "end date (2026-10-01) is before the start date"),
    ("from=2026-10-01", "Give both a start date and an end date"),
    ("from=2099-01-01&to=2099-02-01", "is in the future"),
    ("from=2000-01-01&to=2026-10-01", "at most ten years"),
    ("from=1999-12-31&to=2000-01-05", "start date (1999-12-31) is before 2000-01-01"),
])
async def test_a_bad_period_is_refused_with_a_clear_message(console: Console, query: str,
                                                            message: str) -> None:
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/figures?{query}") as shown:
            html = await shown.text()
            assert shown.status == 400 and message in html.replace("&#39;", "'")
            assert 'role="alert"' in html and "Traceback" not in html
            assert 'id="contacts"' not in html
        async with client.get(f"{console.base}/figures/report.csv?{query}") as download:
            assert download.status == 400 and message in await download.text()


async def test_entries_due_for_review_are_listed(console: Console) -> None:
    path = console.kb_dir / "interpreter-use.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**data, "reviewed": "2024-01-15"}), encoding="utf-8")
    console.knowledge.reload()
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/figures") as shown:
            html = await shown.text()
    due = html[html.index('id="due"'):]
    assert "/console/knowledge/interpreter-use" in due and "2024-01-15" in due
    assert "/console/knowledge/shelter-curfew" not in due


async def test_figures_and_downloads_need_a_session(console: Console) -> None:
    async with console.client() as client:
        for path in ("/figures", "/figures/report.csv", "/figures/report.png"):
            async with client.get(f"{console.base}{path}?{OCTOBER}") as refused:
                assert refused.status == 401, path
                assert "Please sign in" in await refused.text()


def test_without_a_period_the_last_30_days_and_presets_are_in_order() -> None:
    today = dt.date(2026, 11, 27)
    default = parse_period(_query(""), today)
    assert (default.since, default.until) == (dt.date(2026, 10, 29), today)
    assert (default.until - default.since).days + 1 == 30  # both ends count
    named = dict(presets(today))
    assert named["Last 30 days"] == default
    assert (named["Last month"].since, named["Last month"].until) == (
        dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert (named["Last quarter"].since, named["Last quarter"].until) == (
        dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    january = dict(presets(dt.date(2027, 1, 5)))["Last quarter"]
    assert (january.since, january.until) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    with pytest.raises(PeriodError):
        parse_period(_query("from=&to=2026-10-01"), today)


async def test_the_last_30_days_are_30_on_the_page_and_the_app_home(console: Console) -> None:
    """A question asked 30 days ago is the 31st day back: outside both."""
    today = dt.datetime.now(dt.UTC).date()
    async with console.db.session() as session, session.begin():
        session.add_all(Interaction(platform="slack", user_id="U1", text="(test)",
                                    outcome="answer", score=0.5, created_at=dt.datetime.combine(
                                        today - dt.timedelta(days=days), dt.time(12), dt.UTC))
                        for days in (29, 30))
    home = await console.runtime.core.home(STAFF, today=today)
    assert home.figures is not None and home.figures.contacts == 1
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/figures") as shown:
            assert re.search(r'id="contacts">1<', await shown.text())


def test_charts_escape_labels_and_scale_bars_to_the_largest() -> None:
    svg = str(bar_chart({"<b>Riverside</b>": 40, "Hill": 10}, "By program", "c1"))
    assert "<b>" not in svg and "&lt;b&gt;Riverside&lt;/b&gt;" in svg
    widths = [float(w) for w in re.findall(r'<rect x="0" y="\d+" width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(4 * widths[1])
    assert 'aria-labelledby="c1-title"' in svg and "<title id=\"c1-title\">By program" in svg
    assert "No data" in str(bar_chart({}, "Empty", "c2"))


def _query(text: str) -> QueryParams:
    return QueryParams(text)
