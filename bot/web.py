"""The one web server of a tabot process: every HTTP route, on one port.

Adapters contribute their routes (Slack's `/slack/events`, the Telegram webhook); the runtime
adds `/healthz` (the process is up) and `/readyz` (the database answers and knowledge is
loaded). Served by uvicorn; the runtime, not uvicorn, owns the signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.config import ConfigError

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
    """Binds its port when made, so a port another process holds stops start-up with a
    message naming PORT (uvicorn, binding it later, exits with a traceback instead)."""

    def __init__(self, app: Starlette, port: int, host: str = "0.0.0.0") -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                                access_log=False, timeout_graceful_shutdown=10)
        self.server = _Server(config)
        self.socket = listen(host, port, config.backlog)
        self._served = asyncio.Event()

    async def serve(self) -> None:
        """Serve until `stop_accepting()`; uvicorn closes the socket on its way out."""
        try:
            await self.server.serve(sockets=[self.socket])
        finally:
            self._served.set()

    async def started(self) -> None:
        while not self.server.started:
            await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0)."""
        return self.socket.getsockname()[1]

    def stop_accepting(self) -> None:
        """Close the listening socket; requests under way are finished, then `serve()` ends."""
        self.server.should_exit = True

    async def stopped(self) -> None:
        """Wait until `serve()` has ended. uvicorn looks at `should_exit` only every 0.1 s, and
        takes requests until it does: one taken after the runtime drained would lose its reply."""
        await self._served.wait()

    def close(self) -> None:
        """Let go of the port of a server that never served (start-up failed after it)."""
        self.socket.close()


def listen(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket, or a `ConfigError` that says what to do about the port."""
    try:
        return socket.create_server((host, port), backlog=backlog)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} is already in use; stop the other process or set "
                              f"PORT to a free port") from None
        raise ConfigError(f"cannot listen on port {port} ({exc.strerror or exc}); set PORT to "
                          f"another port") from None
