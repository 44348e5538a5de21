"""Auditing the decision log: the chain, its head, what it records, and signed checkpoints.

:func:`audit_database` reads, in one snapshot of the database, the log, the ``log_head`` row,
and every dispute with its decisions, evidence and effects rows, and reports every problem it
finds (:class:`Audit`): the first broken link of the chain; a head that does not name the last
entry; an entry whose row's columns disagree with it; each stored dispute field that is not
what the dispute's entries say, and each effect in the outbox that is not one they order, or
one they order that is not there (:mod:`adjudicator.logcheck`); and each checkpoint line that is
malformed, not signed by the key given, or that the log no longer extends
(:mod:`adjudicator.checkpoint`). :func:`audit_lines` does the chain and the checkpoints for an
exported log. Damaged data is always a problem in the report, never an exception.

It reads in constant memory, however long the log: every query is streamed in chunks (a
server-side cursor on PostgreSQL) and nothing is kept of an entry once it is checked. A
database in which all is as it should be is read once (:func:`_intact`): the log dispute by
dispute, each row beside the hash column of the row numbered one before it, so that the
chain is checked in the same read that holds each dispute to its entries. At the first
thing that is not as it should be, it is read again the thorough way, which names every
problem: the log twice, oldest first for the chain, then dispute by dispute (by its
``case_id`` column, which is indexed) beside the disputes, decisions, evidence and effects
tables read in the same order, so that each dispute is held to its entries and forgotten
before the next. The only entries kept from the first read to the second are those whose row's
``case_id`` column names another dispute than the entry does (damage, reported as such):
each is read with its own dispute's.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from hashlib import sha256
from itertools import chain, groupby
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Executable, Result, Table
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from adjudicator.auditlog import (
    _SCAN,
    GENESIS,
    Break,
    Chain,
    Problem,
    _canonical_tree,
    parse_json,
)
from adjudicator.checkpoint import (
    Checkpoint,
    Checkpoints,
    MalformedCheckpoint,
    extension_problem,
)
from adjudicator.errors import BrokenLog
from adjudicator.logcheck import (
    StoredDispute,
    Told,
    compare,
    compare_decisions,
    compare_effects,
    compare_evidence,
)
from adjudicator.persistence import DecisionRow, DisputeRow, EffectRow, EvidenceRow, LogHead, LogRow
from adjudicator.rulebook import Rulebook

__all__ = ["Audit", "BrokenLog", "audit_database", "audit_lines", "chain_and_head"]

RulebookLoader = Callable[[str, str], Rulebook]


@dataclass(frozen=True)
class Audit:
    """What an audit found: ``entries`` read, ``disputes`` held to the log (None for an
    exported log, which has no stored disputes), ``checkpoints`` checked, and every problem.
    ``head`` is the last entry's hash as computed from its content (64 zeros for no entry)."""

    entries: int
    disputes: int | None
    checkpoints: int
    problems: tuple[Problem, ...]
    head: str = GENESIS

    @property
    def intact(self) -> bool:
        return not self.problems


@dataclass
class _Reading:
    """One pass over the log's entries, oldest first: the chain, the hashes checkpoints and
    the head need, and the entries filed under another dispute's row (by their dispute, with
    their row's ``seq``)."""

    wanted: set[int]
    chain: Chain = field(default_factory=Chain)
    hashes: dict[int, str | None] = field(default_factory=dict)
    last: str | None = GENESIS
    misfiled: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def text(self, text: str) -> dict[str, Any] | None:
        """The next entry as stored text; the entry, if it is a JSON object."""
        try:
            entry = parse_json(text)
        except (ValueError, RecursionError):
            self.chain.unreadable("is not JSON")
            self._hashed(None)
            return None
        if not isinstance(entry, dict):
            return self.entry(entry)
        self._hashed(self.chain.add_parsed(entry))
        return entry

    def entry(self, entry: object) -> dict[str, Any] | None:
        self._hashed(self.chain.add(entry))
        return entry if isinstance(entry, dict) else None

    def filed(self, entry: dict[str, Any], seq: Any, column: Any) -> None:
        """Where the entry is read with its dispute's entries: by its row's ``case_id``
        column, or, when that names another dispute, from what is kept here."""
        case_id = entry.get("case_id")
        if not isinstance(case_id, str):
            where = f"entry {self.chain.count}"
            self.problems.append(Problem(where, f"names no dispute (case_id {case_id!r})"))
        elif case_id != column:
            self.misfiled.setdefault(case_id, []).append((seq, entry))

    def _hashed(self, digest: str | None) -> None:
        self.last = digest
        if self.chain.count in self.wanted:
            self.hashes[self.chain.count] = digest


