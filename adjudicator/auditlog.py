"""The decision log: append-only and hash-chained (RULES.md section 7).

Each entry carries ``seq`` (1, 2, ...), ``prev`` (the previous entry's hash; 64 zeros for the
first) and ``hash``: the SHA-256 of the entry without ``hash``, as canonical JSON (sorted keys,
no spaces, UTF-8). Editing, deleting, reordering or inserting an entry breaks the chain at
that entry, which :func:`verify` (or :class:`Chain`, an entry at a time) names. A chain
rewritten from some entry on, every later hash recomputed, is a valid chain: only a signed
checkpoint kept elsewhere (:mod:`adjudicator.checkpoint`) shows it is not the one it was.
"""

from __future__ import annotations

import hashlib
import json
import json.scanner
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from adjudicator.jsontext import canonical_text, writer

GENESIS = "0" * 64

_CHECKED = writer(sort_keys=True, compact=True, check_circular=True)


def canonical(entry: dict[str, Any]) -> bytes:
    """The entry as canonical JSON (sorted keys, no spaces, UTF-8); any value, a cycle
    included, fails as json.dumps fails."""
    return _CHECKED(entry).encode()


# json.loads's own scanner (typeshed wants its context typed as a scanner; json passes this)
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_SPACE = " \t\n\r"  # the whitespace JSON allows around a value


def parse_json(text: str) -> Any:
    """``json.loads(text)`` of a str, without its layers of calls (what :meth:`Chain` readers
    do for every entry): the same value, or a ``JSONDecodeError`` (a ``ValueError``) where it
    raises one, or a ``RecursionError`` for nesting too deep."""
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    start = len(text) - len(text.lstrip(_SPACE))
    try:
        value, end = _SCAN(text, start)
    except StopIteration as stop:
        raise json.JSONDecodeError("Expecting value", text, stop.value) from None
    if len(text.rstrip(_SPACE)) > end:
        after = end + len(text[end:]) - len(text[end:].lstrip(_SPACE))
        raise json.JSONDecodeError("Extra data", text, after)
    return value


def _canonical_tree(entry: dict[str, Any]) -> bytes:
    """:func:`canonical` of an entry that holds no cycle (one parsed from JSON text, or built
    of JSON values by the workflow): one shared encoder serves every entry."""
    return canonical_text(entry).encode()


def seal(seq: int, prev: str, body: dict[str, Any]) -> dict[str, Any]:
    entry = {**body, "seq": seq, "prev": prev}
    # a body is a tree of JSON values the workflow built, so the one shared encoder serves it
    # (the same bytes as canonical, without a fresh encoder and markers for every entry)
    entry["hash"] = hashlib.sha256(_canonical_tree(entry)).hexdigest()
    return entry


@dataclass(frozen=True)
class Break:
    """Where the chain first fails: the entry's sequence number (its position) and why."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.problem}"


@dataclass(frozen=True)
class Problem:
    """One thing an audit found wrong: what it is about ("entry 5", "log_head", "dispute
    KS-1", "checkpoint line 2") and what is wrong with it."""

    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}"


def verify(entries: Iterable[object]) -> Break | None:
    """The first entry where the chain fails, or None."""
    chain = Chain()
    for entry in entries:
        chain.add(entry)
        if chain.broken is not None:
            break
    return chain.broken


_ABSENT = object()


class Chain:
    """The chain checked one entry at a time: feed it the entries oldest first.

    ``count`` is how many it was given, ``broken`` where it first failed (later entries are
    still counted, and hashed, but not checked: once a link is broken every later one is).
    """

    def __init__(self) -> None:
        self.count = 0
        self.broken: Break | None = None
        self._prev = GENESIS

    def add(self, entry: object) -> str | None:
        """Check the next entry; its hash as computed from its content (None when it is not
        a JSON object)."""
        if not isinstance(entry, dict):
            self.unreadable("is not a JSON object")
            return None
        self.count += 1
        body = {k: v for k, v in entry.items() if k != "hash"}
        try:
            digest = hashlib.sha256(canonical(body)).hexdigest()
        except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
            self._unencodable(entry.get("hash"))
            return None
        return self._linked(entry, digest)

    def add_parsed(self, entry: dict[str, Any]) -> str | None:
        """:meth:`add` for an entry just parsed from JSON text, which the caller hands over:
        the same check, without copying the entry (its ``hash`` is taken out while the rest
        is encoded, then put back, last)."""
        self.count += 1
        stated = entry.pop("hash", _ABSENT)
        try:
            digest = hashlib.sha256(_canonical_tree(entry)).hexdigest()
        except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
            self._unencodable(None if stated is _ABSENT else stated)
            return None
        finally:
            if stated is not _ABSENT:
                entry["hash"] = stated
        return self._linked(entry, digest)

    def _unencodable(self, stated: object) -> None:
        # a lone surrogate, or a value JSON cannot hold: the log never has them
        self._break("holds what no entry of the log can (not UTF-8 text)")
        self._prev = str(stated)

    def _linked(self, entry: dict[str, Any], digest: str) -> str:
        if self.broken is None:
            seq = entry.get("seq")
            if type(seq) is not int or seq != self.count:  # true and 1.0 are == 1, not 1
                self._break(f"has seq {seq!r} where {self.count} belongs")
            elif entry.get("prev") != self._prev:
                self._break("does not follow the entry before it (prev hash differs)")
            elif digest != entry.get("hash"):
                self._break("its content does not match its hash (edited)")
        self._prev = str(entry.get("hash"))
        return digest

    def unreadable(self, why: str) -> None:
        """Count the next entry as one that could not be read (``why``: "is not JSON")."""
        self.count += 1
        self._break(why)

    def _break(self, problem: str) -> None:
        if self.broken is None:
            self.broken = Break(self.count, problem)


class MemoryJournal:
    """A decision log kept in memory (replay without ``--db``)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def append(self, body: dict[str, Any]) -> None:
        prev = self.entries[-1]["hash"] if self.entries else GENESIS
        self.entries.append(seal(len(self.entries) + 1, prev, body))
