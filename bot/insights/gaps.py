"""What the knowledge base misses: the next entries to write, and the ones to fix.

Questions that went to staff, or were marked "Not quite", are grouped by similarity, largest
group first, each with a few (redacted) examples. Entries often marked unhelpful, and entries
never matched, are listed too. The review list names entries not checked for too long.
Interaction records are purged after TABOT_KEEP_INTERACTIONS_DAYS, so a window reaching back past
the records kept is cut to them, and says so: an entry matched only before the purge would
otherwise be listed as never matched.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.entries import Entry
from bot.store.database import Database
from bot.store.interactions import SHOWN
from bot.store.retention import PURGED
from bot.store.tables import Escalation, Interaction, InteractionCount, utcnow

SIMILAR = 0.35  # share of a question's word weight a group must cover for it to join
UNHELPFUL_SHARE = 0.5
UNHELPFUL_MIN = 2
ZONE_SLACK = dt.timedelta(hours=14)  # folded months are the coalition's; no zone is further ahead


@dataclass
class Cluster:
    count: int
    examples: list[str] = field(default_factory=list)


@dataclass
class Gaps:
    clusters: list[Cluster]
    unhelpful: list[tuple[str, int, int]]  # entry id, "not quite" count, all feedback count
    never_matched: list[str]
    since: dt.datetime | None = None  # the window looked at, after any cut to the records kept
    days_kept: int | None = None  # set when the window was cut: the days of records there are


def cluster(questions: list[str], kb: KnowledgeBase, similar: float = SIMILAR) -> list[Cluster]:
    """Greedy grouping by shared informative words, weighted as the matcher weighs them (words
    the knowledge base lacks weigh most: they are what the gap is about). A question joins the
    group whose words cover the largest share of its own, if that share reaches `similar`."""
    index = kb.index
    groups: list[Cluster] = []
    group_words: list[set[str]] = []
    holders: dict[str, set[int]] = {}
    for question in questions:
        words = {t for t in index.normalizer.tokens(question, correct_typos=False)
                 if not index.is_stopword(t)}
        weight = {t: index.weight(t) for t in words}
        total = sum(weight.values()) or 1.0
        candidates = set().union(*(holders.get(t, set()) for t in words)) if words else set()
        scored = [(sum(weight[t] for t in words & group_words[g]) / total, g)
                  for g in candidates]
        share, best = max(scored, default=(0.0, -1))
        if share < similar:
            best = len(groups)
            groups.append(Cluster(0, []))
            group_words.append(set())
        group = groups[best]
        group.count += 1
        if len(group.examples) < 3 and question not in group.examples:
            group.examples.append(question)
        group_words[best] |= words
        for t in words:
            holders.setdefault(t, set()).add(best)
    return sorted(groups, key=lambda g: g.count, reverse=True)


async def find_gaps(db: Database, kb: KnowledgeBase, since: dt.datetime, *,
                    now: dt.datetime | None = None) -> Gaps:
    now = now or utcnow()
    kept = await records_kept_since(db)
    cut = kept is not None and kept > since
    if cut:
        since = min(kept, now)
    async with db.session() as session:
        escalated = list(await session.scalars(select(Escalation.question).where(
            Escalation.created_at >= since, Escalation.reason != "crisis",
            Escalation.question != PURGED)))
        records = list(await session.execute(
            select(Interaction.outcome, Interaction.entry_id, Interaction.feedback,
                   Interaction.text).where(Interaction.created_at >= since)))
    not_quite = [text for _, _, feedback, text in records if feedback == "not-helped" and text]
    answered = Counter(entry for outcome, entry, _, _ in records if outcome in SHOWN and entry)
    verdicts = Counter(entry for _, entry, feedback, _ in records if feedback and entry)
    unhappy = Counter(entry for _, entry, feedback, _ in records
                      if feedback == "not-helped" and entry)
    unhelpful = sorted(((entry, n, verdicts[entry]) for entry, n in unhappy.items()
                        if n >= UNHELPFUL_MIN and n >= UNHELPFUL_SHARE * verdicts[entry]),
                       key=lambda item: -item[1])
    never = sorted(set(kb.entries) - set(answered))
    return Gaps(cluster(escalated + not_quite, kb), unhelpful, never, since,
                (now - since).days if cut else None)


async def records_kept_since(db: Database) -> dt.datetime | None:
    """Where the interaction records are whole again after a purge, or None when no purge has
    folded any. The purge's own cut is not stored, but it folded only records older than the
    oldest one kept, and none after the last folded month ends (give or take the zone it was
    folded in): from the earlier of the two, no record was purged."""
    async with db.session() as session:
        last_month = await session.scalar(select(func.max(InteractionCount.month)))
        if last_month is None:
            return None
        oldest = await session.scalar(select(func.min(Interaction.created_at)))
    month = dt.datetime.fromisoformat(f"{last_month}-01").replace(tzinfo=dt.UTC)
    folded_until = (month + dt.timedelta(days=32)).replace(day=1) + ZONE_SLACK
    if oldest is None:
        return folded_until
    return min(oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC),  # SQLite: naive
               folded_until)


def due_for_review(kb: KnowledgeBase, today: dt.date, months: int) -> list[Entry]:
    """Entries not reviewed for `months`, oldest first."""
    cutoff = today - dt.timedelta(days=round(months * 30.44))
    return sorted((e for e in kb.entries.values() if e.reviewed < cutoff),
                  key=lambda e: (e.reviewed, e.id))


def review_text(entries: list[Entry], months: int) -> str:
    if not entries:
        return f"Every knowledge entry was reviewed in the last {months} months."
    lines = [f"{e.reviewed}  {e.id:<40} {e.owner or '(no owner)'}" for e in entries]
    return (f"{len(entries)} knowledge entries not reviewed in {months} months, oldest first:\n"
            + "\n".join(lines))


def gaps_text(gaps: Gaps) -> str:
    lines = []
    if gaps.days_kept is not None and gaps.since is not None:
        lines += [f"Note: interaction records go back only {gaps.days_kept} days (to "
                  f"{gaps.since:%Y-%m-%d %H:%M} UTC); older ones were purged under "
                  "TABOT_KEEP_INTERACTIONS_DAYS, so everything below covers those days only.",
                  ""]
    lines.append("Questions the knowledge base did not answer, grouped (largest first):")
    for group in gaps.clusters[:25]:
        lines.append(f"  {group.count:>4}  " + " | ".join(group.examples))
    lines.append("\nEntries often marked 'Not quite' (not quite / all feedback):")
    lines += [f"  {entry:<40} {n} / {shown}" for entry, n, shown in gaps.unhelpful] or ["  none"]
    lines.append("\nEntries never matched:")
    lines += [f"  {entry}" for entry in gaps.never_matched] or ["  none"]
    return "\n".join(lines)
