"""The `tabot` command run as a user runs it: a real subprocess."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import cli
from bot.config import load_settings
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.learning import Confirmation, record_confirmed
from bot.store.database import Database
from bot.store.tables import Interaction
from tests.conftest import DATA, REPO, entry, write_text, write_yaml

SUBPOENA = "what do we do if we get a subpoena for a survivor's records"


def tabot(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, text=True,
                          capture_output=True, env=full_env, cwd=REPO, timeout=timeout)


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def test_ask_json_reports_outcome_entry_score_and_suggestions() -> None:
    result = tabot("ask", SUBPOENA, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["outcome"] == "answer" and data["entry_id"] == "subpoena-for-records"
    assert 0 < data["score"] <= 1 and data["suggestions"] == []


def test_ask_shows_what_chat_would_do_for_someone_in_danger() -> None:
    result = tabot("ask", "hes outside rn banging on the door im so scared")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("This reads as someone in danger")
    assert "1-800-799-7233" in result.stdout
    data = json.loads(tabot("ask", "he has a gun and he is outside my house", "--json").stdout)
    assert data["crisis"] is True and data["hotlines_added"] is True
    assert json.loads(tabot("ask", SUBPOENA, "--json").stdout)["crisis"] is False


@pytest.mark.parametrize("question", ["", "  ", "?!"])
def test_ask_without_words_says_to_give_a_question(question: str) -> None:
    result = tabot("ask", question)
    assert result.returncode != 0 and "give a question with words" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_ask_json_for_an_unrelated_question_names_no_entry() -> None:
    data = json.loads(tabot("ask", "best", "pizza", "toppings", "--json").stdout)
    assert data["outcome"] == "off-topic" and data["entry_id"] is None


def test_ask_explain_shows_scores_matched_words_and_margin() -> None:
    out = tabot("ask", SUBPOENA, "--explain").stdout
    assert "margin over runner-up" in out and "subpoena-for-records" in out
    assert "matched words" in out and "subpoena" in out


def test_ask_has_no_side_effects(tmp_path: Path) -> None:
    database = tmp_path / "untouched.db"
    tabot("ask", "totally unrelated gardening question", env={
        "DATABASE_URL": f"sqlite:///{database}"})
    assert not database.exists()


def test_eval_json_has_every_figure() -> None:
    result = tabot("eval", "--questions", str(DATA / "questions.jsonl"), "--json")
    data = json.loads(result.stdout)
    assert {"in_scope_accuracy", "oos_recall", "wrong_answer_rate", "p50_ms", "p99_ms", "n",
            "resolved", "suggest_rate"} <= set(data)
    assert data["n"] >= 200


def test_eval_names_the_line_of_a_bad_question_file(tmp_path: Path) -> None:
    bad = write_text(tmp_path / "q.jsonl", '{"text": "ok", "expect": null}\nnot json\n')
    result = tabot("eval", "--questions", str(bad))
    assert result.returncode == 2 and "q.jsonl:2" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def curfew_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    write_yaml(kb / "shelter-curfew.yaml", entry("shelter-curfew", ["can we have a curfew"]))
    write_yaml(kb / "shelter-pets.yaml", entry("shelter-pets", ["can residents bring a dog"]))
    return kb


@pytest.mark.parametrize(("content", "said"), [
    ('{"text": "curfew?", "expect": "shelter-curfew"}\n{"text": "r\u00e9sident", '
     '"expect": null}\n'.encode("latin-1"), "q.jsonl:2: not valid UTF-8 (byte 0xe9)"),
    (b'{"text": "curfew?", "expect": "shelter-curfw"}\n',
     "q.jsonl:1: 'shelter-curfw' (did you mean 'shelter-curfew'?)"),
    (b'{"text": "curfew?", "expect": ["shelter-curfew", "shelter-pets"]}\n',
     'q.jsonl:1: "expect" is one entry id (a string) or null, not a list'),
])
def test_eval_refuses_a_file_it_would_misread_naming_the_line(
        curfew_kb: Path, tmp_path: Path, content: bytes, said: str) -> None:
    """A file not in UTF-8 ended in a traceback; a mistyped or listed label was scored as a
    wrong answer without a word."""
    questions = tmp_path / "q.jsonl"
    questions.write_bytes(content)
    result = tabot("eval", "--kb", str(curfew_kb), "--questions", str(questions))
    assert result.returncode == 2 and said in result.stderr, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_eval_counts_labels_of_an_entry_whose_file_failed_and_says_so(
        curfew_kb: Path, tmp_path: Path) -> None:
    write_text(curfew_kb / "shelter-pets.yaml", "id: shelter-pets\ntitle: [\n")
    questions = write_text(tmp_path / "q.jsonl", '{"text": "curfew?", "expect": '
                           '"shelter-curfew"}\n{"text": "dogs?", "expect": "shelter-pets"}\n')
    result = tabot("eval", "--kb", str(curfew_kb), "--questions", str(questions), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n"] == 2
    assert f"knowledge: {curfew_kb / 'shelter-pets.yaml'}:" in result.stderr
    assert (f"tabot: {questions}: 1 question(s) expect 'shelter-pets', whose file did not load"
            in result.stderr)


def test_lint_passes_on_the_shipped_knowledge() -> None:
    result = tabot("kb", "lint")
    assert result.returncode == 0, result.stdout
    assert " 0 errors" in result.stdout


def test_lint_reports_each_problem_with_file_and_line_and_fails(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_yaml(kb / "a.yaml", entry("curfew", ["can we have a curfew", "curfew rules"]))
    write_yaml(kb / "b.yaml", entry("curfew", ["curfew rules"], reviewed="2020-01-01"))
    write_text(kb / "c.yaml", "id: broken\n  title: [\n")
    result = tabot("kb", "lint", "--kb", str(kb))
    assert result.returncode == 1
    out = result.stdout
    assert f"{kb / 'b.yaml'}:1: error: duplicate id 'curfew'" in out
    assert f"{kb / 'c.yaml'}:2: error: YAML syntax error" in out
    assert "errors" in out.splitlines()[-1]


def test_lint_flags_shared_phrasings_and_stale_reviews(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_yaml(kb / "a.yaml", entry("pets", ["can residents bring pets", "dog in shelter"],
                                    reviewed="2020-01-01"))
    write_yaml(kb / "b.yaml", entry("service-animals", ["service animal rules",
                                                        "Dog in shelter?"]))
    out = tabot("kb", "lint", "--kb", str(kb)).stdout
    assert "is also a phrasing of 'pets'" in out
    assert "warning: 'pets' was last reviewed 2020-01-01, over a year ago" in out


def test_an_unreachable_database_is_a_clear_error_naming_database_url() -> None:
    result = tabot("db", "upgrade",
                   env={"DATABASE_URL": "postgresql://postgres:secret@127.0.0.1:9/none"})
    assert result.returncode == 2
    assert "DATABASE_URL=postgresql+asyncpg://postgres:***@127.0.0.1:9/none" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_a_bad_setting_names_the_variable() -> None:
    result = tabot("ask", "x", env={"TABOT_ANSWER_CONFIDENCE": "high"})
    assert result.returncode == 2
    assert "TABOT_ANSWER_CONFIDENCE must be a number, got 'high'" in result.stderr


def test_ask_names_the_knowledge_files_it_skipped_on_stderr(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_yaml(kb / "a.yaml", entry("curfew", ["can we have a curfew", "curfew rules"]))
    write_text(kb / "c.yaml", "id: broken\n  title: [\n")
    as_json = tabot("ask", "curfew rules", "--kb", str(kb), "--json")
    assert json.loads(as_json.stdout)["entry_id"] == "curfew"  # stdout stays one JSON object
    for result in (as_json, tabot("ask", "curfew rules", "--kb", str(kb))):
        assert result.returncode == 0, result.stderr
        assert f"knowledge: {kb / 'c.yaml'}:2: error: YAML syntax error" in result.stderr
        assert "(skipped)" in result.stderr and "Traceback" not in result.stderr


def test_staff_on_a_platform_tabot_does_not_know_is_refused_in_one_line(
        db_env: dict[str, str]) -> None:
    for command in (["escalations", "list"], ["members", "list"], ["chat"]):
        result = tabot(*command, env={**db_env, "TABOT_STAFF": "slak:U1,cli:x"}, stdin="quit\n")
        assert result.returncode == 2, result.stdout + result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith("tabot: TABOT_STAFF entries must start with a platform tabot "
                               "knows (") and line.endswith("); fix 'slak:U1'")
        assert all(name in line for name in ("cli", "console", "slack", "telegram"))


def test_a_missing_knowledge_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = tabot("ask", "x", "--kb", str(tmp_path / "nope"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_chat_with_piped_input_answers_and_escalates(db_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    to_staff = "/staff how do we reconcile our general ledger for the audit"
    script = f"hi\n{SUBPOENA}\nyes\n{to_staff}\nstatus\nquit\n"
    result = tabot("chat", env=db_env, stdin=script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "cli.db") in out.splitlines()[1]
    assert "== Responding to a subpoena" in out
    assert "Thanks, glad it helped." in out
    assert "Your reference is TA-0002" in out
    assert "TA-0002  open" in out and out.rstrip().endswith("Goodbye.")


def test_chat_typed_at_a_terminal_shows_a_prompt_and_answers(db_env: dict[str, str]) -> None:
    """A real pseudo-terminal: the prompt appears, a question is typed, the answer comes back."""
    main, replica = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "bot", "chat"], stdin=replica,
                               stdout=replica, stderr=replica, cwd=REPO,
                               env={**os.environ, **db_env})
    os.close(replica)
    try:
        assert "you> " in _read_until(main, "you> ")
        os.write(main, f"{SUBPOENA}\n".encode())
        answer = _read_until(main, "Did this help?")
        assert "Responding to a subpoena" in answer
        os.write(main, b"quit\n")
        assert "Goodbye." in _read_until(main, "Goodbye.")
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        os.close(main)


def _read_until(fd: int, marker: str, timeout: float = 30) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            seen += os.read(fd, 4096).decode(errors="replace")
    return seen


def test_chat_reloads_the_knowledge_base_on_sighup(db_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_yaml(kb / "a.yaml", entry("shelter-curfew", ["can our shelter have a curfew"]))
    process = subprocess.Popen([sys.executable, "-m", "bot", "chat", "--kb", str(kb)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env={**os.environ, **db_env})
    try:
        assert "1 knowledge entries" in process.stdout.readline()
        write_yaml(kb / "b.yaml", entry("pets-in-shelter", ["can residents bring their pets"]))
        write_text(kb / "a.yaml", "id: [broken\n")
        process.send_signal(signal.SIGHUP)
        assert "kept the last good version" in process.stderr.readline()
        out, _ = process.communicate("can residents bring their pets\n"
                                     "can our shelter have a curfew\nquit\n", timeout=30)
        assert "== Pets in shelter ==" in out and "== Shelter curfew ==" in out
    finally:
        process.kill()


def test_members_invite_list_and_revoke(db_env: dict[str, str]) -> None:
    env = {**db_env, "TABOT_STAFF": f"cli:{getpass.getuser()}",
           "TELEGRAM_BOT_USERNAME": "coalition_ta_bot"}
    made = json.loads(tabot("members", "invite", "Hill County RCC", "--json", env=env).stdout)
    assert len(made["code"]) == 8 and made["link"].endswith(f"?start={made['code']}")
    assert "t.me/coalition_ta_bot" in made["link"]
    listed = json.loads(tabot("members", "list", "--json", env=env).stdout)
    assert [(r["code"], r["revoked"]) for r in listed] == [(made["code"], False)]
    assert tabot("members", "revoke", made["code"], env=env).returncode == 0
    assert json.loads(tabot("members", "list", "--json", env=env).stdout)[0]["revoked"]
    refused = tabot("members", "list", env={**db_env, "TABOT_STAFF": "slack:U1"})
    assert refused.returncode == 1 and "only the coalition's TA staff" in refused.stderr
    log = json.loads(tabot("audit", "--json", env=env).stdout)
    assert [e["action"] for e in log] == ["member-revoke", "member-invite"]


def test_report_prints_every_format_and_writes_a_png(db_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    tabot("chat", env=db_env, stdin="how do we handle a subpoena for records\nquit\n")
    period = ("--since", "2026-01-01", "--until", "2030-12-31")
    assert "TA contacts 2026-01-01 to 2030-12-31: 1" in tabot("report", *period,
                                                              env=db_env).stdout
    csv_out = tabot("report", *period, "--format", "csv", env=db_env).stdout
    assert csv_out.startswith("section,key,value") and "summary,contacts,1" in csv_out
    data = json.loads(tabot("report", *period, "--format", "json", env=db_env).stdout)
    assert data["contacts"] == 1 and data["by_platform"] == {"console": 1}
    refused = tabot("report", *period, "--format", "png", env=db_env)
    assert refused.returncode == 2 and "--output" in refused.stderr
    png = tmp_path / "report.png"
    assert tabot("report", *period, "--format", "png", "--output", str(png),
                 env=db_env).returncode == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    backwards = tabot("report", "--since", "2026-02-01", "--until", "2026-01-01", env=db_env)
    assert backwards.returncode == 2 and "--until is before --since" in backwards.stderr
    assert "not a date" in tabot("report", "--since", "soon", "--until", "2026-01-01",
                                 env=db_env).stderr


@pytest.fixture
async def evening_env(db_env: dict[str, str]) -> dict[str, str]:
    """A database with one question asked at 10 pm on May 31 in New York (June 1 in UTC)."""
    db = Database(db_env["DATABASE_URL"].replace("sqlite:", "sqlite+aiosqlite:", 1))
    await db.upgrade()
    async with db.session() as session, session.begin():
        session.add(Interaction(platform="slack", user_id="U1", text="q", outcome="answer",
                                score=0.5, created_at=dt.datetime(2026, 6, 1, 2, tzinfo=dt.UTC)))
    await db.close()
    return {**db_env, "TABOT_STAFF": f"cli:{getpass.getuser()}"}


def test_report_and_purge_count_in_the_coalitions_time_zone(evening_env: dict[str, str]) -> None:
    new_york = {**evening_env, "TABOT_TIMEZONE": "America/New_York"}
    utc = {**evening_env, "TABOT_TIMEZONE": "UTC"}
    may = ("--since", "2026-05-01", "--until", "2026-05-31")
    june = ("--since", "2026-06-01", "--until", "2026-06-30")

    def contacts(period: tuple[str, ...], env: dict[str, str]) -> int:
        shown = tabot("report", *period, "--format", "json", env=env)
        return json.loads(shown.stdout)["contacts"]

    assert (contacts(may, new_york), contacts(may, utc), contacts(june, utc)) == (1, 0, 1)
    assert "purged 1 interaction records" in tabot("purge", env=new_york).stdout
    assert (contacts(may, new_york), contacts(june, utc)) == (1, 0)  # folded into May
    refused = tabot("report", *may, env={**evening_env, "TABOT_TIMEZONE": "Eastern"})
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "TABOT_TIMEZONE must be a time zone name like America/New_York, got 'Eastern'" \
        in refused.stderr


def test_gaps_and_review_commands_run(db_env: dict[str, str]) -> None:
    question = "/staff how do we reconcile our general ledger for the audit"
    tabot("chat", env=db_env, stdin=f"{question}\nquit\n")
    out = tabot("gaps", env=db_env).stdout
    assert "general ledger" in out and "Entries never matched" in out
    assert "knowledge entries not reviewed in 1 months" in tabot(
        "kb", "review", "--months", "1").stdout or "Every knowledge entry" in tabot(
        "kb", "review", "--months", "1").stdout


def test_purge_and_audit_from_the_terminal(db_env: dict[str, str]) -> None:
    env = {**db_env, "TABOT_STAFF": f"cli:{getpass.getuser()}"}
    assert "purged 0 interaction records" in tabot("purge", env=env).stdout
    assert [e["action"] for e in json.loads(tabot("audit", "--json", env=env).stdout)] == [
        "purge"]
    assert tabot("purge", env=db_env).returncode == 1
    upgraded = tabot("db", "upgrade", env=db_env)
    assert upgraded.returncode == 0 and "is up to date" in upgraded.stdout


async def _seed_proposals(url: str, kb_dir: Path) -> None:
    """What askers' confirmations would have recorded: two wordings for one entry (one of them
    confirmed twice) and one for another."""
    kb = KnowledgeBase.load(kb_dir)
    db = Database(url)
    await db.upgrade()
    async with db.engine.begin() as connection:
        for question, entry_id in [("how late can residents stay out", "shelter-curfew"),
                                   ("cats in the shelter", "shelter-pets"),
                                   ("How late can residents stay out?", "shelter-curfew"),
                                   ("is a lockout at 11 fair", "shelter-curfew")]:
            await record_confirmed(connection, question, kb.entries[entry_id],
                                   Confirmation.PICKED)
    await db.close()


@pytest.fixture
async def learning_setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    kb_dir = tmp_path / "kb"
    write_yaml(kb_dir / "shelter-curfew.yaml", entry("shelter-curfew", ["can we have a curfew"]))
    write_yaml(kb_dir / "shelter-pets.yaml", entry("shelter-pets", ["can residents bring a dog"]))
    await _seed_proposals(f"sqlite+aiosqlite:///{tmp_path / 'learn.db'}", kb_dir)
    return kb_dir, {"DATABASE_URL": f"sqlite:///{tmp_path / 'learn.db'}",
                    "TABOT_STAFF": f"cli:{getpass.getuser()}"}


def test_kb_learn_lists_approves_and_dismisses_proposals(
        learning_setup: tuple[Path, dict[str, str]]) -> None:
    kb_dir, env = learning_setup
    listing = tabot("kb", "learn", "--kb", str(kb_dir), env=env)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].startswith("shelter-curfew: Shelter curfew")
    assert lines[1].split() == ["#1", "2x", "(2", "picked)", "how", "late", "can", "residents",
                                "stay", "out"]
    assert lines[2].split()[:2] == ["#3", "1x"] and lines[4].startswith("shelter-pets:")
    before = (kb_dir / "shelter-curfew.yaml").read_text()
    approved = tabot("kb", "learn", "approve", "#1", "3", "--kb", str(kb_dir), env=env)
    assert approved.returncode == 0, approved.stderr
    assert "2 new phrasing(s) written to 1 file(s)" in approved.stdout
    assert "kill -HUP" in approved.stdout
    after = (kb_dir / "shelter-curfew.yaml").read_text()
    assert after == before.replace("- can we have a curfew\n", "- can we have a curfew\n"
                                   "- how late can residents stay out\n"
                                   "- is a lockout at 11 fair\n")
    dismissed = tabot("kb", "learn", "dismiss", "2", "--kb", str(kb_dir), env=env)
    assert dismissed.returncode == 0 and "dismissed 1 proposal" in dismissed.stdout
    empty = tabot("kb", "learn", "--kb", str(kb_dir), "--json", env=env)
    assert json.loads(empty.stdout) == []


def test_kb_learn_refuses_unknown_ids_and_non_staff_in_one_line(
        learning_setup: tuple[Path, dict[str, str]]) -> None:
    kb_dir, env = learning_setup
    unknown = tabot("kb", "learn", "approve", "1", "99", "--kb", str(kb_dir), env=env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == ("tabot: no proposal #99; `tabot kb learn` lists the "
                                      "pending ones. Nothing was changed.")
    garbled = tabot("kb", "learn", "dismiss", "TA-1", "--kb", str(kb_dir), env=env)
    assert garbled.returncode == 1 and "is not a proposal id" in garbled.stderr
    stranger = tabot("kb", "learn", "--kb", str(kb_dir), env={**env, "TABOT_STAFF": ""})
    assert stranger.returncode == 1 and "only the coalition's TA staff" in stranger.stderr
    listing = json.loads(tabot("kb", "learn", "--json", "--kb", str(kb_dir), env=env).stdout)
    assert [len(group["proposals"]) for group in listing] == [2, 1]
    assert "Traceback" not in unknown.stderr + garbled.stderr + stranger.stderr


def break_file(path: Path) -> str:
    """An unclosed quote in the entry's title: the file no longer loads."""
    broken = path.read_text(encoding="utf-8").replace("title: ", 'title: "', 1)
    path.write_text(broken, encoding="utf-8")
    return broken


