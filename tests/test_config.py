import hashlib
import inspect
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import platformdirs
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot import config
from bot.config import ConfigError, async_database_url, default_database_url, load_settings
from bot.knowledge.base import SHIPPED_KNOWLEDGE
from bot.store import postgres_url
from bot.store.database import Database
from bot.store.postgres_url import connect_arguments
from tests import conftest
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
    ("sqlite:///", "names no SQLite file"),
    ("sqlite:///:memory:", "in-memory SQLite database, which would lose every question"),
    ("postgresql://", "names no database"),
    ("postgresql://postgres@127.0.0.1:notaport/test", "is the port a number"),
])
def test_a_database_url_that_would_lose_data_or_cannot_be_read_is_refused(
        url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"DATABASE_URL": url})


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:", "sqlite://tabot.db",
                                 "sqlite+aiosqlite://"])
def test_a_sqlite_url_without_a_file_path_asks_for_the_path(url: str) -> None:
    """`sqlite://` was called an unsupported database; what it lacks is the file."""
    with pytest.raises(ConfigError) as refused:
        load_settings({"DATABASE_URL": url})
    assert str(refused.value).startswith("DATABASE_URL names no SQLite file: put the file's "
                                         "path after sqlite:///, as in sqlite:///path/to/")


@pytest.mark.parametrize("query", ["check_same_thread=x", "timeout=abc", "timeout=3", "mode=ro",
                                   "uri=true&mode=ro"])
def test_sqlite_url_parameters_are_refused_at_start_saying_what_to_use(
        tmp_path: Path, query: str) -> None:
    """Python's sqlite3 failed on some with a traceback, ignored others (`?mode=ro`), and
    tabot's own busy timeout overrules `?timeout=`."""
    with pytest.raises(ConfigError) as refused:
        load_settings({"DATABASE_URL": f"sqlite:///{tmp_path}/tabot.db?{query}"})
    message = str(refused.value)
    assert message.startswith("DATABASE_URL: tabot takes no ?parameters on a SQLite URL (")
    assert message.endswith(f"remove them: DATABASE_URL=sqlite:///{tmp_path}/tabot.db")
    assert all(name in message for name, _ in (pair.split("=") for pair in query.split("&")))


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


# Every variable bot/config.py reads, found in its source so a new one is covered too.
VARIABLES = sorted(set(re.findall(r'"((?:TABOT_\w+)|PORT|DATABASE_URL)"',
                                  inspect.getsource(config))))


@pytest.mark.parametrize("blank", [" ", "\t", " \n "])
def test_a_blank_setting_is_the_same_as_an_unset_one(blank: str) -> None:
    """`TABOT_KB= ` in an env file meant a knowledge folder named " "."""
    assert len(VARIABLES) >= 19
    assert load_settings(dict.fromkeys(VARIABLES, blank)) == load_settings({})


def test_paths_in_settings_are_trimmed_and_expand_the_home_folder() -> None:
    settings = load_settings({"TABOT_KB": " ~/kb ", "TABOT_SPOOL_DIR": " ~/spool\n"})
    assert settings.knowledge_dir == Path.home() / "kb"
    assert settings.spool_directory == Path.home() / "spool"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of the test's own, with tabot started from another folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


