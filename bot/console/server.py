"""`tabot console`: serve the console alone, on $PORT, with no chat platform.

For a coalition that runs the chat platforms in one process and wants the console in another
(or only the console, on a laptop, to work the queue). Answers typed here go to the outbox in
the database; the process serving the platform delivers them, as it does for the CLI.
Knowledge edits reload this process's knowledge base; another running process picks them up
on SIGHUP (see the README).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from sqlalchemy import text

from bot.app import (
    KnowledgeReloader,
    build_triage,
    event_loop_factory,
    load_knowledge,
    open_database,
)
from bot.config import Settings
from bot.console.app import console_mount
from bot.console.services import Services
from bot.console.settings import DEFAULT_PORT, ConsoleSettings
from bot.store.errors import STORAGE_ERRORS
from bot.web import OK, WebServer, build_app

log = logging.getLogger(__name__)


async def run_console(settings: Settings, console: ConsoleSettings,
                      stop: asyncio.Event | None = None,
                      started: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or `stop` is set)."""
    knowledge = load_knowledge(settings)
    stop = stop or asyncio.Event()
    async with open_database(settings) as db:
        svc = Services(db, knowledge, build_triage(db, settings, knowledge), settings, console)

        async def readiness() -> dict[str, str]:
            parts = {"database": OK, "knowledge": OK}
            try:
                async with db.session() as session:
                    await asyncio.wait_for(session.execute(text("SELECT 1")), 3)
            except (TimeoutError, *STORAGE_ERRORS) as exc:
                parts["database"] = f"not reachable ({type(exc).__name__})"
            if not knowledge.entries:
                parts["knowledge"] = "no entries loaded"
            return parts

        port = settings.port if settings.port is not None else DEFAULT_PORT
        web = WebServer(build_app([console_mount(svc)], readiness), port)
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(stop_signal, stop.set)
        if hasattr(signal, "SIGHUP"):  # the README's reload; by default it ends the process
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGHUP, KnowledgeReloader(knowledge))
        serving = asyncio.create_task(web.serve())
        await web.started()
        log.warning("console listening on port %s at %s/console", web.port, console.public_url)
        if started is not None:
            started.set()
        await asyncio.wait({serving, asyncio.create_task(stop.wait())},
                           return_when=asyncio.FIRST_COMPLETED)
        web.stop_accepting()
        await serving


def serve_console(settings: Settings, console: ConsoleSettings) -> None:
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(run_console(settings, console))
