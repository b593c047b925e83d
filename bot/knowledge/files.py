"""Reading knowledge files: YAML with line numbers, validated against the entry contract.

Every problem names its file and line so a TA staff member editing by hand knows where to look.
A broken file never stops the other files from loading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from bot.chat.messages import Source
from bot.knowledge.entries import Entry
from bot.knowledge.problems import Problem, Severity
from bot.knowledge.schema import EntryModel, validation_errors

SYNONYMS_FILE = "synonyms.yaml"
CRISIS_FILE = "crisis.yaml"
SETTINGS_FILES = {SYNONYMS_FILE, CRISIS_FILE}  # at the root: configuration, not entries
DRAFTS_DIR = "drafts"
_SYNONYMS = TypeAdapter(dict[str, list[str]])


@dataclass
class FileResult:
    path: Path
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, Severity.ERROR, message))


def entry_files(directory: Path, include_drafts: bool = False) -> list[Path]:
    """Entry files in a stable order; drafts wait for review and are not served."""
    files = []
    for path in sorted(directory.rglob("*.yaml")) + sorted(directory.rglob("*.yml")):
        relative = path.relative_to(directory)
        if relative.name in SETTINGS_FILES and len(relative.parts) == 1:
            continue
        if DRAFTS_DIR in relative.parts[:-1] and not include_drafts:
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        files.append(path)
    return files


# libyaml's parser where PyYAML was built with it: the same nodes and line marks, and five
# times faster, which is most of a knowledge base's load time (0.75 s of 1.35 s, shipped KB).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(result: FileResult, repeats_fail: bool = True) -> tuple[Any, yaml.Node | None]:
    """Parse one file, keeping the node tree so errors can point at lines. A key given twice
    fails the file when `repeats_fail` (settings files); entry files check it per entry, so
    one entry's slip does not take a list file's other entries with it."""
    try:
        raw = result.path.read_bytes()
    except OSError as exc:  # a folder named x.yaml, a broken link: this file only, not the rest
        result.error(1, f"could not be read ({exc.strerror or type(exc).__name__}); fix or "
                     "remove it")
        return None, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        result.error(line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")
        return None, None
    loader = _LOADER(text)
    node = None
    try:
        node = loader.get_single_node()
        if repeats_fail and _reported_repeats(result, node, "the file"):
            return None, None
        return (loader.construct_document(node) if node else None), node
    except (ValueError, TypeError, OverflowError) as exc:  # YAML read, a value could not be
        line, value = _unbuildable(node)  # made: a date like 2026-02-30 is one
        result.error(line, f"{value!r} is not a real date; write it as YYYY-MM-DD"
                     if value else f"a value could not be read ({exc})")
        return None, None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        detail = " ".join(filter(None, [exc.context, exc.problem]))
        result.error(line, f"YAML syntax error: {detail}; check indentation and quoting"
                     + _started_earlier(exc, line))
        return None, None
    except yaml.YAMLError as exc:
        result.error(1, f"YAML error: {exc}")
        return None, None
    finally:
        loader.dispose()


def _reported_repeats(result: FileResult, node: yaml.Node | None, where: str) -> bool:
    """Whether some key is given twice under `node`, each recorded as an error."""
    repeated = _repeated_keys(node)
    for line, key, first in repeated:
        result.error(line, f"{key!r} appears twice in {where} (first on line {first}); YAML "
                     "keeps only the last, so merge them into one")
    return bool(repeated)


def _repeated_keys(node: yaml.Node | None) -> list[tuple[int, str, int]]:
    """(line, key, line of its first use) for each key given twice in one mapping. PyYAML
    keeps the last silently: a second `questions:` block added at an entry's end would drop
    every phrasing above it."""
    repeated, stack = [], [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in seen:
                        repeated.append((line, key.value, seen[key.value]))
                    seen.setdefault(key.value, line)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return sorted(repeated)


def _unbuildable(node: yaml.Node | None) -> tuple[int, str]:
    """The line and text of the first date in the tree that is no date (PyYAML reads
    2026-02-30 as one and fails making it), or (1, "") when no such date is found."""
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop(0)
        if isinstance(current, yaml.ScalarNode):
            if current.tag.endswith(":timestamp") and not _real_date(current.value):
                return current.start_mark.line + 1, current.value
        elif isinstance(current, yaml.MappingNode):
            stack.extend(n for pair in current.value for n in pair)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return 1, ""


def _real_date(text: str) -> bool:
    try:
        yaml.SafeLoader("").construct_yaml_timestamp(yaml.ScalarNode(
            "tag:yaml.org,2002:timestamp", text))
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def line_of(node: yaml.Node, loc: tuple) -> int:
    """The line of the deepest node along a validation error's location."""
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _child(node: yaml.Node, part: object) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if k.value == part), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def _started_earlier(exc: yaml.MarkedYAMLError, line: int) -> str:
    """An unclosed quote swallows the lines after it, so PyYAML notices the error far below
    the mistake; the line where the enclosing part began is where to look."""
    context = exc.context_mark.line + 1 if exc.context_mark else line
    if context >= line:
        return ""
    return (f" from line {context} on (an unclosed quote or bracket there runs on until "
            f"line {line})")


