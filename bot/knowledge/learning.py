"""The learning loop: questions people confirmed an entry answers become proposed phrasings.

A question is *confirmed* for an entry when its asker picked that entry among suggestions,
marked its answer *This helped*, or TA staff answered the escalated question by pointing at the
entry. Each confirmed question is recorded, redacted, against the entry; the same wording (up
to case, accents and punctuation) is one proposal whose counts grow. Staff approve proposals
into the entry's YAML file or dismiss them (`tabot kb learn`); a dismissed proposal keeps only
its key, so it is not proposed again and its text is not kept.

Proposals are not tied to who asked (no platform, user or program), and the table stays
small, one row per distinct wording and entry. A pending one is still a redacted question, so
the retention purge deletes it once nobody has confirmed it for as long as interaction records
are kept (`bot.store.retention`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.chat.annotations import proposable
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.editing import EditError, add_phrasings, editing_lock, write_atomically
from bot.knowledge.entries import Entry
from bot.knowledge.normalize import fold
from bot.knowledge.problems import Problem
from bot.privacy.redaction import PLACEHOLDER
from bot.store import audit
from bot.store.database import Database
from bot.store.tables import LearnedPhrasing, utcnow

MAX_PHRASING_CHARS = 300  # longer messages tell a story; they make poor phrasings to match
_ID = re.compile(r"^#?(\d{1,9})$")


class Confirmation(StrEnum):
    """How a question was confirmed to be answered by an entry."""

    PICKED = "picked"  # the asker chose the entry among suggestions
    HELPED = "helped"  # the asker marked the entry's answer "This helped"
    STAFF = "staff"  # TA staff answered the escalated question with the entry


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DISMISSED = "dismissed"


_COUNTERS = {Confirmation.PICKED: "picked", Confirmation.HELPED: "helped",
             Confirmation.STAFF: "by_staff"}


class LearningError(Exception):
    """A staff decision that cannot be carried out; nothing was changed. The text says why."""


@dataclass(frozen=True)
class Proposal:
    id: int
    entry_id: str
    text: str
    picked: int
    helped: int
    by_staff: int
    confirmations: int
    already_listed: bool  # the entry has gained this phrasing since (edited by hand)

    def how(self) -> str:
        """'3 picked, 1 staff': how the confirmations came."""
        parts = [(self.picked, "picked"), (self.helped, "helped"), (self.by_staff, "staff")]
        return ", ".join(f"{count} {name}" for count, name in parts if count)


@dataclass(frozen=True)
class EntryProposals:
    """One entry's pending proposals, most confirmed first. `entry` is None when the entry is
    not in the knowledge base: with `load_errors`, because a file defining it failed to load
    (fix it; the proposals wait), without, because it has left (dismiss them)."""

    entry_id: str
    entry: Entry | None
    proposals: tuple[Proposal, ...]
    load_errors: tuple[Problem, ...] = ()

    @property
    def confirmations(self) -> int:
        return sum(p.confirmations for p in self.proposals)


@dataclass(frozen=True)
class Approved:
    """What an approval wrote: the phrasings added to each entry, and the files changed."""

    added: dict[str, list[str]]
    files: tuple[Path, ...]


def phrasing_text(question: str) -> str:
    """The question as it would be written into an entry: placeholders dropped (they are not
    words advocates type), whitespace collapsed."""
    return " ".join(PLACEHOLDER.sub(" ", question).split())


def phrasing_key(question: str) -> str:
    """What makes two wordings the same proposal: equal once case, accents, punctuation and
    placeholders are set aside. Stored as a digest, so a dismissed proposal keeps no text."""
    return hashlib.sha256(fold(phrasing_text(question)).encode("utf-8")).hexdigest()


async def record_confirmed(connection: AsyncConnection, question: str, entry: Entry,
                           source: Confirmation) -> bool:
    """Record that `question` (already redacted) was confirmed to be answered by `entry`.

    Runs inside the caller's transaction, so the confirmation commits (or not) with whatever
    caused it. Returns False, recording nothing, for a follow-up (see `proposable`), a question
    with no words once its placeholders are gone, one too long to be a phrasing, or one the
    entry already lists (up to case and punctuation). A wording already recorded for the entry
    has its counts raised, whatever its state: a dismissed one stays dismissed.
    """
    asked = proposable(question)
    if asked is None:
        return False
    text = phrasing_text(asked)
    folded = fold(text)
    if not folded or len(text) > MAX_PHRASING_CHARS:
        return False
    if folded in {fold(q) for q in entry.questions}:
        return False
    now = utcnow()
    counter = _COUNTERS[Confirmation(source)]
    values = {"entry_id": entry.id, "key": phrasing_key(text), "text": text, "picked": 0,
              "helped": 0, "by_staff": 0, counter: 1, "confirmations": 1,
              "state": State.PENDING, "first_seen": now, "last_seen": now}
    insert = sqlite.insert if connection.dialect.name == "sqlite" else postgresql.insert
    statement = insert(LearnedPhrasing).values(values)
    table = LearnedPhrasing.__table__.c
    await connection.execute(statement.on_conflict_do_update(
        index_elements=[table.entry_id, table.key],
        set_={counter: table[counter] + 1, "confirmations": table.confirmations + 1,
              "last_seen": now}))
    return True


async def proposals(db: Database, knowledge: KnowledgeBase) -> list[EntryProposals]:
    """Pending proposals grouped per entry: the most confirmed entries first, and within each
    entry the most confirmed wordings first (then the most recent)."""
    async with db.session() as session:
        rows = (await session.scalars(
            select(LearnedPhrasing).where(LearnedPhrasing.state == State.PENDING)
            .order_by(LearnedPhrasing.confirmations.desc(), LearnedPhrasing.last_seen.desc(),
                      LearnedPhrasing.id))).all()
    grouped: dict[str, list[Proposal]] = {}
    for row in rows:
        entry = knowledge.get(row.entry_id)
        grouped.setdefault(row.entry_id, []).append(_proposal(row, entry))
    groups = [EntryProposals(entry_id, knowledge.get(entry_id), tuple(items),
                             tuple(knowledge.load_errors_naming(entry_id)))
              for entry_id, items in grouped.items()]
    return sorted(groups, key=lambda g: (-g.confirmations, g.entry_id))


def _proposal(row: LearnedPhrasing, entry: Entry | None) -> Proposal:
    listed = entry is not None and fold(row.text) in {fold(q) for q in entry.questions}
    return Proposal(row.id, row.entry_id, row.text, row.picked, row.helped, row.by_staff,
                    row.confirmations, listed)


def parse_ids(texts: Iterable[str]) -> list[int]:
    """Proposal ids as staff type them: `12` or `#12`, each once, in the order given."""
    ids: list[int] = []
    for text in texts:
        found = _ID.match(text.strip())
        if not found:
            raise LearningError(f"{text.strip()!r} is not a proposal id; they are numbers, as "
                                "`tabot kb learn` lists them (e.g. 12 or #12)")
        if int(found.group(1)) not in ids:
            ids.append(int(found.group(1)))
    if not ids:
        raise LearningError("name at least one proposal id, as `tabot kb learn` lists them")
    return ids


async def approve(db: Database, knowledge: KnowledgeBase, ids: Sequence[int],
                  actor: str) -> Approved:
    """Write the proposals into their entries' files, mark them approved, reload `knowledge`.

    All or nothing: every id must be pending, its entry still in the knowledge base, in one
    file only, and that file loading cleanly, or nothing is written. The files are written
    inside the database transaction and put back if it does not commit, so the table never
    says approved for a phrasing that is not in its file. A running bot that did not make the
    change reloads on SIGHUP (see the README)."""
    originals: dict[Path, bytes] = {}
    async with editing_lock(knowledge.directory), db.session() as session:
        try:
            async with session.begin():  # commits here, or the files are put back below
                rows = await _pending(session, ids)
                added, files = _planned_additions(knowledge, rows)
                for path, additions in files.items():
                    originals[path] = path.read_bytes()
                    add_phrasings(path, additions)
                await _decide(session, rows, State.APPROVED, actor)
        except EditError as exc:
            _restore(originals)
            raise LearningError(f"{exc} Nothing was changed.") from None
        except BaseException:
            _restore(originals)
            raise
        # In a thread: the console and the chat adapters share this event loop, and a reload
        # takes seconds (recalibrating) that no asker should wait through.
        await asyncio.to_thread(knowledge.reload)
    return Approved(added, tuple(files))


async def dismiss(db: Database, ids: Sequence[int], actor: str) -> int:
    """Mark the proposals dismissed and forget their text; the key stays, so the same wording is
    not proposed again. Returns how many were dismissed."""
    async with db.session() as session, session.begin():
        rows = await _pending(session, ids)
        await _decide(session, rows, State.DISMISSED, actor)
    return len(rows)


async def _pending(session: AsyncSession, ids: Sequence[int]) -> list[LearnedPhrasing]:
    """The rows for `ids`, or a LearningError naming every id that is missing or decided."""
    found = {row.id: row for row in await session.scalars(
        select(LearnedPhrasing).where(LearnedPhrasing.id.in_(ids)))}
    missing = [f"#{i}" for i in ids if i not in found]
    if missing:
        raise LearningError(f"no proposal {', '.join(missing)}; `tabot kb learn` lists the "
                            "pending ones. Nothing was changed.")
    decided = [row for row in found.values() if row.state != State.PENDING]
    if decided:
        said = "; ".join(f"#{r.id} was {r.state} by {r.decided_by}" for r in decided)
        raise LearningError(f"{said}. Nothing was changed.")
    return [found[i] for i in ids]


def _planned_additions(knowledge: KnowledgeBase, rows: list[LearnedPhrasing],
                       ) -> tuple[dict[str, list[str]], dict[Path, dict[str, list[str]]]]:
    """Per entry and per file, the phrasings to add (those the entry lacks, each once)."""
    _refuse_missing(knowledge, rows)
    _refuse_duplicated(knowledge, rows)
    _refuse_listed_elsewhere(knowledge, rows)
    added: dict[str, list[str]] = {}
    files: dict[Path, dict[str, list[str]]] = {}
    for row in rows:
        entry = knowledge.entries[row.entry_id]
        have = {fold(q) for q in entry.questions} | {fold(t) for t in added.get(entry.id, [])}
        if fold(row.text) not in have:
            added.setdefault(entry.id, []).append(row.text)
            files.setdefault(entry.path, {}).setdefault(entry.id, []).append(row.text)
    return added, files


def _refuse_missing(knowledge: KnowledgeBase, rows: list[LearnedPhrasing]) -> None:
    """An entry missing because its file failed to load is broken, not gone: say the file's
    errors, since dismissing its proposals would throw away confirmed phrasings. Only one
    missing with no file naming it has left the knowledge base."""
    missing = [r for r in rows if knowledge.get(r.entry_id) is None]
    broken = {r.entry_id: errors for r in missing
              if (errors := knowledge.load_errors_naming(r.entry_id))}
    if broken:
        said = "; ".join(f"{_ids(missing, entry_id)} ('{entry_id}'): its file did not load: "
                         + "; ".join(map(str, errors)) for entry_id, errors in broken.items())
        raise LearningError(f"{said}. Fix the file (`tabot kb lint` checks it), then approve "
                            "again. Nothing was changed.")
    if missing:
        gone = ", ".join(f"#{r.id} ('{r.entry_id}')" for r in missing)
        raise LearningError(f"{gone}: the entry is no longer in the knowledge base at "
                            f"{knowledge.directory}; dismiss these. Nothing was changed.")


def _refuse_duplicated(knowledge: KnowledgeBase, rows: list[LearnedPhrasing]) -> None:
    """With an id in two files, the one this process loaded need not be the one a running bot
    serves (it keeps the one it had), so a phrasing written into it might never be served."""
    duplicated = {r.entry_id: paths for r in rows
                  if len(paths := knowledge.files_defining(r.entry_id)) > 1}
    if duplicated:
        said = "; ".join(f"{_ids(rows, entry_id)}: '{entry_id}' is the id of entries in "
                         + " and ".join(map(str, paths)) for entry_id, paths in duplicated.items())
        raise LearningError(f"{said}. Give one of them a new id (or delete the copy), then "
                            "approve again. Nothing was changed.")


def _ids(rows: list[LearnedPhrasing], entry_id: str) -> str:
    """'#3, #7': the proposals among `rows` for `entry_id`."""
    return ", ".join(f"#{r.id}" for r in rows if r.entry_id == entry_id)


def _refuse_listed_elsewhere(knowledge: KnowledgeBase, rows: list[LearnedPhrasing]) -> None:
    """A wording another entry already lists would be a phrasing of two entries, which lint
    refuses: the asker (or staff) confirmed an entry that is not the one it belongs to."""
    owners = {fold(q): entry.id for entry in knowledge.entries.values() for q in entry.questions}
    clashes = [f"#{r.id} ('{r.text}') is already a phrasing of '{owners[fold(r.text)]}'"
               for r in rows if owners.get(fold(r.text), r.entry_id) != r.entry_id]
    if clashes:
        raise LearningError(f"{'; '.join(clashes)}: dismiss it, or move that phrasing by hand. "
                            "Nothing was changed.")


async def _decide(session: AsyncSession, rows: list[LearnedPhrasing], state: State,
                  actor: str) -> None:
    """Mark the rows decided, only if still pending: two staff deciding at once, one wins."""
    now = utcnow()
    values: dict[str, object] = {"state": state, "decided_by": actor, "decided_at": now}
    if state is State.DISMISSED:
        values["text"] = ""
    done = await session.execute(
        update(LearnedPhrasing)
        .where(LearnedPhrasing.id.in_([r.id for r in rows]),
               LearnedPhrasing.state == State.PENDING)
        .values(values).execution_options(synchronize_session=False))
    if done.rowcount != len(rows):
        raise LearningError("someone else decided some of these proposals just now; list them "
                            "again with `tabot kb learn`. Nothing was changed.")
    for row in rows:
        audit.record(session, actor, f"phrasing {state}", row.entry_id, f"#{row.id}", at=now)


def _restore(originals: dict[Path, bytes]) -> None:
    for path, content in originals.items():
        if path.read_bytes() != content:
            write_atomically(path, content)


__all__ = ["Approved", "Confirmation", "EditError", "EntryProposals", "LearningError",
           "Proposal", "approve", "dismiss", "parse_ids", "phrasing_key", "proposals",
           "record_confirmed"]
