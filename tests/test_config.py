import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import ConfigError, async_database_url, default_database_url, load_settings
from bot.knowledge.base import SHIPPED_KNOWLEDGE
from tests.conftest import require_postgres


def test_defaults_use_the_shipped_knowledge_and_a_per_user_sqlite_file() -> None:
    settings = load_settings({})
    assert settings.knowledge_dir == SHIPPED_KNOWLEDGE
    assert settings.database_url == default_database_url()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("tabot.db")


def test_kb_flag_beats_environment(tmp_path: Path) -> None:
    settings = load_settings({"TABOT_KB": "/from/env"}, kb=str(tmp_path))
    assert settings.knowledge_dir == tmp_path
    assert load_settings({"TABOT_KB": "/from/env"}).knowledge_dir == Path("/from/env")


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
    ("sqlite:///tmp/x.db", "sqlite+aiosqlite:///tmp/x.db"),
    ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("postgres://u:p%40ss@h/db?sslmode=require", "postgresql+asyncpg://u:p%40ss@h/db?ssl=require"),
])
def test_database_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert async_database_url(given) == expected


async def test_a_hosted_url_with_libpqs_sslmode_connects() -> None:
    """Heroku, Render and others hand out ?sslmode=require; asyncpg refused the name."""
    require_postgres()
    raw = os.environ["TEST_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    engine = create_async_engine(async_database_url(raw + "?sslmode=disable"))
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


def test_an_unsupported_database_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"DATABASE_URL mysql:\.\.\. is not supported"):
        load_settings({"DATABASE_URL": "mysql://root@localhost/x"})


@pytest.mark.parametrize(("url", "message"), [
    ("sqlite:///", "names no database"),
    ("sqlite:///:memory:", "in-memory SQLite database, which would lose every question"),
    ("postgresql://", "names no database"),
    ("postgresql://postgres@127.0.0.1:notaport/test", "is the port a number"),
])
def test_a_database_url_that_would_lose_data_or_cannot_be_read_is_refused(
        url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"DATABASE_URL": url})


@pytest.mark.parametrize(("name", "value", "message"), [
    ("TABOT_ANSWER_CONFIDENCE", "abc", "must be a number, got 'abc'"),
    ("TABOT_MARGIN", "2", "must be between 0 and 1, got '2'"),
    ("TABOT_MAX_MESSAGE_CHARS", "5", "must be between 100 and 100000"),
    ("TABOT_MAX_MESSAGE_CHARS", "4000.5", "must be a whole number, got '4000.5'"),
    ("TABOT_REVIEW_MONTHS", "1.5", "must be a whole number, got '1.5'"),
])
def test_bad_numbers_are_refused_with_the_variable_name(name: str, value: str,
                                                        message: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} {message}"):
        load_settings({name: value})


def test_a_rate_limit_is_a_whole_number_of_messages() -> None:
    assert load_settings({"TABOT_RATE_LIMIT": "30"}).rate_limit_per_minute == 30
    assert load_settings({}).rate_limit_per_minute == 20
    with pytest.raises(ConfigError) as refused:
        load_settings({"TABOT_RATE_LIMIT": "2.5"})
    assert str(refused.value) == "TABOT_RATE_LIMIT must be a whole number, got '2.5'"


def test_thresholds_and_response_time_come_from_the_environment() -> None:
    settings = load_settings({"TABOT_ANSWER_CONFIDENCE": "0.7",
                              "TABOT_RESPONSE_TIME": "within two days"})
    assert settings.thresholds.confidence == 0.7
    assert settings.response_time == "within two days"


def test_staff_are_platform_user_pairs() -> None:
    settings = load_settings({"TABOT_STAFF": "slack:U01, telegram:42 ,cli:alice"})
    assert settings.staff == {"slack:U01", "telegram:42", "cli:alice"}
    with pytest.raises(ConfigError, match="TABOT_STAFF entries must look like platform:user_id"):
        load_settings({"TABOT_STAFF": "alice"})


def test_the_time_zone_is_an_iana_name_and_utc_by_default() -> None:
    assert load_settings({}).timezone == ZoneInfo("UTC")
    zone = load_settings({"TABOT_TIMEZONE": " America/New_York "}).timezone
    assert zone == ZoneInfo("America/New_York")


@pytest.mark.parametrize("value", ["Eastern", "America/Nowhere", "America", "../etc/passwd",
                                   "x" * 300])
def test_an_unknown_time_zone_names_the_variable_the_value_and_a_good_one(value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"TABOT_TIMEZONE": value})
    assert str(refused.value) == (f"TABOT_TIMEZONE must be a time zone name like "
                                  f"America/New_York, got {value!r}")