async def test_a_sqlite_file_under_home_is_there_not_in_a_folder_named_tilde(
        home: Path, tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": "sqlite:///~/tabot.db"})
    assert settings.database_url == f"sqlite+aiosqlite:///{home / 'tabot.db'}"
    assert settings.spool_directory == home / "tabot.db.spool"
    db = Database(settings.database_url)
    try:
        await db.upgrade()
    finally:
        await db.close()
    assert (home / "tabot.db").is_file() and not (tmp_path / "~").exists()


def test_a_database_an_earlier_tabot_kept_in_a_folder_named_tilde_is_not_passed_over(
        home: Path, tmp_path: Path) -> None:
    (tmp_path / "~").mkdir()
    (tmp_path / "~" / "tabot.db").write_bytes(b"questions for staff")
    with pytest.raises(ConfigError) as refused:
        load_settings({"DATABASE_URL": "sqlite:///~/tabot.db"})
    assert str(refused.value) == (
        f"DATABASE_URL's ~ means {home}, but this database is in a folder named ~ here, "
        f"{tmp_path / '~' / 'tabot.db'}: move it and whatever beside it starts with tabot.db "
        f"to {home}, or set DATABASE_URL=sqlite:///{tmp_path / '~' / 'tabot.db'}")


HOSTED = "postgres://tabot:s3cret@db.example.org:5432/tabot"


@pytest.mark.parametrize(("query", "kept", "arguments"), [
    ("sslmode=require&channel_binding=prefer", "?ssl=require", {}),
    ("sslmode=verify-full&connect_timeout=10&application_name=tabot", "?ssl=verify-full",
     {"timeout": 10.0, "server_settings": {"application_name": "tabot"}}),
    ("options=-c%20search_path%3Dtabot&fallback_application_name=tabot", "",
     {"server_settings": {"options": "-c search_path=tabot", "application_name": "tabot"}}),
    ("sslmode=require&sslnegotiation=direct&gssencmode=disable", "?ssl=require",
     {"direct_tls": True}),
    ("target_session_attrs=read-write&ssl=prefer&sslmode=require",
     "?ssl=prefer&target_session_attrs=read-write", {}),
])
def test_libpqs_url_parameters_become_what_asyncpg_takes(
        query: str, kept: str, arguments: dict) -> None:
    url = load_settings({"DATABASE_URL": f"{HOSTED}?{query}"}).database_url
    target, got = connect_arguments(make_url(url))
    assert target.render_as_string(hide_password=False) == (
        "postgresql+asyncpg://tabot:s3cret@db.example.org:5432/tabot" + kept)
    assert got == arguments


def test_a_url_asyncpg_takes_as_it_is_is_kept_exactly_as_written() -> None:
    """Re-rendered, `!` became `%21` and the query was sorted: the digest naming the spool
    folder of tabot before this one would no longer find it."""
    url = "postgresql+asyncpg://tabot:p!ss@db/tabot?target_session_attrs=any&ssl=require"
    assert async_database_url(url) == url


def test_every_parameter_passed_on_is_one_asyncpg_connect_takes() -> None:
    """Against the installed asyncpg, so an upgrade that renames one fails here."""
    takes = set(inspect.signature(asyncpg.connect).parameters)
    sqlalchemy_own = {"prepared_statement_cache_size"}
    passed = (postgres_url.AS_GIVEN | set(postgres_url.RENAMED.values())
              | set(postgres_url.SECONDS.values()) | {"server_settings", "direct_tls"})
    assert passed - sqlalchemy_own <= takes


@pytest.mark.parametrize(("query", "message"), [
    ("sslmode=require&channel_binding=require",
     "DATABASE_URL asks for channel_binding=require, but asyncpg cannot do channel binding; "
     "remove channel_binding=require (sslmode=require still encrypts the connection)"),
    ("sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem",
     "DATABASE_URL's sslrootcert is read by asyncpg, tabot's PostgreSQL driver, only from the "
     "environment: remove it from the URL and set PGSSLROOTCERT=/etc/ssl/db-ca.pem instead"),
    ("keepalives=1", "DATABASE_URL's keepalives parameter is not a setting asyncpg, tabot's "
                     "PostgreSQL driver, can take; remove it from the URL"),
    ("sslpassword=k3y-s3cret", "DATABASE_URL's sslpassword parameter is not a setting"),
    ("sslmode=required", "DATABASE_URL's sslmode must be one of disable, allow, prefer, "
                         "require, verify-ca, verify-full, got 'required'"),
    ("connect_timeout=soon",
     "DATABASE_URL's connect_timeout must be a number of seconds above 0, got 'soon'"),
    ("sslmode=require&sslmode=disable", "DATABASE_URL gives sslmode more than once; keep one"),
])
def test_a_url_parameter_asyncpg_cannot_take_is_refused_at_start_saying_what_to_do(
        query: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"DATABASE_URL": f"{HOSTED}?{query}"})
    assert str(refused.value).startswith(message)
    assert "s3cret" not in str(refused.value)


async def test_a_hosted_url_with_libpq_parameters_really_connects_with_them() -> None:
    require_postgres()
    server = conftest.postgres_url()
    assert server is not None
    libpq = server.replace("postgresql+asyncpg://", "postgresql://") + (
        "?sslmode=disable&channel_binding=prefer&connect_timeout=5"
        "&application_name=tabot-test&options=-c%20statement_timeout%3D4321")
    db = Database(load_settings({"DATABASE_URL": libpq}).database_url)
    try:
        async with db.engine.connect() as connection:
            shown = [(await connection.execute(text(f"SHOW {name}"))).scalar()
                     for name in ("application_name", "statement_timeout")]
    finally:
        await db.close()
    assert shown == ["tabot-test", "4321ms"]


def spools() -> Path:
    return platformdirs.user_data_path("tabot") / "spool"


def test_a_postgres_spool_folder_is_named_without_the_password() -> None:
    """Rotating the password kept questions spooled under the old one unfiled; and the
    folder's name, a digest of the URL, let anyone who could list it test password guesses."""
    before, after = (load_settings({"DATABASE_URL": f"postgres://tabot:{password}@db/tabot"})
                     for password in ("old-s3cret", "new-s3cret"))
    assert before.spool_directory == after.spool_directory
    assert before.spool_directory.parent == spools()
    for elsewhere in ("postgres://tabot@db/tabot?password=s3cret", "postgres://tabot@db/tabot"):
        assert load_settings({"DATABASE_URL": elsewhere}).spool_directory == \
            before.spool_directory  # the password in the query, or in PGPASSWORD
    other = load_settings({"DATABASE_URL": "postgres://tabot:old-s3cret@db/other"})
    assert other.spool_directory != before.spool_directory


def test_a_postgres_spool_still_reads_the_folder_named_the_former_way() -> None:
    settings = load_settings({"DATABASE_URL": "postgres://tabot:s3cret@db/tabot"})
    former = hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]
    assert settings.former_spool_directories == (spools() / former,)
    assert load_settings({"TABOT_SPOOL_DIR": "/srv/spool"}).former_spool_directories == ()
    assert load_settings({"DATABASE_URL": "sqlite:///x.db"}).former_spool_directories == ()
