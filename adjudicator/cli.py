"""The ``adjudicator`` command (docs/cli.md).

Every outcome has its exit status: 0 done, 1 a negative result (an expectation not met, a
file rejected, a broken log), 2 input or usage to correct (an invalid case file names the file
and the JSON pointer), 3 the database or evidence store failed (down, locked, full), 4 a bug
in the adjudicator. Errors are one line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import json
import os
import sys
import traceback
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from adjudicator.cli_inputs import (
    case_files,
    check_url,
    decoders_as_before,
    fork_decoders,
    registered_rulebooks,
    rulebook_argument,
    service_on,
)
from adjudicator.cli_whatif import add_rules_diff, add_whatif
from adjudicator.errors import (
    AdjudicationError,
    BrokenLog,
    InvalidCase,
    RulebookError,
    Unavailable,
    UsageError,
)
from evidence.errors import EvidenceError, StoreError
from evidence.kinds import EvidenceKind

if TYPE_CHECKING:
    from adjudicator.audit import Audit
    from adjudicator.rulebook import Rulebook
    from evidence import EvidencePolicy, Verdict

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_BUG = 4
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT), as shells report it


def main(argv: Sequence[str] | None = None) -> int:
    _without_pydantic_plugins()
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(only=arguments[0] if arguments and arguments[0][:1] != "-" else None)
    args = parser.parse_args(arguments)
    try:
        code: int = args.run(args, sys.stdout)
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("adjudicator: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        code, message = failure(exc)
        if args.debug:
            traceback.print_exc()
        print(f"adjudicator: {message}", file=sys.stderr)
        return code
    finally:
        decoders_as_before()
    return code


PYDANTIC_PLUGINS_OFF = ("__all__", "1", "true")
"""The values of ``PYDANTIC_DISABLE_PLUGINS`` with which pydantic loads no plugin at all."""
PYDANTIC_LOADER = "pydantic.plugin._loader"


def _without_pydantic_plugins() -> None:
    """The command uses no pydantic plugin (a package's entry point that watches validation).

    Unless the user set ``PYDANTIC_DISABLE_PLUGINS``, it is set to ``__all__`` in this
    process (and so in its children), before pydantic is imported. pydantic's plugin loader
    then answers "no plugins"; when pydantic imports it, :class:`_NoPydanticPlugins` gives it a
    module with the same answer instead, because the real one imports ``importlib.metadata``
    (with ``email``, ``zipfile``...) only to look for entry points: 0.025 s of CPU, a twentieth
    of a replay of the examples. tests/e2e/test_cli_startup.py checks that pydantic asks its
    loader for nothing else."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if not any(isinstance(finder, _NoPydanticPlugins) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoPydanticPlugins())


class _NoPydanticPlugins:
    """An import hook: ``pydantic.plugin._loader`` as a module whose ``get_plugins`` answers
    no plugins, while ``PYDANTIC_DISABLE_PLUGINS`` disables them all (else pydantic's own)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> Any:
        if name != PYDANTIC_LOADER:
            return None
        if os.environ.get("PYDANTIC_DISABLE_PLUGINS") not in PYDANTIC_PLUGINS_OFF:
            return None
        from importlib.util import spec_from_loader

        return spec_from_loader(name, self)  # type: ignore[arg-type]  # a PEP 451 loader

    def create_module(self, spec: object) -> None:
        return None  # the default module

    def exec_module(self, module: types.ModuleType) -> None:
        module.get_plugins = _no_plugins  # type: ignore[attr-defined]


def _no_plugins() -> tuple[()]:
    return ()


def failure(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one-line message for an error that stopped a command."""
    # a database error is SQLAlchemy's: if it was never imported, the error is not one
    database = sys.modules.get("sqlalchemy.exc")
    failed: tuple[type[BaseException], ...] = (Unavailable, StoreError, OSError, MemoryError)
    if database is not None:
        failed += (database.SQLAlchemyError,)
    if isinstance(exc, failed):
        return EXIT_UNAVAILABLE, f"unavailable: {one_line(exc)}"
    if isinstance(exc, AdjudicationError | EvidenceError):
        # could not do what was asked: bad usage, an unknown dispute, a database that does
        # not fit; a broken log or a rejected file is a result, not an error
        return EXIT_USAGE, f"error: {one_line(exc)}"
    return EXIT_BUG, (
        f"internal error ({type(exc).__name__}: {one_line(exc)}); this is a bug, please "
        "report it with the output of --debug"
    )


def one_line(exc: BaseException) -> str:
    """The error's first line; a database driver's own message rather than SQLAlchemy's."""
    inner = getattr(exc, "orig", None)
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror}"
    else:
        text = str(inner if isinstance(inner, BaseException) else exc) or type(exc).__name__
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:500]


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only``, the command given first, the parser of that
    command alone (its arguments, its help and its errors are the same; building every
    command's parser is a fiftieth of a short replay's CPU), the whole parser if there is no
    such command (its error names them all)."""
    parser = argparse.ArgumentParser(
        prog="adjudicator",
        description="Settle after-sales disputes by the platform's burden-of-proof rules. "
        "Exit 0 done, 1 a negative result, 2 input to correct, 3 the database or evidence "
        "store failed, 4 a bug.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an error that stops a command"
    )
    commands: Any = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if only is not None:
        commands = _OnlyCommand(commands, only)
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
    check.add_argument(
        "--rulebook",
        metavar="ID_OR_FILE",
        default="kuaishou.general",
        help="the rulebook whose numbers apply (sizes, pixels, durations, the capture "
        "tolerance, the certificate age, sharpness; its time zone): a built-in id or a "
        "rulebook file (default: kuaishou.general)",
    )
    check.set_defaults(run=_evidence_check)

    _replay_command(commands)

    show = commands.add_parser(
        "show",
        help="a dispute as it stands now",
        description="The dispute as it stands now, in the shape of a replay output line. "
        "Exit 0, or 2 if no such dispute.",
    )
    show.add_argument("case_id", metavar="CASE_ID")
    _db_option(show)
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(run=_show)

    explain = commands.add_parser(
        "explain",
        help="a dispute's decision in words",
        description="Facts, evidence verdicts, each rule that fired and why, and what "
        "happened. Exit 0, or 2 if no such dispute.",
    )
    explain.add_argument("case_id", metavar="CASE_ID")
    _db_option(explain)
    explain.set_defaults(run=_explain)

    tick = commands.add_parser(
        "tick",
        help="fire every deadline that is due",
        description="Fire every deadline NOW is past (limits are inclusive: one at NOW has not "
        "expired) for the disputes in the database; safe to run in several processes at once. "
        "Exit 0 (1 when some dispute could not be advanced).",
    )
    _db_option(tick)
    tick.add_argument(
        "--now", metavar="INSTANT", help="RFC 3339 with an offset (default: the wall clock)"
    )
    tick.add_argument(
        "--batch",
        metavar="N",
        type=int,
        default=50,
        help="disputes claimed and committed together (default 50)",
    )
    tick.set_defaults(run=_tick)

    _effects_command(commands)
    _api_commands(commands)
    _database_commands(commands)
    _store_commands(commands)

    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of a case file (or, with --rulebook, of a rulebook file)",
    )
    schema.add_argument(
        "--rulebook",
        action="store_true",
        help="the schema of a rulebook file (its TOML read as JSON) instead",
    )
    schema.set_defaults(run=_schema)

    audit_commands = _audit_commands(commands)
    export = audit_commands.add_parser(
        "export",
        help="write the decision log as JSON Lines",
        description="Write the decision log as JSON Lines, one entry a line, oldest first.",
    )
    _db_option(export)
    export.set_defaults(run=_audit_export)

    rules = commands.add_parser("rules", help="rulebooks")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    rules_check = rules_commands.add_parser("check", help="load and check a rulebook")
    rules_check.add_argument("file", metavar="FILE")
    rules_check.set_defaults(run=_rules_check)
    add_rules_diff(rules_commands)
    add_whatif(commands)
    if isinstance(commands, _OnlyCommand) and not commands.found:
        return _parser()
    return parser


class _OnlyCommand:
    """The commands' subparsers, building only the parser of the command named ``only``:
    every other command's parser is :data:`_UNUSED`, which takes any call and does nothing."""

    def __init__(self, commands: Any, only: str) -> None:
        self.commands, self.only, self.found = commands, only, False

    def add_parser(self, name: str, **options: Any) -> Any:
        if name != self.only:
            return _UNUSED
        self.found = True
        return self.commands.add_parser(name, **options)


