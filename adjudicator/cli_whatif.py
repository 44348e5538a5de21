"""``adjudicator whatif`` and ``adjudicator rules diff`` (docs/whatif.md): what a new rulebook
would change, per dispute and in money, and which of its rules differ."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from adjudicator.errors import InvalidCase, RulebookError, UsageError

if TYPE_CHECKING:
    from adjudicator.casefile import CaseFile
    from adjudicator.rulebook import Rulebook

EXIT_OK, EXIT_USAGE = 0, 2


def add_whatif(commands: Any) -> None:
    whatif = commands.add_parser(
        "whatif",
        help="what a new rulebook would change",
        description="Replay disputes under their rulebook and under a new release of it, and "
        "show each dispute whose outcome changes (liability, remedy, refund, penalty, state, "
        "and the rules that differ), then a summary by claim type and in money. The "
        "disputes compared are those whose rulebook has the new rulebook's id. Nothing is "
        "stored. Exit 0, or 2 on a bad rulebook or case (the others are still compared).",
    )
    whatif.add_argument(
        "paths", nargs="*", metavar="PATH", type=Path, help="case files or folders of *.json"
    )
    whatif.add_argument(
        "--rulebook",
        metavar="ID_OR_FILE",
        required=True,
        action="append",
        help="a new rulebook (a file, a built-in id or a built-in release), for the disputes "
        "under a rulebook with its id; repeat it for several rulebooks",
    )
    whatif.add_argument(
        "--against",
        metavar="ID_OR_FILE",
        action="append",
        default=[],
        help="the old rulebook for the disputes under its id (default: each dispute's own); "
        "repeatable",
    )
    whatif.add_argument(
        "--db",
        metavar="URL",
        help="compare the disputes stored in this database (read only) instead of case files",
    )
    whatif.add_argument(
        "--register-rulebook",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="a rulebook file that case files name by its id (repeatable)",
    )
    whatif.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per changed dispute, then one summary object",
    )
    whatif.add_argument(
        "--html", metavar="FILE", type=Path, help="also write a self-contained HTML report"
    )
    whatif.set_defaults(run=run_whatif)


def add_rules_diff(rules_commands: Any) -> None:
    diff = rules_commands.add_parser(
        "diff",
        help="the rules two rulebooks differ in",
        description="List the rule ids added, removed and changed from OLD to NEW, with old "
        "and new values (overlays resolved). Exit 0, or 2 on a bad rulebook.",
    )
    diff.add_argument("old", metavar="OLD", help="a rulebook file, built-in id or release")
    diff.add_argument("new", metavar="NEW", help="a rulebook file, built-in id or release")
    diff.add_argument("--json", action="store_true", help="one JSON object")
    diff.set_defaults(run=run_rules_diff)


def run_rules_diff(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator.rulediff import diff
    from adjudicator.whatif_report import json_line

    result = diff(_load("OLD", args.old), _load("NEW", args.new))
    if args.json:
        out.write(json_line(result.to_json()) + "\n")
    else:
        out.writelines(line + "\n" for line in result.lines())
    return EXIT_OK


def run_whatif(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator import whatif_report as report
    from adjudicator.whatif import Compared, Summary, summarize, whatif

    if bool(args.paths) == (args.db is not None):
        raise UsageError("whatif: give case files (PATH...) or --db URL, not both or neither")
    new = _by_id("--rulebook", args.rulebook)
    against = _by_id("--against", args.against)
    for rid, book in against.items():
        if rid not in new:
            raise UsageError(f"--against {book.label}: no --rulebook is a release of {rid}")
    from adjudicator.cli_inputs import fork_decoders

    summary = Summary()
    changed: list[Compared] = []
    fork_decoders()  # both sides' evidence is decoded here, by a worker forked, not started
    with _sources(args) as (cases, priors):
        for result in summarize(whatif(cases, new, against, priors), summary):
            if isinstance(result, InvalidCase):
                print(f"adjudicator: invalid case: {result}", file=sys.stderr)
            elif isinstance(result, Compared) and result.changed:
                changed.append(result)
                _show(out, result, as_json=args.json)
            if summary.disputes % 100 == 0:
                print(f"... {summary.disputes} disputes", file=sys.stderr)
    lines = report.summary_lines(summary)
    if args.json:
        out.write(report.json_line({"summary": summary.to_json()}) + "\n")
    else:
        out.writelines(line + "\n" for line in lines)
    if args.html is not None:
        _write_html(args.html, report.html(changed, summary))
    return EXIT_USAGE if summary.invalid else EXIT_OK


def _show(out: TextIO, result: Any, *, as_json: bool) -> None:
    from adjudicator import whatif_report as report

    if as_json:
        out.write(report.json_line(result.to_json()) + "\n")
    else:
        out.writelines(line + "\n" for line in report.changed_lines(result))


class _sources:
    """The disputes to compare, as (case file, its rulebook) or why it is invalid, and the
    prior evidence each is judged against: case files, or the stored disputes of ``--db``
    in one read-only snapshot."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.service: Any = None
        self.session: Any = None

    def __enter__(self) -> tuple[Iterator[tuple[CaseFile, Rulebook] | InvalidCase], Any]:
        from adjudicator.cli_inputs import case_files, service_on

        args = self.args
        if args.db is None:
            return _from_files(case_files(args.paths), _registered(args)), None
        from sqlmodel import Session

        from adjudicator.recorded import stored_cases
        from adjudicator.repository import DatabasePrior

        self.service = service_on(args.db, existing=True, rulebooks=args.register_rulebook)
        self.session = Session(self.service.engine)
        self.session.begin()
        session = self.session
        return stored_cases(self.service, session), lambda case_id: DatabasePrior(session, case_id)

    def __exit__(self, *exc: object) -> None:
        if self.session is not None:
            self.session.rollback()  # nothing was written: end the snapshot
            self.session.close()
        if self.service is not None:
            self.service.close()


def _from_files(
    paths: list[Path], registered: dict[str, Rulebook]
) -> Iterator[tuple[CaseFile, Rulebook] | InvalidCase]:
    from adjudicator.casefile import read_case
    from adjudicator.replay import case_rulebook

    for path in paths:
        try:
            case_file = read_case(path)
            yield case_file, case_rulebook(case_file, registered)
        except InvalidCase as exc:
            yield exc


def _registered(args: argparse.Namespace) -> dict[str, Rulebook]:
    from adjudicator.cli_inputs import registered_rulebooks

    try:
        return registered_rulebooks(args.register_rulebook)
    except RulebookError as exc:
        raise UsageError(f"--register-rulebook: {exc}") from None


def _by_id(option: str, given: list[str]) -> dict[str, Rulebook]:
    """Each rulebook given with ``option``, by its id (one of each id)."""
    books: dict[str, Rulebook] = {}
    for name in given:
        book = _load(option, name)
        if book.id in books:
            raise UsageError(f"{option} {name}: a rulebook with id {book.id} is given twice")
        books[book.id] = book
    return books


def _load(option: str, given: str) -> Rulebook:
    from adjudicator.cli_inputs import rulebook_argument
    from adjudicator.rulebook import load_rulebook

    try:
        return load_rulebook(rulebook_argument(option, given))
    except RulebookError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _write_html(path: Path, text: str) -> None:
    """Write the report whole or not at all (a temporary file beside it, renamed)."""
    import os
    import tempfile

    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(prefix=".whatif-", suffix=".html", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"--html {path}: cannot write: {exc.strerror or exc}") from None
