"""The adjudicator's errors, one tree; the CLI maps each class to an exit status in one place.

::

    AdjudicationError
    ├── UsageError          a command line or input the user must correct (exit 2)
    │   └── KeyReused       an idempotency key given again for a different command
    ├── InvalidCase         a case file that is not a valid dispute-case/1 (exit 2)
    ├── RulebookError       a rulebook that does not load or is not sound
    ├── RefusedEvent        an event the dispute's state does not allow; nothing changed
    ├── UnknownDispute      no dispute with that id in the database (exit 2)
    ├── DisputeExists       a dispute with that id is already in the database
    ├── ConflictError       another writer changed the dispute first; nothing changed
    ├── StoreMismatch       a dispute's stored rulebook is not the one loaded now
    │   └── SchemaMismatch  the database's schema revision is not this installation's
    ├── BrokenLog           the decision log failed its audit; no checkpoint signed (exit 1)
    └── Unavailable         the database or the evidence store failed (down, locked, full)
                            (exit 3)

Evidence errors (:mod:`evidence.errors`) are the evidence package's own tree; the CLI treats
them as usage errors, since hostile file *content* never raises (it gets a verdict).

Every class of the tree is defined here, and tests/unit/test_errors.py holds the drawing to
them. The modules that raise InvalidCase, RulebookError, RefusedEvent and BrokenLog import
them from here, so ``from adjudicator.rulebook import RulebookError`` and the like still work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

# control characters and lone surrogates: escaped, so a message stays one line
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


class AdjudicationError(Exception):
    """Root of the adjudicator's errors."""


class UsageError(AdjudicationError):
    """The command line or its input is wrong; the message says which part and why."""


class KeyReused(UsageError):
    """An idempotency key that was first given with a different command."""

    def __init__(self, key: str, first: str, now: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was first given for {first}; this is {now}: a new "
            "command needs a new key"
        )
        self.key = key


class InvalidCase(AdjudicationError):
    """A case file that is not a valid ``dispute-case/1``: the file, the JSON pointer of the
    bad field and why, on one line (control characters in them are written as escapes)."""

    def __init__(self, file: str, pointer: str, message: str) -> None:
        super().__init__(f"{_one_line(file)}: {_one_line(pointer or '/')}: {_one_line(message)}")
        self.file, self.pointer, self.message = file, pointer, message


def _one_line(text: str) -> str:
    """``text`` with control characters and lone surrogates escaped as JSON escapes them."""
    if _CONTROL.search(text) is None:
        return text
    return json.dumps(text)[1:-1]


class RulebookError(AdjudicationError):
    """A rulebook that does not load; each problem names its file and rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class RefusedEvent(AdjudicationError):
    """An event the dispute's state does not allow, or one whose own ``field`` (``amount``,
    ``offer``, ...) the dispute cannot take; nothing changed. ``state`` is the dispute's
    :class:`adjudicator.lifecycle.State`."""

    def __init__(
        self, case_id: str, state: StrEnum, event: str, why: str = "", field: str | None = None
    ) -> None:
        if field is not None:
            message = f"dispute {case_id}: {event} in state {state}: {field} {why}"
        else:
            detail = f": {why}" if why else ""
            message = f"dispute {case_id}: {event} is not allowed in state {state}{detail}"
        super().__init__(message)
        self.case_id, self.state, self.event, self.why = case_id, state, event, why
        self.field = field


class UnknownDispute(AdjudicationError):
    """No dispute with this id is in the database."""

    def __init__(self, case_id: str) -> None:
        super().__init__(f"no dispute {case_id} in the database")
        self.case_id = case_id


class DisputeExists(AdjudicationError):
    """A dispute with this id is already in the database."""

    def __init__(self, case_id: str) -> None:
        super().__init__(f"dispute {case_id} is already in the database")
        self.case_id = case_id


class ConflictError(AdjudicationError):
    """Another writer changed the dispute since it was read; this command changed nothing."""

    def __init__(self, case_id: str, version: int) -> None:
        super().__init__(
            f"dispute {case_id} was changed by another writer (it is no longer at version "
            f"{version}); nothing was changed, try the command again"
        )
        self.case_id, self.version = case_id, version


class StoreMismatch(AdjudicationError):
    """What the database holds does not fit the code or files loaded now."""


class SchemaMismatch(StoreMismatch):
    """The database's schema revision is not the one this installation runs on; the message
    names the command that upgrades it."""


class Audited(Protocol):
    """What :class:`BrokenLog` needs of an audit (an :class:`adjudicator.audit.Audit`): the
    problems it found, each printed as one line."""

    @property
    def problems(self) -> Sequence[object]: ...


class BrokenLog(AdjudicationError):
    """The log failed its audit (a checkpoint is never signed over a broken log)."""

    def __init__(self, audit: Audited) -> None:
        more = len(audit.problems) - 1
        super().__init__(
            f"the decision log is broken: {audit.problems[0]}"
            + (f" (and {more} more problem(s); run audit verify)" if more else "")
        )
        self.audit = audit


class Unavailable(AdjudicationError):
    """The database or the evidence store could not do what was asked: it is down, locked
    past its timeout, full or read-only. Nothing of the command was committed; trying again
    later may succeed."""