def test_kb_learn_shows_a_broken_entry_file_and_never_advises_dismissing(
        learning_setup: tuple[Path, dict[str, str]]) -> None:
    """Staff were told the entry was gone and to dismiss its confirmed phrasings."""
    kb_dir, env = learning_setup
    pets = kb_dir / "shelter-pets.yaml"
    broken = break_file(pets)
    listing = tabot("kb", "learn", "--kb", str(kb_dir), env=env)
    assert listing.returncode == 0, listing.stderr
    assert "shelter-pets: not loaded, its file has errors" in listing.stdout
    assert f"{pets}:" in listing.stdout and "YAML syntax error" in listing.stdout
    assert "dismiss these" not in listing.stdout
    assert f"knowledge: {pets}:" in listing.stderr
    [group] = [g for g in json.loads(tabot("kb", "learn", "--kb", str(kb_dir), "--json",
                                           env=env).stdout) if g["entry_id"] == "shelter-pets"]
    assert group["in_knowledge_base"] is False and "YAML syntax error" in group["load_errors"][0]
    approved = tabot("kb", "learn", "approve", "2", "--kb", str(kb_dir), env=env)
    assert approved.returncode == 1
    refusal = approved.stderr.splitlines()[-1]
    assert refusal.startswith(f"tabot: #2 ('shelter-pets'): its file did not load: {pets}:")
    assert "YAML syntax error" in refusal and "dismiss" not in refusal
    assert pets.read_text(encoding="utf-8") == broken


