"""The ``adjudicator`` command (CASE_FORMAT.md, "Command line")."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from adjudicator.errors import UsageError
from evidence import EvidenceError, EvidenceKind, Verdict, context_from_json, validate

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args, sys.stdout)
    except (UsageError, EvidenceError) as exc:
        print(f"adjudicator: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adjudicator",
        description="Settle after-sales disputes by the platform's burden-of-proof rules.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    evidence = commands.add_parser("evidence", help="evidence files")
    evidence_commands = evidence.add_subparsers(dest="evidence_command", required=True)
    check = evidence_commands.add_parser(
        "check",
        help="validate files as evidence of a kind",
        description="Validate each FILE as evidence of KIND. Exit 0 when all are accepted, "
        "1 when any is rejected, 2 on bad usage.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", type=Path)
    check.add_argument("--kind", required=True, choices=[k.value for k in EvidenceKind])
    check.add_argument("--meta", metavar="JSON", help="declared metadata, a JSON object")
    check.add_argument(
        "--context",
        metavar="JSON",
        help="the dispute, for the checks that need it (a JSON object: party, role, "
        "signed_at, shipped_at, opened_at, submitted_at, window_closes_at, tracking_no, "
        "items, used_sha256, perceptual_hashes)",
    )
    check.add_argument("--json", action="store_true", help="one JSON verdict a line")
    check.set_defaults(run=_evidence_check)

    replay = commands.add_parser(
        "replay",
        help="replay case files",
        description="Replay each case file (or folder of *.json) from nothing. Exit 0 when "
        "all replayed and matched their expected blocks, 1 when an expected block did not "
        "match, 2 when a case file is invalid (the others are still replayed).",
    )
    replay.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    replay.add_argument("--json", action="store_true", help="one JSON object per case a line")
    replay.add_argument("--rulebook", metavar="FILE", type=Path, help="replay under this rulebook")
    replay.set_defaults(run=_replay)

    schema = commands.add_parser("schema", help="print the JSON Schema of a case file")
    schema.set_defaults(run=_schema)

    audit = commands.add_parser("audit", help="the decision log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify",
        help="check the hash chain of a decision log",
        description="Exit 0 when the chain is intact; 1 naming the first bad entry.",
    )
    verify.add_argument("--log", metavar="FILE", type=Path, required=True, help="JSON Lines")
    verify.set_defaults(run=_audit_verify)

    rules = commands.add_parser("rules", help="rulebooks")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    rules_check = rules_commands.add_parser("check", help="load and check a rulebook")
    rules_check.add_argument("file", metavar="FILE")
    rules_check.set_defaults(run=_rules_check)
    return parser


def _json_object(option: str, text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{option}: not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option}: must be a JSON object, not {type(value).__name__}")
    return value


def _evidence_check(args: argparse.Namespace, out: TextIO) -> int:
    meta = _json_object("--meta", args.meta)
    raw_context = _json_object("--context", args.context)
    context = None if raw_context is None else context_from_json(raw_context)
    for path in args.files:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
    code = EXIT_OK
    for path in args.files:
        verdict = validate(path, args.kind, declared=meta, context=context)
        if not verdict.accepted:
            code = EXIT_REJECTED
        if args.json:
            out.write(json.dumps(verdict.to_json(str(path)), ensure_ascii=False) + "\n")
        else:
            out.write(_describe(str(path), verdict) + "\n")
    return code


def _describe(file: str, verdict: Verdict) -> str:
    facts = verdict.facts
    summary = [verdict.mime]
    if facts.get("width") is not None and facts.get("height") is not None:
        summary.append(f"{facts['width']}x{facts['height']}")
    for key in ("sharpness", "duration_seconds", "codec", "pages"):
        if facts.get(key) is not None:
            summary.append(f"{key} {facts[key]}")
    head = f"{file}: {'accepted' if verdict.accepted else 'rejected'} ({', '.join(summary)})"
    lines = [head]
    lines += [f"  {f.reason.value}: {f.detail}" for f in verdict.findings]
    if verdict.flags:
        lines.append(f"  flags: {', '.join(verdict.flags)}")
    if verdict.skipped:
        lines.append(f"  not checked without the dispute: {', '.join(verdict.skipped)}")
    return "\n".join(lines)


def _case_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return files


def _replay(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator.casefile import InvalidCase, read_case
    from adjudicator.replay import replay
    from adjudicator.rulebook import load_rulebook

    rulebook = None if args.rulebook is None else load_rulebook(args.rulebook)
    files = _case_files(args.paths)
    invalid = mismatched = 0
    for number, file in enumerate(files, start=1):
        try:
            result = replay(read_case(file), rulebook)
        except InvalidCase as exc:
            invalid += 1
            print(f"adjudicator: invalid case: {exc}", file=sys.stderr)
            continue
        line = result.output
        if line.get("expected_match") is False:
            mismatched += 1
        if args.json:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            out.write(_replay_row(line) + "\n")
        if not args.json and len(files) > 50 and number % 50 == 0:
            print(f"... {number}/{len(files)} cases", file=sys.stderr)
    if not args.json:
        out.write(
            f"{len(files)} case(s): {len(files) - invalid} replayed, "
            f"{mismatched} not as expected, {invalid} invalid\n"
        )
    return EXIT_USAGE if invalid else EXIT_REJECTED if mismatched else EXIT_OK


def _replay_row(line: dict[str, Any]) -> str:
    match = {True: "ok", False: "MISMATCH", None: ""}[line.get("expected_match")]
    cells = [
        line["case_id"],
        line["state"],
        line["resolution"] or "-",
        line["liability"] or "-",
        line["remedy"] or "-",
        line["refund_amount"] or "-",
        match,
    ]
    return "  ".join(f"{cell:<18}" for cell in cells).rstrip()


def _rules_check(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator.rulebook import RulebookError, load_rulebook

    try:
        book = load_rulebook(args.file if args.file.startswith("kuaishou.") else Path(args.file))
    except RulebookError as exc:
        for problem in exc.problems:
            out.write(f"{problem}\n")
        return EXIT_REJECTED
    out.write(f"{book.label}: sound (digest {book.digest})\n")
    return EXIT_OK


def _schema(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator.schema import case_schema

    out.write(json.dumps(case_schema(), indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def _audit_verify(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator.auditlog import Break, verify

    entries: list[dict[str, Any]] = []
    try:
        lines = args.log.read_text("utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"{args.log}: cannot read: {exc.strerror or exc}") from exc
    for number, line in enumerate(lines, start=1):
        try:
            entries.append(json.loads(line))
        except ValueError:
            broken = Break(number, "is not JSON")
            out.write(f"{args.log}: broken at {broken}\n")
            return EXIT_REJECTED
    broken_at = verify(entries)
    if broken_at is not None:
        out.write(f"{args.log}: broken at {broken_at}\n")
        return EXIT_REJECTED
    out.write(f"{args.log}: intact ({len(entries)} entries)\n")
    return EXIT_OK
