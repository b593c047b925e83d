"""Turning a staff answer into a draft knowledge entry, so the next asker gets it at once.

Drafts go to `drafts/` inside the knowledge directory, which the bot does not serve: a TA staff
member reviews the draft, adds phrasings and sources, and moves it into place.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from bot.knowledge.files import DRAFTS_DIR
from bot.knowledge.normalize import STOPWORDS, fold
from bot.knowledge.schema import MAX_ID_LENGTH
from bot.store.retention import PURGED
from bot.triage.workflow import Actor, Triage, TriageError, not_staff, purged


def draft_id(question: str, reference: str) -> str:
    """A few content words and the reference, within the longest id an entry may have."""
    words = [w for w in fold(re.sub(r"\[[A-Z ]+\]", " ", question)).split()
             if w not in STOPWORDS and w.isalnum()][:6]
    tail = reference.lower()
    while words and len("-".join([*words, tail])) > MAX_ID_LENGTH:
        words.pop()
    return "-".join([*words, tail])


async def write_draft(triage: Triage, actor: Actor, reference: str, knowledge_dir: Path) -> Path:
    view = await triage.show(reference, actor)
    if not triage.is_staff(actor):
        raise not_staff(actor, "draft knowledge entries")
    if view.question == PURGED:  # its file name and text would be built from "[purged]"
        raise purged(view.reference, "drafted")
    if not view.answer:
        raise TriageError(f"{view.reference} has no answer yet; answer it before drafting.")
    entry_id = draft_id(view.question, view.reference)
    path = Path(knowledge_dir) / DRAFTS_DIR / f"{entry_id}.yaml"
    if path.exists():
        raise TriageError(f"{path} already exists; edit it, or delete it to draft again.")
    answered = next((e for e in reversed(view.events) if e.kind == "answered"), None)
    entry = {
        "id": entry_id,
        "category": "best-practice",
        "title": view.question if len(view.question) <= 80 else view.question[:79] + "…",
        "questions": [view.question],
        "answer": view.answer,
        "tags": list(view.tags) or ["from-escalation"],
        "sources": [{"title": f"TA staff answer to {view.reference}"
                              + (f" by {answered.actor}, {answered.at:%Y-%m-%d}" if answered
                                 else "")}],
        "reviewed": dt.date.today(),
        "owner": actor.id,
        "status": "draft: add phrasings and sources, check the answer, then move out of drafts/",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Draft from an answered escalation; not served until moved out of drafts/.\n"
                    + yaml.safe_dump(entry, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    await triage.record(reference, actor, "drafted", str(path))
    return path
