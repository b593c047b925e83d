"""Editing the knowledge base in the console: checked like `tabot kb lint`, written as a small
diff, served at once, audited, and committed when the directory is a git work tree."""

from __future__ import annotations

import difflib
import re
import subprocess

import yaml

from bot.knowledge.matcher import Matcher, Outcome
from bot.store import audit
from tests.console.conftest import STAFF, Console, csrf_of, form_fields

CURFEW = "shelter-curfew"


async def entry_form(client, console: Console, entry_id: str) -> dict[str, str]:
    """The entry's form as a browser would submit it unchanged."""
    async with client.get(f"{console.base}/knowledge/{entry_id}") as page:
        html = await page.text()
    start = html.index('id="entry-form"')
    return form_fields(html[start:html.index("</form>", start)])


def answered(console: Console, question: str) -> str | None:
    match = Matcher(console.runtime.knowledge.index).match(question)
    return match.best.entry.answer if match.outcome is Outcome.ANSWER and match.best else None


async def test_saving_an_entry_writes_a_small_diff_and_the_bot_answers_with_it_at_once(
        console: Console) -> None:
    path = console.kb_dir / f"{CURFEW}.yaml"
    before = path.read_text(encoding="utf-8")
    async with console.client() as client:
        await console.sign_in(client)
        form = await entry_form(client, console, CURFEW)
        form["answer"] = "Curfews are house rules; apply them equally.\n\n- Explain them at intake."
        async with client.post(f"{console.base}/knowledge/{CURFEW}", data=form) as saved:
            assert saved.status == 200 and "Saved." in await saved.text()
    after = path.read_text(encoding="utf-8")
    assert yaml.safe_load(after)["answer"].startswith("Curfews are house rules")
    diff = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert diff == ["-answer: Practical guidance about shelter curfew.", "+answer: |",
                    "+  Curfews are house rules; apply them equally.", "+",
                    "+  - Explain them at intake."]
    assert answered(console, "can our shelter have a curfew").startswith("Curfews are house")
    logged = [(a.actor, a.action, a.target, a.detail) for a in await audit.entries(console.db)]
    assert (STAFF.id, "entry edited", CURFEW, "changed: answer") in logged


async def test_an_unchanged_save_leaves_the_file_byte_for_byte(console: Console) -> None:
    path = console.kb_dir / f"{CURFEW}.yaml"
    before = path.read_bytes()
    async with console.client() as client:
        await console.sign_in(client)
        form = await entry_form(client, console, CURFEW)
        async with client.post(f"{console.base}/knowledge/{CURFEW}", data=form) as saved:
            assert saved.status == 200
    assert path.read_bytes() == before


async def test_errors_are_shown_next_to_their_fields_and_nothing_is_written(
        console: Console) -> None:
    path = console.kb_dir / f"{CURFEW}.yaml"
    before = path.read_bytes()
    async with console.client() as client:
        await console.sign_in(client)
        form = await entry_form(client, console, CURFEW)
        bad = {**form, "title": "  ", "reviewed": "last tuesday",
               "sources": "Guide | ftp://example.org"}
        async with client.post(f"{console.base}/knowledge/{CURFEW}", data=bad) as refused:
            html = await refused.text()
            assert refused.status == 422
        assert re.search(r'id="title-error">.*is empty', html)
        assert re.search(r'id="reviewed-error">.*YYYY-MM-DD', html)
        assert re.search(r'id="sources-error">.*http://', html)
        assert "last tuesday" in html  # what was typed is kept
        # a phrasing another entry already has: a lint error, next to the phrasings
        shared = {**form, "questions": form["questions"] + "\ncourt subpoena for client file"}
        async with client.post(f"{console.base}/knowledge/{CURFEW}", data=shared) as lint:
            html = await lint.text()
            assert lint.status == 422
        assert re.search(r'id="questions-error">.*also a phrasing of', html)
    assert path.read_bytes() == before
    assert answered(console, "court subpoena for client file") is not None


async def test_creating_and_retiring_an_entry(console: Console) -> None:
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/knowledge/new") as page:
            token = csrf_of(await page.text())
        new = {"csrf": token, "id": "pet-friendly-shelter", "category": "best-practice",
               "title": "Pets in shelter",
               "questions": "can survivors bring their dog to shelter\npets at our shelter",
               "answer": "Many survivors delay leaving because of a pet.",
               "tags": "shelter, pets", "sources": "Guide to pets | https://example.org/pets",
               "related": CURFEW, "reviewed": "2026-09-01"}
        async with client.post(f"{console.base}/knowledge/new", data=new) as made:
            assert made.status == 200 and "Created." in await made.text()
        assert answered(console, "can survivors bring their dog to shelter") \
            == "Many survivors delay leaving because of a pet."
        written = yaml.safe_load((console.kb_dir / "best-practice"
                                  / "pet-friendly-shelter.yaml").read_text())
        assert list(written)[:4] == ["id", "category", "title", "questions"]
        async with client.post(f"{console.base}/knowledge/new", data=new) as again:
            assert again.status == 422 and "already exists" in await again.text()
        async with client.post(f"{console.base}/knowledge/pet-friendly-shelter/retire",
                               data={"csrf": token}) as retired:
            assert "Retired." in await retired.text()
    assert console.runtime.knowledge.get("pet-friendly-shelter") is None
    assert (console.kb_dir / "drafts" / "retired" / "pet-friendly-shelter.yaml").exists()
    actions = [a.action for a in await audit.entries(console.db)]
    assert "entry created" in actions and "entry retired" in actions


async def test_a_save_in_a_git_work_tree_is_a_commit_by_the_staff_member(
        console: Console) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(console.kb_dir), *args], check=True,
                              capture_output=True, text=True).stdout
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "start")
    async with console.client() as client:
        await console.sign_in(client)
        form = await entry_form(client, console, CURFEW)
        form["title"] = "Curfews in shelter"
        async with client.post(f"{console.base}/knowledge/{CURFEW}", data=form) as saved:
            assert saved.status == 200
    author, subject = git("log", "-1", "--format=%an|%s").strip().split("|")
    assert author == STAFF.id and subject == f"Edit {CURFEW} (title) in the console"
    assert git("status", "--porcelain") == ""


async def test_the_list_searches_and_filters(console: Console) -> None:
    async with console.client() as client:
        await console.sign_in(client)
        for query, expected in (("q=curfew", {CURFEW}), ("tag=subpoena", {"subpoena-response"}),
                                ("category=standard", set()),
                                ("q=", {CURFEW, "subpoena-response", "interpreter-use",
                                        "dv-definition"})):
            async with client.get(f"{console.base}/knowledge?{query}") as page:
                html = await page.text()
            found = set(re.findall(r'href="/console/knowledge/([a-z-]+)"', html)) - {"new"}
            assert found == expected, query
