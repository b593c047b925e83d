"""The architecture as rules a test can hold: adapters get one narrow interface; the core
never imports an adapter."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO

ADAPTER_MAY_IMPORT = {"bot.core", "bot.chat.messages", "bot.chat.text", "bot.config"}
_CORE_INTERNALS = re.compile(r"\bcore\.(db|triage|knowledge|_\w+)\b")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_adapters_use_only_the_core_interface_and_its_types() -> None:
    for path in sorted((REPO / "adapters").rglob("*.py")):
        ours = {m for m in imports(path) if m == "bot" or m.startswith("bot.")}
        assert ours <= ADAPTER_MAY_IMPORT, f"{path.name} imports {ours - ADAPTER_MAY_IMPORT}"
        assert not any(m.split(".")[0] == "sqlalchemy" for m in imports(path)), path.name
        assert not _CORE_INTERNALS.search(path.read_text(encoding="utf-8")), path.name


def test_the_core_imports_no_adapter() -> None:
    for path in sorted((REPO / "bot").rglob("*.py")):
        assert not any(m.split(".")[0] == "adapters" for m in imports(path)), path


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("from bot.store.database import Database\nimport sqlalchemy\n")
    assert imports(sneaky) == {"bot.store.database", "sqlalchemy"}
    assert _CORE_INTERNALS.search("self.core.triage.claim()")
