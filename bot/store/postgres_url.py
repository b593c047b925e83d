"""libpq's URL parameters, as hosted PostgreSQL hands them out, made into asyncpg's.

SQLAlchemy passes each `?name=value` of a PostgreSQL URL to `asyncpg.connect()` as a keyword,
as text. asyncpg takes some of those (`ssl`, `target_session_attrs`), refuses libpq's names
for others (`sslmode`, `connect_timeout`, `application_name`) and has no counterpart at all
for a few (`channel_binding=require`), all only at the first connection, after start-up
looked fine. Here every parameter is sorted at start: renamed in the URL where asyncpg takes
the same text under another name, turned into typed `connect()` arguments where it takes a
number or a dict, dropped where it asks for nothing asyncpg would not do anyway, and otherwise
refused with a message naming it and what to do instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL

# What asyncpg.connect() (or SQLAlchemy, for `host` and `prepared_statement_cache_size`)
# takes as the text a URL carries.
AS_GIVEN = frozenset({"host", "port", "user", "password", "passfile", "service", "servicefile",
                      "target_session_attrs", "krbsrvname", "gsslib",
                      "prepared_statement_cache_size"})
RENAMED = {"sslmode": "ssl"}  # libpq's name: asyncpg's, for the same values
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# Seconds, which asyncpg wants as numbers: libpq's name (or asyncpg's own) -> asyncpg's.
SECONDS = {"connect_timeout": "timeout", "timeout": "timeout",
           "command_timeout": "command_timeout"}
# Sent to the server when connecting; asyncpg takes them in its `server_settings` dict.
SERVER_SETTINGS = frozenset({"application_name", "options"})
# libpq features asyncpg lacks: harmless unless required, so only "require" is refused.
UNLESS_REQUIRED = {
    "channel_binding": "asyncpg cannot do channel binding; remove channel_binding=require "
                       "(sslmode=require still encrypts the connection)",
    "gssencmode": "asyncpg cannot do GSSAPI encryption; remove gssencmode=require and use "
                  "sslmode=require for an encrypted connection",
}
# SSL files and limits asyncpg reads from libpq's environment variables, not from a URL.
FROM_ENVIRONMENT = {"sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                    "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL",
                    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
                    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION"}
REPEATABLE = frozenset({"host"})  # several hosts: SQLAlchemy's multi-host URL


class UnsupportedParameter(ValueError):
    """A URL parameter asyncpg cannot take; the message names it and what to do."""


def asyncpg_url(url: URL) -> URL:
    """The URL asyncpg will take: libpq's text parameters renamed, harmless ones dropped,
    the rest checked (`connect_arguments` turns them into arguments). Idempotent."""
    query: dict[str, str | tuple[str, ...]] = {}
    for name, value in url.query.items():
        if name in REPEATABLE:
            query[name] = value
        elif (kept := _kept(name, _single(name, value))) is None:
            continue
        elif name in RENAMED:  # asyncpg's own name, if given too, wins
            query.setdefault(RENAMED[name], kept)
        else:
            query[name] = kept
    if "fallback_application_name" in query:  # libpq's: used when no application_name is
        query.setdefault("application_name", query.pop("fallback_application_name"))
    checked = url.set(query=query)
    connect_arguments(checked)
    return checked


def connect_arguments(url: URL) -> tuple[URL, dict[str, Any]]:
    """For a URL from `asyncpg_url`: the URL left with what asyncpg takes as text, and the
    keyword arguments for `asyncpg.connect()` that the other parameters become."""
    query = dict(url.query)
    arguments: dict[str, Any] = {SECONDS[name]: _seconds(name, str(query.pop(name)))
                                 for name in list(query) if name in SECONDS}
    settings = {name: query.pop(name) for name in list(query) if name in SERVER_SETTINGS}
    if settings:
        arguments["server_settings"] = settings
    if query.pop("sslnegotiation", None) == "direct":
        arguments["direct_tls"] = True
    return url.set(query=query), arguments


def _kept(name: str, value: str) -> str | None:
    """The value to keep (under asyncpg's name), None to drop it, or a refusal."""
    if name in AS_GIVEN | SERVER_SETTINGS | SECONDS.keys() | {"fallback_application_name"}:
        return value
    if name in ("ssl", *RENAMED):
        return _choice(name, value, SSL_MODES)
    if name == "sslnegotiation":
        return _choice(name, value, ("postgres", "direct"))
    if name in UNLESS_REQUIRED:
        if value == "require":
            raise UnsupportedParameter(f"DATABASE_URL asks for {name}=require, but "
                                       f"{UNLESS_REQUIRED[name]}")
        return None
    if name in FROM_ENVIRONMENT:
        variable = FROM_ENVIRONMENT[name]
        raise UnsupportedParameter(f"DATABASE_URL's {name} is read by asyncpg, tabot's "
                                   f"PostgreSQL driver, only from the environment: remove it "
                                   f"from the URL and set {variable}={value} instead")
    # The value is not shown: it may be a secret (sslpassword).
    raise UnsupportedParameter(f"DATABASE_URL's {name} parameter is not a setting asyncpg, "
                               f"tabot's PostgreSQL driver, can take; remove it from the URL")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise UnsupportedParameter(f"DATABASE_URL's {name} must be one of "
                                   f"{', '.join(allowed)}, got {value!r}")
    return value


def _single(name: str, value: str | tuple[str, ...]) -> str:
    if isinstance(value, tuple):
        raise UnsupportedParameter(f"DATABASE_URL gives {name} more than once; keep one")
    return value


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise UnsupportedParameter(f"DATABASE_URL's {name} must be a number of seconds above "
                                   f"0, got {value!r}")
    return seconds
