"""Members and staff: invite codes made, listed and revoked through `bot.triage.members` (so
audited like `tabot members`), their t.me links and QR codes, and the staff list."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest
import segno
from sqlalchemy import select

from bot.console.members import bot_username
from bot.store.tables import AuditEntry
from bot.triage import members
from bot.triage.members import MembershipError
from tests.console.conftest import OTHER_STAFF, STAFF, Console, csrf_of

BOT = "coalition_ta_bot"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def console_env() -> dict[str, str]:
    return {"TELEGRAM_BOT_USERNAME": f"@{BOT}"}


def modules(svg: bytes) -> set[tuple[int, int]]:
    """The dark modules of a segno SVG (one path of relative moves and horizontal runs)."""
    path = ElementTree.fromstring(svg).find(f"{SVG}path").get("d")
    x = y = 0.0
    dark = set()
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark |= {(int(x) + i, int(y)) for i in range(int(a))}
            x += float(a)
    return dark


async def make_code(console: Console, client, program: str) -> tuple[str, str]:
    """Press 'Make a code' for `program`; returns the code and the page shown after."""
    async with client.get(f"{console.base}/members") as shown:
        token = csrf_of(await shown.text())
    async with client.post(f"{console.base}/members/invite",
                           data={"csrf": token, "program": program}) as made:
        assert made.status == 200
        html = await made.text()
    code = re.search(r"Invite code ([A-Z0-9]+) made", html).group(1)
    return code, html


async def test_a_code_made_here_has_a_link_and_qr_code_and_lets_a_member_join(
        console: Console) -> None:
    async with console.client() as client:
        await console.sign_in(client)
        code, html = await make_code(console, client, "  Riverside   Shelter ")
        link = f"https://t.me/{BOT}?start={code}"
        assert link in html and "Riverside Shelter" in html
        async with client.get(f"{console.base}/members/invites/{code}/qr.svg") as qr:
            assert qr.status == 200 and qr.content_type == "image/svg+xml"
            svg = await qr.read()
        async with client.get(f"{console.base}/members/invites/{code.lower()}") as sheet:
            printed = await sheet.text()
            assert link in printed and f"/start {code}" in printed and f"@{BOT}" in printed
    # the QR code holds exactly the link: its modules are those of a QR code made from it
    expected = segno.make(link, error="m")
    border = 4
    want = {(x + border, y + border) for y, row in enumerate(expected.matrix)
            for x, dark in enumerate(row) if dark}
    assert modules(svg) == want
    assert await members.join(console.db, "telegram", "9001", code) == "Riverside Shelter"
    async with console.db.session() as session:
        logged = (await session.scalars(select(AuditEntry).where(
            AuditEntry.action == "member-invite"))).all()
    assert [(e.actor, e.target) for e in logged] == [(STAFF.id, "Riverside Shelter")]


async def test_revoking_a_code_and_a_whole_program(console: Console) -> None:
    async with console.client() as client:
        await console.sign_in(client)
        first, _ = await make_code(console, client, "Riverside Shelter")
        second, html = await make_code(console, client, "Riverside Shelter")
        await members.join(console.db, "telegram", "9001", first)
        token = csrf_of(html)
        async with client.post(f"{console.base}/members/revoke",
                               data={"csrf": token, "code": first}) as revoked:
            page = await revoked.text()
            assert revoked.status == 200 and f"Revoked {first}" in page
        with pytest.raises(MembershipError):
            await members.join(console.db, "telegram", "9002", first)
        assert await members.program_of(console.db, "telegram", "9001") == "Riverside Shelter"
        async with client.post(f"{console.base}/members/revoke",
                               data={"csrf": token, "program": "Riverside Shelter"}) as unsure:
            assert unsure.status == 400 and "Tick the box" in await unsure.text()
        assert await members.program_of(console.db, "telegram", "9001") == "Riverside Shelter"
        async with client.post(f"{console.base}/members/revoke", data={
                "csrf": token, "program": "Riverside Shelter", "confirm": "yes"}) as whole:
            assert whole.status == 200
        async with client.post(f"{console.base}/members/revoke",
                               data={"csrf": token, "code": "ZZZZ2222"}) as missing:
            assert missing.status == 404 and "No active code" in await missing.text()
        async with client.get(f"{console.base}/members/invites/{second}/qr.svg") as gone:
            assert gone.status == 404
    assert await members.program_of(console.db, "telegram", "9001") is None
    assert all(i.revoked for i in await members.invites(console.db))
    async with console.db.session() as session:
        actors = set((await session.scalars(select(AuditEntry.actor).where(
            AuditEntry.action == "member-revoke"))).all())
    assert actors == {STAFF.id}


async def test_bad_input_is_refused_and_changes_nothing(console: Console) -> None:
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/members") as shown:
            token = csrf_of(await shown.text())
        async with client.post(f"{console.base}/members/invite",
                               data={"program": "Riverside Shelter"}) as forged:
            assert forged.status == 403
        async with client.post(f"{console.base}/members/invite",
                               data={"csrf": token, "program": "   "}) as empty:
            assert empty.status == 400 and "Name the member program" in await empty.text()
        async with client.post(f"{console.base}/members/invite",
                               data={"csrf": token, "program": "x" * 201}) as long:
            assert long.status == 400
        async with client.post(f"{console.base}/members/revoke",
                               data={"csrf": token, "code": "<script>"}) as bad:
            assert bad.status == 400 and "<script>" not in await bad.text()
        async with client.get(f"{console.base}/members/invites/..%2F..%2Fqueue") as odd:
            assert odd.status == 404
    assert await members.invites(console.db) == []


async def test_the_staff_list_and_a_session_is_needed(console: Console) -> None:
    async with console.client() as client:
        async with client.get(f"{console.base}/members") as refused:
            assert refused.status == 401
        await console.sign_in(client)
        async with client.get(f"{console.base}/members") as shown:
            html = await shown.text()
    table = html[html.index('id="staff"'):]
    for actor in (STAFF, OTHER_STAFF):
        assert f"<td>{actor.platform}</td><td>{actor.user_id}" in table
    assert "No invite codes yet" in html


class TestWithoutTheBotsUsername:
    @pytest.fixture
    def console_env(self) -> dict[str, str]:
        return {}

    async def test_the_page_says_so_and_offers_the_code_alone(self, console: Console) -> None:
        async with console.client() as client:
            await console.sign_in(client)
            code, html = await make_code(console, client, "Hill County Advocates")
            assert "TELEGRAM_BOT_USERNAME is not set" in html and "https://t.me" not in html
            assert f"/start {code}" in html
            async with client.get(f"{console.base}/members/invites/{code}/qr.svg") as qr:
                assert qr.status == 404


def test_a_malformed_username_is_named() -> None:
    assert bot_username("coalition_ta_bot") == ("coalition_ta_bot", "")
    for bad in ("ab", "has space", "9starts_with_digit", "x" * 40):
        name, problem = bot_username(bad)
        assert name == "" and "not a Telegram username" in problem
