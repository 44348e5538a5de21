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
