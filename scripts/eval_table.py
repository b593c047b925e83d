"""`make eval`: every labeled question set in one table, with default settings.

Each knowledge base is loaded as the bot loads it (so it calibrates itself), its questions are
matched as `tabot eval` matches them, and one row per set is printed, then the calibration each
knowledge base chose. The BANKING77 rows are skipped, with a note, when its directory is absent.

    python scripts/eval_table.py [--banking77 DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge import evaluation
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.confidence import Outcome
from bot.knowledge.matcher import Matcher

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
BANKING77 = ROOT.parent / "shared" / "data" / "banking77"


@dataclass(frozen=True)
class QuestionSet:
    name: str
    kb: Path
    questions: Path


def question_sets(banking77: Path) -> tuple[list[QuestionSet], list[str]]:
    """The sets to measure, and notes on any that are missing."""
    sets = [
        QuestionSet("shipped tuning", ROOT / "knowledge", DATA / "questions.jsonl"),
        QuestionSet("shipped held-out", ROOT / "knowledge", DATA / "questions-heldout.jsonl"),
        QuestionSet("second domain", DATA / "library_kb", DATA / "library_questions.jsonl"),
        # In the domain's words, but no entry answers them: all out of scope, so "OOS not
        # answered" is the share kept from a wrong answer.
        QuestionSet("shipped, needs staff", ROOT / "knowledge",
                    DATA / "questions-needs-staff.jsonl"),
    ]
    if not banking77.is_dir():
        return sets, [f"BANKING77 rows skipped: no directory {banking77}"]
    sets += [QuestionSet(f"BANKING77 {name}", banking77 / name, banking77 / "questions.jsonl")
             for name in ("kb-10", "kb-all")]
    return sets, []


def measure(sets: list[QuestionSet]) -> tuple[list[dict], dict[Path, KnowledgeBase]]:
    loaded: dict[Path, KnowledgeBase] = {}
    rows = []
    for qs in sets:
        kb = loaded.get(qs.kb) or loaded.setdefault(qs.kb, KnowledgeBase.load(qs.kb))
        outcomes = evaluation.run(Matcher(kb.index), evaluation.read_questions(qs.questions))
        routing = evaluation.oos_routing(outcomes)
        rows.append({"set": qs.name, "kb": _shown(qs.kb), "questions": _shown(qs.questions),
                     **evaluation.summarise(outcomes).as_dict(),
                     "oos_escalated": round(routing.escalated, 4),
                     "oos_off_topic": round(routing.off_topic, 4),
                     "oos_greeted": round(routing.greeted, 4)})
    return rows, loaded


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


COLUMNS = [  # (heading, key); every key but the first two is a share
    ("right", "in_scope_accuracy"),
    ("resolved", "resolved"),
    ("OOS not ans", "oos_recall"),
    ("wrong/ans", "wrong_answer_rate"),
    ("suggest", "suggest_rate"),
    ("escalate", "escalate_rate"),
    ("OOS escal", "oos_escalated"),
    ("OOS off-top", "oos_off_topic"),
    ("OOS greeted", "oos_greeted"),
]


@dataclass(frozen=True)
class RoutedSet:
    """Questions no entry answers, asked of one knowledge base: where do they go?"""

    name: str
    kb: Path
    questions: list[evaluation.LabeledQuestion]


def routed_sets(banking77: Path) -> list[RoutedSet]:
    """Off-topic questions (each domain's out-of-scope, and each domain asked of the other) and
    in-domain ones no entry answers (needs-staff, BANKING77's held-out intents)."""
    read = evaluation.read_questions
    shipped = ROOT / "knowledge"
    out = [q for name in ("questions.jsonl", "questions-heldout.jsonl")
           for q in read(DATA / name) if q.expect is None]
    sets = [RoutedSet("shipped sets' out of scope, shipped KB", shipped, out),
            RoutedSet("library out of scope, library_kb", DATA / "library_kb",
                      [q for q in read(DATA / "library_questions.jsonl") if q.expect is None]),
            RoutedSet("needs-staff (in-domain), shipped KB", shipped,
                      read(DATA / "questions-needs-staff.jsonl"))]
    if not banking77.is_dir():
        return sets
    banking = read(banking77 / "questions.jsonl")
    held_in = [q for q in read(DATA / "questions-heldout.jsonl") if q.expect is not None]
    unanswerable = [q for q in banking if q.expect is None]
    return [
        *sets,
        RoutedSet("every 10th BANKING77 question, shipped KB", shipped, banking[::10]),
        RoutedSet("shipped held-out in scope, kb-10", banking77 / "kb-10", held_in),
        RoutedSet("BANKING77 held-out intents (in-domain), kb-10", banking77 / "kb-10",
                  unanswerable),
        RoutedSet("the same, kb-all", banking77 / "kb-all", unanswerable),
    ]


def routing(sets: list[RoutedSet], loaded: dict[Path, KnowledgeBase]) -> list[str]:
    """Shares of each outcome, and of the unanswered the share that reaches staff (filed, or
    offered suggestions with a Send-to-staff button) rather than told it is off-topic."""
    kinds = (Outcome.ESCALATE, Outcome.OFF_TOPIC, evaluation.GREETED, Outcome.SUGGEST,
             Outcome.ANSWER)
    head = f"{'questions no entry answers':<48}{'n':>6}" + "".join(
        f"{kind:>11}" for kind in kinds) + f"{'unanswered to staff':>21}"
    lines = [head, "-" * len(head)]
    for rs in sets:
        kb = loaded.get(rs.kb) or loaded.setdefault(rs.kb, KnowledgeBase.load(rs.kb))
        routes = [o.route for o in evaluation.run(Matcher(kb.index), rs.questions)]
        shares = [routes.count(kind) / len(routes) for kind in kinds]
        unanswered = len(routes) - routes.count(Outcome.ANSWER)
        to_staff = (routes.count(Outcome.ESCALATE) + routes.count(Outcome.SUGGEST)) / (
            unanswered or 1)
        lines.append(f"{rs.name:<48}{len(routes):>6}"
                     + "".join(f"{share:>11.1%}" for share in shares) + f"{to_staff:>21.1%}")
    return lines


def table(rows: list[dict]) -> list[str]:
    head = f"{'set':<18}{'questions (in/out)':>20}"
    head += "".join(f"{heading:>12}" for heading, _ in COLUMNS) + f"{'p99 ms':>9}"
    lines = [head, "-" * len(head)]
    for row in rows:
        counts = f"{row['n']} ({row['in_scope']}/{row['out_of_scope']})"
        lines.append(f"{row['set']:<18}{counts:>20}"
                     + "".join(f"{row[key]:>12.1%}" for _, key in COLUMNS)
                     + f"{row['p99_ms']:>9.2f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--banking77", type=Path, default=BANKING77, metavar="DIR",
                        help="the BANKING77 knowledge directories (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of rows")
    args = parser.parse_args()
    sets, notes = question_sets(args.banking77.resolve())
    rows, loaded = measure(sets)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print("\n".join(table(rows)))
    print("OOS not ans: out-of-scope questions not answered; OOS escal / OOS off-top / OOS "
          "greeted: their share filed as a staff escalation / told tabot is off-topic / with "
          "no informative word, greeted")
    for note in notes:
        print(note)
    print()
    print("\n".join(routing(routed_sets(args.banking77.resolve()), loaded)))
    for directory, kb in loaded.items():
        print(f"\n{_shown(directory)}")
        if kb.calibration is not None:
            print("\n".join(kb.calibration.describe()))


if __name__ == "__main__":
    main()
