"""Saving knowledge entries from the console: checked like `tabot kb lint`, written as small
diffs, served at once, recorded in the audit log, and committed when the knowledge directory
is a git work tree.

A change is checked on a copy of the knowledge directory with the change applied: the copy is
loaded and linted, and only errors the change brings (not ones already there) refuse it. So
the running bot never serves an entry that fails the check, even for a moment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.editing import write_atomically
from bot.knowledge.files import DRAFTS_DIR
from bot.knowledge.lint import lint
from bot.knowledge.problems import Problem, Severity

log = logging.getLogger(__name__)
RETIRED_DIR = Path(DRAFTS_DIR) / "retired"  # not served, kept for the record
GIT_TIMEOUT = 20


@dataclass(frozen=True)
class Problems:
    """New lint errors a change would bring, per form field ('' for the entry as a whole)."""

    by_field: dict[str, list[str]]

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def messages(self) -> list[str]:
        """Every message, for a change that has no form to show them beside (a retire)."""
        return [message for found in self.by_field.values() for message in found]


class UnreadableEntry(Exception):
    """An entry's file no longer reads back: broken or changed by hand since the bot loaded
    it. The bot keeps serving the entry as last loaded; the console must not write over a file
    it cannot read, so staff are told where the file is wrong and how to fix it."""

    def __init__(self, path: Path, entry_id: str, line: int | None, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.entry_id, self.line, self.reason = path, entry_id, line, reason

    def explain(self, directory: Path) -> str:
        try:
            where = self.path.relative_to(directory).as_posix()
        except ValueError:
            where = str(self.path)
        at = f" at line {self.line}" if self.line else ""
        return (f"The file {where} has an error{at} ({self.reason}), so the console cannot "
                f"change {self.entry_id!r}. The bot still answers with the entry as it was "
                "last loaded. Fix the file by hand (`tabot kb lint` shows what is wrong), "
                "then try again.")


def raw_entry(path: Path, entry_id: str) -> dict[str, Any]:
    """The entry as written in its file (with fields the loader does not keep); an
    UnreadableEntry when the file cannot be read or parsed, or no longer holds the entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or "not valid YAML"
        raise UnreadableEntry(path, entry_id, line, reason) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableEntry(path, entry_id, None, type(exc).__name__) from None
    items = data if isinstance(data, list) else [data]
    for item in items:
        if isinstance(item, dict) and item.get("id") == entry_id:
            return item
    raise UnreadableEntry(path, entry_id, None, f"it no longer holds an entry {entry_id!r}")


def entry_version(data: dict[str, Any]) -> str:
    """A short fingerprint of an entry as written in its file. The edit form carries it, so a
    save can tell that someone else saved the entry since the form was opened (edits to the
    file's other entries do not count)."""
    text = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def field_at(text: str, entry_id: str, line: int) -> str:
    """The field of entry `entry_id` written at `line` (1-based) of `text`, or ''."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    mappings = root.value if isinstance(root, yaml.SequenceNode) else [root]
    for mapping in mappings:
        if not isinstance(mapping, yaml.MappingNode):
            continue
        fields = {k.value: (k, v) for k, v in mapping.value}
        if getattr(fields.get("id", (None, None))[1], "value", None) != entry_id:
            continue
        for name, (key, value) in fields.items():
            if key.start_mark.line + 1 <= line <= max(value.end_mark.line, key.start_mark.line
                                                      ) + 1:
                return name
    return ""


def _key(problem: Problem, directory: Path) -> tuple[str, str]:
    try:
        where = str(problem.path.relative_to(directory))
    except ValueError:
        where = str(problem.path)
    return where, problem.message


def check_change(knowledge: KnowledgeBase, path: Path, new_text: str | None,
                 entry_id: str) -> Problems:
    """Lint a copy of the knowledge directory with `path` replaced by `new_text` (removed for
    None); the errors that the current directory does not already have, by field."""
    directory = knowledge.directory
    before = {_key(p, directory) for p in lint(knowledge) if p.severity is Severity.ERROR}
    with tempfile.TemporaryDirectory(prefix="tabot-kb-check-") as temporary:
        copy = Path(temporary) / "kb"
        shutil.copytree(directory, copy, ignore=shutil.ignore_patterns(".*"))
        target = copy / path.relative_to(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        if new_text is None:
            target.unlink(missing_ok=True)
        else:
            target.write_text(new_text, encoding="utf-8")
        candidate = KnowledgeBase.load(copy, knowledge.max_wrong)
        after = [p for p in lint(candidate) if p.severity is Severity.ERROR]
        found: dict[str, list[str]] = {}
        for problem in after:
            if _key(problem, copy) in before:
                continue
            name = field_at(new_text, entry_id, problem.line) \
                if new_text is not None and problem.path == target else \
                _phrasing_of(problem, entry_id)
            message = problem.message if problem.path == target else \
                f"{problem.path.relative_to(copy)}:{problem.line}: {problem.message}"
            found.setdefault(name, []).append(message)
    return Problems(found)


def _phrasing_of(problem: Problem, entry_id: str) -> str:
    """A problem found in another entry's file that is about one of this entry's phrasings
    (shared with it, or matching it better) belongs next to this entry's phrasings."""
    return "questions" if "phrasing" in problem.message and f"'{entry_id}'" in \
        problem.message else ""


def write_entry_file(path: Path, text: str | None) -> None:
    """Write (or, for None, remove) an entry file in one step."""
    if text is None:
        path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode("utf-8"))


def retired_path(knowledge: KnowledgeBase, entry_id: str) -> Path:
    """Where a retired entry is kept: `<id>.yaml`, or `<id>.2.yaml`, `<id>.3.yaml`... when an
    entry of that id was retired before, so an earlier retired text is never written over."""
    folder = knowledge.directory / RETIRED_DIR
    path, copies = folder / f"{entry_id}.yaml", 1
    while path.exists():
        copies += 1
        path = folder / f"{entry_id}.{copies}.yaml"
    return path


def commit(directory: Path, paths: list[Path], author: str, message: str) -> bool:
    """Commit `paths` with the staff member as author, when `directory` is in a git work tree.
    No git, or no work tree, is not an error: the files are saved either way. Returns whether
    a commit was made."""
    git = shutil.which("git")
    if git is None:
        return False

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([git, "-C", str(directory), *args], capture_output=True,
                              text=True, timeout=GIT_TIMEOUT, env=env, check=False)

    try:
        if run("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
            return False
        names = [str(p) for p in paths]
        run("add", "-A", "--", *names)
        env = dict(os.environ)
        if not run("config", "user.email").stdout.strip():
            env |= {"GIT_COMMITTER_NAME": "tabot", "GIT_COMMITTER_EMAIL": "tabot@localhost"}
        email = author.replace(":", ".").replace(" ", "") + "@tabot.invalid"
        done = run("commit", "-q", "-m", message, f"--author={author} <{email}>", "--",
                   *names, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("console: git commit in %s failed (%s); the file is saved", directory,
                    type(exc).__name__)
        return False
    if done.returncode != 0:
        log.warning("console: git commit in %s failed: %s; the file is saved", directory,
                    done.stderr.strip()[:300])
        return False
    return True
