"""The local spool: questions for staff that arrived while the database was down.

A question meant for staff must not be lost because the database is unreachable, and the asker
must not be told it was filed when it was not. So it is written here, one small file per
question, already redacted, and synced to disk before the asker is told it was saved; once the
database answers again, `file_spooled()` files each one as an escalation and queues a message
telling the asker its reference.

Filing is idempotent: each spooled question carries a key stored with its escalation under a
unique constraint, so a process that dies between filing and deleting the file, or two
processes sharing one spool directory, file it once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy.exc import DataError, IntegrityError

from bot.chat import copy
from bot.chat.messages import DeliveryKind, Message
from bot.store.database import Database
from bot.store.interactions import Record, record_interaction
from bot.store.tables import utcnow
from bot.triage.escalations import Reason, behind_button, create_escalation
from bot.triage.outbox import queue_for_asker
from bot.triage.workflow import parse_reference

log = logging.getLogger(__name__)
SUFFIX = ".json"
HELD = "held"  # a subdirectory: questions that cannot be filed as they are


@dataclass(frozen=True)
class SpooledQuestion:
    """What filing needs later: where it came from, the redacted text, why it goes to staff,
    the record to write with it (`outcome` empty: none), and the earlier record a button
    pointed at (`asked`), whose question is read back when filing."""

    platform: str
    user_id: str
    conversation_id: str
    thread_id: str | None
    program: str | None
    question: str
    reason: str
    tags: list[str]
    outcome: str = ""
    entry_id: str | None = None
    score: float = 0.0
    asked: int | None = None
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: str = field(default_factory=lambda: utcnow().isoformat())

    @classmethod
    def of(cls, message: Message, question: str, reason: Reason, tags: list[str],
           record: Record | None = None, asked: int | None = None) -> SpooledQuestion:
        outcome, entry_id, score = ((record.outcome, record.entry_id, record.score) if record
                                    else ("", None, 0.0))
        return cls(message.platform, message.user_id, message.conversation_id,
                   message.thread_id, message.program, question, str(reason), tags, outcome,
                   entry_id, score, asked)

    @property
    def message(self) -> Message:
        return Message(self.platform, self.user_id, self.conversation_id, self.question,
                       thread_id=self.thread_id, program=self.program)


class Spool:
    def __init__(self, directory: Path, former: tuple[Path, ...] = ()) -> None:
        """`former`: folders an earlier tabot spooled into for the same database, read with
        this one (and removed once empty) so what they hold is still filed; never written."""
        self.directory = directory
        self.former = former

    def check_writable(self) -> None:
        """At start, not during the outage the spool is for: a folder that cannot be made or
        written is an OSError naming the folder."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = self.directory / f".write-check-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()

    def put(self, item: SpooledQuestion) -> None:
        """Write and sync one question; raises OSError if the disk will not take it."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = self.directory / f"{item.key}{SUFFIX}"
        partial = final.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(asdict(item), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
        _sync_directory(self.directory)

    def waiting(self) -> Iterator[tuple[Path, SpooledQuestion | None]]:
        """Spooled questions, oldest first; None for a file that cannot be read back."""
        files = [path for folder in (self.directory, *self.former) if folder.is_dir()
                 for path in folder.glob(f"*{SUFFIX}")]
        for path in sorted(files, key=_modified):
            try:
                yield path, SpooledQuestion(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                yield path, None
        for folder in self.former:
            with contextlib.suppress(OSError):  # absent, or still holding something
                folder.rmdir()

    def hold(self, path: Path, why: str) -> None:
        """Move a question that can never be filed out of the way, for an admin to look at,
        so it does not stop the ones behind it nor log the same line every second."""
        held = self.directory / HELD
        # parents: a former folder's question may be held before this folder exists
        held.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.replace(held / path.name)
        log.error("spooled question %s %s; moved to %s for an admin", path.name, why, held)

    def __len__(self) -> int:
        return sum(1 for _ in self.waiting())


async def file_spooled(db: Database, spool: Spool, notify: tuple[str, ...],
                       response_time: str) -> int:
    """File every spooled question the database now takes; the number filed."""
    filed = 0
    for path, item in spool.waiting():
        if item is None:
            spool.hold(path, "cannot be read")
            continue
        try:
            filed += await _file(db, item, notify, response_time)
        except (DataError, ValueError) as exc:  # the database is up but refuses this one
            spool.hold(path, f"was refused by the database ({type(exc).__name__})")
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return filed


async def _file(db: Database, item: SpooledQuestion, notify: tuple[str, ...],
                response_time: str) -> int:
    """File one question with its asker's notice in one transaction; 0 if filed before."""
    message = item.message
    try:
        async with db.engine.begin() as connection:
            question, reason = await behind_button(connection, item.asked, message,
                                                   item.question, Reason(item.reason))
            if item.outcome:
                await record_interaction(connection, Record(message, item.question,
                                                            item.outcome, item.entry_id,
                                                            item.score))
            reference = await create_escalation(connection, message, question,
                                                reason, item.tags, notify,
                                                source_key=item.key,
                                                asked_at=dt.datetime.fromisoformat(item.at))
            await queue_for_asker(connection, DeliveryKind.FILED, message,
                                  parse_reference(reference),
                                  copy.SPOOL_FILED.format(reference=reference,
                                                          response_time=response_time))
    except IntegrityError:
        return 0  # its key is taken: another attempt filed it
    log.info("spooled question filed as %s", reference)
    return 1


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable, where the platform allows opening a directory."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
