"""Escalations as plain text: what a triage shift scans at a terminal or in a chat."""

from __future__ import annotations

from bot.triage.workflow import EscalationView

URGENT_MARK = "URGENT: "


def queue_text(views: list[EscalationView]) -> str:
    if not views:
        return "Nothing is waiting for staff."
    return "Waiting for staff, urgent first, then oldest first:\n" + escalation_table(views)


def escalation_table(views: list[EscalationView]) -> str:
    """In the order given, with age, state, owner and topic; a crisis still waiting says so."""
    if not views:
        return "No escalations."
    header = f"{'ref':<8} {'age':>5}  {'state':<8} {'owner':<22} {'topic':<18} question"
    rows = [f"{v.reference:<8} {age(v):>5}  {v.state:<8} {v.claimed_by or '-'!s:<22} "
            f"{(v.tags or ('-',))[0]:<18} {URGENT_MARK if v.urgent else ''}"
            f"{shorten(v.question, 60)}" for v in views]
    return "\n".join([header, *rows])


def view_text(view: EscalationView, staff: bool) -> str:
    lines = [f"{view.reference} · {view.state} · asked {age(view)} ago",
             f"Question: {view.question}"]
    if view.urgent and staff:
        lines.insert(1, "URGENT: the asker may be in danger. They were given the hotlines.")
    if view.claimed_by and staff:
        lines.append(f"Claimed by: {view.claimed_by}")
    if view.answer:
        lines.append(f"Answer: {view.answer}")
    lines += [f"  {e.at:%Y-%m-%d %H:%M} {e.kind} by {e.actor}" + (f": {e.detail}" if e.detail
              and e.kind in {"note", "reassigned", "undelivered"} else "")
              for e in view.events]
    return "\n".join(lines)


def own_questions_text(views: list[EscalationView]) -> str:
    if not views:
        return "You have no questions waiting for TA staff."
    lines = [f"{v.reference}  {v.state:<8} {shorten(v.question, 70)}" for v in views[:20]]
    return "Your questions for TA staff:\n" + "\n".join(lines)


def age(view: EscalationView) -> str:
    minutes = int(view.age().total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h" if minutes < 48 * 60 else f"{minutes // 1440}d"


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