def test_escalations_entry_points_at_a_terminal_command_and_a_broken_file(
        learning_setup: tuple[Path, dict[str, str]]) -> None:
    """`topics`, which it pointed at, is a chat command; and an entry whose file failed to
    load was said not to exist."""
    kb_dir, env = learning_setup
    env = {**env, "TABOT_KB": str(kb_dir)}
    asked = tabot("chat", env=env, stdin="/staff can a resident keep a parrot\nquit\n")
    assert "TA-0001" in asked.stdout, asked.stdout + asked.stderr
    typo = tabot("escalations", "entry", "TA-0001", "shelter-pet", env=env)
    assert typo.returncode == 1
    assert typo.stderr.strip() == (
        f"tabot: no entry 'shelter-pet' in the knowledge base at {kb_dir}. Did you mean "
        "shelter-pets, shelter-curfew? `tabot ask 'the question' --json` names the entry "
        "that answers a question (entry_id, or suggestions when unsure).")
    pets = kb_dir / "shelter-pets.yaml"
    break_file(pets)
    broken = tabot("escalations", "entry", "TA-0001", "shelter-pets", env=env)
    assert broken.returncode == 1
    refusal = broken.stderr.splitlines()[-1]
    assert refusal.startswith(f"tabot: the entry 'shelter-pets' did not load: {pets}:")
    assert "YAML syntax error" in refusal and "`topics`" not in refusal
    shown = json.loads(tabot("escalations", "show", "TA-0001", "--json", env=env).stdout)
    assert shown["state"] == "open"