def audit_lines(lines: Iterable[str], checkpoints: Checkpoints | None = None) -> Audit:
    """An exported log (JSON Lines): its chain, and that it extends the checkpoints."""
    signed, problems = _checkpoints(checkpoints)
    reading = _Reading({c.size for _, c in signed})
    for line in lines:
        reading.text(line)
    problems += _chain(reading)
    problems += _extended(signed, reading)
    return Audit(reading.chain.count, None, len(signed), tuple(problems), reading.last or "")


def audit_database(
    session: Session, rulebook: RulebookLoader, checkpoints: Checkpoints | None = None
) -> Audit:
    """Everything in one pass over the log and one over each table, in the session's
    transaction (the caller makes it one snapshot)."""
    signed, problems = _checkpoints(checkpoints)
    head = _head(session)
    wanted = {c.size for _, c in signed} | ({head.seq} if head is not None else set())
    intact = _intact(session, wanted, head, rulebook)
    if intact is not None:  # all is well: only the checkpoints may be wrong
        reading, stored = intact
        problems += _extended(signed, reading)
        count = reading.chain.count
        return Audit(count, stored, len(signed), tuple(problems), reading.last or "")
    reading = _read_log(session, wanted, full=True)
    problems += _chain(reading)
    problems += _head_problems(head, reading)
    problems += reading.problems
    held = _hold_disputes(session, reading.misfiled, rulebook, _outbox_from(head))
    problems += held.disputes + held.unstored
    problems += held.decisions + held.decisions_unrowed
    problems += held.evidence + held.evidence_unrowed
    problems += held.effects + held.effects_unrowed
    problems += _extended(signed, reading)
    count = reading.chain.count
    return Audit(count, held.stored, len(signed), tuple(problems), reading.last or "")


def chain_and_head(session: Session) -> tuple[int, Break | None]:
    """The chain and its head only: (entries read, the first problem as a :class:`Break`)."""
    head = _head(session)
    reading = _read_log(session, set() if head is None else {head.seq}, full=False)
    if reading.chain.broken is not None:
        return reading.chain.count, reading.chain.broken
    if head is None:
        why = "is the last, but the log_head row is missing, so a cut tail would not show"
        return reading.chain.count, Break(reading.chain.count, why)
    return reading.chain.count, _head_break(head, reading)


CHUNK = 1000
"""Rows fetched at a time: what a read of the log holds in memory, whatever its length."""
_LOG: Table = LogRow.__table__  # type: ignore[attr-defined]
_DECISIONS: Table = DecisionRow.__table__  # type: ignore[attr-defined]
_EVIDENCE: Table = EvidenceRow.__table__  # type: ignore[attr-defined]
_EFFECTS: Table = EffectRow.__table__  # type: ignore[attr-defined]


def _streamed(session: Session, query: Executable) -> Iterator[Any]:
    """The rows of ``query``, fetched ``CHUNK`` at a time, in the session's transaction."""
    result = session.connection().execute(query.execution_options(yield_per=CHUNK))
    return chain.from_iterable(result.partitions())


@contextmanager
def _reads(session: Session) -> Iterator[Callable[[Executable], Iterator[Any]]]:
    """:func:`_streamed`, each result closed at the end even if it was not read to its end."""
    results: list[Result[Any]] = []

    def stream(query: Executable) -> Iterator[Any]:
        result = session.connection().execute(query.execution_options(yield_per=CHUNK))
        results.append(result)
        return chain.from_iterable(result.partitions())

    try:
        yield stream
    finally:
        for result in results:
            result.close()


def _read_log(session: Session, wanted: set[int], *, full: bool) -> _Reading:
    """One pass over the log, oldest first; ``full``: also each row's columns, and where
    each entry is read with its dispute's."""
    reading = _Reading(wanted)
    columns = (_LOG.c.seq, _LOG.c.case_id, _LOG.c.hash, _LOG.c.entry) if full else (_LOG.c.entry,)
    for row in _streamed(session, core_select(*columns).order_by(_LOG.c.seq)):
        text = row[-1]
        entry = reading.text(text) if isinstance(text, str) else reading.entry(None)
        if entry is None or not full:
            continue
        seq, case_id, digest = row[0], row[1], row[2]
        reading.problems += _columns(reading.chain.count, entry, seq, case_id, digest)
        reading.filed(entry, seq, case_id)
    return reading


