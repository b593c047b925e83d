"""Settings from the environment, checked at start with messages that name the variable."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from sqlalchemy.engine import URL, make_url

from bot.knowledge.base import SHIPPED_KNOWLEDGE
from bot.knowledge.calibration import DEFAULT_MAX_WRONG
from bot.knowledge.confidence import Thresholds
from bot.store.postgres_url import UnsupportedParameter, asyncpg_url

UTC = ZoneInfo("UTC")


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message says which and what to do."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    knowledge_dir: Path
    thresholds: Thresholds = field(default_factory=Thresholds)
    max_wrong: float = DEFAULT_MAX_WRONG  # the share of wrong answers calibration aims at
    response_time: str = "within one business day"
    max_message_chars: int = 4000
    staff: frozenset[str] = frozenset()
    unclaimed_after_hours: float = 4.0
    answer_due_hours: float = 24.0
    rate_limit_per_minute: int = 20
    keep_interactions_days: float = 90.0
    keep_closed_days: float = 30.0
    review_months: int = 12
    port: int | None = None  # the web server's port; None: serve HTTP only if a route needs it
    poll_seconds: float = 1.0  # how often the outbox (and the spool) are checked
    spool_dir: Path | None = None  # questions for staff kept while the database is down
    timezone: ZoneInfo = UTC  # the coalition's: reports and the purge count its days, months

    @property
    def spool_directory(self) -> Path:
        """TABOT_SPOOL_DIR, or by default beside a SQLite file, or per database in the user's
        data directory: a spool is filed only into the database it was meant for. That
        folder is named by the URL without its password, so a new password finds the
        questions spooled under the old one, and no file name is derived from a password."""
        if self.spool_dir is not None:
            return self.spool_dir
        sqlite_file = self.database_url.removeprefix("sqlite+aiosqlite:///")
        if sqlite_file != self.database_url and sqlite_file:
            return Path(sqlite_file + ".spool")
        return _spool_folder(_without_password(self.database_url))

    @property
    def former_spool_directories(self) -> tuple[Path, ...]:
        """Where tabot used to spool for this database: in a folder named by the whole URL,
        password included. Questions left there are still filed (then the emptied folder
        is removed); one left under an earlier password cannot be told from another
        database's, so it stays where it is."""
        if self.spool_dir is not None or self.database_url.startswith("sqlite"):
            return ()
        former = _spool_folder(self.database_url)
        return () if former == self.spool_directory else (former,)


def _spool_folder(identity: str) -> Path:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return platformdirs.user_data_path("tabot") / "spool" / digest


def _without_password(url: str) -> str:
    """The URL as it names the database: no password, in its place or as `?password=`."""
    parsed = make_url(url)
    query = {name: value for name, value in parsed.query.items() if name != "password"}
    return URL.create(parsed.drivername, parsed.username, None, parsed.host, parsed.port,
                      parsed.database, query).render_as_string()


def default_database_url() -> str:
    path = platformdirs.user_data_path("tabot") / "tabot.db"
    return f"sqlite+aiosqlite:///{path}"


NO_SQLITE_FILE = ("DATABASE_URL names no SQLite file: put the file's path after sqlite:///, as "
                  "in sqlite:///path/to/tabot.db (sqlite:////srv/tabot.db for a full path)")


def async_database_url(url: str) -> str:
    """Accept the URL forms hosts hand out and pick the async driver for each."""
    for prefix, replacement in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return _checked_url(replacement + url.removeprefix(prefix))
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return _checked_url(url)
    if url.split(":", 1)[0] in ("sqlite", "sqlite+aiosqlite"):  # `sqlite:`, `sqlite:/x.db`
        raise ConfigError(NO_SQLITE_FILE)
    raise ConfigError(
        f"DATABASE_URL {url.split(':', 1)[0]}:... is not supported; use postgresql://user@host/db "
        "or sqlite:///path/to/file.db"
    )


def _checked_url(url: str) -> str:
    """Refuse what would start but lose data: no database named (PostgreSQL then picks one
    of its own), or SQLite in memory, whose questions for staff vanish at exit."""
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - parsing the port is what raises
    except ValueError:
        raise ConfigError("DATABASE_URL is not a valid URL (is the port a number?); use "
                          "postgresql://user:password@host:5432/db or "
                          "sqlite:///path/to/file.db") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(url, parsed)
    if not parsed.database:
        raise ConfigError("DATABASE_URL names no database: add its name, as in "
                          "postgresql://user@host/tabot")
    return _asyncpg(url, parsed)


def _sqlite(url: str, parsed: URL) -> str:
    """A SQLite URL is the path of a file, and nothing more. Its `?` parameters go to
    Python's sqlite3, which fails on one it cannot read (`?timeout=abc`) with a traceback,
    ignores others (`?mode=ro` without `uri=true`), or is overruled by tabot (`?timeout=`:
    tabot sets the busy timeout on every connection); none is worth a surprise."""
    if parsed.host or not parsed.database:  # `sqlite://`, `sqlite://tabot.db`
        raise ConfigError(NO_SQLITE_FILE)
    if parsed.database == ":memory:" or parsed.database.startswith("file::memory:"):
        raise ConfigError("DATABASE_URL is an in-memory SQLite database, which would lose every "
                          "question for staff when tabot stops; name a file, as in "
                          "sqlite:///path/to/tabot.db")
    if parsed.query:
        plain = parsed.set(drivername="sqlite", query={})
        raise ConfigError(f"DATABASE_URL: tabot takes no ?parameters on a SQLite URL "
                          f"({', '.join(sorted(parsed.query))}) and sets SQLite's options "
                          f"itself; remove them: DATABASE_URL={_rendered(plain)}")
    if parsed.database.startswith("~"):
        return _rendered(parsed.set(database=str(_home_path(parsed.database))))
    return url


