"""Figures: the funder report for a chosen period, as charts, a CSV and the one-page PNG,
with the entries due for review.

Every number comes from `bot.insights.reports.build_report`, the code behind `tabot report`,
so the page, the CSV, the PNG and the command line always agree. Days run from midnight to
midnight in the coalition's time zone (TABOT_TIMEZONE), as they do there. A period that is not
a pair of dates in order, or starts before tabot could have counted anything, is refused with
a message that says which date is wrong, never a traceback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.charts import bar_chart
from bot.console.pages import Refused, local_today, page, services, signed_in
from bot.console.services import Services
from bot.insights import gaps, reports

MAX_DAYS = 3660  # ten years: longer than any funder asks about, short enough to stay quick
EARLIEST = dt.date(2000, 1, 1)  # no figures before; and year 1 in a zone ahead of UTC overflows
RECENT_DAYS = 30  # "Last 30 days": today and the 29 days before it
CHART_BARS = 12  # charts show the largest twelve; the tables under them show every row
FEEDBACK_ROWS = 20
_PLOTTING = threading.Lock()  # matplotlib's pyplot keeps global state: one figure at a time


class PeriodError(ValueError):
    """The message says which date is wrong and what a right one looks like."""


@dataclass(frozen=True)
class Period:
    since: dt.date
    until: dt.date

    def query(self) -> str:
        return urlencode({"from": self.since.isoformat(), "to": self.until.isoformat()})

    @property
    def filename(self) -> str:
        return f"tabot-report-{self.since}-to-{self.until}"


def _date(text: str, which: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"The {which} date must be a date like 2026-07-01; "
                          f"{text.strip()[:40]!r} is not one.") from None


def parse_period(query: QueryParams, today: dt.date) -> Period:
    """The period asked for; without one, the last 30 days (as on Slack's App Home)."""
    raw_since, raw_until = query.get("from", "").strip(), query.get("to", "").strip()
    if not raw_since and not raw_until:
        return last_days(today)
    if not raw_since or not raw_until:
        raise PeriodError("Give both a start date and an end date.")
    since, until = _date(raw_since, "start"), _date(raw_until, "end")
    if until < since:
        raise PeriodError(f"The end date ({until}) is before the start date ({since}).")
    if since < EARLIEST:
        raise PeriodError(f"The start date ({since}) is before {EARLIEST}; there are no "
                          "figures that old. Choose a later start date.")
    if since > today:
        raise PeriodError(f"The start date ({since}) is in the future; there are no figures "
                          "for it yet.")
    if (until - since).days >= MAX_DAYS:
        raise PeriodError("A report covers at most ten years; choose a shorter period.")
    return Period(since, until)


def last_days(today: dt.date) -> Period:
    """The last 30 days, today included: 30 days, not 31 (both ends count)."""
    return Period(today - dt.timedelta(days=RECENT_DAYS - 1), today)


def presets(today: dt.date) -> list[tuple[str, Period]]:
    """The periods funders usually ask about, one click each."""
    first_of_month = today.replace(day=1)
    last_month_end = first_of_month - dt.timedelta(days=1)
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_quarter_end = quarter_start - dt.timedelta(days=1)
    last_quarter_start = dt.date(last_quarter_end.year, last_quarter_end.month - 2, 1)
    return [("Last 30 days", last_days(today)),
            ("Last month", Period(last_month_end.replace(day=1), last_month_end)),
            ("Last quarter", Period(last_quarter_start, last_quarter_end)),
            ("This year", Period(today.replace(month=1, day=1), today)),
            ("Last year", Period(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)))]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    rows: dict[str, int]
    chart: str


def sections(report: reports.Report) -> list[Section]:
    """One chart and table per section of the report, in `tabot report`'s order and words."""
    found = []
    for name, title in reports.SECTIONS:
        rows = reports._labelled(getattr(report, name))  # the report's own plain words
        shown = rows if name == "by_month" else dict(list(rows.items())[:CHART_BARS])
        found.append(Section(name, title, rows, bar_chart(shown, title, f"chart-{name}")))
    return found


async def _build(svc: Services, period: Period) -> reports.Report:
    """The period's days are the coalition's (TABOT_TIMEZONE), as in `tabot report`."""
    return await reports.build_report(svc.db, svc.knowledge, period.since, period.until,
                                      zone=svc.settings.timezone)


async def _report(request: Request) -> tuple[Period, reports.Report]:
    """For the downloads: a bad period is a refusal page (there is no form to show it on)."""
    try:
        period = parse_period(request.query_params, local_today(request))
    except PeriodError as exc:
        raise Refused(400, "Not a period", str(exc)) from None
    svc = services(request)
    return period, await _build(svc, period)


async def figures_page(request: Request) -> Response:
    staff = await signed_in(request)
    svc = services(request)
    today = local_today(request)
    context: dict[str, object] = {
        "presets": presets(today), "from_value": request.query_params.get("from", "")[:40],
        "to_value": request.query_params.get("to", "")[:40], "error": "", "report": None,
        "due": gaps.due_for_review(svc.knowledge, today, svc.settings.review_months),
        "review_months": svc.settings.review_months, "zone": str(svc.settings.timezone)}
    try:
        period = parse_period(request.query_params, today)
    except PeriodError as exc:
        context["error"] = str(exc)
        return page(request, "figures.html", context, status=400, staff=staff)
    report = await _build(svc, period)
    feedback = sorted(report.feedback.items(), key=lambda item: -item[1]["answered"])
    context |= {"period": period, "report": report, "sections": sections(report),
                "from_value": period.since.isoformat(), "to_value": period.until.isoformat(),
                "feedback": feedback[:FEEDBACK_ROWS], "feedback_total": len(feedback),
                "titles": {e.id: e.title for e in svc.knowledge.entries.values()}}
    return page(request, "figures.html", context, staff=staff)


def _download(content: str | bytes, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type, headers={
        "content-disposition": f'attachment; filename="{filename}"'})


async def figures_csv(request: Request) -> Response:
    await signed_in(request)
    period, report = await _report(request)
    return _download(reports.as_csv(report), "text/csv; charset=utf-8", f"{period.filename}.csv")


def _png(report: reports.Report) -> bytes:
    with _PLOTTING:
        return reports.as_png(report)


async def figures_png(request: Request) -> Response:
    """The page `tabot report --format png` writes; drawn off the event loop (about a second
    of matplotlib), so other staff's pages are not held up."""
    await signed_in(request)
    period, report = await _report(request)
    return _download(await asyncio.to_thread(_png, report), "image/png",
                     f"{period.filename}.png")


ROUTES = [
    Route("/figures", figures_page, methods=["GET"]),
    Route("/figures/report.csv", figures_csv, methods=["GET"]),
    Route("/figures/report.png", figures_png, methods=["GET"]),
]