def _columns(
    position: int, entry: dict[str, Any], seq: Any, case_id: Any, digest: Any
) -> list[Problem]:
    """The row's own columns (what history, explain and the next append read) against the
    entry they hold."""
    where, found = f"entry {position}", []
    if seq != position:
        found.append(Problem(where, f"is stored under seq {seq!r} (its row's seq column)"))
    if case_id != entry.get("case_id"):
        found.append(
            Problem(
                where,
                f"its row's case_id column is {case_id!r} but the entry is about "
                f"{entry.get('case_id')!r}",
            )
        )
    if digest != entry.get("hash"):
        found.append(Problem(where, "its row's hash column is not the entry's hash"))
    return found


def _head(session: Session) -> LogHead | None:
    return session.exec(select(LogHead).where(LogHead.id == 1)).first()


def _outbox_from(head: LogHead | None) -> int:
    """The first entry whose effects the outbox must hold (all of them without a head row,
    which is reported as such; a value that is not a whole number asks for all of them)."""
    begins = None if head is None else head.outbox_from
    return begins if type(begins) is int else 1


def _chain(reading: _Reading) -> list[Problem]:
    broken = reading.chain.broken
    return [] if broken is None else [Problem(f"entry {broken.seq}", broken.problem)]


def _head_problems(head: LogHead | None, reading: _Reading) -> list[Problem]:
    if head is None:
        why = "the row is missing (deleted), so nothing shows where the log ends"
        return [Problem("log_head", why)]
    broken = _head_break(head, reading)
    return [] if broken is None else [Problem(f"entry {broken.seq}", broken.problem)]


def _head_break(head: LogHead, reading: _Reading) -> Break | None:
    count = reading.chain.count
    if head.seq > count:
        why = f"the log ends at entry {count} but its head records {head.seq} entries"
        return Break(count + 1, f"is missing: {why} (the tail was deleted)")
    found = GENESIS if head.seq == 0 else reading.hashes.get(head.seq)
    if head.seq >= 0 and found != head.hash:
        return Break(
            head.seq,
            f"is not the entry the log_head row records (it hashes to {str(found)[:12]}…, the "
            f"head says {str(head.hash)[:12]}…): the entry or the head was rewritten",
        )
    if head.seq < count:
        why = f"the head records {head.seq} entries, but the log goes on"
        return Break(head.seq + 1, f"was appended outside the log: {why}")
    return None


_DISPUTES: Table = DisputeRow.__table__  # type: ignore[attr-defined]
_STORED = core_select(
    _DISPUTES.c.case_id,
    _DISPUTES.c.state,
    _DISPUTES.c.resolution,
    _DISPUTES.c.deadline_us,
    _DISPUTES.c.rulebook,
    _DISPUTES.c.rulebook_digest,
    _DISPUTES.c.snapshot,
    _DISPUTES.c.order_id,
)


def _loader(rulebook: RulebookLoader, stored: StoredDispute) -> Callable[[], Rulebook]:
    return lambda: rulebook(stored.rulebook, stored.rulebook_digest)


@dataclass
class _Held:
    """What holding each dispute to its entries found, by kind, each kind in the order of
    the disputes' ids; ``*_unrowed``: the disputes whose entries have rows of that kind but
    the table none."""

    stored: int = 0
    disputes: list[Problem] = field(default_factory=list)
    unstored: list[Problem] = field(default_factory=list)
    decisions: list[Problem] = field(default_factory=list)
    decisions_unrowed: list[Problem] = field(default_factory=list)
    evidence: list[Problem] = field(default_factory=list)
    evidence_unrowed: list[Problem] = field(default_factory=list)
    effects: list[Problem] = field(default_factory=list)
    effects_unrowed: list[Problem] = field(default_factory=list)