def test_escalations_entry_answers_with_the_entry_and_proposes_the_question(
        learning_setup: tuple[Path, dict[str, str]]) -> None:
    kb_dir, env = learning_setup
    env = {**env, "TABOT_KB": str(kb_dir)}
    asked = tabot("chat", env=env, stdin="/staff can a resident keep a parrot\nquit\n")
    assert "TA-0001" in asked.stdout, asked.stdout + asked.stderr
    answered = tabot("escalations", "entry", "TA-0001", "shelter-pets", env=env)
    assert answered.returncode == 0, answered.stderr
    assert "answered" in answered.stdout and "Practical guidance about shelter pets" \
        in answered.stdout
    listing = json.loads(tabot("kb", "learn", "--json", env=env).stdout)
    pets = next(g for g in listing if g["entry_id"] == "shelter-pets")
    [learned] = [p for p in pets["proposals"] if p["staff"]]
    shown = json.loads(tabot("escalations", "show", "TA-0001", "--json", env=env).stdout)
    assert "parrot" in learned["text"] and learned["staff"] == 1
    assert learned["text"] == " ".join(re.sub(r"\[[A-Z ]+\]", " ", shown["question"]).split())


def test_ask_says_when_a_question_is_off_topic() -> None:
    out = tabot("ask", "will", "it", "rain", "tomorrow").stdout
    assert out.startswith("Off-topic") and "TA staff" in out


