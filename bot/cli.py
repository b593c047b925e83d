"""`tabot`: chat in the terminal, serve the chat platforms, ask one question, evaluate, lint,
triage, report and manage the database.

This module only parses arguments and prints results: serving is `bot.app.Runtime`'s job, and
opening the database is `bot.app.open_database`'s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import difflib
import getpass
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from bot.app import (
    TERMINAL,
    build_triage,
    check_staff,
    configured_platforms,
    load_adapter,
    load_knowledge,
    open_database,
    serve,
)
from bot.chat.messages import Actor
from bot.config import ConfigError, Settings, load_settings
from bot.console.auth import NotStaff
from bot.console.links import signin_link
from bot.console.server import serve_console
from bot.console.settings import (
    links_point_at_localhost,
    load_console_settings,
    localhost_url,
)
from bot.insights import gaps, reports
from bot.knowledge import evaluation
from bot.knowledge.base import KnowledgeBase, KnowledgeError
from bot.knowledge.crisis import Assessment
from bot.knowledge.evaluation import QuestionFileError
from bot.knowledge.learning import (
    EntryProposals,
    LearningError,
    approve,
    dismiss,
    parse_ids,
    proposals,
)
from bot.knowledge.lint import lint
from bot.knowledge.matcher import Match, Matcher, Outcome
from bot.knowledge.problems import Severity, has_errors
from bot.knowledge.semantic import SEED_FILE, ModelMissing
from bot.privacy.redaction import Redactor
from bot.store import audit
from bot.store.database import Database, DatabaseUnavailable, safe_url
from bot.store.retention import PurgeRaced, purge
from bot.triage import members
from bot.triage.drafts import write_draft
from bot.triage.members import MembershipError
from bot.triage.rendering import escalation_table, view_text
from bot.triage.workflow import ALL_STATES, WAITING, Triage, TriageError

log = logging.getLogger("tabot")
T = TypeVar("T")
EXPECTED_ERRORS = (ConfigError, KnowledgeError, DatabaseUnavailable, QuestionFileError, OSError,
                   PurgeRaced, ModelMissing)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except BrokenPipeError:  # `tabot report | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except EXPECTED_ERRORS as exc:
        print(f"tabot: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:  # the database went away after it was opened
        print(f"tabot: the database stopped answering ({type(exc).__name__}), so the command "
              "did not finish. Check that it is running, then try again.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tabot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func: Callable[[argparse.Namespace], int], help_text: str,
                kb: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        if kb:
            sub.add_argument("--kb", metavar="DIR", help="knowledge directory (default: $TABOT_KB "
                             "or the shipped knowledge/)")
        return sub

    command("chat", cmd_chat, "talk to the assistant in this terminal")
    run = command("run", cmd_run, "serve the chat platforms (Slack, Telegram)")
    run.add_argument("--adapter", action="append", metavar="NAME",
                     help="adapters.NAME to run (repeatable); default: every platform whose "
                          "token is set")
    ask = command("ask", cmd_ask, "answer one question, with no side effects")
    ask.add_argument("text", nargs="+", help="the question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--explain", action="store_true", help="show why the top entries scored")
    ev = command("eval", cmd_eval, "measure matching on a labeled question set")
    ev.add_argument("--questions", required=True, type=Path, metavar="FILE.jsonl")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--failures", action="store_true", help="list the questions it got wrong")
    ev.add_argument("--as-chat", action="store_true",
                    help="redact each question first, exactly as a chat message is")

    kb = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    kb_lint = kb_commands.add_parser("lint", help="check every knowledge file")
    kb_lint.add_argument("--kb", metavar="DIR")
    kb_lint.set_defaults(func=cmd_lint)
    kb_calibrate = kb_commands.add_parser(
        "calibrate", help="the answer, suggestion and off-topic lines this knowledge base sets "
        "itself, and the rates they are expected to give")
    kb_calibrate.add_argument("--kb", metavar="DIR")
    kb_calibrate.set_defaults(func=cmd_calibrate)
    kb_vectors = kb_commands.add_parser(
        "vectors", help=f"ship the knowledge base's sentence vectors in its folder "
        f"({SEED_FILE}), so a first start on a new machine need not encode them")
    kb_vectors.add_argument("--kb", metavar="DIR")
    kb_vectors.set_defaults(func=cmd_vectors)
    kb_review = kb_commands.add_parser("review", help="entries not reviewed recently, oldest first")
    kb_review.add_argument("--kb", metavar="DIR")
    kb_review.add_argument("--months", type=_whole(1, 120), default=None,
                           help="review period (default: $TABOT_REVIEW_MONTHS or 12)")
    kb_review.set_defaults(func=cmd_review)
    _learn_parser(kb_commands)

    esc = commands.add_parser("escalations", help="the TA staff queue, at a terminal",
                              description="Triage for TA staff. You act as cli:<your login>, "
                              "which must be listed in TABOT_STAFF.")
    esc_commands = esc.add_subparsers(dest="esc_command", required=True)
    listing = esc_commands.add_parser("list", help="the queue, oldest first")
    listing.add_argument("--state", action="append",
                         choices=["open", "claimed", "answered", "closed"],
                         help="only these states (default: open and claimed)")
    listing.add_argument("--all", action="store_true", help="every state")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_escalations, action="list")
    for name, help_text, takes_text in [
        ("show", "one escalation with its history and notes", False),
        ("claim", "take an escalation", False),
        ("answer", "answer it; the answer is relayed to the asker", True),
        ("entry", "answer it with a knowledge entry's answer (give the entry's id); the "
                  "question is proposed as a new phrasing of that entry", True),
        ("note", "add an internal note (never shown to the asker)", True),
        ("close", "close it", False),
        ("reopen", "reopen it", False),
        ("draft", "turn an answered escalation into a draft knowledge entry", False),
    ]:
        sub = esc_commands.add_parser(name, help=help_text)
        sub.add_argument("reference", help="e.g. TA-0042")
        if takes_text:
            sub.add_argument("text", nargs="+")
        if name == "show":
            sub.add_argument("--json", action="store_true")
        if name in ("draft", "entry"):
            sub.add_argument("--kb", metavar="DIR")
        sub.set_defaults(func=cmd_escalations, action=name)
    esc_commands.add_parser("sweep", help="re-announce unclaimed questions, flag late answers"
                            ).set_defaults(func=cmd_escalations, action="sweep")

    members = commands.add_parser("members", help="invite codes for Telegram members",
                                  description="Invite codes let a member program's staff use "
                                  "tabot on Telegram. You act as cli:<your login>, which must "
                                  "be listed in TABOT_STAFF.")
    member_commands = members.add_subparsers(dest="members_command", required=True)
    inviting = member_commands.add_parser("invite", help="a new code for a member program")
    inviting.add_argument("program", help="the member program's name")
    inviting.add_argument("--json", action="store_true")
    inviting.set_defaults(func=cmd_members, action="invite")
    listing = member_commands.add_parser("list", help="codes, programs and member counts")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_members, action="list")
    revoking = member_commands.add_parser("revoke", help="revoke a code, or a whole program")
    revoking.add_argument("code_or_program")
    revoking.set_defaults(func=cmd_members, action="revoke")

    reporting = command("report", cmd_report, "TA figures for funders, from redacted records")
    reporting.add_argument("--since", type=_date, required=True, metavar="YYYY-MM-DD")
    reporting.add_argument("--until", type=_date, required=True, metavar="YYYY-MM-DD")
    reporting.add_argument("--format", choices=["table", "csv", "json", "png"], default="table")
    reporting.add_argument("--output", type=Path, metavar="FILE",
                           help="write here instead of standard output (required for png)")
    gaps_command = command("gaps", cmd_gaps, "what the knowledge base misses")
    gaps_command.add_argument("--days", type=_whole(1, 3650), default=90,
                              help="look back this many days")

    purging = commands.add_parser("purge", help="delete old interaction records and the text "
                                  "of old closed questions (counts are kept)")
    purging.set_defaults(func=cmd_purge)
    auditing = commands.add_parser("audit", help="the log of staff actions, newest first")
    auditing.add_argument("--limit", type=_whole(1, 100_000), default=50)
    auditing.add_argument("--json", action="store_true")
    auditing.set_defaults(func=cmd_audit)

    _console_parser(commands)

    db = commands.add_parser("db", help="database tools")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply database migrations").set_defaults(
        func=cmd_db_upgrade)
    return parser


def _learn_parser(kb_commands: argparse._SubParsersAction) -> None:
    learn = kb_commands.add_parser(
        "learn", help="new phrasings people confirmed, proposed for their entries",
        description="Questions whose askers picked a suggestion or marked an answer helpful, "
        "or that staff answered with an entry, proposed as new phrasings of that entry. You act "
        "as cli:<your login>, which must be listed in TABOT_STAFF.")
    learn.add_argument("--kb", metavar="DIR")
    learn.add_argument("--json", action="store_true", help="list as one JSON array")
    learn.set_defaults(func=cmd_learn, learn_action="list")
    decisions = learn.add_subparsers(dest="learn_command", metavar="{approve,dismiss}")
    for name, help_text in [("approve", "write these phrasings into their entries' files"),
                            ("dismiss", "never propose these wordings again")]:
        sub = decisions.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("ids", nargs="+", metavar="ID", help="proposal ids, as listed")
        sub.add_argument("--kb", metavar="DIR", default=argparse.SUPPRESS)
        sub.set_defaults(func=cmd_learn, learn_action=name)


def _console_parser(commands: argparse._SubParsersAction) -> None:
    console = commands.add_parser(
        "console", help="serve only the staff web console on $PORT (tabot run serves it too)",
        description="The TA staff web console, at /console on $PORT. `tabot console` serves it "
        "alone; `tabot console link USER` prints a one-time sign-in link for a staff member.")
    console.add_argument("--kb", metavar="DIR")
    console.set_defaults(func=cmd_console)
    console_commands = console.add_subparsers(dest="console_command", metavar="{link}")
    link = console_commands.add_parser(
        "link", help="a one-time sign-in link (10 minutes) for USER, who must be in TABOT_STAFF")
    link.add_argument("user", metavar="USER", help="platform:user_id as in TABOT_STAFF, "
                      "e.g. slack:U0123 or cli:maria")
    link.set_defaults(func=cmd_console_link)


def cmd_console(args: argparse.Namespace) -> int:
    settings = _staff_settings(kb=args.kb)
    serve_console(settings, load_console_settings(port=settings.port))
    return 0


def cmd_console_link(args: argparse.Namespace) -> int:
    settings = _staff_settings()
    try:
        actor = Actor.parse(args.user)
    except ValueError:
        print(f"tabot: {args.user!r} is not platform:user_id (e.g. slack:U0123)",
              file=sys.stderr)
        return 1
    public_url = load_console_settings(port=settings.port).public_url
    try:
        url = asyncio.run(_with_database(settings, lambda db: signin_link(
            db, actor, settings.staff, public_url)))
    except NotStaff as exc:
        print(f"tabot: {exc}; add it there first", file=sys.stderr)
        return 1
    print(url)
    print("works once, for 10 minutes; send it only to that person", file=sys.stderr)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    settings = replace(load_settings(kb=args.kb), port=None)  # a terminal needs no web server
    serve(settings, ["console"])
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings(kb=args.kb)
    names = args.adapter or configured_platforms(os.environ)
    if not names:
        raise ConfigError("no chat platform to run: set SLACK_BOT_TOKEN and/or "
                          "TELEGRAM_BOT_TOKEN, or pass --adapter NAME")
    _warn_of_localhost_links(settings, names)
    serve(settings, names)
    return 0


def _warn_of_localhost_links(settings: Settings, names: list[str]) -> None:
    """Staff on Slack or Telegram ask the bot for console sign-in links; without
    TABOT_PUBLIC_URL those open only on the machine tabot runs on, which a hosted tabot's
    staff never sit at, and nothing else would tell them why."""
    if not links_point_at_localhost(os.environ):
        return
    if any(load_adapter(name).staff_notices for name in names):
        log.warning("console sign-in links sent in chat will point at %s, which opens only on "
                    "this machine; set TABOT_PUBLIC_URL to the address staff reach tabot at",
                    localhost_url(settings.port))


def cmd_ask(args: argparse.Namespace) -> int:
    text = " ".join(args.text)
    if not any(ch.isalnum() for ch in text):
        raise ConfigError("give a question with words in it, e.g. tabot ask \"can our shelter "
                          "have a curfew\"")
    settings = load_settings(kb=args.kb)
    kb = load_knowledge(settings)  # files it skips, on stderr: the answer may have missed them
    match = Matcher(kb.index, settings.thresholds).match(text)
    crisis = kb.crisis.assess(text)
    if args.json:
        print(json.dumps({**_match_json(match), "crisis": crisis.crisis,
                          "hotlines_added": crisis.topic}))
    else:
        print(_ask_text(match, crisis, kb))
    if args.explain:
        print(explain(match))
    return 0


def _ask_text(match: Match, crisis: Assessment, kb: KnowledgeBase) -> str:
    """What chat would lead with, then the match: a crisis puts the hotlines first."""
    text = _match_text(match)
    if crisis.crisis:
        return (f"This reads as someone in danger. In chat, the hotlines come first and staff "
                f"are told at once:\n{kb.crisis.hotlines()}\n\n{text}")
    if crisis.topic:
        return f"{text}\n\n(In chat the hotlines are added to this reply.)"
    return text


def _match_json(match: Match) -> dict:
    best = match.best
    answered = match.outcome is Outcome.ANSWER
    return {
        "outcome": match.outcome.value,
        "entry_id": best.entry.id if best and answered else None,
        "score": round(match.score, 4),
        "margin": round(match.margin, 4),
        "suggestions": [e.id for e in match.suggestions(3)] if not answered else [],
    }


def _match_text(match: Match) -> str:
    best = match.best
    if match.outcome is Outcome.ANSWER and best is not None:
        sources = "\n".join(f"  - {s.title}" + (f" <{s.url}>" if s.url else "")
                            for s in best.entry.sources)
        return f"{best.entry.title}\n\n{best.entry.answer}\n\nSources:\n{sources}"
    if match.outcome is Outcome.SUGGEST:
        return "Not sure. Did you mean:\n" + "\n".join(
            f"  {i}. {e.title} [{e.id}]" for i, e in enumerate(match.suggestions(3), 1))
    if match.outcome is Outcome.OFF_TOPIC:
        return ("Off-topic: outside what this knowledge base covers. The asker would be told "
                "what tabot is for and offered to send it to TA staff anyway.")
    return "No good match: this question would go to TA staff."


def explain(match: Match) -> str:
    words = ", ".join(f"{q.surface}={q.weight:.2f}" + ("" if q.known else " (unknown)")
                      for q in match.query)
    lines = [f"\noutcome: {match.outcome.value}   score: {match.score:.3f}   "
             f"margin over runner-up: {match.margin:.3f}", f"question words (weight): {words}",
             f"{'entry':<38} {'score':>6} {'cover':>6} {'overlap':>7} {'fuzzy':>6} "
             f"{'meaning':>7}  matched words"]
    for c in match.candidates[:5]:
        lines.append(f"{c.entry.id:<38} {c.score:6.3f} {c.coverage:6.3f} {c.overlap:7.3f} "
                     f"{c.fuzzy:6.3f} {c.semantic:7.3f}  {', '.join(c.matched)}")
    if match.best:
        lines.append(f"closest phrasing (normalised): {match.best.phrasing}")
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    settings = load_settings(kb=args.kb)
    kb = load_knowledge(settings)  # files it skips, on stderr: their questions count as wrong
    questions = evaluation.read_questions(args.questions)
    for notice in evaluation.check_labels(questions, kb, args.questions):
        print(f"tabot: {notice}", file=sys.stderr)
    redactor = (Redactor.knowing(kb.index.normalizer)
                if args.as_chat else None)
    outcomes = evaluation.run(Matcher(kb.index, settings.thresholds), questions, redactor)
    result = evaluation.summarise(outcomes)
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        print(f"questions: {result.n} ({result.in_scope} in scope, {result.out_of_scope} out)")
        for key in ("in_scope_accuracy", "resolved", "oos_recall", "wrong_answer_rate",
                    "suggest_rate", "escalate_rate"):
            print(f"{key.replace('_', ' '):<20} {getattr(result, key):7.1%}")
        print(f"latency              p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms")
    if args.failures:
        for o in evaluation.failures(outcomes):
            got = o.entry_id or f"{o.outcome.value} {list(o.suggestions)}"
            print(f"line {o.question.line}: expected {o.question.expect}, got {got}: "
                  f"{o.question.text}", file=sys.stderr)
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    settings = load_settings(kb=args.kb)
    kb = KnowledgeBase.load(settings.knowledge_dir, settings.max_wrong)
    problems = lint(kb)
    for problem in problems:
        print(problem)
    errors = sum(p.severity is Severity.ERROR for p in problems)
    files = len({e.path for e in kb.entries.values()})
    print(*_calibration_lines(kb, settings), sep="\n")
    print(f"{len(kb.entries)} entries in {files} files: {errors} errors, "
          f"{len(problems) - errors} warnings")
    return 1 if has_errors(problems) else 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    settings = load_settings(kb=args.kb)
    kb = KnowledgeBase.load(settings.knowledge_dir, settings.max_wrong)
    print(*_calibration_lines(kb, settings), sep="\n")
    return 0


def cmd_vectors(args: argparse.Namespace) -> int:
    settings = load_settings(kb=args.kb)
    kb = KnowledgeBase.load(settings.knowledge_dir, settings.max_wrong)
    path, count = kb.write_vector_seed()
    print(f"wrote the vectors of {count:,} texts to {path} ({path.stat().st_size / 2**20:.1f} "
          f"MB). Keep it beside the entries (commit it with them): a first start then encodes "
          f"only texts changed since. Run this again after large edits.")
    return 0


def _calibration_lines(kb: KnowledgeBase, settings: Settings) -> list[str]:
    lines = kb.calibration.describe() if kb.calibration else []
    overrides = {"TABOT_ANSWER_CONFIDENCE": settings.thresholds.confidence,
                 "TABOT_SUGGEST_THRESHOLD": settings.thresholds.suggest}
    lines += [f"  {name}={value} overrides the calibrated line"
              for name, value in overrides.items() if value is not None]
    return lines


def cmd_escalations(args: argparse.Namespace) -> int:
    settings = _staff_settings(kb=getattr(args, "kb", None))
    return asyncio.run(_escalations(settings, args))


async def _escalations(settings: Settings, args: argparse.Namespace) -> int:
    knowledge = load_knowledge(settings) if args.action == "entry" else None
    if knowledge is not None and (refusal := _no_such_entry(knowledge, args.text)):
        print(f"tabot: {refusal}", file=sys.stderr)
        return 1
    async with open_database(settings) as db:
        triage = build_triage(db, settings, knowledge)
        try:
            print(await _triage_action(triage, _terminal_actor(), args, settings))
        except TriageError as exc:
            print(f"tabot: {exc}", file=sys.stderr)
            return 1
    return 0


def _no_such_entry(kb: KnowledgeBase, words: list[str]) -> str | None:
    """Why `escalations entry` cannot answer with the entry named, said for a terminal: the
    triage's own message points at `topics`, a chat command, and cannot tell a missing entry
    from one whose file failed to load. None when there is such an entry (or not one id)."""
    [entry_id, *more] = " ".join(words).split() or [""]
    if more or not entry_id or kb.get(entry_id) is not None:
        return None
    if errors := kb.load_errors_naming(entry_id):
        return (f"the entry '{entry_id}' did not load: {'; '.join(map(str, errors))}. Fix its "
                "file (`tabot kb lint` checks it), then answer again.")
    close = difflib.get_close_matches(entry_id, list(kb.entries), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return (f"no entry '{entry_id}' in the knowledge base at {kb.directory}.{hint} "
            "`tabot ask 'the question' --json` names the entry that answers a question "
            "(entry_id, or suggestions when unsure).")


async def _triage_action(triage: Triage, actor: Actor, args: argparse.Namespace,
                         settings: Settings) -> str:
    action = args.action
    if action == "list":
        states = ALL_STATES if args.all else tuple(args.state or WAITING)
        views = await triage.queue(actor, states)
        return (json.dumps([v.as_dict() for v in views], indent=2) if args.json
                else escalation_table(views))
    if action == "sweep":
        announced, late = await triage.sweep()
        return f"re-announced: {', '.join(announced) or 'none'}; late notices: " \
               f"{', '.join(late) or 'none'}"
    if action == "draft":
        path = await write_draft(triage, actor, args.reference, settings.knowledge_dir)
        return f"draft written to {path}; review it, then move it out of drafts/"
    text = " ".join(getattr(args, "text", []) or [])
    view = await triage.act(action, args.reference, actor, text)
    if getattr(args, "json", False):
        return json.dumps(view.as_dict(), indent=2)
    return view_text(view, staff=True)


def cmd_members(args: argparse.Namespace) -> int:
    settings = _staff_settings()
    if (actor := _staff_at_terminal(settings)) is None:
        return 1
    return asyncio.run(_members(settings, args, actor))


async def _members(settings: Settings, args: argparse.Namespace, actor: Actor) -> int:
    async with open_database(settings) as db:
        try:
            print(await _member_action(db, args, actor))
        except MembershipError as exc:
            print(f"tabot: {exc}", file=sys.stderr)
            return 1
    return 0


async def _member_action(db: Database, args: argparse.Namespace, actor: Actor) -> str:
    if args.action == "invite":
        code = await members.invite(db, args.program, actor.id)
        bot_name = os.environ.get("TELEGRAM_BOT_USERNAME", "").strip().lstrip("@")
        link = f"https://t.me/{bot_name or '<your_bot>'}?start={code}"
        if args.json:
            return json.dumps({"code": code, "program": args.program.strip(), "link": link})
        return (f"Invite code for {args.program.strip()}: {code}\nShare this link: {link}\n"
                f"(or they send /start {code} to the bot)")
    if args.action == "revoke":
        count = await members.revoke(db, args.code_or_program, actor.id)
        return f"revoked {args.code_or_program} ({count} codes and members)"
    rows = await members.invites(db)
    if args.json:
        return json.dumps([vars(r) for r in rows], indent=2)
    lines = [f"{r.code:<10} {'revoked' if r.revoked else 'active':<8} {r.members:>3} members  "
             f"{r.program}" for r in rows]
    return "\n".join(lines) or "No invite codes yet; `tabot members invite PROGRAM` makes one."


def cmd_learn(args: argparse.Namespace) -> int:
    settings = _staff_settings(kb=args.kb)
    if (actor := _staff_at_terminal(settings)) is None:
        return 1
    kb = load_knowledge(settings)  # files it skips, on stderr: their entries seem missing
    try:
        print(asyncio.run(_with_database(settings, lambda db: _learn(db, kb, args, actor))))
    except LearningError as exc:
        print(f"tabot: {exc}", file=sys.stderr)
        return 1
    return 0


RELOAD_HINT = ("A running tabot serves them after it reloads its knowledge: `kill -HUP <pid>` "
               "(or restart it).")


async def _learn(db: Database, kb: KnowledgeBase, args: argparse.Namespace, actor: Actor) -> str:
    if args.learn_action == "list":
        groups = await proposals(db, kb)
        return json.dumps([_group_json(g) for g in groups], indent=2) if args.json \
            else learn_text(groups)
    ids = parse_ids(args.ids)
    if args.learn_action == "dismiss":
        count = await dismiss(db, ids, actor.id)
        return f"dismissed {count} proposal(s); these wordings will not be proposed again"
    done = await approve(db, kb, ids, actor.id)
    added = sum(len(texts) for texts in done.added.values())
    files = "".join(f"\n  {path}" for path in done.files)
    return (f"approved {len(ids)} proposal(s): {added} new phrasing(s) written to "
            f"{len(done.files)} file(s){files}\n{RELOAD_HINT}")


def learn_text(groups: list[EntryProposals]) -> str:
    """Per entry, its proposals with their ids and counts, most confirmed first."""
    if not groups:
        return "No proposed phrasings waiting. They come from questions whose askers picked " \
               "a suggestion or marked an answer helpful, and from `/entry` answers."
    blocks = []
    for group in groups:
        lines = [f"{group.entry_id}: {_learn_where(group)}"]
        for p in group.proposals:
            note = "  [already listed]" if p.already_listed else ""
            lines.append(f"  #{p.id:<6} {p.confirmations:>4}x  ({p.how()})  {p.text}{note}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n\nApprove with `tabot kb learn approve ID...`, " \
        "dismiss with `tabot kb learn dismiss ID...`."


def _learn_where(group: EntryProposals) -> str:
    """Where the entry is; if it did not load, its file's errors, for an entry that only looks
    gone must not have its confirmed phrasings dismissed."""
    if group.entry:
        return f"{group.entry.title}  ({group.entry.path})"
    if group.load_errors:
        return ("not loaded, its file has errors; fix them (`tabot kb lint` checks), then "
                "approve these" + "".join(f"\n    {p}" for p in group.load_errors))
    return "no longer in the knowledge base: dismiss these"


def _group_json(group: EntryProposals) -> dict:
    return {"entry_id": group.entry_id, "in_knowledge_base": group.entry is not None,
            "load_errors": [str(p) for p in group.load_errors],
            "proposals": [{"id": p.id, "text": p.text, "confirmations": p.confirmations,
                           "picked": p.picked, "helped": p.helped, "staff": p.by_staff,
                           "already_listed": p.already_listed} for p in group.proposals]}


def _staff_settings(kb: str | None = None) -> Settings:
    """Settings for a command that reads TABOT_STAFF, whose platforms are checked too."""
    settings = load_settings(kb=kb)
    check_staff(settings.staff)
    return settings


def _terminal_actor() -> Actor:
    """Staff at a terminal act as cli:<login>, as listed in TABOT_STAFF."""
    return Actor(TERMINAL, getpass.getuser())


def _staff_at_terminal(settings: Settings) -> Actor | None:
    actor = _terminal_actor()
    if actor.id in settings.staff:
        return actor
    print(f"tabot: only the coalition's TA staff can do that; add {actor.id} to TABOT_STAFF",
          file=sys.stderr)
    return None


def cmd_purge(args: argparse.Namespace) -> int:
    settings = _staff_settings()
    if (actor := _staff_at_terminal(settings)) is None:
        return 1
    result = asyncio.run(_with_database(settings, lambda db: purge(
        db, dt.timedelta(days=settings.keep_interactions_days),
        dt.timedelta(days=settings.keep_closed_days), actor.id, zone=settings.timezone)))
    print(result)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    settings = _staff_settings()
    if _staff_at_terminal(settings) is None:
        return 1
    rows = asyncio.run(_with_database(settings, lambda db: audit.entries(db, args.limit)))
    if args.json:
        print(json.dumps([{**vars(r), "at": r.at.isoformat()} for r in rows], indent=2))
    else:
        for r in rows:
            print(f"{r.at:%Y-%m-%d %H:%M}  {r.actor:<24} {r.action:<14} {r.target:<24} {r.detail}")
    return 0


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-07-01") from None
    if not 1900 <= day.year <= 2999:  # beyond these, converting time zones overflows
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; give a year from 1900 to "
                                         "2999")
    return day


def _whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, or a message saying so."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range; give {low} to {high:,}")
        return value
    return parse


async def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async with open_database(settings) as db:
        return await work(db)


def cmd_report(args: argparse.Namespace) -> int:
    settings = load_settings(kb=args.kb)
    if args.until < args.since:
        raise ConfigError("--until is before --since")
    if args.format == "png" and args.output is None:
        raise ConfigError("a PNG needs --output FILE.png")
    kb = load_knowledge(settings, quiet=True)
    report = asyncio.run(_with_database(
        settings, lambda db: reports.build_report(db, kb, args.since, args.until,
                                                  zone=settings.timezone)))
    render = {"table": reports.as_table, "csv": reports.as_csv, "json": reports.as_json,
              "png": reports.as_png}[args.format]
    content = render(report)
    if args.output is None:
        print(content, end="" if args.format == "csv" else "\n")
    elif isinstance(content, bytes):
        args.output.write_bytes(content)
    else:
        args.output.write_text(content, encoding="utf-8", newline="")
    if args.output is not None:
        print(f"report written to {args.output}", file=sys.stderr)
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    settings = load_settings(kb=args.kb)
    kb = load_knowledge(settings, quiet=True)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=args.days)
    found = asyncio.run(_with_database(settings, lambda db: gaps.find_gaps(db, kb, since)))
    print(gaps.gaps_text(found))
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    settings = load_settings(kb=args.kb)
    kb = load_knowledge(settings)  # files it skips, on stderr: their entries go unchecked
    months = args.months or settings.review_months
    today = dt.datetime.now(settings.timezone).date()  # the coalition's date, as the bot's
    due = gaps.due_for_review(kb, today, months)
    unchecked = sorted({str(p.path) for p in kb.entry_errors()})  # not "every entry" then
    print(gaps.review_text(due, months) if due or not unchecked
          else f"No loaded knowledge entry is overdue for review ({months} months).")
    if unchecked:
        print(f"Not checked, for their files have errors: the entries in "
              f"{', '.join(unchecked)}. Fix them (`tabot kb lint` shows how), then run this "
              "again.")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def nothing(db: Database) -> None:
        return None  # open_database has already upgraded it

    asyncio.run(_with_database(settings, nothing))
    print(f"database at {safe_url(settings.database_url)} is up to date")
    return 0
