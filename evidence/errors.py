"""Errors of the evidence package.

Hostile or broken *content* never raises: it gets a rejected verdict. These are for the
caller's mistakes and for the environment::

    EvidenceError
    ├── UnreadableEvidence   the file named cannot be opened or read at all
    ├── InvalidContext       a dispute context or declared metadata value of the wrong form
    └── StoreError           the content-addressed store failed
        └── NoSuchObject     no stored object has that SHA-256
"""

from __future__ import annotations


class EvidenceError(Exception):
    """Root of the evidence package's errors."""


class UnreadableEvidence(EvidenceError):
    """The evidence file does not exist or cannot be read."""


class InvalidContext(EvidenceError):
    """A dispute context given to validation is malformed (names the field)."""


class StoreError(EvidenceError):
    """The content-addressed store could not complete an operation."""


class NoSuchObject(StoreError, KeyError):
    """No object with that SHA-256 is stored."""
