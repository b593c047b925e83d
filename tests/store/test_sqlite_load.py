"""SQLite under a small coalition's load: 20 people asking at once through a real process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.triage.escalations import Reason
from tests.fakes.slack_askers import (
    Arrivals,
    Tabot,
    fake_slack,
    questions_for,
    run_askers,
    stored,
    tabot_on_slack,
)

ASKERS = 20
# Per asker, in turn: an answer, an answer sent to staff too (state law), a question nobody
# can answer (to staff), a suggestion, a question sent straight to staff. Each is recorded
# once (a TA contact); each /staff question becomes one escalation.
ROUND = ["what does the state coalition do for us",
         "do we have to ask immigration status at intake",
         "how do i unclog a drain",
         "survivor wants to see her own file can she",
         "/staff our board wants a policy on staff safety at the courthouse"]
ROUNDS = 2


@pytest.fixture
async def tabot(tmp_path: Path) -> AsyncIterator[tuple[Tabot, Arrivals]]:
    api, arrivals = fake_slack()
    await api.start()
    try:
        async with tabot_on_slack(api, f"sqlite:///{tmp_path / 'coalition.db'}") as process:
            yield process, arrivals
    finally:
        await api.stop()


async def test_twenty_concurrent_askers_on_sqlite_lose_no_question_and_store_each_once(
        tabot: tuple[Tabot, Arrivals]) -> None:
    process, arrivals = tabot
    by_asker = questions_for("load", [ROUND * ROUNDS] * ASKERS)
    asked = await run_askers(process, arrivals, by_asker)

    assert [a.status for a in asked] == [200] * len(asked)
    unanswered = [a.question for a in asked if a.seconds is None]
    assert unanswered == [], f"{len(unanswered)} questions got no reply; log: {process.log}"

    rows = await stored(process.database_url, [qs[0].user for qs in by_asker])
    recorded = {qs[0].user: len(qs) for qs in by_asker}
    assert rows.interactions == recorded
    to_staff = [q.channel for qs in by_asker for q in qs if q.text.startswith("/staff")]
    assert all(rows.escalations[(c, Reason.ASKED_FOR_STAFF)] == 1 for c in to_staff)
    per_channel = [sum(n for (c, _), n in rows.escalations.items() if c == channel)
                   for channel in {c for c, _ in rows.escalations}]
    assert set(per_channel) == {1}, "a question was escalated more than once"
