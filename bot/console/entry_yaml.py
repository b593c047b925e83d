"""Writing one knowledge entry as YAML that reads like the hand-written files, and putting it
into its file without touching the file's other entries.

Keys come in one fixed order (the order of the README's contract); the answer is a literal
block (`|`) so its paragraphs and lists stay as typed; tags and related ids are short flow
lists, as staff write them. A file holding a list of entries has only this entry's lines
replaced, so a save is a small diff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

KEY_ORDER = ("id", "category", "title", "questions", "answer", "tags", "sources", "reviewed",
             "escalate", "related", "owner", "language", "status")
FLOW_LISTS = ("tags", "related")
_WIDTH = 10**9  # one phrasing, one line, however long


class _Flow(list):
    """A list written `[a, b]`."""


class _Block(str):
    """A string written as a literal block."""


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key (`questions:\n  - ...`), as the shipped files do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_Dumper.add_representer(_Flow, lambda d, v: d.represent_sequence(
    "tag:yaml.org,2002:seq", v, flow_style=True))
_Dumper.add_representer(_Block, lambda d, v: d.represent_scalar(
    "tag:yaml.org,2002:str", v, style="|"))


def ordered(data: dict[str, Any]) -> dict[str, Any]:
    """The entry's keys in the contract's order; unknown keys (kept from the file) last."""
    known = {key: data[key] for key in KEY_ORDER if key in data}
    return {**known, **{k: v for k, v in data.items() if k not in known}}


def render_entry(data: dict[str, Any], indent: str = "") -> str:
    """One entry as YAML text; with `indent`, as an item of a list (`- id: ...`)."""
    shaped: dict[str, Any] = {}
    for key, value in ordered(data).items():
        if key in FLOW_LISTS and isinstance(value, list):
            value = _Flow(value)
        elif key == "answer" and isinstance(value, str):
            value = _Block(value.strip() + "\n")
        shaped[key] = value
    text = yaml.dump(shaped, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=_WIDTH, default_flow_style=False, indent=2)
    if not indent:
        return text
    lines = text.splitlines(keepends=True)
    return "".join([f"{indent}- {lines[0]}", *(f"{indent}  {line}" if line.strip() else line
                                                  for line in lines[1:])])


def entry_span(text: str, entry_id: str) -> tuple[int, int, str] | None:
    """Where entry `entry_id` sits in a file holding a list of entries: first line, line after
    it (0-based) and the list's indent; None for a file holding a single mapping."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.SequenceNode):
        return None
    items = root.value
    for n, item in enumerate(items):
        fields = {k.value: v for k, v in getattr(item, "value", [])
                  if isinstance(k, yaml.ScalarNode)}
        if getattr(fields.get("id"), "value", None) == entry_id:
            start = item.start_mark.line
            end = items[n + 1].start_mark.line if n + 1 < len(items) else len(
                text.splitlines())
            lines = text.splitlines()
            dash = lines[start].index("-") if "-" in lines[start] else 0
            return start, _trim(lines, start, end), " " * dash
    raise KeyError(entry_id)


def _trim(lines: list[str], start: int, end: int) -> int:
    """The end of an item without the blank lines and comments that lead to the next one."""
    while end > start + 1 and (not lines[end - 1].strip()
                               or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def replaced(path: Path, entry_id: str, data: dict[str, Any] | None) -> str:
    """The file's new text with the entry replaced by `data`, or removed when it is None."""
    text = path.read_text(encoding="utf-8")
    span = entry_span(text, entry_id)
    if span is None:
        return keeping_unchanged(text, data) if data is not None else ""
    start, end, indent = span
    lines = text.splitlines(keepends=True)
    new = render_entry(data, indent) if data is not None else ""
    return "".join([*lines[:start], new, *lines[end:]])


def keeping_unchanged(text: str, data: dict[str, Any]) -> str:
    """A file holding one entry, rewritten with every field whose value did not change kept
    exactly as it was written (its quoting, wrapping and comments), so the diff shows only
    what staff changed."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    before = yaml.safe_load(text)
    if not isinstance(root, yaml.MappingNode) or not isinstance(before, dict):
        return render_entry(data)
    lines = text.splitlines(keepends=True)
    starts = [key.start_mark.line for key, _ in root.value]
    spans = {key.value: (start, end)  # with the comments and blank lines that follow it
             for (key, _), start, end in zip(root.value, starts, [*starts[1:], len(lines)],
                                             strict=True)}
    if (starts and starts[0] != 0) or any(k.start_mark.column for k, _ in root.value):
        return render_entry(data)
    out = []
    for key, value in ordered(data).items():
        if key in spans and before.get(key) == value:
            start, end = spans[key]
            kept = "".join(lines[start:end])
            out.append(kept if kept.endswith("\n") else kept + "\n")
        else:
            out.append(render_entry({key: value}))
    return "".join(out)
