"""The knowledge-entry form: what staff type, turned into an entry's data and checked with
the same schema the loader and `tabot kb lint` use, with each error next to its field.

Lists are typed one item per line (phrasings, sources as `Title | https://...`) or separated
by commas (tags, related ids), as staff would write them in a note.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from bot.knowledge.schema import Category, EntryModel, describe

FIELDS = ("id", "category", "title", "questions", "answer", "tags", "sources", "related",
          "reviewed", "escalate")
CATEGORIES = tuple(c.value for c in Category)


@dataclass
class EntryForm:
    """The form's values as text, and the errors found for each field."""

    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    version: str = ""  # the entry's version when the form was opened (`entry_version`)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name if name in FIELDS else "", []).append(message)

    @classmethod
    def blank(cls) -> EntryForm:
        return cls({"id": "", "category": CATEGORIES[0], "title": "", "questions": "",
                    "answer": "", "tags": "", "sources": "", "related": "",
                    "reviewed": dt.date.today().isoformat(), "escalate": ""})

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> EntryForm:
        """An entry as written in its file, as the form shows it."""
        sources = [f"{s.get('title', '')} | {s['url']}" if s.get("url") else s.get("title", "")
                   for s in data.get("sources") or [] if isinstance(s, dict)]
        return cls({
            "id": str(data.get("id", "")), "category": str(data.get("category", "")),
            "title": str(data.get("title", "")),
            "questions": "\n".join(map(str, data.get("questions") or [])),
            "answer": str(data.get("answer", "")).strip(),
            "tags": ", ".join(map(str, data.get("tags") or [])),
            "sources": "\n".join(sources),
            "related": ", ".join(map(str, data.get("related") or [])),
            "reviewed": str(data.get("reviewed", "")),
            "escalate": "on" if data.get("escalate") else ""})

    @classmethod
    def from_form(cls, form: FormData) -> EntryForm:
        values = {}
        for name in FIELDS:
            value = form.get(name, "")
            values[name] = value.replace("\r\n", "\n") if isinstance(value, str) else ""
        version = form.get("version", "")
        return cls(values, version=version if isinstance(version, str) else "")

    def data(self, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """The entry's data: the file's own fields the form does not show (owner, language,
        status) are kept from `base`."""
        v = self.values
        data: dict[str, Any] = dict(base or {})
        data.update({
            "id": v["id"].strip(), "category": v["category"].strip(),
            "title": v["title"].strip(), "questions": _lines(v["questions"]),
            "answer": v["answer"].strip(), "tags": _commas(v["tags"]),
            "sources": [_source(line) for line in _lines(v["sources"])],
            "reviewed": _date(v["reviewed"])})
        related = _commas(v["related"])
        if related:
            data["related"] = related
        else:
            data.pop("related", None)
        if v["escalate"] or "escalate" in data:  # an explicit `escalate: false` stays
            data["escalate"] = bool(v["escalate"])
        if str((base or {}).get("reviewed")) == str(data["reviewed"]):
            data["reviewed"] = (base or {})["reviewed"]  # '2026-10-01' quoted stays quoted
        return data

    def validate(self, data: dict[str, Any]) -> bool:
        """Check `data` against the entry schema; errors go next to their fields."""
        try:
            EntryModel.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                self.add(str(error["loc"][0]) if error["loc"] else "", describe(error))
        return not self.errors


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _commas(text: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in text.replace("\n", ",").split(",")
                              if part.strip()))


def _source(line: str) -> dict[str, str]:
    title, _, url = line.rpartition("|") if "|" in line else (line, "", "")
    return {"title": title.strip(), "url": url.strip()} if url.strip() else {"title": title.strip()}


def _date(text: str) -> dt.date | str:
    """A date for a valid YYYY-MM-DD; otherwise the text, for the schema to reject clearly."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return text.strip()
