"""The guards every platform route shares, served by the runtime's real web server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.http import Refusals, Unreadable, read_body
from bot.web import WebServer, build_app


async def ready() -> dict[str, str]:
    return {}


@pytest.fixture
async def server() -> AsyncIterator[WebServer]:
    refusals = Refusals("test")

    async def echo(request: Request) -> Response:
        try:
            body = await read_body(request, limit=100, seconds=0.5)
        except Unreadable as refused:
            return refusals.refuse(refused.status, refused.reason)
        return Response(body)

    web = WebServer(build_app([Route("/echo", echo, methods=["POST"])], ready), port=0,
                    host="127.0.0.1")
    serving = asyncio.create_task(web.serve())
    await web.started()
    yield web
    web.stop_accepting()
    await serving


async def exchange(port: int, head: bytes, body_pieces: list[bytes], pause: float) -> bytes:
    """Send a request's head, then its body in pieces, until the server answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    answer = asyncio.create_task(reader.read(200))
    for piece in body_pieces:
        await asyncio.sleep(pause)
        if answer.done():
            break
        with contextlib.suppress(ConnectionError):
            writer.write(piece)
            await writer.drain()
    try:
        return await asyncio.wait_for(answer, 5)
    finally:
        writer.close()


def head(length: int) -> bytes:
    return (f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n").encode()


async def test_a_body_sent_a_byte_at_a_time_is_refused_with_408(server: WebServer) -> None:
    answer = await exchange(server.port, head(50), [b"x"] * 50, pause=0.1)
    assert answer.startswith(b"HTTP/1.1 408")


async def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(
        server: WebServer) -> None:
    answer = await exchange(server.port, head(10_000), [], pause=0)
    assert answer.startswith(b"HTTP/1.1 413")


async def test_a_body_within_the_limits_is_read_whole(server: WebServer) -> None:
    answer = await exchange(server.port, head(5), [b"hel", b"lo"], pause=0.05)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hello")