class _Unused:
    def __getattr__(self, name: str) -> Any:
        return self._anything

    def _anything(self, *args: Any, **options: Any) -> _Unused:
        return self


_UNUSED = _Unused()


def _replay_command(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="replay case files",
        description="Replay each case file (or folder of *.json) from nothing. Exit 0 when "
        "all replayed and matched their expected blocks, 1 when an expected block did not "
        "match, 2 when a case file is invalid (the others are still replayed).",
    )
    replay.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    replay.add_argument("--json", action="store_true", help="one JSON object per case a line")
    replay.add_argument(
        "--rulebook",
        metavar="ID_OR_FILE",
        type=Path,
        help="replay every case under this rulebook: a built-in id, a built-in release "
        "(kuaishou.general@2026.2) or a rulebook file",
    )
    replay.add_argument(
        "--register-rulebook",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="a rulebook file that case files may name by its id (repeatable); a case file's "
        "rulebook is an id, never a path",
    )
    replay.add_argument(
        "--db",
        metavar="URL",
        help="persist the cases into this database (sqlite:///file.db, postgresql+psycopg://...) "
        "instead of memory; evidence reuse is then checked against every dispute in it",
    )
    replay.set_defaults(run=_replay)


def _audit_commands(commands: Any) -> Any:
    """``audit verify``, ``keygen`` and ``checkpoint`` (docs/audit.md); the caller adds more."""
    audit = commands.add_parser("audit", help="the decision log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify",
        help="check the decision log and what it records",
        description="Check the hash chain and its head; with --db, that every stored dispute "
        "(state, resolution, deadline, decision, refund, evidence verdicts) is what its log "
        "entries say; with --checkpoint, that the log still extends every signed checkpoint "
        "in FILE. Exit 0 intact; 1 broken, one line per problem; 2 on bad usage or an "
        "unreadable key or checkpoint file.",
    )
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--log", metavar="FILE", type=Path, help="an exported log (JSON Lines)")
    source.add_argument("--db", metavar="URL", help="the log in this database")
    verify.add_argument(
        "--checkpoint", metavar="FILE", type=Path, help="signed checkpoints, one a line"
    )
    verify.add_argument(
        "--public-key", metavar="FILE", type=Path, help="the public key they are signed with"
    )
    verify.set_defaults(run=_audit_verify)
    keygen = audit_commands.add_parser(
        "keygen",
        help="make a key for signing checkpoints",
        description="Write a new Ed25519 private key to FILE (readable by its owner only) and "
        "its public key to FILE.pub. Exit 0; 2 if either file exists.",
    )
    keygen.add_argument("file", metavar="FILE", type=Path)
    keygen.set_defaults(run=_audit_keygen)
    checkpoint = audit_commands.add_parser(
        "checkpoint",
        help="print a signed checkpoint of the decision log",
        description="Audit the log as audit verify --db does, then print one signed "
        "checkpoint line (entry count, head hash, time) to keep outside the database. Exit 0; "
        "1 if the log is broken (nothing is signed); 2 on bad usage or an unreadable key.",
    )
    _db_option(checkpoint)
    checkpoint.add_argument(
        "--key", metavar="FILE", type=Path, required=True, help="the private key to sign with"
    )
    checkpoint.add_argument(
        "--checkpoint",
        metavar="FILE",
        type=Path,
        help="earlier checkpoints of this key: sign only if the log still extends them (a "
        "missing or empty FILE has none yet)",
    )
    checkpoint.set_defaults(run=_audit_checkpoint)
    return audit_commands