def _hold_disputes(
    session: Session,
    misfiled: dict[str, list[tuple[int, dict[str, Any]]]],
    rulebook: RulebookLoader,
    outbox_from: int,
) -> _Held:
    """Each dispute, one at a time in the order of their ids, held to its entries: its
    stored row, its decisions rows, its evidence rows and its effects rows (those of entries
    from ``outbox_from`` on must be there). The five tables are read side by side in that
    order, each streamed."""
    ordered = _in_id_order(session)
    log = core_select(_LOG.c.case_id, _LOG.c.seq, _LOG.c.entry)
    streams = (
        _grouped(_streamed(session, log.order_by(ordered(_LOG.c.case_id), _LOG.c.seq))),
        *_tables(session, lambda query: _streamed(session, query)),
        iter(sorted(misfiled.items())),
    )
    held = _Held()
    for case_id, (rows, stored, decided, submitted, ordered, strays) in _side_by_side(streams):
        told = _told(case_id, rows or [], strays or [])
        if stored:
            held.stored += 1
            dispute = StoredDispute._make(stored[0])
            held.disputes += compare(told, dispute, _loader(rulebook, dispute))
        elif told is not None:
            held.unstored.append(
                Problem(
                    f"dispute {case_id}",
                    f"has {told.entries} entries in the log but is not stored (its row was "
                    "deleted)",
                )
            )
        if decided:
            held.decisions += compare_decisions(case_id, told, decided)
        elif told is not None and told.decisions:
            held.decisions_unrowed += compare_decisions(case_id, told, [])
        if submitted:
            held.evidence += compare_evidence(case_id, told, submitted)
        elif told is not None and told.evidence:
            held.evidence_unrowed += compare_evidence(case_id, told, [])
        if ordered:
            held.effects += compare_effects(case_id, told, ordered, outbox_from)
        elif told is not None:
            held.effects_unrowed += compare_effects(case_id, told, [], outbox_from)
    return held


class _Damaged(Exception):
    """Something is not as it should be: :func:`_intact` stops, and the audit reads it all
    again the thorough way, to name every problem."""


def _intact(
    session: Session, wanted: set[int], head: LogHead | None, rulebook: RulebookLoader
) -> tuple[_Reading, int] | None:
    """The audit of a database in which all is as it should be, in one read of each table:
    the reading (the entries' count, the hashes wanted, the last) and the number of stored
    disputes; None as soon as anything is not, which the thorough audit then names.

    The log is read once, dispute by dispute, each row beside the ``hash`` column of the row
    numbered one before it (:class:`_Linked`); each dispute is held to its entries as the
    thorough audit does (the same comparisons, every one of which must find nothing)."""
    linked = _Linked(wanted)
    stored = 0
    before = _LOG.alias("before")
    log = (
        core_select(
            _LOG.c.case_id, _LOG.c.seq, _LOG.c.hash, _LOG.c.entry, before.c.hash.label("before")
        )
        .select_from(_LOG.outerjoin(before, before.c.seq == _LOG.c.seq - 1))
        .order_by(_in_id_order(session)(_LOG.c.case_id), _LOG.c.seq)
    )
    try:
        with _reads(session) as stream:
            streams = (_grouped(stream(log)), *_tables(session, stream))
            for case_id, (rows, dispute, decided, submitted, ordered) in _side_by_side(streams):
                if type(case_id) is not str or not rows or not dispute:
                    raise _Damaged
                told = linked.told(case_id, rows)
                stored += 1
                held = StoredDispute._make(dispute[0])
                if (
                    compare(told, held, _loader(rulebook, held))
                    or compare_decisions(case_id, told, decided or [])
                    or compare_evidence(case_id, told, submitted or [])
                    or compare_effects(case_id, told, ordered or [], _outbox_from(head))
                ):
                    raise _Damaged
        reading = linked.reading()
    except _Damaged:
        return None
    if _head_problems(head, reading):
        return None
    return reading, stored


# what reading an entry that is not as the log writes it raises: no JSON value at the start
# (StopIteration), no hash, a string JSON cannot encode, nesting too deep...
_UNLINKED = (StopIteration, KeyError, UnicodeEncodeError, ValueError, TypeError, RecursionError)


