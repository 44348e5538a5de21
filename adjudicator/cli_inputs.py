"""What several commands take from their arguments: a database URL and the service on it,
case-file paths, and a rulebook named by id or file; and how a command has its evidence
decoded (shared by :mod:`adjudicator.cli` and :mod:`adjudicator.cli_whatif`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from adjudicator.errors import RulebookError, UsageError

if TYPE_CHECKING:
    from adjudicator.rulebook import Rulebook
    from adjudicator.service import Adjudicator


def service_on(url: str, *, existing: bool, rulebooks: Sequence[Path] = ()) -> Adjudicator:
    """The service on ``url``; ``existing``: an SQLite file must already be there (reading
    commands never create an empty database by mistake)."""
    from adjudicator.service import Adjudicator

    check_url(url, existing=existing)
    try:
        return Adjudicator.from_url(url, rulebooks=rulebooks)
    except RulebookError as exc:
        raise UsageError(f"--register-rulebook: {exc}") from None


def check_url(url: str, *, existing: bool) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"--db {url}: not a database URL: {exc}") from None
    database = parsed.database or ":memory:"
    local = parsed.get_backend_name() == "sqlite" and database != ":memory:"
    if existing and local and not Path(database).is_file():
        raise UsageError(f"--db {url}: no such database file {database}")


def case_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.exists():  # not a regular file: read_case says so, as an invalid case
            files.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return files


def rulebook_argument(option: str, given: str | Path) -> str | Path:
    """A built-in rulebook's id, or a file: an id-like name that is neither is a usage
    error (exit 2), not an unsound rulebook."""
    from adjudicator.rulebook import BUILTIN, RULEBOOK_ID, builtin_reference

    text = str(given)
    if builtin_reference(text) is not None:
        return text
    path = Path(text)
    if not path.exists():
        if RULEBOOK_ID.fullmatch(text):
            raise UsageError(
                f"{option}: no rulebook {text!r}: built in are {', '.join(BUILTIN)}, or name a file"
            )
        raise UsageError(f"{option}: no such rulebook file {text}")
    return path


def registered_rulebooks(paths: Sequence[Path]) -> dict[str, Rulebook]:
    """The rulebook files an operator registers (``--register-rulebook``), by id, so that
    case files may name them; raises :class:`RulebookError` for one that is unsound or whose
    id is built in or given twice."""
    from adjudicator.rulebook import BUILTIN, load_rulebook

    registered: dict[str, Rulebook] = {}
    for path in paths:
        book = load_rulebook(path)
        if book.id in BUILTIN or book.id in registered:
            raise RulebookError([f"{path}: id {book.id} is taken"])
        registered[book.id] = book
    return registered


def fork_decoders() -> None:
    """This process runs one command alone: the decoder sandbox may fork() its worker while
    the process has one thread rather than start a fresh interpreter (a tenth of a second of
    a short replay's CPU), until the command ends (:func:`decoders_as_before`: a caller that
    runs ``main`` in its own process gets its setting back). The web server never does: it
    holds many requests' state."""
    global _decoders_before  # noqa: PLW0603 - the command's, put back when it ends
    from evidence.sandbox import fork_workers_when_alone

    before = fork_workers_when_alone()
    if _decoders_before is None:
        _decoders_before = before


def decoders_as_before() -> None:
    global _decoders_before  # noqa: PLW0603
    if _decoders_before is not None:
        from evidence.sandbox import fork_workers_when_alone

        fork_workers_when_alone(_decoders_before)
        _decoders_before = None


_decoders_before: bool | None = None