def load_entry_file(path: Path) -> FileResult:
    result = FileResult(path)
    data, node = parse_yaml(result, repeats_fail=False)
    if node is None:
        if result.ok:  # most often a save cut short: a reload keeps what the file held
            result.error(1, "file is empty; to remove its entries, delete the file")
        return result
    if isinstance(node, yaml.MappingNode):
        items = [(data, node)]
    elif isinstance(node, yaml.SequenceNode):
        items = list(zip(data, node.value, strict=True))
    else:
        result.error(1, "expected one entry (a mapping) or a list of entries")
        return result
    for item, item_node in items:
        entry = _validate(result, item, item_node)
        if entry is not None:
            result.entries.append(entry)
    return result


def _validate(result: FileResult, item: Any, node: yaml.Node) -> Entry | None:
    line = node.start_mark.line + 1
    if not isinstance(item, dict):
        result.error(line, "expected an entry (a mapping with id, title, questions, ...)")
        return None
    if _reported_repeats(result, node, "this entry"):
        return None
    try:
        model = EntryModel.model_validate(item)
    except ValidationError as exc:
        for loc, message in validation_errors(exc):
            result.error(line_of(node, loc), message)
        return None
    return Entry(
        id=model.id,
        category=model.category.value,
        title=model.title,
        questions=tuple(model.questions),
        answer=model.answer.strip(),
        tags=tuple(model.tags),
        sources=tuple(Source(s.title, s.url) for s in model.sources),
        reviewed=model.reviewed,
        path=result.path,
        line=line,
        related=tuple(model.related),
        escalate=model.escalate,
        owner=model.owner,
        language=model.language,
        question_lines=tuple(line_of(node, ("questions", k)) for k in range(len(model.questions))),
    )


def load_synonyms(directory: Path) -> tuple[dict[str, list[str]], list[Problem]]:
    """The synonyms, or none with the problems that stopped them. An empty file is one of
    those problems, not "no synonyms": it is most often a save cut short, and a reload must
    keep the synonyms it had rather than drop them all (`{}` says none on purpose)."""
    path = directory / SYNONYMS_FILE
    if not path.exists():
        return {}, []
    result = FileResult(path)
    data, node = parse_yaml(result)
    if node is None:
        if result.ok:
            result.error(1, "file is empty; to use no synonyms, delete the file or write {}")
        return {}, result.problems
    try:
        synonyms = _SYNONYMS.validate_python(data)
    except ValidationError as exc:
        for err in exc.errors():
            result.error(line_of(node, tuple(err["loc"])),
                         "synonyms.yaml maps a term to a list of words, e.g. "
                         "'domestic violence: [DV, IPV]'")
        return {}, result.problems
    return synonyms, result.problems
