"""The adjudicator's errors, one tree; the CLI maps each class to an exit status in one place.

::

    AdjudicationError
    └── UsageError        a command line or input the user must correct (exit 2)

Evidence errors (:mod:`evidence.errors`) are the evidence package's own tree; the CLI treats
them as usage errors, since hostile file *content* never raises (it gets a verdict).
"""

from __future__ import annotations


class AdjudicationError(Exception):
    """Root of the adjudicator's errors."""


class UsageError(AdjudicationError):
    """The command line or its input is wrong; the message says which part and why."""
