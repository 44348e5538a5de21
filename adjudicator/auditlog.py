"""The decision log: append-only and hash-chained (RULES.md section 7).

Each entry carries ``seq`` (1, 2, ...), ``prev`` (the previous entry's hash; 64 zeros for the
first) and ``hash``: the SHA-256 of the entry without ``hash``, as canonical JSON (sorted keys,
no spaces, UTF-8). Editing, deleting, reordering or inserting an entry breaks the chain at
that entry, which :func:`verify` names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from json import encoder as _json_encoder
from typing import Any

GENESIS = "0" * 64

# What ``json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`` does,
# without building a new JSONEncoder for every entry: the same encoder settings, and (when
# the C accelerator is there, as json.dumps would use it) the same C encoder, called directly.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_MAKE_ENCODER: Callable[..., Callable[[object, int], Any]] | None = getattr(
    _json_encoder, "c_make_encoder", None
)
_ENCODE_STR: Callable[[str], str] = _json_encoder.encode_basestring


def canonical(entry: dict[str, Any]) -> bytes:
    if _MAKE_ENCODER is None:  # pragma: no cover - Python without the _json accelerator
        return _ENCODER.encode(entry).encode()
    # as JSONEncoder.iterencode passes them: markers (a fresh dict, so that a circular
    # reference still fails), default, the str encoder, indent, the key and item separators,
    # sort_keys, skipkeys, allow_nan
    encode = _MAKE_ENCODER({}, _ENCODER.default, _ENCODE_STR, None, ":", ",", True, False, True)
    return "".join(encode(entry, 0)).encode()


def seal(seq: int, prev: str, body: dict[str, Any]) -> dict[str, Any]:
    entry = {**body, "seq": seq, "prev": prev}
    entry["hash"] = hashlib.sha256(canonical(entry)).hexdigest()
    return entry


@dataclass(frozen=True)
class Break:
    """Where the chain first fails: the entry's sequence number (its position) and why."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.problem}"


def verify(entries: Iterable[dict[str, Any]]) -> Break | None:
    prev = GENESIS
    position = 0
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            return Break(position, "is not a JSON object")
        if entry.get("seq") != position:
            return Break(position, f"has seq {entry.get('seq')!r} where {position} belongs")
        if entry.get("prev") != prev:
            return Break(position, "does not follow the entry before it (prev hash differs)")
        body = {k: v for k, v in entry.items() if k != "hash"}
        if hashlib.sha256(canonical(body)).hexdigest() != entry.get("hash"):
            return Break(position, "its content does not match its hash (edited)")
        prev = str(entry["hash"])
    del position
    return None


class MemoryJournal:
    """A decision log kept in memory (replay without ``--db``)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def append(self, body: dict[str, Any]) -> None:
        prev = self.entries[-1]["hash"] if self.entries else GENESIS
        self.entries.append(seal(len(self.entries) + 1, prev, body))
