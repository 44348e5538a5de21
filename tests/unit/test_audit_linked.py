"""The audit's one read of the log (adjudicator.audit._Linked): rows read dispute by dispute,
each beside the hash column of the row numbered one before it, are the chain only when every
one of them is linked and their numbers run from 1 to their count; anything else sends the
audit back to the thorough way (tests/integration/test_audit_one_read.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from adjudicator.audit import _Damaged, _Linked
from adjudicator.auditlog import GENESIS, Break, canonical, seal, verify

CASE = "KS-1"
Row = tuple[Any, Any, Any, Any, Any]  # case_id, seq, hash, entry, the hash column before


def chain(count: int = 3) -> list[dict[str, Any]]:
    entries, prev = [], GENESIS
    for seq in range(1, count + 1):
        entry = seal(seq, prev, {"case_id": CASE, "event": "statement", "at": f"t{seq}"})
        entries.append(entry)
        prev = entry["hash"]
    return entries


def rows_of(entries: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for index, entry in enumerate(entries):
        before = entries[index - 1]["hash"] if index else None
        text = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        rows.append((CASE, entry["seq"], entry["hash"], text, before))
    return rows


def resealed(entry: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The entry with ``changes`` (None: the key taken out), hashed again."""
    again = {k: v for k, v in ({**entry, **changes}).items() if k != "hash" and v is not None}
    return {**again, "hash": hashlib.sha256(canonical(again)).hexdigest()}


def read(rows: list[Row], wanted: frozenset[int] = frozenset()) -> _Linked:
    linked = _Linked(set(wanted))
    linked.told(CASE, rows)
    linked.reading()
    return linked


def test_an_intact_chain_read_dispute_by_dispute() -> None:
    entries = chain()
    linked = read(rows_of(entries), frozenset({2}))
    reading = linked.reading()
    assert (reading.chain.count, reading.last, reading.hashes) == (
        3,
        entries[-1]["hash"],
        {2: entries[1]["hash"]},
    )


def _row(index: int, **columns: Any) -> Callable[[list[Row]], None]:
    names = ("case_id", "seq", "hash", "entry", "before")

    def change(rows: list[Row]) -> None:
        rows[index] = tuple(columns.get(n, v) for n, v in zip(names, rows[index], strict=True))

    return change


def _entry(index: int, **changes: Any) -> Callable[[list[Row]], None]:
    """Entry ``index`` with ``changes``, and every entry from it on hashed again, each after
    the one before it (and the rows' hash columns too): only the change is wrong."""

    def change(rows: list[Row]) -> None:
        for at in range(index, len(rows)):
            entry = json.loads(rows[at][3])
            if at == index:
                entry = resealed(entry, **changes)
            else:
                entry = resealed(entry, prev=rows[at - 1][2])
            text = json.dumps(entry, ensure_ascii=False, sort_keys=True)
            before = rows[at - 1][2] if at else None
            rows[at] = (rows[at][0], rows[at][1], entry["hash"], text, before)

    return change


def _text(index: int, text: Any) -> Callable[[list[Row]], None]:
    return _row(index, entry=text)


DAMAGE: dict[str, Callable[[list[Row]], object]] = {
    "the entry is not text": _text(1, None),
    "the entry is not JSON": _text(1, '{"seq": 2'),
    "the entry is not an object": _text(1, "[2]"),
    "the entry holds what UTF-8 cannot": lambda rows: _text(
        1, json.dumps({**json.loads(rows[1][3]), "at": "\udc80"})
    )(rows),
    "the entry does not hash to its hash": lambda rows: _text(1, rows[1][3].replace("t2", "t9"))(
        rows
    ),
    "the entry has no hash": lambda rows: _text(
        1, json.dumps({k: v for k, v in json.loads(rows[1][3]).items() if k != "hash"})
    )(rows),
    "the row's hash column is not the entry's": _row(2, hash="ab" * 32),
    "the row's seq is not the entry's": _entry(1, seq=5),
    "the entry's seq is true, which == 1": _entry(0, seq=True),
    "the entry's seq is 2.0, which == 2": _entry(1, seq=2.0),
    "the row's seq is not a number": _row(1, seq="2"),
    "the entry is about another dispute": _entry(1, case_id="KS-2"),
    "the entry names no dispute": _entry(1, case_id=None),
    "the entry's prev is not the hash column before": _row(1, before="cd" * 32),
    "the first entry's prev is not 64 zeros": _entry(0, prev="ef" * 32),
    "no row before, and no prev": lambda rows: (
        _entry(1, prev=None)(rows),
        _row(1, before=None)(rows),
    ),
    "two rows share a seq": lambda rows: rows.insert(2, rows[1]),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_anything_else_is_not_the_chain(damage: str) -> None:
    rows = rows_of(chain())
    DAMAGE[damage](rows)
    with pytest.raises(_Damaged):
        read(rows)


def test_numbers_must_run_from_one_to_the_count() -> None:
    """Rows linked among themselves but numbered from 2 are not the chain (the row
    numbered 1 is not there); nor are more rows than the last number."""
    linked = _Linked(set())
    linked.count, linked.lowest, linked.highest = 3, 1, 2
    with pytest.raises(_Damaged):
        linked.reading()
    linked.count, linked.lowest, linked.highest = 2, 2, 2
    with pytest.raises(_Damaged):
        linked.reading()


@pytest.mark.parametrize("around", [" ", "\n", "\ufeff"])
def test_an_entry_not_as_the_log_writes_it_is_left_to_the_thorough_way(around: str) -> None:
    """Space around the entry (which JSON allows), or a byte order mark before it: the log
    writes neither, and the thorough way reads such an entry as it is."""
    rows = rows_of(chain())
    _text(1, around + rows[1][3])(rows)
    with pytest.raises(_Damaged):
        read(rows)
    rows = rows_of(chain())
    _text(1, rows[1][3] + around)(rows)
    with pytest.raises(_Damaged):
        read(rows)


@pytest.mark.parametrize("number", [True, 1.0])
def test_a_chain_sealed_with_a_seq_that_only_equals_its_number_is_broken(number: object) -> None:
    """``true`` and ``1.0`` are == 1 in Python, but the log numbers its entries with whole
    numbers: a chain sealed with either (hashes and all) breaks at that entry, read either way."""
    entries = chain()
    entries[0] = resealed(entries[0], seq=number)
    for at in (1, 2):
        entries[at] = resealed(entries[at], prev=entries[at - 1]["hash"])
    assert verify(entries) == Break(1, f"has seq {number!r} where 1 belongs")
    with pytest.raises(_Damaged):
        read(rows_of(entries))
