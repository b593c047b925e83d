"""The knowledge-entry contract that coalition staff write by hand, checked by pydantic.

Error types from pydantic are turned into sentences a TA staff member can act on.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

KEBAB_CASE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_ID_LENGTH = 40  # every button carries an id, and a Telegram button carries 64 bytes in all
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Category(StrEnum):
    BEST_PRACTICE = "best-practice"
    EMERGING_ISSUE = "emerging-issue"
    STANDARD = "standard"


class SourceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: NonEmpty
    url: NonEmpty | None = None

    @field_validator("url")
    @classmethod
    def _url_is_web_address(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: NonEmpty
    category: Category
    title: NonEmpty
    questions: list[NonEmpty] = Field(min_length=1)
    answer: NonEmpty
    tags: list[NonEmpty] = Field(default_factory=list)
    sources: list[SourceModel] = Field(min_length=1)
    reviewed: dt.date
    related: list[NonEmpty] = Field(default_factory=list)
    escalate: bool = False
    owner: NonEmpty | None = None
    language: NonEmpty = "en"
    status: NonEmpty | None = None

    @field_validator("id")
    @classmethod
    def _id_is_kebab_case(cls, value: str) -> str:
        if not KEBAB_CASE.match(value):
            raise ValueError("must be kebab-case: lowercase letters, digits and single hyphens")
        if len(value) > MAX_ID_LENGTH:
            raise ValueError(f"is {len(value)} characters long; shorten it to {MAX_ID_LENGTH} "
                             "or fewer (buttons in chat carry the id, and they have little room)")
        return value


_CATEGORIES = ", ".join(c.value for c in Category)


def describe(error: dict) -> str:
    """One validation error as a sentence that says what to change."""
    where = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"missing required field '{where}'"
    if kind == "extra_forbidden":
        return f"unknown field '{where}' (a typo?); allowed fields are in the README"
    if kind == "enum":
        return f"unknown category {error['input']!r}; use one of: {_CATEGORIES}"
    if kind in {"string_too_short", "too_short"}:
        return f"'{where}' is empty; fill it in"
    if kind.startswith("date"):
        return f"'{where}' must be a date written YYYY-MM-DD, got {error['input']!r}"
    message = error["msg"].removeprefix("Value error, ")
    return f"'{where}' {message}" if kind == "value_error" else f"'{where}': {message}"


def validation_errors(exc: ValidationError) -> list[tuple[tuple, str]]:
    return [(tuple(err["loc"]), describe(err)) for err in exc.errors()]
