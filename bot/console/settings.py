"""The console's own settings, read from the environment with messages naming the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.config import ConfigError, timezone_setting

DEFAULT_PORT = 3000


@dataclass(frozen=True)
class ConsoleSettings:
    """`public_url` is where staff reach tabot (TABOT_PUBLIC_URL), used in the sign-in links
    it sends; `secure` says whether cookies are marked Secure (they are over HTTPS)."""

    public_url: str
    timezone: ZoneInfo
    telegram_bot: str = ""  # TELEGRAM_BOT_USERNAME, for invite links; "" when not set

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")


def load_console_settings(env: Mapping[str, str] | None = None,
                          port: int | None = None) -> ConsoleSettings:
    env = os.environ if env is None else env
    raw = env.get("TABOT_PUBLIC_URL", "").strip().rstrip("/") or localhost_url(port)
    if not _web_address(raw):
        raise ConfigError(f"TABOT_PUBLIC_URL must be the address staff open tabot at, like "
                          f"https://tabot.example.org, got {raw!r}")
    timezone = timezone_setting(env.get("TABOT_TIMEZONE", ""))
    bot = env.get("TELEGRAM_BOT_USERNAME", "").strip().lstrip("@")
    return ConsoleSettings(raw, timezone, bot)


def _web_address(raw: str) -> bool:
    """http(s), a host, a port that is a number, and nothing a link could not carry (spaces,
    a query or fragment that the sign-in path would be appended after)."""
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 - reading the port is what checks it
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and not any(ch.isspace() for ch in raw) and not parts.query and not parts.fragment)


def localhost_url(port: int | None) -> str:
    """Where links point without TABOT_PUBLIC_URL: right only for someone at this machine."""
    return f"http://localhost:{port if port else DEFAULT_PORT}"


def links_point_at_localhost(env: Mapping[str, str]) -> bool:
    return not env.get("TABOT_PUBLIC_URL", "").strip()
