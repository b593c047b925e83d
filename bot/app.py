"""The runtime: the one owner of a tabot process.

It opens and upgrades the database once, loads the knowledge base, builds the core, starts the
configured adapters, and runs one outbox dispatcher, one scheduler and (when some route needs
it) one web server, whatever the number of adapters. On SIGTERM or SIGINT it stops taking new
events, finishes the work in flight (for at most `DRAIN_SECONDS`), sends what the outbox holds,
and closes everything in the reverse order. Modelled on python-telegram-bot's `Application`:
`initialize()`, `run()`, `shutdown()`, or `async with Runtime(...)`.

Adapters are found by name (`adapters.<name>`, which exports an `ADAPTER` named `<name>`), so
nothing in `bot/` imports one; what the runtime needs of them is the `PlatformAdapter` protocol
below.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import importlib
import logging
import os
import pkgutil
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, Self

from sqlalchemy import text
from starlette.routing import BaseRoute

from bot.chat.conversation import Conversation
from bot.chat.messages import Delivery
from bot.config import ConfigError, Settings
from bot.console.app import console_mount
from bot.console.services import Services as ConsoleServices
from bot.console.settings import DEFAULT_PORT, load_console_settings
from bot.core import Core
from bot.delivery import Dispatcher
from bot.insights.review import post_review_if_due
from bot.knowledge.base import KnowledgeBase, KnowledgeError
from bot.knowledge.problems import Severity
from bot.scheduler import Scheduler
from bot.store.database import Database
from bot.store.errors import STORAGE_ERRORS
from bot.store.retention import PurgeRaced, purge
from bot.triage.spool import file_spooled
from bot.triage.workflow import Triage
from bot.web import OK, WebServer, build_app

log = logging.getLogger(__name__)
DRAIN_SECONDS = 10.0
TERMINAL = "cli"  # the platform of staff at a terminal: `tabot escalations` acts as cli:<login>
SYSTEM_ACTOR = "tabot:schedule"


class PlatformAdapter(Protocol):
    """What the runtime needs of an adapter (adapters/base.py implements it)."""

    name: str
    staff_notices: bool
    user_id_form: re.Pattern[str]
    user_id_hint: str

    @classmethod
    def configured(cls, env: Mapping[str, str]) -> bool: ...

    @classmethod
    def from_env(cls, core: Core, env: Mapping[str, str]) -> Self: ...

    def routes(self) -> list[BaseRoute]: ...

    async def start(self) -> None: ...

    async def run(self) -> None: ...

    async def stop(self) -> None: ...

    async def close(self) -> None: ...

    async def deliver(self, delivery: Delivery) -> None: ...

    def delivery_user(self) -> str | None: ...


@dataclass(frozen=True)
class Schedule:
    """How often periodic work runs, in seconds."""

    deliveries: float = 2.0
    sweep: float = 60.0
    daily: float = 24 * 3600.0


def load_adapter(name: str) -> type[PlatformAdapter]:
    """`adapters.<name>`: adding a platform is adding one module there."""
    adapter = _adapter_in(name) if name.isidentifier() else None
    if adapter is None:
        raise ConfigError(f"there is no adapter named {name!r}; the adapters are "
                          f"{', '.join(name for name, _ in _adapters())}")
    return adapter


def _adapter_in(module_name: str) -> type[PlatformAdapter] | None:
    """The adapter `adapters.<module_name>` defines, or None. An adapter is an `ADAPTER`
    whose `name` is its module's, as staff identities (`slack:U1`) and notices rely on:
    `base` and `http` are helpers with none, and `testing`'s queue adapter (named "test")
    is a double for the tests, which would wait on a queue nobody fills."""
    try:
        module = importlib.import_module(f"adapters.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"adapters.{module_name}":
            raise
        return None
    adapter = getattr(module, "ADAPTER", None)
    return adapter if getattr(adapter, "name", None) == module_name else None


def _adapters() -> Iterator[tuple[str, type[PlatformAdapter]]]:
    """Every module in adapters/ that defines an adapter, by module name."""
    for module in sorted(pkgutil.iter_modules(importlib.import_module("adapters").__path__)):
        adapter = _adapter_in(module.name)
        if adapter is not None:
            yield module.name, adapter


def configured_platforms(env: Mapping[str, str]) -> list[str]:
    """Every module in adapters/ whose adapter finds its settings (a token) in `env`: what
    `tabot run` serves when no adapter is named."""
    return sorted(name for name, adapter in _adapters() if adapter.configured(env))


def known_platforms() -> set[str]:
    """What a staff identity can start with: each adapter's name, and the terminal's."""
    return {TERMINAL, *(adapter.name for _, adapter in _adapters())}


def check_staff(staff: frozenset[str]) -> None:
    """Refuse a TABOT_STAFF entry on a platform tabot does not know (`slak:U1`): nobody ever
    acts as it, so that person would silently never be staff."""
    if all(item.startswith(f"{TERMINAL}:") for item in staff):
        return  # no need to import every adapter to know the terminal
    adapters = {adapter.name: adapter for _, adapter in _adapters()}
    known = {TERMINAL, *adapters}
    unknown = sorted(item for item in staff if item.split(":", 1)[0] not in known)
    if unknown:
        raise ConfigError(f"TABOT_STAFF entries must start with a platform tabot knows "
                          f"({', '.join(sorted(known))}); fix {', '.join(map(repr, unknown))}")
    for item in sorted(staff):
        platform, user_id = item.split(":", 1)
        adapter = adapters.get(platform)
        if adapter is not None and not adapter.user_id_form.fullmatch(user_id):
            raise ConfigError(f"TABOT_STAFF entry {item!r}: after '{platform}:' put "
                              f"{adapter.user_id_hint}")


def notice_platforms(settings: Settings) -> tuple[str, ...]:
    """Platforms where some staff member works and whose adapter pushes notices to staff.

    Staff elsewhere (at a terminal, say) read the queue instead."""
    platforms = {item.split(":", 1)[0] for item in settings.staff}
    pushing = []
    for platform in sorted(platforms):
        with contextlib.suppress(ConfigError):
            if load_adapter(platform).staff_notices:
                pushing.append(platform)
    return tuple(pushing)


def load_knowledge(settings: Settings, quiet: bool = False) -> KnowledgeBase:
    kb = KnowledgeBase.load(settings.knowledge_dir, settings.max_wrong)
    if not quiet:
        for problem in kb.problems:
            if problem.severity is Severity.ERROR:
                print(f"knowledge: {problem} (skipped)", file=sys.stderr)
    return kb


@contextlib.asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """The database, upgraded to the latest migration, closed on the way out."""
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        yield db
    finally:
        await db.close()


def build_triage(db: Database, settings: Settings,
                 knowledge: KnowledgeBase | None = None) -> Triage:
    """`knowledge` lets staff answer by naming an entry (`/entry TA-0042 ENTRY-ID`)."""
    return Triage.from_settings(db, settings, notice_platforms(settings), knowledge)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (not on Windows): with it, benchmarks/bench_handle.py
    measured about a tenth more messages a second on SQLite (fewer costly thread wake-ups) and
    no clear difference on PostgreSQL. None means asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def serve(settings: Settings, adapters: Sequence[str]) -> None:
    """Run a runtime in this process until it is stopped: `tabot run` and `tabot chat`."""

    async def main() -> None:
        async with Runtime(settings, adapters) as runtime:
            await runtime.run()

    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(main())


def _freeze_long_lived_objects() -> None:
    """Keep the knowledge base's index (some 100,000 objects) out of garbage collection.

    Otherwise every full collection walks it, and each such pause (about 60 ms, measured by
    benchmarks/bench_handle.py --freeze-gc) lands on some asker's message."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class KnowledgeReloader:
    """What SIGHUP does (`kill -HUP <pid>`): re-read the knowledge base without a restart,
    in a worker thread, one reload at a time. Reading, encoding and calibrating take seconds;
    done in the signal handler they stalled every asker for that long (and Slack, which
    retries an event not acknowledged in 3 s)."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge
        self.task: asyncio.Task[None] | None = None

    def __call__(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.reload())

    async def reload(self) -> None:
        try:
            problems = await asyncio.to_thread(self.knowledge.reload)
        except (KnowledgeError, OSError) as exc:  # the folder moved away: keep what is served
            print(f"knowledge: not reloaded: {exc}", file=sys.stderr)
            return
        errors = [p for p in problems if p.severity is Severity.ERROR]
        for problem in errors:
            print(f"knowledge: {problem} (kept the last good version)", file=sys.stderr)
        log.warning("knowledge reloaded: %d entries, %d errors", len(self.knowledge.entries),
                    len(errors))
        _freeze_long_lived_objects()


class Runtime:
    def __init__(self, settings: Settings, adapters: Sequence[str],
                 env: Mapping[str, str] | None = None, schedule: Schedule | None = None,
                 handle_signals: bool = True, knowledge: KnowledgeBase | None = None) -> None:
        """`knowledge`, if given, is used instead of loading `settings.knowledge_dir` (tests
        share one loaded knowledge base)."""
        self.settings = settings
        self.adapter_names = list(adapters)
        self.env = os.environ if env is None else env
        self.schedule = schedule or Schedule(deliveries=settings.poll_seconds)
        self.handle_signals = handle_signals
        self.scheduler = Scheduler()
        self.adapters: list[PlatformAdapter] = []
        self.web: WebServer | None = None
        self.knowledge = knowledge
        self.ready = asyncio.Event()  # set once every adapter takes events
        self._started: list[PlatformAdapter] = []  # in the order they came up
        self._failed: BaseException | None = None  # an adapter's start that failed for good
        self._stopping = asyncio.Event()
        self._exit = contextlib.AsyncExitStack()

    # --- lifecycle ------------------------------------------------------------------------

    async def initialize(self) -> None:
        """Everything that can fail on bad settings fails here, before any event is taken."""
        check_staff(self.settings.staff)
        classes = [load_adapter(name) for name in self.adapter_names]
        if self.knowledge is None:
            self.knowledge = load_knowledge(self.settings)
        self.knowledge.require_crisis()
        self.reloader = KnowledgeReloader(self.knowledge)
        self.db = await self._exit.enter_async_context(open_database(self.settings))
        self.triage = build_triage(self.db, self.settings, self.knowledge)
        conversation = Conversation(self.knowledge, self.db, self.settings, self.triage)
        self.spool = conversation.spool
        try:
            self.spool.check_writable()
        except OSError as exc:
            raise ConfigError(
                f"the spool folder {self.spool.directory} cannot be written "
                f"({exc.strerror or type(exc).__name__}): questions for staff are kept there "
                "while the database is down; set TABOT_SPOOL_DIR to a writable folder") from None
        self.core = Core(conversation, self.triage, self.db, self.knowledge)
        self.adapters = [cls.from_env(self.core, self.env) for cls in classes]
        self.dispatcher = Dispatcher(self.db, [],  # each adapter joins once it has started
                                     notify=self.triage.platforms)
        self.scheduler.every(self.schedule.deliveries, "spool", self.file_spooled)
        self.scheduler.every(self.schedule.deliveries, "deliveries",
                             self.dispatcher.deliver_pending)
        self.scheduler.every(self.schedule.sweep, "sweep", self.triage.sweep)
        self.scheduler.every(self.schedule.daily, "daily", self.daily)
        routes = [route for adapter in self.adapters for route in adapter.routes()]
        if routes or self.settings.port is not None:
            port = self.settings.port if self.settings.port is not None else DEFAULT_PORT
            routes.append(console_mount(ConsoleServices(  # the staff console, at /console
                self.db, self.knowledge, self.triage, self.settings,
                load_console_settings(self.env, port))))
            self.web = WebServer(build_app(routes, self.readiness), port)
            self._exit.callback(self.web.close)  # served or not, the port is let go
        _freeze_long_lived_objects()

    async def run(self) -> None:
        """Serve until stopped (a signal, `stop()`, or an adapter that finishes, like the
        terminal at end of input), then wind down.

        The web server and the scheduler come up first, and each platform on its own: a
        platform that cannot be reached at start (its adapter retries) holds back neither the
        others nor the console and health checks, nor a host that wants its port bound soon
        after start (Heroku gives 60 s)."""
        self._install_signals()
        async with asyncio.TaskGroup() as tasks:
            if self.web is not None:
                tasks.create_task(self.web.serve())
                await self.web.started()
                log.warning("listening on port %s", self.web.port)
            tasks.create_task(self.scheduler.run(self._stopping))
            serving = [tasks.create_task(self._serve(adapter)) for adapter in self.adapters]
            if not self.adapters:
                self.ready.set()
            await self._stopping.wait()
            await self._wind_down()
            for each in serving:
                each.cancel()  # an adapter loop still waiting for input (a terminal's read)
        if self._failed is not None:
            raise self._failed  # a rejected token: its own clear error, not a task group's

    async def _serve(self, adapter: PlatformAdapter) -> None:
        try:
            if not await self._start_unless_stopped(adapter):
                return
        except Exception as exc:  # a start that failed for good: stop, then say why
            self._failed = self._failed or exc
            self.stop()
            return
        self._started.append(adapter)
        self.dispatcher.deliverers.append(adapter)
        if len(self._started) == len(self.adapters):
            self.ready.set()
        await self._until_done(adapter)

    def stop(self) -> None:
        self._stopping.set()

    async def _start_unless_stopped(self, adapter: PlatformAdapter) -> bool:
        """Start an adapter, which retries for as long as its platform can't be reached; a
        stop (SIGTERM from the host, Ctrl-C) meanwhile ends the wait instead of being ignored.
        False when stopped first."""
        starting = asyncio.create_task(adapter.start())
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if starting.done():
            starting.result()  # a start that failed (a rejected token) raises its error
            self._exit.push_async_callback(adapter.close)
            return True
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        with contextlib.suppress(Exception):  # half started: release what it holds
            await adapter.close()
        log.warning("stopped while %s was still connecting", adapter.name)
        return False

    async def shutdown(self) -> None:
        """Close adapters, then the database: the reverse of the order they were opened in."""
        await self._exit.aclose()

    async def __aenter__(self) -> Self:
        try:
            await self.initialize()
        except BaseException:
            await self.shutdown()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()

    async def _until_done(self, adapter: PlatformAdapter) -> None:
        await adapter.run()
        self.stop()

    async def _wind_down(self) -> None:
        """Stop taking events (the port closed, every adapter stopped), then finish what was
        taken and send what the outbox holds."""
        if self.web is not None:
            self.web.stop_accepting()
            await self.web.stopped()
        for adapter in reversed(self._started):
            await adapter.stop()
        if not await self.core.drain(DRAIN_SECONDS):
            log.warning("stopped with work still in flight after %.0f s", DRAIN_SECONDS)
        try:
            await asyncio.wait_for(self.dispatcher.deliver_pending(), DRAIN_SECONDS)
        except (TimeoutError, *STORAGE_ERRORS):
            log.warning("some deliveries wait in the outbox for the next start")

    def _install_signals(self) -> None:
        if not self.handle_signals:
            return
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_signal, self.stop)
        if hasattr(signal, "SIGHUP"):
            loop.add_signal_handler(signal.SIGHUP, self.reloader)

    # --- periodic work and health ---------------------------------------------------------

    async def file_spooled(self) -> None:
        """File the questions for staff saved while the database was down, once it is back."""
        filed = await file_spooled(self.db, self.spool, self.triage.platforms,
                                   self.settings.response_time)
        if filed:
            log.warning("%d question(s) saved during a database outage filed for staff", filed)

    async def daily(self) -> None:
        """Purge what is past its keeping time; post the review list if a month has passed."""
        with contextlib.suppress(PurgeRaced):
            await purge(self.db, dt.timedelta(days=self.settings.keep_interactions_days),
                        dt.timedelta(days=self.settings.keep_closed_days), SYSTEM_ACTOR,
                        zone=self.settings.timezone)
        await post_review_if_due(self.db, self.knowledge, self.triage.platforms,
                                 self.settings.review_months, dt.datetime.now(dt.UTC))


    async def readiness(self) -> dict[str, str]:
        """Which part, if any, keeps this process from serving: for `/readyz`."""
        parts = {"database": OK, "knowledge": OK}
        try:
            async with self.db.session() as session:
                await asyncio.wait_for(session.execute(text("SELECT 1")), 3)
        except (TimeoutError, *STORAGE_ERRORS) as exc:
            parts["database"] = f"not reachable ({type(exc).__name__})"
        if not self.knowledge.entries:
            parts["knowledge"] = "no entries loaded"
        return parts
