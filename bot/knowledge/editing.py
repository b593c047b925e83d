"""Adding phrasings to the entry files staff write by hand, changing nothing else.

A round-trip YAML library (ruamel.yaml) was tried first: it re-emits every scalar, so long
phrasings were re-wrapped (or unwrapped) and a one-line addition became a diff across the
file. Here the file is parsed with the same PyYAML the loader uses, only to find where each
entry's `questions:` list ends and how it is indented, and the new items are inserted as whole
lines there, each rendered by PyYAML so it reads back as exactly that text. Comments, key
order, quoting and every other entry stay byte for byte as they were.

The new file is written atomically (a hidden temporary file renamed over the old one), then
read back with the project's own loader: if it no longer validates, or anything but the
additions changed, the original is put back and the edit refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge.files import FileResult, load_entry_file
from bot.knowledge.problems import Problem, Severity

_ONE_LINE = 10**9  # a width no phrasing reaches: every rendered item stays on one line


try:
    import fcntl
except ImportError:  # not on Windows: there, edits are ordered within one process only
    fcntl = None  # type: ignore[assignment]


class EditError(Exception):
    """The file cannot take the phrasings; it was left (or put back) as it was."""


@dataclass(frozen=True)
class _Spot:
    """Where one entry's new items go: before line `at` (0-based), indented like the others."""

    entry_id: str
    at: int
    prefix: str
    style: str | None


@contextlib.asynccontextmanager
async def editing_lock(directory: Path) -> AsyncIterator[None]:
    """One writer of a knowledge directory at a time, across processes. Two staff approving
    phrasings for the same file at once (the console and `tabot kb learn approve`, say) would
    each write the file as they had read it, and the first one's phrasings would be lost while
    the database said approved. The lock is on the directory itself, so no lock file sits among
    the entries; closing it lets go, whatever happened meanwhile."""
    if fcntl is None:
        yield
        return
    handle = os.open(directory, os.O_RDONLY)
    try:
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def add_phrasings(path: Path, additions: dict[str, list[str]]) -> None:
    """Append `additions[entry_id]` to the `questions:` list of each entry in `path`."""
    original = path.read_bytes()
    text = _decode(path, original)
    before = _entries_data(path, text)
    spots = [_spot(path, text, entry_id) for entry_id in additions]
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if "\r\n" in text else "\n"
    for spot in sorted(spots, key=lambda s: s.at, reverse=True):
        if spot.at == len(lines) and lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        lines[spot.at:spot.at] = [f"{spot.prefix}{_render(phrasing, spot.style)}{newline}"
                                  for phrasing in additions[spot.entry_id]]
    write_atomically(path, "".join(lines).encode("utf-8"))
    problem = _check(path, before, additions)
    if problem:
        write_atomically(path, original)
        raise EditError(f"{path}: adding the phrasings would {problem}; the file was left as "
                        "it was. Add them by hand, then run `tabot kb lint`.")


def write_atomically(path: Path, content: bytes) -> None:
    """Replace `path` in one step: a reader (a reload) sees the old file or the new, never half.

    The temporary file's name starts with a dot, so a reload that runs meanwhile skips it."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        with contextlib.suppress(OSError):
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EditError(f"{path} is not valid UTF-8; fix it (`tabot kb lint`) first") from None


def _entries_data(path: Path, text: str) -> list[dict]:
    """The file's entries as plain data, and proof that it loads cleanly before the edit."""
    result = load_entry_file(path)
    if not result.ok:
        raise EditError(f"{path} has errors now ({_first_error(result)}); fix them "
                        "(`tabot kb lint`) first")
    data = yaml.safe_load(text)
    return data if isinstance(data, list) else [data]


def _spot(path: Path, text: str, entry_id: str) -> _Spot:
    questions = _questions_node(path, text, entry_id)
    if questions.flow_style is True or not questions.value:
        raise EditError(f"{path}: the questions of '{entry_id}' are written as a [flow, list]; "
                        "write them one per line ('- ...') so phrasings can be added")
    last = questions.value[-1]
    end = last.end_mark
    at = end.line if end.column == 0 else end.line + 1  # a block scalar ends at a line's start
    dash = questions.start_mark.column
    first = questions.value[0]
    gap = first.start_mark.column - dash if first.start_mark.line == questions.start_mark.line \
        else 2
    styles = {item.style for item in questions.value}
    style = styles.pop() if len(styles) == 1 and styles <= {"'", '"'} else None
    return _Spot(entry_id, at, " " * dash + "-" + " " * max(gap - 1, 1), style)


def _questions_node(path: Path, text: str, entry_id: str) -> yaml.SequenceNode:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    mappings = root.value if isinstance(root, yaml.SequenceNode) else [root]
    for mapping in mappings:
        fields = {key.value: value for key, value in mapping.value}
        if getattr(fields.get("id"), "value", None) == entry_id:
            node = fields.get("questions")
            if isinstance(node, yaml.SequenceNode):
                return node
            raise EditError(f"{path}: '{entry_id}' has no questions list")
    raise EditError(f"{path} no longer holds entry '{entry_id}'")


def _render(text: str, style: str | None) -> str:
    """One sequence item's scalar, on one line, quoted only where YAML needs it (or as the
    list's other items are)."""
    dumped = yaml.safe_dump([text], default_style=style, allow_unicode=True, width=_ONE_LINE,
                            default_flow_style=False)
    return dumped.removeprefix("- ").rstrip("\n")


def _check(path: Path, before: list[dict], additions: dict[str, list[str]]) -> str | None:
    """What went wrong with the written file, or None: it must validate, and differ from the
    old one only by the added phrasings."""
    result = load_entry_file(path)
    if not result.ok:
        return f"break the file ({_first_error(result)})"
    expected = [_with_additions(item, additions) for item in before]
    after = yaml.safe_load(path.read_text(encoding="utf-8"))
    if (after if isinstance(after, list) else [after]) != expected:
        return "change more than the questions lists"
    return None


def _with_additions(item: dict, additions: dict[str, list[str]]) -> dict:
    added = additions.get(item.get("id"), [])
    return {**item, "questions": [*item["questions"], *added]} if added else item


def _first_error(result: FileResult) -> Problem:
    return next(p for p in result.problems if p.severity is Severity.ERROR)