def _rendered(parsed: URL) -> str:
    return parsed.render_as_string(hide_password=False)


def _asyncpg(url: str, parsed: URL) -> str:
    """Hosted PostgreSQL hands out URLs with libpq's parameters (`?sslmode=require`,
    `&channel_binding=require`), which asyncpg refuses only at the first connection: here
    each is translated, or refused with a message saying what to do. A URL needing no change
    is kept exactly as written: the former spool folder's name is a digest of it."""
    try:
        checked = asyncpg_url(parsed)
    except UnsupportedParameter as exc:
        raise ConfigError(str(exc)) from None
    return url if checked == parsed else _rendered(checked)


def _home_path(database: str) -> Path:
    """`sqlite:///~/tabot.db` means the home folder, as in a shell; SQLite itself would open
    a folder named `~` in whatever folder tabot was started from."""
    try:
        path = Path(database).expanduser()
    except RuntimeError:  # no home folder known, or no such user (~nobody)
        raise ConfigError(f"DATABASE_URL's {database.split('/', 1)[0]} is no home folder "
                          "tabot can find; give the full path, as in sqlite:////srv/tabot.db"
                          ) from None
    literal = Path(database)
    if literal.exists() and not path.exists():  # kept there by a tabot before this one
        raise ConfigError(f"DATABASE_URL's ~ means {path.parent}, but this database is in a "
                          f"folder named ~ here, {literal.resolve()}: move it and whatever "
                          f"beside it starts with {literal.name} to {path.parent}, or set "
                          f"DATABASE_URL=sqlite:///{literal.resolve()}")
    return path


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    value = _optional_number(env, name, low, high)
    return default if value is None else value


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """A count: `2.5` messages a minute is refused, not quietly read as 2."""
    value = _number(env, name, default, low, high)
    if value != int(value):
        raise ConfigError(f"{name} must be a whole number, got {env[name]!r}")
    return int(value)


def _optional_number(env: Mapping[str, str], name: str, low: float, high: float
                     ) -> float | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
    return value


def load_settings(env: Mapping[str, str] | None = None, kb: str | None = None) -> Settings:
    env = os.environ if env is None else env
    thresholds = Thresholds(  # unset: the knowledge base's calibrated lines
        confidence=_optional_number(env, "TABOT_ANSWER_CONFIDENCE", 0, 1),
        margin=_number(env, "TABOT_MARGIN", Thresholds().margin, 0, 1),
        suggest=_optional_number(env, "TABOT_SUGGEST_THRESHOLD", 0, 1),
    )
    raw_url = _text(env, "DATABASE_URL")
    return Settings(
        database_url=async_database_url(raw_url) if raw_url else default_database_url(),
        knowledge_dir=Path(kb or _text(env, "TABOT_KB") or SHIPPED_KNOWLEDGE).expanduser(),
        thresholds=thresholds,
        max_wrong=_number(env, "TABOT_MAX_WRONG", DEFAULT_MAX_WRONG, 0.001, 0.5),
        response_time=_text(env, "TABOT_RESPONSE_TIME") or "within one business day",
        max_message_chars=_whole(env, "TABOT_MAX_MESSAGE_CHARS", 4000, 100, 100_000),
        staff=_staff(env.get("TABOT_STAFF", "")),
        unclaimed_after_hours=_number(env, "TABOT_UNCLAIMED_AFTER_HOURS", 4, 0.01, 24 * 30),
        answer_due_hours=_number(env, "TABOT_ANSWER_DUE_HOURS", 24, 0.01, 24 * 60),
        rate_limit_per_minute=_whole(env, "TABOT_RATE_LIMIT", 20, 1, 10_000),
        keep_interactions_days=_number(env, "TABOT_KEEP_INTERACTIONS_DAYS", 90, 1, 3650),
        keep_closed_days=_number(env, "TABOT_KEEP_CLOSED_DAYS", 30, 1, 3650),
        review_months=_whole(env, "TABOT_REVIEW_MONTHS", 12, 1, 120),
        port=_port(env.get("PORT", "")),
        poll_seconds=_number(env, "TABOT_POLL_SECONDS", 1, 0.05, 3600),
        spool_dir=Path(spool).expanduser() if (spool := _text(env, "TABOT_SPOOL_DIR")) else None,
        timezone=timezone_setting(env.get("TABOT_TIMEZONE", "")),
    )


def _text(env: Mapping[str, str], name: str) -> str:
    """A setting's text, with blank (`NAME= ` in an env file) the same as unset."""
    return env.get(name, "").strip()


def timezone_setting(raw: str) -> ZoneInfo:
    """An IANA name: a coalition counts a question asked at 9 pm on May 31 in May."""
    name = raw.strip()
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, a name too long
        raise ConfigError(f"TABOT_TIMEZONE must be a time zone name like America/New_York, "
                          f"got {name!r}") from None


def _port(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise ConfigError(f"PORT must be a port number (0-65535), got {raw!r}")
    return int(raw)


def _staff(raw: str) -> frozenset[str]:
    """`slack:U0123,telegram:42,cli:alice`: staff are configured, never inferred."""
    ids = [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]
    bad = [item for item in ids if ":" not in item or item.startswith(":") or item.endswith(":")]
    if bad:
        raise ConfigError(f"TABOT_STAFF entries must look like platform:user_id "
                          f"(e.g. slack:U0123,cli:alice); fix {', '.join(map(repr, bad))}")
    return frozenset(ids)
