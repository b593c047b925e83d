"""The console's settings: the public address and the coalition's time zone."""

from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError
from bot.console.settings import load_console_settings


def test_the_console_reads_the_same_time_zone_as_the_reports() -> None:
    settings = load_console_settings({"TABOT_TIMEZONE": " America/New_York "})
    assert settings.timezone == ZoneInfo("America/New_York")
    assert load_console_settings({}).timezone == ZoneInfo("UTC")


@pytest.mark.parametrize("zone", ["Eastern", "America", "Mars/Olympus_Mons"])
def test_a_zone_that_is_not_one_is_a_clear_error(zone: str) -> None:
    with pytest.raises(ConfigError, match=f"TABOT_TIMEZONE must be a time zone name.*{zone}"):
        load_console_settings({"TABOT_TIMEZONE": zone})


def test_the_public_address_must_be_a_web_address() -> None:
    with pytest.raises(ConfigError, match="TABOT_PUBLIC_URL must be the address"):
        load_console_settings({"TABOT_PUBLIC_URL": "tabot.example.org"})
    assert load_console_settings({}, port=8080).public_url == "http://localhost:8080"


@pytest.mark.parametrize("url", ["http://exa mple.org", "http://:80", "http://@",
                                 "https://tabot.example.org:port", "https://tabot.example.org?x=1"])
def test_an_address_a_link_could_not_carry_is_refused_at_start(url: str) -> None:
    """A sign-in link built on it would be broken, and staff would find out only when one
    failed to open."""
    with pytest.raises(ConfigError, match="TABOT_PUBLIC_URL must be the address"):
        load_console_settings({"TABOT_PUBLIC_URL": url})
    assert load_console_settings(
        {"TABOT_PUBLIC_URL": "https://tabot.example.org:8443/"}).public_url == (
        "https://tabot.example.org:8443")