def _effects_command(commands: Any) -> None:
    effects = commands.add_parser(
        "effects",
        help="hand out the effects the decisions order (refunds, shipments)",
        description="Hand out, oldest first, the effects after ID that are not acknowledged "
        "and not leased to another consumer, leasing them for SECONDS (docs/effects.md): one "
        "line each, or one JSON object a line with --json. Without --ack they are handed out "
        "again once the lease ends; with --ack they are acknowledged once printed. Exit 0 "
        "(also when there are none).",
    )
    _db_option(effects)
    effects.add_argument(
        "--after", metavar="ID", type=int, default=0, help="only effects with a later id"
    )
    effects.add_argument(
        "--limit", metavar="N", type=int, default=100, help="at most N (1 to 1000, default 100)"
    )
    effects.add_argument(
        "--lease",
        metavar="SECONDS",
        type=float,
        default=30.0,
        help="how long they are this consumer's before they are handed out again (default 30)",
    )
    effects.add_argument(
        "--consumer", metavar="NAME", help="who leases them (default: this host and process)"
    )
    effects.add_argument("--ack", action="store_true", help="acknowledge them once printed")
    effects.add_argument("--json", action="store_true", help="one JSON object a line")
    effects.set_defaults(run=_effects)


def _database_commands(commands: Any) -> None:
    db = commands.add_parser("db", help="the database's schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser(
        "upgrade",
        help="bring the database's schema to this installation's revision",
        description="Apply, in one transaction, the schema revisions this installation has and "
        "the database lacks (an empty database gets the whole schema). Exit 0; 2 when the "
        "database is at a revision this installation does not know.",
    )
    _db_option(upgrade)
    upgrade.set_defaults(run=_db_upgrade)


