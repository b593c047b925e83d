"""Adding one phrasing to an entry from the console (Try it's *Add as phrasing*, and a learned
phrasing approved or reworded): checked for personal details, then like any other edit, before
anything is written.

A phrasing is written into the entry's file and its git history, where nothing is ever
redacted later. So a wording in which the redactor chat uses finds a name, a phone number, an
address or another identifier is refused, never stored: staff reword it. (Storing the redacted
wording instead would put "what if calls about curfew" into the entry, which nobody typed.)
"""

from __future__ import annotations

from bot.console.entry_store import check_change, raw_entry
from bot.console.entry_yaml import replaced
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.entries import Entry
from bot.privacy.redaction import Redactor


def personal_details(knowledge: KnowledgeBase, wording: str) -> str:
    """What the redactor finds in `wording`, in chat's words ("name, phone"); '' for nothing.
    The redactor knows the knowledge base's words, as chat's does, so they are never taken
    for names."""
    redaction = Redactor.knowing(knowledge.index.normalizer).redact(wording)
    return ", ".join(sorted(kind.strip("[]").lower() for kind in redaction.kinds))


def personal_details_refusal(found: str) -> str:
    """Why a wording was not added; it does not repeat the wording."""
    return (f"The wording holds what looks like personal details ({found}), so it was not "
            "added. Phrasings are kept in the entry's file and its history, which must hold "
            "no details of a survivor or a case. Reword it without them and add it again.")


def lint_messages(knowledge: KnowledgeBase, entry: Entry, wording: str) -> list[str]:
    """The lint errors that adding `wording` to `entry` would bring (none: it may be added).
    An UnreadableEntry when the entry's file no longer reads back."""
    data = raw_entry(entry.path, entry.id)
    data["questions"] = [*(data.get("questions") or []), wording]
    problems = check_change(knowledge, entry.path, replaced(entry.path, entry.id, data),
                            entry.id)
    return [message for found in problems.by_field.values() for message in found]
