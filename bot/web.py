"""The one web server of a tabot process: every HTTP route, on one port.

Adapters contribute their routes (Slack's `/slack/events`, the Telegram webhook); the runtime
adds `/healthz` (the process is up) and `/readyz` (the database answers and knowledge is
loaded). Served by uvicorn; the runtime, not uvicorn, owns the signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)
Readiness = Callable[[], Awaitable[dict[str, str]]]
OK = "ok"


def build_app(routes: Sequence[BaseRoute], readiness: Readiness) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": OK})

    async def readyz(request: Request) -> JSONResponse:
        parts = await readiness()
        ready = all(state == OK for state in parts.values())
        return JSONResponse({"status": OK if ready else "not ready", **parts},
                            status_code=200 if ready else 503)

    return Starlette(routes=[*routes, Route("/healthz", healthz), Route("/readyz", readyz)])


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: SIGTERM is the runtime's to handle, since the
    web server is only one of the things it stops, and not the last."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebServer:
    def __init__(self, app: Starlette, port: int, host: str = "0.0.0.0") -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                                access_log=False, timeout_graceful_shutdown=10)
        self.server = _Server(config)

    async def serve(self) -> None:
        await self.server.serve()

    async def started(self) -> None:
        while not self.server.started:
            await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0)."""
        return self.server.servers[0].sockets[0].getsockname()[1]

    def stop_accepting(self) -> None:
        """Close the listening socket; requests under way are finished, then `serve()` ends."""
        self.server.should_exit = True
