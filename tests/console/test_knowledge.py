"""Editing the knowledge base in the console: checked like `tabot kb lint`, written as a small
diff, served at once, audited, and committed when the directory is a git work tree."""

from __future__ import annotations

import asyncio
import difflib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.knowledge.matcher import Matcher, Outcome
from bot.store import audit
from tests.conftest import entry
from tests.console.conftest import OTHER_STAFF, STAFF, Console, csrf_of, form_fields
from tests.knowledge.test_learning import HOLD_LOCK

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


async def test_an_entry_whose_file_was_broken_by_hand_is_refused_with_where_to_fix_it(
        console: Console) -> None:
    """The bot keeps serving the entry as last loaded; the console says which line of which
    file is wrong and writes nothing, whether staff edit, retire or add a phrasing."""
    path = console.kb_dir / f"{CURFEW}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "title: Shelter curfew", "title: Shelter curfew: rules: [oops"), encoding="utf-8")
    broken = path.read_bytes()
    line = next(n for n, text in enumerate(broken.decode().splitlines(), 1) if "oops" in text)
    console.knowledge.reload()
    assert console.runtime.knowledge.get(CURFEW) is not None
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/knowledge") as page:
            token = csrf_of(await page.text())
        for method, url, data in (
                ("GET", f"/knowledge/{CURFEW}", None),
                ("POST", f"/knowledge/{CURFEW}/retire", {"csrf": token}),
                ("POST", "/try/phrasing", {"csrf": token, "entry": CURFEW,
                                           "q": "may residents stay out past ten"})):
            async with client.request(method, f"{console.base}{url}", data=data) as refused:
                html = await refused.text()
                assert refused.status == 409, url
                assert f"{CURFEW}.yaml has an error at line {line}" in html, url
                assert "tabot kb lint" in html, url
    assert path.read_bytes() == broken
    assert not (console.kb_dir / "drafts").exists()


async def test_retiring_twice_at_once_or_while_saving_never_fails(console: Console) -> None:
    """A double-clicked Retire, and a save racing a retire: the entry is looked up again once
    the edit lock is held, so the late request gets the ordinary "No such entry" page."""
    async with console.client() as client:
        await console.sign_in(client)
        form = await entry_form(client, console, "subpoena-response")
        form["title"] = "Subpoenas for records"
        retire = f"{console.base}/knowledge/interpreter-use/retire"

        async def status(url: str, data: dict[str, str]) -> int:
            async with client.post(url, data=data) as done:
                return done.status

        twice = await asyncio.gather(status(retire, {"csrf": form["csrf"]}),
                                     status(retire, {"csrf": form["csrf"]}))
        racing = await asyncio.gather(
            status(f"{console.base}/knowledge/subpoena-response/retire", {"csrf": form["csrf"]}),
            status(f"{console.base}/knowledge/subpoena-response", form))
    assert sorted(twice) == [200, 404]
    assert racing[0] == 200 and racing[1] in (200, 404)  # the save came first, or too late
    assert console.runtime.knowledge.get("interpreter-use") is None
    assert console.runtime.knowledge.get("subpoena-response") is None
    assert sorted(p.name for p in (console.kb_dir / "drafts" / "retired").iterdir()) == [
        "interpreter-use.yaml", "subpoena-response.yaml"]


async def test_retiring_an_entry_again_keeps_the_earlier_retired_copy(console: Console) -> None:
    """An id retired, made again and retired again: both texts are kept."""
    async with console.client() as client:
        await console.sign_in(client)
        async with client.get(f"{console.base}/knowledge/new") as page:
            token = csrf_of(await page.text())
        for answer in ("The first answer.", "The second answer."):
            new = {"csrf": token, "id": "pet-friendly-shelter", "category": "best-practice",
                   "title": "Pets in shelter", "questions": "can survivors bring their dog",
                   "answer": answer, "tags": "pets", "reviewed": "2026-09-01",
                   "sources": "Guide to pets | https://example.org/pets"}
            async with client.post(f"{console.base}/knowledge/new", data=new) as made:
                assert "Created." in await made.text()
            async with client.post(f"{console.base}/knowledge/pet-friendly-shelter/retire",
                                   data={"csrf": token}) as retired:
                assert "Retired." in await retired.text()
    kept = console.kb_dir / "drafts" / "retired"
    answers = {p.name: yaml.safe_load(p.read_text())["answer"].strip()
               for p in kept.iterdir()}
    assert answers == {"pet-friendly-shelter.yaml": "The first answer.",
                       "pet-friendly-shelter.2.yaml": "The second answer."}


async def test_a_save_over_someone_elses_newer_save_is_refused_and_keeps_what_was_typed(
        console: Console) -> None:
    path = console.kb_dir / f"{CURFEW}.yaml"
    async with console.client() as first, console.client() as second:
        await console.sign_in(first)
        await console.sign_in(second, OTHER_STAFF)
        theirs = await entry_form(first, console, CURFEW)
        mine = await entry_form(second, console, CURFEW)
        theirs["title"] = "Curfews in shelter"
        async with first.post(f"{console.base}/knowledge/{CURFEW}", data=theirs) as saved:
            assert saved.status == 200 and "Saved." in await saved.text()
        mine["answer"] += "\n\nA paragraph typed meanwhile."
        async with second.post(f"{console.base}/knowledge/{CURFEW}", data=mine) as refused:
            html = await refused.text()
            assert refused.status == 409
        assert "someone else saved this entry since you opened it" in html
        assert "A paragraph typed meanwhile." in html  # what was typed is kept on the page
        written = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert written["title"] == "Curfews in shelter"
        assert "typed meanwhile" not in written["answer"]
        reopened = await entry_form(second, console, CURFEW)  # their change, then mine
        reopened["answer"] += "\n\nA paragraph typed meanwhile."
        async with second.post(f"{console.base}/knowledge/{CURFEW}", data=reopened) as saved:
            assert saved.status == 200
    written = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert written["title"] == "Curfews in shelter" and "typed meanwhile" in written["answer"]


async def test_a_save_waits_while_another_process_writes_the_knowledge_directory(
        console: Console) -> None:
    """`tabot kb learn approve` in another process holds the directory's lock while it writes;
    a save meanwhile would write the file as it read it and lose the approved phrasings."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LOCK, str(console.kb_dir),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert (await holder.stdout.readline()).strip() == b"locked"
    async with console.client() as client:
        await console.sign_in(client)
        form = await entry_form(client, console, CURFEW)
        form["title"] = "Curfews in shelter"
        saving = asyncio.create_task(client.post(f"{console.base}/knowledge/{CURFEW}",
                                                 data=form))
        await asyncio.sleep(1.0)
        assert not saving.done()
        holder.stdin.write(b"go\n")
        await holder.stdin.drain()
        await holder.wait()
        async with await asyncio.wait_for(saving, 30) as saved:
            assert saved.status == 200 and "Saved." in await saved.text()


AQUARIUM = "aquarium-pilot"


def pilot_file(console: Console, header: str, footer: str) -> Path:
    """A category file as staff write them by hand: a list of one entry, with comments."""
    item = entry(AQUARIUM, ["can residents keep an aquarium in their room",
                            "fish tanks for shelter residents"], tags=["pets"])
    path = console.kb_dir / "pilots.yaml"
    path.write_text(header + yaml.safe_dump([item], sort_keys=False) + footer,
                    encoding="utf-8")
    console.knowledge.reload()
    assert console.runtime.knowledge.get(AQUARIUM) is not None
    return path


@pytest.mark.parametrize(("header", "footer"), [("# Pilot programmes\n", ""),
                                                ("", "# more pilots to come\n")])
async def test_retiring_the_only_entry_of_a_commented_list_file_stops_the_bot_answering(
        console: Console, header: str, footer: str) -> None:
    """Only comments left: written back, the loader refused the file as empty and kept
    serving its last good version, retired entry and all, while the page said Retired."""
    path = pilot_file(console, header, footer)
    async with console.client() as client:
        await console.sign_in(client)
        form = await entry_form(client, console, AQUARIUM)
        async with client.post(f"{console.base}/knowledge/{AQUARIUM}/retire",
                               data={"csrf": form["csrf"]}) as retired:
            assert retired.status == 200 and "Retired." in await retired.text()
    assert console.runtime.knowledge.get(AQUARIUM) is None
    assert answered(console, "can residents keep an aquarium in their room") is None
    assert not path.exists()
    assert not console.runtime.knowledge.problems  # `tabot kb lint` finds nothing wrong
    assert (console.kb_dir / "drafts" / "retired" / f"{AQUARIUM}.yaml").exists()


async def test_retiring_the_last_entry_is_refused_by_the_check_and_changes_nothing(
        console: Console) -> None:
    """A retire is checked like every other change: with no entry left every question would
    go to staff (a lint error), and the loader would have kept serving the entry anyway."""
    async with console.client() as client:
        await console.sign_in(client)
        form = await entry_form(client, console, CURFEW)
        for entry_id in ("subpoena-response", "interpreter-use", "dv-definition"):
            async with client.post(f"{console.base}/knowledge/{entry_id}/retire",
                                   data={"csrf": form["csrf"]}) as retired:
                assert "Retired." in await retired.text()
        before = (console.kb_dir / f"{CURFEW}.yaml").read_bytes()
        async with client.post(f"{console.base}/knowledge/{CURFEW}/retire",
                               data={"csrf": form["csrf"]}) as refused:
            html = await refused.text()
            assert refused.status == 409 and "Not retired" in html
            assert "no entry files" in html
    assert (console.kb_dir / f"{CURFEW}.yaml").read_bytes() == before
    assert not (console.kb_dir / "drafts" / "retired" / f"{CURFEW}.yaml").exists()
    assert console.runtime.knowledge.get(CURFEW) is not None


async def test_a_retire_the_bot_could_not_load_says_the_entry_is_still_served(
        console: Console) -> None:
    """Another entry in the file broken by hand: the file no longer loads, so the bot keeps
    its last good version. The page says so, and where to look, instead of "Retired"."""
    path = pilot_file(console, "", "")
    broken = entry("fish-food", ["who buys the fish food"], tags=["pets"])
    del broken["title"]
    path.write_text(path.read_text(encoding="utf-8")
                    + yaml.safe_dump([broken], sort_keys=False), encoding="utf-8")
    console.knowledge.reload()
    async with console.client() as client:
        await console.sign_in(client)
        form = await entry_form(client, console, AQUARIUM)
        async with client.post(f"{console.base}/knowledge/{AQUARIUM}/retire",
                               data={"csrf": form["csrf"]}) as retire:
            html = await retire.text()
            assert retire.status == 409 and "Retired." not in html
    assert "still answers with it" in html and "pilots.yaml does not load" in html
    assert "missing required field" in html  # what is wrong with the file, and where
    assert console.runtime.knowledge.get(AQUARIUM) is not None


async def test_a_save_is_logged_with_only_the_fields_staff_changed(
        console: Console) -> None:
    """An answer written as a `|` block ends in a newline the form drops: a save of the title
    alone was logged (and committed) as a change of the answer too."""
    path = console.kb_dir / f"{CURFEW}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "answer: Practical guidance about shelter curfew.",
        "answer: |\n  Practical guidance about shelter curfew.\n\n  - Explain it at intake."),
        encoding="utf-8")
    console.knowledge.reload()
    async with console.client() as client:
        await console.sign_in(client)
        form = await entry_form(client, console, CURFEW)
        form["title"] = "Curfews in shelter"
        async with client.post(f"{console.base}/knowledge/{CURFEW}", data=form) as saved:
            assert saved.status == 200 and "Saved." in await saved.text()
    logged = [(a.action, a.target, a.detail) for a in await audit.entries(console.db)]
    assert ("entry edited", CURFEW, "changed: title") in logged
    assert "- Explain it at intake." in path.read_text(encoding="utf-8")  # kept as written