class _Linked:
    """The chain, checked from the log read dispute by dispute rather than in its own order.

    Each row comes with ``before``, the ``hash`` column of the row whose ``seq`` is one less
    (none for the first). An entry is linked when it parses, hashes to its ``hash``, which its
    row's ``hash`` column also holds, names its row's ``seq`` and ``case_id``, and its
    ``prev`` is ``before`` (64 zeros for ``seq`` 1). When every row is linked and the rows'
    ``seq`` run from 1 to their count, the rows read in ``seq`` order are the chain, intact,
    with each row's ``seq`` its position and its columns the entry's: no two rows share a
    ``seq`` (then some number up to the largest would be missing, and the row after the
    largest missing one would have no row before it).
    """

    def __init__(self, wanted: set[int]) -> None:
        self.wanted = wanted
        self.hashes: dict[int, str | None] = {}
        self.count = 0
        self.lowest: int | None = None
        self.highest = 0
        self.last = GENESIS

    def told(self, case_id: str, rows: list[Any]) -> Told:
        """What the dispute's rows (in the order of their ``seq``) say, each of them linked
        (else :class:`_Damaged`)."""
        told = Told(case_id)
        observe, wanted = told.observe, self.wanted
        seq, digest = 0, ""
        for _, seq, column, text, before in rows:
            if type(seq) is not int or type(text) is not str:
                raise _Damaged
            try:  # (parsed as the log writes it: an object, nothing around it)
                entry, end = _SCAN(text, 0)
                if end != len(text) or type(entry) is not dict:
                    raise _Damaged
                stated = entry.pop("hash")
                digest = sha256(_canonical_tree(entry)).hexdigest()
            except _UNLINKED:
                raise _Damaged from None
            entry["hash"] = stated
            if (
                stated != digest
                or column != digest
                or type(entry.get("seq")) is not int  # true and 1.0 are == 1
                or entry.get("seq") != seq
                or entry.get("case_id") != case_id
                or entry.get("prev") != (GENESIS if seq == 1 else before)
                or (before is None and seq != 1)
            ):
                raise _Damaged
            if seq in wanted:
                self.hashes[seq] = digest
            observe(entry, text)
        # (numbered in order: the first row has the dispute's lowest seq, the last its highest)
        self.count += len(rows)
        if self.lowest is None or rows[0][1] < self.lowest:
            self.lowest = rows[0][1]
        if seq > self.highest:
            self.highest, self.last = seq, digest
        return told

    def reading(self) -> _Reading:
        """The log as read in its own order (else :class:`_Damaged`)."""
        if self.count and (self.lowest != 1 or self.highest != self.count):
            raise _Damaged
        reading = _Reading(self.wanted, hashes=self.hashes, last=self.last)
        reading.chain.count = self.count
        return reading


# the columns compare_decisions and compare_evidence read, the dispute's id first (_grouped),
# as tuples whose fields are read by name without a look-up
class _Decided(NamedTuple):
    case_id: str
    at: str
    body: str
    liability: str
    remedy: str
    refund_amount: str
    rulebook: str
    rulebook_digest: str


class _Submitted(NamedTuple):
    case_id: str
    evidence_id: str
    party: str
    kind: str
    sha256: str
    accepted: bool
    submitted_at: str
    verdict: str


class _Ordered(NamedTuple):
    case_id: str
    key: str
    kind: str
    body: str


_DECIDED = core_select(*(_DECISIONS.c[name] for name in _Decided._fields))
_SUBMITTED = core_select(*(_EVIDENCE.c[name] for name in _Submitted._fields))
_ORDERED = core_select(*(_EFFECTS.c[name] for name in _Ordered._fields))


def _tables(
    session: Session, stream: Callable[[Executable], Iterator[Any]]
) -> tuple[Iterator[tuple[str, list[Any]]], ...]:
    """The disputes, decisions, evidence and effects tables, each in runs of one dispute's
    rows (by their ``case_id`` column), in the order of the disputes' ids."""
    ordered = _in_id_order(session)
    decisions = _DECIDED.order_by(ordered(_DECISIONS.c.case_id), _DECISIONS.c.id)
    evidence = _SUBMITTED.order_by(ordered(_EVIDENCE.c.case_id), _EVIDENCE.c.id)
    effects = _ORDERED.order_by(ordered(_EFFECTS.c.case_id), _EFFECTS.c.id)
    return (
        _grouped(stream(_STORED.order_by(ordered(_DISPUTES.c.case_id)))),
        _grouped(map(_Decided._make, stream(decisions))),
        _grouped(map(_Submitted._make, stream(evidence))),
        _grouped(map(_Ordered._make, stream(effects))),
    )


def _in_id_order(session: Session) -> Callable[[ColumnElement[str]], ColumnElement[str]]:
    """A dispute id column as ordered here: by code point (PostgreSQL's collation may order
    text otherwise; SQLite's compares the UTF-8 bytes, which is code point order)."""
    if session.get_bind().dialect.name == "postgresql":
        return lambda column: column.collate("C")
    return lambda column: column


