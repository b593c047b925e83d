"""What the redaction tests share: the redactor as the bot builds it, and a strict check."""

from __future__ import annotations

import re

import pytest

from bot.knowledge.base import KnowledgeBase
from bot.privacy.redaction import Redactor


@pytest.fixture(scope="module")
def redactor(shipped_kb: KnowledgeBase) -> Redactor:
    """Knowing the shipped knowledge base's words, as the running bot's redactor does."""
    return Redactor.knowing(shipped_kb.index.normalizer)


def surviving(redactor: Redactor, text: str, planted: str) -> list[str]:
    """The planted name's words still in the redacted text, as whole words: a name counts as
    redacted only when none of it is left."""
    out = redactor.redact(text).text.casefold()
    return [w for w in planted.casefold().split() if re.search(rf"\b{re.escape(w)}\b", out)]
