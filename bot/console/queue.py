"""The queue page: open, claimed and overdue questions, with filters, refreshed by polling.

The list is read with one query of the columns it shows (no histories), newest data every
time; a page shows at most `PAGE_ROWS` rows, so it stays fast at tens of thousands of
escalations. Actions are not here: they are on each escalation's page (`escalation.py`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, func, literal, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.pages import Staff, page, see_other, services, signed_in
from bot.store.tables import Escalation, reference_for, utcnow
from bot.triage.workflow import URGENT, URGENT_FIRST, WAITING, State, as_utc

PAGE_ROWS = 200
TABS = {  # tab -> label, in the order shown
    "waiting": "Waiting", "open": "Open", "mine": "Mine", "overdue": "Overdue",
    "answered": "Answered", "closed": "Closed", "all": "All"}
AGES = {"": "any age", "4": "older than 4 h", "24": "older than 1 day",
        "72": "older than 3 days", "168": "older than a week"}


@dataclass(frozen=True)
class Filters:
    tab: str = "waiting"
    topic: str = ""
    owner: str = ""
    older_than: str = ""

    @classmethod
    def from_query(cls, request: Request) -> Filters:
        """Unknown values fall back to the defaults: a hand-edited address still works."""
        query = request.query_params
        tab = query.get("state", "waiting")
        age = query.get("age", "")
        return cls(tab if tab in TABS else "waiting", query.get("topic", "").strip()[:64],
                   query.get("owner", "").strip()[:160], age if age in AGES else "")

    def query_string(self) -> str:
        return urlencode({"state": self.tab, "topic": self.topic, "owner": self.owner,
                          "age": self.older_than})


@dataclass(frozen=True)
class Row:
    reference: str
    state: str
    question: str
    topic: str
    platform: str
    program: str
    owner: str
    created_at: dt.datetime
    overdue: bool
    urgent: bool  # a crisis message still waiting: listed first, marked


def _conditions(filters: Filters, staff: Staff, now: dt.datetime,
                answer_due: dt.timedelta) -> list[ColumnElement[bool]]:
    tab = filters.tab
    states = {"waiting": WAITING, "open": (State.OPEN,), "mine": WAITING,
              "overdue": WAITING, "answered": (State.ANSWERED,), "closed": (State.CLOSED,),
              "all": tuple(State)}[tab]
    conditions = [Escalation.state.in_([str(s) for s in states])]
    if tab == "mine":
        conditions.append(Escalation.claimed_by == staff.actor.id)
    if tab == "overdue":
        conditions.append(Escalation.created_at <= now - answer_due)
    if filters.topic:
        wrapped = literal(",") + Escalation.tags + literal(",")
        conditions.append(wrapped.contains(f",{filters.topic},", autoescape=True))
    if filters.owner:
        conditions.append(Escalation.claimed_by == filters.owner)
    if filters.older_than:
        conditions.append(Escalation.created_at <= now - dt.timedelta(
            hours=int(filters.older_than)))
    return conditions


async def rows(request: Request, staff: Staff, filters: Filters) -> tuple[list[Row], int]:
    """Waiting questions urgent first, then oldest first (they need staff first); finished
    ones newest first."""
    svc = services(request)
    now = utcnow()
    where = and_(*_conditions(filters, staff, now, svc.triage.answer_due))
    waiting = filters.tab in ("waiting", "open", "mine", "overdue")
    order = (URGENT_FIRST, Escalation.created_at, Escalation.id) if waiting else \
        (Escalation.created_at.desc(), Escalation.id.desc())
    columns = (Escalation.id, Escalation.state, Escalation.question, Escalation.tags,
               Escalation.platform, Escalation.program, Escalation.claimed_by,
               Escalation.created_at, URGENT.label("urgent"))
    async with svc.db.session() as session:
        total = await session.scalar(select(func.count()).select_from(Escalation).where(where))
        found = (await session.execute(select(*columns).where(where).order_by(*order)
                                       .limit(PAGE_ROWS))).all()
    result = []
    for r in found:
        created = as_utc(r.created_at)
        result.append(Row(reference_for(r.id), r.state, r.question,
                          (r.tags or "").split(",")[0], r.platform, r.program or "",
                          r.claimed_by or "", created,
                          r.state in WAITING and now - created >= svc.triage.answer_due,
                          bool(r.urgent)))
    return result, total or 0


async def queue_page(request: Request) -> Response:
    staff = await signed_in(request)
    filters = Filters.from_query(request)
    found, total = await rows(request, staff, filters)
    svc = services(request)
    return page(request, "queue.html", {
        "rows": found, "total": total, "filters": filters, "tabs": TABS, "ages": AGES,
        "owners": sorted(a.id for a in svc.triage.staff), "limit": PAGE_ROWS}, staff=staff)


async def queue_rows(request: Request) -> Response:
    """The table body alone, for the page's periodic refresh."""
    staff = await signed_in(request)
    found, total = await rows(request, staff, Filters.from_query(request))
    return page(request, "queue_rows.html", {"rows": found, "total": total}, staff=staff)


async def home(request: Request) -> Response:
    return see_other("/console/queue")


ROUTES = [
    Route("/", home, methods=["GET"]),
    Route("/queue", queue_page, methods=["GET"]),
    Route("/queue/rows", queue_rows, methods=["GET"]),
]