def _grouped(rows: Iterator[Any]) -> Iterator[tuple[str, list[Any]]]:
    """Rows whose first column is the dispute's id, in runs of the same dispute."""
    for case_id, run in groupby(rows, key=_CASE_ID):
        yield case_id, list(run)


_CASE_ID = itemgetter(0)


def _side_by_side(
    streams: tuple[Iterator[tuple[str, Any]], ...],
) -> Iterator[tuple[str, list[Any]]]:
    """Streams of (dispute id, what) in id order, merged: each id once, with what each
    stream has for it (None where it has nothing)."""
    heads = [next(stream, None) for stream in streams]
    while True:
        present = [head[0] for head in heads if head is not None]
        if not present:
            return
        case_id = min(present, key=_stored_order)
        found: list[Any] = []
        for index, head in enumerate(heads):
            if head is not None and head[0] == case_id:
                found.append(head[1])
                heads[index] = next(streams[index], None)
            else:
                found.append(None)
        yield case_id, found


def _stored_order(case_id: object) -> tuple[int, Any]:
    """Where the database sorts an id: SQLite keeps any type in a column and sorts null,
    then numbers, then text, then bytes (a damaged row's id may be any of them; Python will
    not compare them with each other), each among its own kind as Python does."""
    if isinstance(case_id, str):
        return 2, case_id
    if isinstance(case_id, bytes):
        return 3, case_id
    if isinstance(case_id, int | float):
        return 1, case_id
    return 0, 0  # null


def _told(case_id: str, rows: list[Any], strays: list[tuple[int, dict[str, Any]]]) -> Told | None:
    """What a dispute's entries say, read oldest first (by their rows' ``seq``): those of
    its rows that are about it, and the entries about it filed under other disputes' rows;
    None when there is none. A row of it that cannot be read (already named: the chain is
    broken there) still counts as one of its entries, so that the later ones keep their
    numbers (the keys of the effects they order)."""
    told = None
    unread = 0  # rows that could not be read before its first entry
    about = ((row[1], _about(row[2], case_id)) for row in rows)
    filed = ((seq, entry) for seq, entry in about if entry is not _ELSEWHERE)
    for _, entry in heapq.merge(filed, strays, key=lambda pair: pair[0]) if strays else filed:
        if entry is None:
            if told is None:
                unread += 1
            else:
                told.entries += 1
            continue
        if told is None:
            told = Told(case_id, entries=unread)
        told.observe(entry)
    return told


_ELSEWHERE: dict[str, Any] = {}
"""What :func:`_about` gives for an entry about another dispute (read with that one's)."""


def _about(text: Any, case_id: str) -> dict[str, Any] | None:
    """The entry stored as ``text``, if it is a JSON object about the dispute ``case_id``;
    :data:`_ELSEWHERE` if it is one about another dispute; None if it cannot be read as
    one about any."""
    if not isinstance(text, str):
        return None
    try:
        entry = parse_json(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("case_id"), str):
        return None
    return entry if entry["case_id"] == case_id else _ELSEWHERE


def _checkpoints(
    checkpoints: Checkpoints | None,
) -> tuple[list[tuple[int, Checkpoint]], list[Problem]]:
    """The well-formed checkpoint lines signed by the key (with their line numbers), and a
    problem for each other line."""
    if checkpoints is None:
        return [], []
    signed: list[tuple[int, Checkpoint]] = []
    problems: list[Problem] = []
    for number, line in enumerate(checkpoints.lines, start=1):
        if not line.strip():
            continue
        where = f"checkpoint line {number}"
        try:
            checkpoint = Checkpoint.parse(line)
        except MalformedCheckpoint as exc:
            problems.append(Problem(where, f"is malformed: it {exc}"))
            continue
        why = checkpoints.key.problem(checkpoint)
        if why is not None:
            problems.append(Problem(where, why))
            continue
        signed.append((number, checkpoint))
    return signed, problems


def _extended(signed: list[tuple[int, Checkpoint]], reading: _Reading) -> list[Problem]:
    found = []
    for number, checkpoint in signed:
        why = extension_problem(checkpoint, reading.chain.count, reading.hashes)
        if why is not None:
            found.append(Problem(f"checkpoint line {number}", why))
    return found
