"""The knowledge base the bot serves: loaded and indexed once, reloadable without a restart.

A reload never loses what was loaded: a file that now has errors keeps its last good version,
and the problems are reported for staff to fix.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.calibration import CACHE, DEFAULT_MAX_WRONG, Calibration, off_topic_questions
from bot.knowledge.crisis import CrisisCheck, load_crisis
from bot.knowledge.entries import Entry
from bot.knowledge.files import (
    CRISIS_FILE,
    SETTINGS_FILES,
    entry_files,
    load_entry_file,
    load_synonyms,
)
from bot.knowledge.matcher import Index
from bot.knowledge.problems import Problem, Severity
from bot.knowledge.semantic import (
    PHRASING_VECTORS,
    SEED_FILE,
    missing_from_seed,
    shared_encoder,
)

SHIPPED_KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@functools.cache
def shipped_crisis() -> CrisisCheck:
    """Read once: consulted on every message of a knowledge base without its own file."""
    shipped, _ = load_crisis(SHIPPED_KNOWLEDGE)
    if shipped is None:
        raise KnowledgeError(f"no usable {SHIPPED_KNOWLEDGE / 'crisis.yaml'}")
    return shipped


class KnowledgeError(Exception):
    """The knowledge directory cannot be used at all."""


@dataclass(frozen=True)
class _Snapshot:
    entries: dict[str, Entry]
    files: dict[Path, tuple[Entry, ...]]
    synonyms: dict[str, list[str]]
    index: Index
    crisis: CrisisCheck | None = None


class KnowledgeBase:
    """`max_wrong` is the share of wrong answers staff accept (TABOT_MAX_WRONG); every load
    calibrates the matcher's lines to it on these entries."""

    def __init__(self, directory: Path, max_wrong: float = DEFAULT_MAX_WRONG) -> None:
        self.directory = Path(directory)
        self.max_wrong = max_wrong
        self.problems: list[Problem] = []
        self._snapshot = _Snapshot({}, {}, {}, Index([], {}))

    @classmethod
    def load(cls, directory: Path, max_wrong: float = DEFAULT_MAX_WRONG) -> KnowledgeBase:
        kb = cls(directory, max_wrong)
        kb.reload()
        return kb

    @property
    def entries(self) -> dict[str, Entry]:
        return self._snapshot.entries

    @property
    def synonyms(self) -> dict[str, list[str]]:
        return self._snapshot.synonyms

    @property
    def index(self) -> Index:
        return self._snapshot.index

    @property
    def calibration(self) -> Calibration | None:
        return self._snapshot.index.calibration

    @property
    def crisis(self) -> CrisisCheck:
        """This directory's crisis settings, or the shipped ones if it has none."""
        return self._snapshot.crisis or shipped_crisis()

    def require_crisis(self) -> CrisisCheck:
        """The crisis settings, or a refusal naming what is wrong with them: a bot that cannot
        give the hotlines must not start answering anyone. (A reload keeps the last good
        settings; this is for a first start with a broken file and nothing to fall back on.)"""
        try:
            return self.crisis
        except KnowledgeError:
            found = "; ".join(str(p) for p in self.problems if p.path.name == CRISIS_FILE)
            raise KnowledgeError(
                f"{found or self.directory / CRISIS_FILE}: tabot will not answer anyone "
                "without its crisis hotlines; fix the file (`tabot kb lint` lists every "
                "problem), or restore it from the release") from None

    def get(self, entry_id: str) -> Entry | None:
        return self._snapshot.entries.get(entry_id)

    def files_defining(self, entry_id: str) -> list[Path]:
        """Every file that defines `entry_id`, in file order. More than one is a duplicate id:
        only one of them is served (see `_unique`), and which depends on what a running bot
        loaded first, so a writer cannot tell which file to change."""
        return [path for path, group in self._snapshot.files.items()
                if any(entry.id == entry_id for entry in group)]

    def load_errors_naming(self, entry_id: str) -> list[Problem]:
        """For an id this knowledge base lacks, the errors of files with an `id:` line naming
        it: such an entry is broken, not gone. What refers to it (proposed phrasings, labels)
        should wait for the file to be fixed, not be dismissed. Empty when none names it."""
        if entry_id in self.entries:
            return []
        broken = {p.path for p in self.problems if p.severity is Severity.ERROR}
        naming = {path for path in broken if _has_id_line(path, entry_id)}
        return [p for p in self.problems if p.path in naming and p.severity is Severity.ERROR]

    def entry_errors(self) -> list[Problem]:
        """Errors in entry files (not the settings files): the entries those files hold may
        be missing from what was loaded, so a listing of entries is short by them."""
        settings = {self.directory / name for name in SETTINGS_FILES}
        return [p for p in self.problems
                if p.severity is Severity.ERROR and p.path not in settings]

    def by_category(self) -> dict[str, list[Entry]]:
        grouped: dict[str, list[Entry]] = {}
        for entry in sorted(self.entries.values(), key=lambda e: e.title.casefold()):
            grouped.setdefault(entry.category, []).append(entry)
        return dict(sorted(grouped.items()))

    def reload(self) -> list[Problem]:
        """Read every file again; broken files keep their last good version."""
        if not self.directory.is_dir():
            what = "is a file, not a folder" if self.directory.exists() else "does not exist"
            raise KnowledgeError(
                f"knowledge directory {self.directory} {what}; "
                "pass --kb DIR or set TABOT_KB to a folder of *.yaml entries"
            )
        previous = self._snapshot
        problems: list[Problem] = []
        files: dict[Path, tuple[Entry, ...]] = {}
        paths = entry_files(self.directory)
        if not paths:
            problems.append(Problem(self.directory, 1, Severity.ERROR,
                                    "no entry files (*.yaml) in this folder: every question "
                                    "would go to staff; check --kb or TABOT_KB"))
            if previous.entries:  # mid-checkout or mid-copy, say: keep serving what was read
                self.problems = problems
                return problems
        for path in paths:
            result = load_entry_file(path)
            problems += result.problems
            kept = previous.files.get(path)
            files[path] = kept if not result.ok and kept else tuple(result.entries)
        synonyms, synonym_problems = load_synonyms(self.directory)
        problems += synonym_problems
        if synonym_problems and previous.synonyms:
            synonyms = previous.synonyms
        crisis, crisis_problems = load_crisis(self.directory)
        problems += crisis_problems
        if crisis_problems:
            crisis = previous.crisis  # keep the last good settings; staff are told
        entries = self._unique(files, problems, previous.entries)
        PHRASING_VECTORS.add_seed(self.directory / SEED_FILE)
        index = Index(list(entries.values()), synonyms, shared_encoder())
        index.calibration = CACHE.get(index, content_hash(entries, synonyms), self.max_wrong)
        self._snapshot = _Snapshot(entries, files, synonyms, index, crisis)
        self.problems = problems
        return problems

    def write_vector_seed(self) -> tuple[Path, int]:
        """Ship the sentence vectors of every text loading this knowledge base encodes (its
        titles and questions, and calibration's off-topic questions) in its directory; the
        path and how many texts."""
        encoder = self.index.encoder
        if encoder is None:
            raise KnowledgeError("there are no sentence vectors to write: the sentence model is "
                                 "off (TABOT_SENTENCE_MODEL=off) or no entry loaded")
        path = self.directory / SEED_FILE
        texts = self.index.phrasing_texts() + off_topic_questions()
        return path, PHRASING_VECTORS.write_seed(encoder, texts, path)

    def vector_seed_missing(self) -> tuple[Path, int, int] | None:
        """The shipped vector seed, how many of this knowledge base's texts it lacks, and how
        many there are; None without a seed (or without the sentence model)."""
        if self.index.encoder is None:
            return None
        path = self.directory / SEED_FILE
        texts = self.index.phrasing_texts() + off_topic_questions()
        missing = missing_from_seed(path, texts, self.index.encoder.version)
        return None if missing is None else (path, missing, len(set(texts)))

    @staticmethod
    def _unique(files: dict[Path, tuple[Entry, ...]], problems: list[Problem],
                loaded: dict[str, Entry]) -> dict[str, Entry]:
        """One entry per id: the one already being served, if a new file copies its id (an
        entry copied as a template), else the first in file order."""
        entries: dict[str, Entry] = {}
        for entry in (e for group in files.values() for e in group):
            first = entries.get(entry.id)
            if first is None:
                entries[entry.id] = entry
                continue
            served = loaded.get(entry.id)
            established = served is not None and served.path == entry.path != first.path
            kept, dropped = (entry, first) if established else (first, entry)
            entries[entry.id] = kept
            problems.append(Problem(dropped.path, dropped.line, Severity.ERROR,
                                    f"duplicate id '{entry.id}' (also at {kept.path}:"
                                    f"{kept.line}, which is kept); give one of them a new id"))
        return entries


def _has_id_line(path: Path, entry_id: str) -> bool:
    """Whether `path` has a line `id: <entry_id>` (quoted or not, in a list or not), read as
    text: the file may not parse, which is why it is asked."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:  # a folder named like a file, a broken link: it names nothing
        return False
    line = rf"^[ \t-]*id:[ \t]*[\"']?{re.escape(entry_id)}[\"']?[ \t]*(#.*)?\r?$"
    return re.search(line, text, re.MULTILINE) is not None


def content_hash(entries: dict[str, Entry], synonyms: dict[str, list[str]]) -> str:
    """What the matcher sees of a knowledge base; equal hashes calibrate equally."""
    seen = [(e.id, e.title, list(e.questions), list(e.tags), e.answer) for e in entries.values()]
    text = json.dumps([seen, sorted(synonyms.items())], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
