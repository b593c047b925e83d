"""The triage loop as people run it: an asker in `tabot chat`, staff at `tabot escalations`."""

from __future__ import annotations

import getpass
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from bot.store.database import Database
from tests.conftest import REPO

# A question for staff. Matching offers suggestions for nearly any question in the domain's
# words (each with a way to staff), so a test that needs an escalation asks for staff.
UNMATCHED = "how do we reconcile our general ledger for the audit"
TO_STAFF = "/staff " + UNMATCHED
STAFF_ENV = {"TABOT_STAFF": f"cli:{getpass.getuser()}"}


class Chat:
    """A `tabot chat` process whose output is collected as it arrives."""

    def __init__(self, env: dict[str, str], poll: float = 0.2) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "chat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, cwd=REPO,
            env={**os.environ, **env, "TABOT_POLL_SECONDS": str(poll)})
        self.output = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output += line

    def say(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := re.search(pattern, self.output):
                return found
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} never appeared in:\n{self.output}")

    def quit(self) -> str:
        self.say("quit")
        self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        return self.output


def tabot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, **env}, timeout=60)


@pytest.fixture
def env(database: Database) -> dict[str, str]:
    return {"DATABASE_URL": database.url, **STAFF_ENV}


def test_unknown_question_answered_from_the_cli_reaches_the_asker(env: dict[str, str]) -> None:
    chat = Chat(env)
    chat.say(TO_STAFF)
    reference = chat.wait_for(r"Your reference is (TA-\d+)").group(1)
    listing = tabot(env, "escalations", "list")
    assert reference in listing.stdout and "open" in listing.stdout
    assert tabot(env, "escalations", "claim", reference).returncode == 0
    answered = tabot(env, "escalations", "answer", reference, "Call a small-engine shop.")
    assert answered.returncode == 0, answered.stderr
    chat.wait_for(rf"Answer from TA staff on {reference}")
    out = chat.quit()
    assert out.count("Call a small-engine shop.") == 1


def test_an_answer_survives_the_askers_process_being_killed(env: dict[str, str]) -> None:
    asker = Chat(env, poll=3600)  # this process will never get round to delivering
    asker.say(TO_STAFF)
    reference = asker.wait_for(r"Your reference is (TA-\d+)").group(1)
    assert tabot(env, "escalations", "answer", reference, "Here is the answer.").returncode == 0
    asker.process.send_signal(signal.SIGKILL)
    asker.process.wait(timeout=10)
    assert "Here is the answer." not in asker.output

    restarted = Chat(env)
    restarted.wait_for("Here is the answer.")
    time.sleep(1)  # several more polls: it must not come twice
    assert restarted.quit().count("Here is the answer.") == 1
    assert "Here is the answer." not in Chat(env).quit()


def test_list_and_show_print_json(env: dict[str, str]) -> None:
    chat = Chat(env)
    chat.say(TO_STAFF)
    reference = chat.wait_for(r"Your reference is (TA-\d+)").group(1)
    chat.quit()
    tabot(env, "escalations", "note", reference, "internal", "note")
    [item] = json.loads(tabot(env, "escalations", "list", "--json").stdout)
    assert item["reference"] == reference and item["state"] == "open"
    shown = json.loads(tabot(env, "escalations", "show", reference, "--json").stdout)
    assert [e["kind"] for e in shown["events"]] == ["created", "note"]
    assert shown["events"][1]["detail"] == "internal note"


def test_the_cli_refuses_people_who_are_not_staff(env: dict[str, str]) -> None:
    result = tabot({**env, "TABOT_STAFF": "slack:USOMEONEELSE"}, "escalations", "list")
    assert result.returncode == 1 and "Only the coalition's TA staff" in result.stderr
    me = f"cli:{getpass.getuser()}"
    assert f"You act as {me}; adding {me} to TABOT_STAFF makes you staff." in result.stderr


def test_unknown_references_and_empty_answers_are_explained(env: dict[str, str]) -> None:
    unknown = tabot(env, "escalations", "answer", "TA-0404", "hello")
    assert unknown.returncode == 1 and "No escalation TA-0404" in unknown.stderr
    assert "Traceback" not in unknown.stderr


CLAIMER = """
import asyncio, sys
from bot.store.database import Database
from bot.triage.workflow import Actor, Triage, TriageError

async def main(url, process):
    db = Database(url)
    staff = [Actor("slack", f"P{process}-{n}") for n in range(10)]
    triage = Triage(db, frozenset(a.id for a in staff))
    results = await asyncio.gather(*(triage.claim("TA-0001", a) for a in staff),
                                   return_exceptions=True)
    print(sum(not isinstance(r, Exception) for r in results))
    await db.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""

CREATOR = """
import asyncio, sys
from bot.chat.messages import Message
from bot.store.database import Database
from tests.conftest import new_escalation

async def main(url, process):
    db = Database(url)
    async def one(n):
        message = Message("test", f"U{process}-{n}", "c", "q")
        return (await new_escalation(db, message, "q", "no-match", [])).reference
    print(" ".join(await asyncio.gather(*(one(n) for n in range(15)))))
    await db.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def run_in_two_processes(script: str, url: str) -> list[str]:
    processes = [subprocess.Popen([sys.executable, "-c", script, url, str(n)], cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for n in (1, 2)]
    outputs = [p.communicate(timeout=60) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    return [out for out, _ in outputs]


def test_two_processes_claiming_at_once_have_one_winner(env: dict[str, str]) -> None:
    chat = Chat(env)
    chat.say(TO_STAFF)
    chat.wait_for(r"Your reference is TA-0001")
    chat.quit()
    winners = run_in_two_processes(CLAIMER, env["DATABASE_URL"])
    assert sum(int(w) for w in winners) == 1
    shown = json.loads(tabot(env, "escalations", "show", "TA-0001", "--json").stdout)
    assert [e["kind"] for e in shown["events"]].count("claimed") == 1


def test_two_processes_never_issue_the_same_reference(env: dict[str, str]) -> None:
    references = " ".join(run_in_two_processes(CREATOR, env["DATABASE_URL"])).split()
    assert len(references) == 30 and len(set(references)) == 30
