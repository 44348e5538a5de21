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
    └── Unavailable         the database or the evidence store failed (down, locked, full)
                            (exit 3)

Evidence errors (:mod:`evidence.errors`) are the evidence package's own tree; the CLI treats
them as usage errors, since hostile file *content* never raises (it gets a verdict).
"""

from __future__ import annotations


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


class Unavailable(AdjudicationError):
    """The database or the evidence store could not do what was asked: it is down, locked
    past its timeout, full or read-only. Nothing of the command was committed; trying again
    later may succeed."""