@pytest.mark.parametrize(("args", "message"), [
    (("kb", "review", "--months", "0"), "--months: 0 is out of range; give 1 to 120"),
    (("gaps", "--days", "100000000"), "--days: 100000000 is out of range"),
    (("audit", "--limit", "-1"), "--limit: -1 is out of range"),
    (("report", "--since", "0001-01-01", "--until", "9999-12-31"), "give a year from 1900"),
])
def test_a_flag_out_of_range_is_refused_with_its_range_not_a_traceback(
        args: tuple[str, ...], message: str, db_env: dict[str, str]) -> None:
    result = tabot(*args, env=db_env)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


TELEGRAM_OFFLINE = {"TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
                    "TELEGRAM_API_URL": "http://127.0.0.1:9/bot"}  # nothing listens on port 9


@pytest.mark.parametrize("command", [["console"], ["run", "--adapter", "telegram"]])
def test_a_port_in_use_is_one_clear_line_naming_port_not_a_traceback(
        command: list[str], db_env: dict[str, str]) -> None:
    with socket.create_server(("0.0.0.0", 0)) as taken:
        port = taken.getsockname()[1]
        result = tabot(*command, env={**db_env, **TELEGRAM_OFFLINE, "PORT": str(port),
                                      "TABOT_STAFF": "cli:maria"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"tabot: port {port} is already in use; stop the other process or set PORT to a free "
        f"port")
    assert "Traceback" not in result.stderr


async def test_run_warns_once_at_start_that_console_links_point_at_localhost(
        db_env: dict[str, str]) -> None:
    env = {**os.environ, **db_env, **TELEGRAM_OFFLINE, "PORT": "0"}
    env.pop("TABOT_PUBLIC_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--adapter", "telegram", cwd=REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []
    try:
        while not lines or "listening on port" not in lines[-1]:
            line = await asyncio.wait_for(process.stderr.readline(), 120)
            assert line, f"tabot run exited before listening: {lines}"
            lines.append(line.decode())
    finally:
        process.terminate()
        await process.wait()
    warnings = [line for line in lines if "console sign-in links" in line]
    assert warnings == ["WARNING tabot: console sign-in links sent in chat will point at "
                        "http://localhost:3000, which opens only on this machine; set "
                        "TABOT_PUBLIC_URL to the address staff reach tabot at\n"]


@pytest.mark.parametrize(("env", "adapters"), [
    ({"TABOT_PUBLIC_URL": "https://tabot.example.org"}, ["telegram"]),
    ({"TABOT_PUBLIC_URL": "  "}, ["console"]),  # staff at a terminal ask no chat for links
])
def test_no_localhost_warning_with_a_public_url_or_without_a_chat_platform(
        env: dict[str, str], adapters: list[str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cli._warn_of_localhost_links(load_settings({}), adapters)
    assert not caplog.records


def test_kb_review_counts_days_in_the_coalitions_time_zone(tmp_path: Path) -> None:
    """The machine's clock is 14 hours ahead of UTC, the coalition's 12 hours behind: their
    dates always differ. An entry reviewed exactly a month (30 days) before the coalition's
    today is not yet due, though it would be by the machine's date."""
    zone = "Etc/GMT+12"  # UTC-12 (POSIX signs are reversed)
    today = dt.datetime.now(ZoneInfo(zone)).date()
    kb = tmp_path / "kb"
    write_yaml(kb / "board-minutes.yaml", entry(
        "board-minutes", ["how long do we keep board minutes"],
        reviewed=str(today - dt.timedelta(days=30))))
    shown = tabot("kb", "review", "--kb", str(kb), "--months", "1",
                  env={"TZ": "Pacific/Kiritimati", "TABOT_TIMEZONE": zone}).stdout
    assert "Every knowledge entry was reviewed in the last 1 months." in shown


def test_kb_review_names_the_files_it_could_not_check(tmp_path: Path) -> None:
    """With the only overdue entry in a broken file, it said every entry was reviewed."""
    kb = tmp_path / "kb"
    write_yaml(kb / "board-minutes.yaml", entry("board-minutes", ["how long to keep minutes"]))
    old = write_yaml(kb / "shelter-rules.yaml", entry("shelter-rules", ["can we have a curfew"],
                                                      reviewed="2020-01-01"))
    break_file(old)
    result = tabot("kb", "review", "--kb", str(kb))
    assert result.returncode == 0, result.stderr
    assert "Every knowledge entry" not in result.stdout
    assert result.stdout.splitlines() == [
        "No loaded knowledge entry is overdue for review (12 months).",
        f"Not checked, for their files have errors: the entries in {old}. Fix them "
        "(`tabot kb lint` shows how), then run this again."]
    assert f"knowledge: {old}:" in result.stderr
