"""Signing in with one-time links, sessions that end, and every refusal as a clear page."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, update

from bot.cli import main
from bot.console.auth import (
    IDLE_LIMIT,
    LINK_LIFETIME,
    NotStaff,
    issue_link_token,
    redeem_link,
    session_for,
)
from bot.console.security import SESSION_COOKIE
from bot.store.tables import ConsoleLink, ConsoleSession
from tests.conftest import REPO
from tests.console.conftest import NOT_STAFF, OTHER_STAFF, STAFF, Console, csrf_of, nonce_of

STAFF_LIST = frozenset({STAFF.id})


async def test_a_link_signs_in_once_and_the_queue_names_who_is_signed_in(
        console: Console) -> None:
    async with console.client() as client:
        html = await console.sign_in(client)
        assert "<h1>Queue</h1>" in html and STAFF.id in html
        cookie = next(c for c in client.cookie_jar if c.key == SESSION_COOKIE)
        assert cookie["httponly"] and cookie["samesite"].lower() == "strict"
        assert cookie["path"] == "/console" and not cookie["secure"]  # served over plain HTTP


async def test_a_used_link_is_refused_and_makes_no_second_session(console: Console) -> None:
    link = await console.link()
    async with console.client() as first, console.client() as second:
        forms = []
        for client in (first, second):  # the link opened in two browsers, say by a forward
            async with client.get(link) as opened:
                html = await opened.text()
            forms.append({"token": await Console.link_token_of(html), "nonce": nonce_of(html)})
        async with first.post(f"{console.base}/signin", data=forms[0]) as done:
            assert done.status == 200
        async with second.post(f"{console.base}/signin", data=forms[1]) as again:
            assert again.status == 403
            assert "expired or has already been used" in await again.text()
        async with second.get(f"{console.base}/queue") as page:
            assert page.status == 401
        async with first.get(link) as reopened:
            assert reopened.status == 403
    async with console.db.session() as session:
        assert len((await session.scalars(select(ConsoleSession))).all()) == 1


async def test_opening_a_link_does_not_spend_it_so_a_chat_preview_cannot(
        console: Console) -> None:
    link = await console.link()
    async with aiohttp.ClientSession() as previewer, previewer.get(link) as preview:
        assert preview.status == 200
    async with console.client() as client, client.get(link) as opened:
        assert opened.status == 200 and 'id="signin"' in await opened.text()


async def test_the_sign_in_form_needs_the_cookie_of_the_browser_that_opened_the_link(
        console: Console) -> None:
    link = await console.link()
    async with console.client() as opener, opener.get(link) as opened:
        html = await opened.text()
    token = await Console.link_token_of(html)
    nonce = nonce_of(html)
    async with console.client() as other, other.post(
            f"{console.base}/signin", data={"token": token, "nonce": nonce}) as posted:
        assert posted.status == 403
        assert "Open the link you were sent again" in await posted.text()


async def test_an_expired_link_is_refused(console: Console) -> None:
    link = await console.link()
    async with console.db.session() as session, session.begin():
        await session.execute(update(ConsoleLink).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    async with console.client() as client, client.get(link) as opened:
        assert opened.status == 403
        assert "expired" in await opened.text()


async def test_only_staff_get_links(database) -> None:
    with pytest.raises(NotStaff, match="not listed in TABOT_STAFF"):
        await issue_link_token(database, NOT_STAFF, STAFF_LIST)


async def test_a_link_is_refused_once_its_person_has_left_the_staff_list(database) -> None:
    token = await issue_link_token(database, STAFF, STAFF_LIST)
    assert await redeem_link(database, token, frozenset({OTHER_STAFF.id})) is None


async def test_links_last_ten_minutes_and_sessions_end_after_eight_idle_hours(database) -> None:
    assert dt.timedelta(minutes=10) == LINK_LIFETIME and dt.timedelta(hours=8) == IDLE_LIMIT
    start = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)
    late = await issue_link_token(database, STAFF, STAFF_LIST, now=start)
    assert await redeem_link(database, late, STAFF_LIST, now=start + LINK_LIFETIME) is None
    token = await issue_link_token(database, STAFF, STAFF_LIST, now=start)
    redeemed = await redeem_link(database, token, STAFF_LIST, now=start + dt.timedelta(minutes=9))
    assert redeemed is not None
    session_token, actor = redeemed
    assert actor == STAFF
    seven_hours = start + dt.timedelta(hours=7)
    assert await session_for(database, session_token, STAFF_LIST, now=seven_hours)
    # each request restarts the idle clock; eight hours after the last one, it is over
    assert await session_for(database, session_token, STAFF_LIST,
                             now=seven_hours + dt.timedelta(hours=7, minutes=59))
    assert await session_for(database, session_token, STAFF_LIST,
                             now=seven_hours + dt.timedelta(hours=16)) is None


async def test_the_database_keeps_only_digests_of_tokens(database) -> None:
    token = await issue_link_token(database, STAFF, STAFF_LIST)
    session_token, _ = await redeem_link(database, token, STAFF_LIST)
    async with database.session() as session:
        link = await session.scalar(select(ConsoleLink))
        row = await session.scalar(select(ConsoleSession))
    assert token not in link.token_hash and len(link.token_hash) == 64
    assert session_token not in row.token_hash


async def test_signing_out_ends_the_session_on_the_server(console: Console) -> None:
    async with console.client() as client:
        html = await console.sign_in(client)
        stolen = next(c for c in client.cookie_jar if c.key == SESSION_COOKIE).value
        async with client.post(f"{console.base}/signout", data={"csrf": csrf_of(html)}) as out:
            assert out.status == 200 and "Signed out" in await out.text()
    async with aiohttp.ClientSession() as replay, replay.get(
            f"{console.base}/queue", headers={"Cookie": f"{SESSION_COOKIE}={stolen}"}) as page:
        assert page.status == 401
        assert "Please sign in" in await page.text()


async def test_a_forged_cookie_gets_a_401_page_and_no_data(console: Console) -> None:
    async with aiohttp.ClientSession() as client:
        for forged in ("nonsense", "eyJhIjoxfQ.forged-signature", ""):
            async with client.get(f"{console.base}/queue",
                                  headers={"Cookie": f"{SESSION_COOKIE}={forged}"}) as page:
                body = await page.text()
                assert page.status == 401
                assert "Traceback" not in body and "TA-" not in body


async def test_a_form_without_its_csrf_token_is_refused(console: Console) -> None:
    async with console.client() as client:
        await console.sign_in(client)
        for data in ({}, {"csrf": "0" * 64}):
            async with client.post(f"{console.base}/signout", data=data) as posted:
                assert posted.status == 403
                assert "security token" in await posted.text()
        async with client.get(f"{console.base}/queue") as still:
            assert still.status == 200  # the refused sign-out did not sign out


async def test_every_page_and_refusal_sends_the_security_headers(console: Console) -> None:
    async with console.client() as client:
        await console.sign_in(client)
        for path, status in (("/queue", 200), ("/signin", 200), ("/nowhere", 404),
                             ("/static/console.css", 200), ("/escalations/TA-9999", 404)):
            async with client.get(console.base + path) as page:
                assert page.status == status, path
                csp = page.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
                assert "frame-ancestors 'none'" in csp
                assert page.headers["X-Frame-Options"] == "DENY"
                assert page.headers["Referrer-Policy"] == "no-referrer"


async def test_repeated_sign_in_attempts_are_rate_limited_and_logged_without_tokens(
        console: Console, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    statuses = []
    async with aiohttp.ClientSession() as client:
        for n in range(25):
            async with client.get(f"{console.base}/signin/guess-{n:04d}") as page:
                statuses.append(page.status)
    assert statuses[:20] == [403] * 20 and set(statuses[20:]) == {429}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "too many sign-in attempts" in logged
    assert "guess-" not in logged and "/console/signin/<token>" in logged


async def test_a_valid_link_signs_in_after_a_flood_of_bogus_ones_from_the_same_address(
        console: Console) -> None:
    """Behind a proxy every visitor has the proxy's address: 20 junk links locked every
    staff member out for a minute. Only refused attempts count, and never against a link
    that works."""
    async with aiohttp.ClientSession() as junk:
        for n in range(25):
            async with junk.get(f"{console.base}/signin/guess-{n:04d}") as page:
                assert page.status in (403, 429)
        async with junk.get(f"{console.base}/signin/guess-last") as page:
            assert page.status == 429
    async with console.client() as client:
        html = await console.sign_in(client)
        assert "<h1>Queue</h1>" in html


async def test_behind_a_proxy_on_this_machine_each_visitor_has_their_own_limit(
        console: Console) -> None:
    """uvicorn takes the visitor's address from X-Forwarded-For when the request comes from
    an address in FORWARDED_ALLOW_IPS (by default this machine), as the README says."""
    async with aiohttp.ClientSession() as client:
        for visitor, count, status in (("203.0.113.5", 21, 429), ("203.0.113.6", 1, 403)):
            for n in range(count):
                async with client.get(f"{console.base}/signin/guess-{n:04d}",
                                      headers={"X-Forwarded-For": visitor}) as page:
                    last = page.status
            assert last == status, visitor


async def test_cli_link_command_prints_a_link_only_for_staff(console: Console,
                                                             monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", console.db.url)
    monkeypatch.setenv("TABOT_STAFF", STAFF.id)
    monkeypatch.setenv("TABOT_PUBLIC_URL", "https://tabot.example.org/")
    assert await asyncio.to_thread(main, ["console", "link", STAFF.id]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://tabot.example.org/console/signin/")
    assert await asyncio.to_thread(main, ["console", "link", NOT_STAFF.id]) == 1
    assert "not listed in TABOT_STAFF" in capsys.readouterr().err


async def test_tabot_console_reloads_on_sighup_instead_of_dying(tmp_path: Path) -> None:
    """The README tells admins to `kill -HUP` tabot after approving phrasings; a console
    process run beside the bot got the default action, and ended."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PORT": str(port),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'tabot.db'}"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "console", cwd=REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        line = b""
        while b"console listening" not in line:
            line = await asyncio.wait_for(process.stderr.readline(), 120)
            assert line, "tabot console exited before listening"
        process.send_signal(signal.SIGHUP)
        while b"knowledge reloaded" not in line:
            line = await asyncio.wait_for(process.stderr.readline(), 120)
            assert line, "tabot console exited on SIGHUP"
        async with aiohttp.ClientSession() as session, session.get(
                f"http://127.0.0.1:{port}/healthz") as health:
            assert health.status == 200
    finally:
        process.terminate()
        await process.wait()
    assert process.returncode == 0