def _store_commands(commands: Any) -> None:
    store = commands.add_parser("store", help="the evidence store")
    store_commands = store.add_subparsers(dest="store_command", required=True)
    gc = store_commands.add_parser(
        "gc",
        help="finish or remove what interrupted writes left in the evidence store",
        description="Make objects of staged evidence whose dispute committed (the process "
        "died before it linked them), and remove staged evidence, temporary files and objects "
        "no dispute in the database refers to that are older than the grace period. Safe "
        "beside running services. Exit 0.",
    )
    _db_option(gc)
    gc.add_argument(
        "--grace",
        metavar="SECONDS",
        type=float,
        default=3600.0,
        help="leave younger files alone, as a running command may still need them (default 3600)",
    )
    gc.set_defaults(run=_store_gc)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="URL", required=True, help="an SQLAlchemy URL (sqlite:///file.db, ...)"
    )


def _json_object(option: str, text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{option}: not valid JSON: {exc}") from None
    except RecursionError:
        raise UsageError(f"{option}: not valid JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option}: must be a JSON object, not {type(value).__name__}")
    return value


def _evidence_check(args: argparse.Namespace, out: TextIO) -> int:
    _import_for_good("evidence.validate")
    from evidence import context_from_json, validate

    fork_decoders()
    _exit_without_collecting()
    meta = _json_object("--meta", args.meta)
    raw_context = _json_object("--context", args.context)
    context = None if raw_context is None else context_from_json(raw_context)
    for path in args.files:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
    policy = _evidence_policy(args.rulebook)
    code = EXIT_OK
    for path in args.files:
        verdict = validate(path, args.kind, declared=meta, context=context, policy=policy)
        if not verdict.accepted:
            code = EXIT_REJECTED
        if args.json:
            out.write(json.dumps(verdict.to_json(str(path)), ensure_ascii=False) + "\n")
        else:
            out.write(_describe(str(path), verdict) + "\n")
    return code


def _evidence_policy(rulebook: str) -> EvidencePolicy:
    """What evidence is held to: the numbers of a rulebook (RULES.md section 6)."""
    from adjudicator.rulebook import RulebookError, load_rulebook

    try:
        return load_rulebook(rulebook_argument("--rulebook", rulebook)).evidence_policy()
    except RulebookError as exc:
        raise UsageError(f"rulebook: {exc}") from None


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


def _import_for_good(module: str) -> None:
    """Import a command's modules (the first time): what importing makes lives as long as the
    process, so the garbage collector waits meanwhile, then leaves it out of every later
    collection (``gc.freeze``). It would go through those objects again and again: 0.02 s of
    CPU, a twentieth of a replay of the examples, for nothing to free."""
    if module in sys.modules:
        return
    collecting = gc.isenabled()
    gc.disable()
    try:
        importlib.import_module(module)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def _exit_without_collecting() -> None:
    """This command holds no database connection nor any other state to hand back: at exit
    the process skips Python's last garbage collections (``gc.freeze`` in an exit handler).

    Those collections go through every object the process imported or made (pydantic's
    validators, the rulebooks, Pillow), about 0.04 s of CPU, a tenth of a replay of the
    examples, to free memory the process hands back to the system anyway. Exit handlers still
    run and the standard streams are flushed; objects are still freed as the modules are
    cleared, but for those in reference cycles, whose finalizers then do not run (nothing
    this command opens relies on one)."""
    global _collecting_at_exit  # noqa: PLW0603 - registered once per process
    if _collecting_at_exit:
        _collecting_at_exit = False
        atexit.register(gc.freeze)


_collecting_at_exit = True


def _replay(args: argparse.Namespace, out: TextIO) -> int:
    _import_for_good("adjudicator.replay")
    from adjudicator.replay import replay_many

    fork_decoders()
    if args.db is None:
        _exit_without_collecting()
    rulebook, registered = _operator_rulebooks(args)
    files = case_files(args.paths)
    service = None
    if args.db is not None:
        service = service_on(args.db, existing=False, rulebooks=args.register_rulebook)
    if service is None:
        results = _replayed_in_memory(files, rulebook, registered)
    else:  # stored in batches of cases, each case all or nothing
        results = replay_many(service, files, args.rulebook)
    invalid = mismatched = bugs = 0
    for number, (file, line) in enumerate(results, start=1):
        if isinstance(line, InvalidCase):
            invalid += 1
            print(f"adjudicator: invalid case: {line}", file=sys.stderr)
            continue
        if isinstance(line, Exception):
            code, message = failure(line)
            if code != EXIT_BUG:  # the database or store failed: the next case would too
                raise line
            bugs += 1
            if args.debug:
                traceback.print_exception(line)
            print(f"adjudicator: {file}: {message}", file=sys.stderr)
            continue
        if line.get("expected_match") is False:
            mismatched += 1
        if args.json:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            out.write(_replay_row(line) + "\n")
        if not args.json and len(files) > 50 and number % 50 == 0:
            print(f"... {number}/{len(files)} cases", file=sys.stderr)
    if service is not None:
        service.close()
    if not args.json:
        out.write(
            f"{len(files)} case(s): {len(files) - invalid} replayed, "
            f"{mismatched} not as expected, {invalid} invalid\n"
        )
    if bugs:
        return EXIT_BUG
    return EXIT_USAGE if invalid else EXIT_REJECTED if mismatched else EXIT_OK


def _replayed_in_memory(
    files: list[Path], rulebook: Rulebook | None, registered: dict[str, Rulebook]
) -> Iterator[tuple[Path, dict[str, Any] | Exception]]:
    """Each case file replayed alone, in memory: its output line, or what stopped it."""
    from adjudicator.casefile import read_case
    from adjudicator.replay import replay

    for file in files:
        result: dict[str, Any] | Exception
        try:
            case_file = read_case(file)
            result = replay(case_file, rulebook or registered.get(case_file.rulebook)).output
        except Exception as exc:  # reported by the caller, which may go on
            result = exc
        yield file, result


def _operator_rulebooks(args: argparse.Namespace) -> tuple[Rulebook | None, dict[str, Rulebook]]:
    """``--rulebook`` (for every case) and the ``--register-rulebook`` files by id."""
    from adjudicator.rulebook import load_rulebook

    try:
        if args.rulebook is not None:
            args.rulebook = rulebook_argument("--rulebook", args.rulebook)
        rulebook = None if args.rulebook is None else load_rulebook(args.rulebook)
        registered = registered_rulebooks(args.register_rulebook)
    except RulebookError as exc:
        raise UsageError(f"rulebook: {exc}") from None
    return rulebook, registered


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
    from adjudicator.rulebook import load_rulebook

    try:
        book = load_rulebook(rulebook_argument("rules check", args.file))
    except RulebookError as exc:
        for problem in exc.problems:
            out.write(f"{problem}\n")
        return EXIT_REJECTED
    out.write(f"{book.label}: sound (digest {book.digest})\n")
    return EXIT_OK


def _schema(args: argparse.Namespace, out: TextIO) -> int:
    if args.rulebook:
        from adjudicator.rulemodel import rulebook_schema

        out.write(json.dumps(rulebook_schema(), indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    from adjudicator.schema import case_schema

    out.write(json.dumps(case_schema(), indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def _audit_verify(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator.audit import audit_lines
    from adjudicator.checkpoint import Checkpoints, load_verify_key

    checkpoints = None
    if (args.checkpoint is None) != (args.public_key is None):
        raise UsageError("--checkpoint and --public-key go together")
    if args.checkpoint is not None:
        checkpoints = Checkpoints.read(args.checkpoint, load_verify_key(args.public_key))
    if args.db is not None:
        service = service_on(args.db, existing=True)
        try:
            return _verified(out, args.db, service.audit(checkpoints))
        finally:
            service.close()
    try:
        with args.log.open("rb") as log:
            lines = (line.decode("utf-8", errors="replace") for line in log)
            return _verified(out, str(args.log), audit_lines(lines, checkpoints))
    except OSError as exc:
        raise UsageError(f"{args.log}: cannot read: {exc.strerror or exc}") from exc


def _verified(out: TextIO, source: str, audit: Audit) -> int:
    for problem in audit.problems:
        out.write(f"{source}: broken at {problem}\n")
    if audit.problems:
        out.write(
            f"{source}: broken ({len(audit.problems)} problem(s); read {audit.entries} entries)\n"
        )
        return EXIT_REJECTED
    said = f"{source}: intact ({audit.entries} entries)"
    if audit.disputes is not None:
        said += f"; {audit.disputes} dispute(s) are what their entries say"
    if audit.checkpoints:
        said += f"; it extends {audit.checkpoints} signed checkpoint(s)"
    out.write(said + "\n")
    return EXIT_OK


def _audit_keygen(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator.checkpoint import write_keypair

    key = write_keypair(args.file)
    out.write(
        f"wrote the private key to {args.file} (readable by you only; keep it off the "
        f"database's host) and the public key to {args.file}.pub (key id {key.public.key_id})\n"
    )
    return EXIT_OK


def _audit_checkpoint(args: argparse.Namespace, out: TextIO) -> int:
    from datetime import UTC, datetime

    from adjudicator.checkpoint import Checkpoints, load_signing_key

    key = load_signing_key(args.key)
    after = None
    if args.checkpoint is not None:
        after = Checkpoints.read(args.checkpoint, key.public, first=True)
    service = service_on(args.db, existing=True)
    try:
        # the one place a checkpoint's time is read: the operator's clock, never the log's
        signed = service.checkpoint(key, at=datetime.now(UTC), after=after)
    except BrokenLog as exc:
        for problem in exc.audit.problems:
            print(f"adjudicator: {args.db}: broken at {problem}", file=sys.stderr)
        print("adjudicator: no checkpoint signed: the log is broken", file=sys.stderr)
        return EXIT_REJECTED
    finally:
        service.close()
    out.write(signed.line() + "\n")
    return EXIT_OK


def _store_gc(args: argparse.Namespace, out: TextIO) -> int:
    service = service_on(args.db, existing=True)
    done = service.collect_garbage(grace_seconds=args.grace)
    service.close()
    out.write(
        f"recovered {len(done.recovered)} object(s) whose dispute committed; removed "
        f"{len(done.objects)} unreferenced object(s), {len(done.staged)} staged file(s) and "
        f"{len(done.temporary)} temporary file(s)\n"
    )
    return EXIT_OK


def _audit_export(args: argparse.Namespace, out: TextIO) -> int:
    service = service_on(args.db, existing=True)
    for entry in service.log():
        out.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
    service.close()
    return EXIT_OK


def _show(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator.replay import outcome

    service = service_on(args.db, existing=True)
    line = outcome(service.get(args.case_id))
    service.close()
    if args.json:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        return EXIT_OK
    for key, value in line.items():
        if key == "evidence":
            out.write("evidence:\n")
            for item in value:
                verdict = (
                    "accepted" if item["accepted"] else "rejected " + ",".join(item["reasons"])
                )
                out.write(f"  {item['id']} {item['party']} {item['kind']} {verdict}\n")
        else:
            shown = ", ".join(value) if isinstance(value, list) else value
            out.write(f"{key}: {'-' if shown is None or shown == '' else shown}\n")
    return EXIT_OK


def _explain(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator.explain import explain

    service = service_on(args.db, existing=True)
    case = service.get(args.case_id)
    text = explain(case, service.evidence(args.case_id), service.history(args.case_id))
    service.close()
    out.write(text)
    return EXIT_OK


def _db_upgrade(args: argparse.Namespace, out: TextIO) -> int:
    from adjudicator.migrations import upgrade_url

    check_url(args.db, existing=False)
    before, after = upgrade_url(args.db)
    if before == after:
        out.write(f"the database is at revision {after} already\n")
    else:
        out.write(f"upgraded the database from revision {before or '(none)'} to {after}\n")
    return EXIT_OK


def _api_commands(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="the HTTP API and the reviewer's desk",
        description="Serve the HTTP API over the database (docs/http.md): every command and "
        "read as JSON, each request with a token (adjudicator token create), the effects "
        "outbox at /effects, and the reviewer's desk in the browser at /desk. Runs until "
        "interrupted.",
    )
    _db_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="where to listen (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    serve.set_defaults(run=_serve)
    token = commands.add_parser("token", help="API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser(
        "create",
        help="make a token and print it once",
        description="Make an API token of ROLE and print it once (the database keeps only its "
        "hash): host (commands and reads, no decide), reviewer (reads, decide, finding), "
        "auditor (the log only).",
    )
    create.add_argument("--role", required=True, choices=["host", "reviewer", "auditor"])
    create.add_argument("--label", help="who or what the token is for, kept beside it")
    _db_option(create)
    create.set_defaults(run=_token_create)


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn

    from adjudicator.httpapi import create_app

    service = service_on(args.db, existing=False)
    try:
        uvicorn.run(create_app(service), host=args.host, port=args.port, log_level="warning")
    finally:
        service.close()
    return EXIT_OK


def _token_create(args: argparse.Namespace, out: TextIO) -> int:
    from datetime import UTC, datetime

    from adjudicator import tokens

    service = service_on(args.db, existing=False)
    try:
        # the wall clock: when the operator made it (kept beside the token, never decisive)
        made = tokens.create(service.engine, args.role, at=datetime.now(UTC), label=args.label)
    finally:
        service.close()
    out.write(made + "\n")
    return EXIT_OK


def _effects(args: argparse.Namespace, out: TextIO) -> int:
    import socket

    from adjudicator.effects import describe

    consumer = args.consumer or f"{socket.gethostname()[:180]}:{os.getpid()}"
    service = service_on(args.db, existing=True)
    try:
        # the wall clock: a lease is delivery's time, never a decision's
        handed = service.effects(
            args.after, limit=args.limit, lease_seconds=args.lease, consumer=consumer
        )
        for effect in handed:
            if args.json:
                out.write(json.dumps(effect, ensure_ascii=False) + "\n")
            else:
                again = f"  (delivery {effect['delivery']})" if effect["delivery"] > 1 else ""
                out.write(
                    f"{effect['id']}  {effect['case_id']}  {effect['kind']}: {describe(effect)}"
                    f"  [{effect['key']}]{again}\n"
                )
        out.flush()  # printed before acknowledged: a failed write leaves them to come again
        done = service.ack([effect["id"] for effect in handed]) if args.ack else 0
    finally:
        service.close()
    if not args.json:
        if not handed:
            out.write(f"no effects to hand out after {args.after}\n")
        elif args.ack:
            out.write(f"{len(handed)} effect(s) handed out, {done} acknowledged\n")
        else:
            until = handed[0]["leased_until"]
            out.write(f"{len(handed)} effect(s) handed out, leased to {consumer} until {until}\n")
    return EXIT_OK


def _tick(args: argparse.Namespace, out: TextIO) -> int:
    from datetime import UTC, datetime

    from evidence.instants import parse_instant

    if args.now is None:
        now = datetime.now(UTC)  # the one place the wall clock is read: the operator's "now"
    else:
        try:
            now = parse_instant(args.now)
        except ValueError as exc:
            raise UsageError(f"--now {args.now}: {exc}") from None
    service = service_on(args.db, existing=True)
    ticked = service.tick(now, batch=args.batch)
    service.close()
    out.write(f"fired {ticked.fired} deadline(s) due at {now.isoformat()}\n")
    for case_id, why in ticked.failed:
        print(f"adjudicator: dispute {case_id} not advanced: {why}", file=sys.stderr)
    return EXIT_REJECTED if ticked.failed else EXIT_OK
