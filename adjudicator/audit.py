"""Auditing the decision log: the chain, its head, what it records, and signed checkpoints.

:func:`audit_database` reads, in one snapshot of the database, every log entry (once, oldest
first), the ``log_head`` row, and every dispute with its decisions and evidence rows, and
reports every problem it finds (:class:`Audit`): the first broken link of the chain; a head
that does not name the last entry; an entry whose row's columns disagree with it; each
stored dispute field that is not what the dispute's entries say (:mod:`adjudicator.logcheck`);
and each checkpoint line that is malformed, not signed by the key given, or that the log no
longer extends (:mod:`adjudicator.checkpoint`). :func:`audit_lines` does the chain and the
checkpoints for an exported log. Damaged data is always a problem in the report, never an
exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from adjudicator.auditlog import GENESIS, Break, Chain, Problem
from adjudicator.checkpoint import (
    Checkpoint,
    Checkpoints,
    MalformedCheckpoint,
    extension_problem,
)
from adjudicator.errors import BrokenLog
from adjudicator.logcheck import StoredDispute, Told, compare, compare_decisions, compare_evidence
from adjudicator.persistence import DecisionRow, DisputeRow, EvidenceRow, LogHead, LogRow
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
    """One pass over the log's entries: the chain, the hashes checkpoints and the head need,
    and what each dispute's entries say."""

    wanted: set[int]
    chain: Chain = field(default_factory=Chain)
    hashes: dict[int, str | None] = field(default_factory=dict)
    last: str | None = GENESIS
    told: dict[str, Told] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def text(self, text: str) -> dict[str, Any] | None:
        """The next entry as stored text; the entry, if it is a JSON object."""
        try:
            entry = json.loads(text)
        except (ValueError, RecursionError):
            self.chain.unreadable("is not JSON")
            self._hashed(None)
            return None
        return self.entry(entry)

    def entry(self, entry: object) -> dict[str, Any] | None:
        self._hashed(self.chain.add(entry))
        return entry if isinstance(entry, dict) else None

    def told_by(self, entry: dict[str, Any]) -> None:
        """Add the entry to what its dispute's entries say."""
        case_id = entry.get("case_id")
        if not isinstance(case_id, str):
            where = f"entry {self.chain.count}"
            self.problems.append(Problem(where, f"names no dispute (case_id {case_id!r})"))
            return
        told = self.told.get(case_id)
        if told is None:
            told = self.told[case_id] = Told(case_id)
        told.observe(entry)

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
    reading = _read_log(session, wanted, full=True)
    problems += _chain(reading)
    problems += _head_problems(head, reading)
    problems += reading.problems
    stored_ids: set[str] = set()
    for stored in _disputes(session):
        stored_ids.add(stored.case_id)
        told = reading.told.get(stored.case_id)
        problems += compare(told, stored, _loader(rulebook, stored))
    problems += _unstored(reading.told, stored_ids)
    decisions = select(DecisionRow).order_by(col(DecisionRow.case_id), col(DecisionRow.id))
    decided = session.exec(decisions.execution_options(yield_per=500))
    problems += _rows(decided, reading.told, compare_decisions, "decisions")
    evidence = select(EvidenceRow).order_by(col(EvidenceRow.case_id), col(EvidenceRow.id))
    submitted = session.exec(evidence.execution_options(yield_per=500))
    problems += _rows(submitted, reading.told, compare_evidence, "evidence")
    problems += _extended(signed, reading)
    count = reading.chain.count
    return Audit(count, len(stored_ids), len(signed), tuple(problems), reading.last or "")


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


def _read_log(session: Session, wanted: set[int], *, full: bool) -> _Reading:
    """One pass over the log; ``full``: also each row's columns and what each dispute's
    entries say."""
    reading = _Reading(wanted)
    query = select(LogRow.seq, LogRow.case_id, LogRow.hash, LogRow.entry).order_by(col(LogRow.seq))
    for seq, case_id, digest, text in session.exec(query.execution_options(yield_per=1000)):
        entry = reading.text(text) if isinstance(text, str) else reading.entry(None)
        if entry is None or not full:
            continue
        reading.problems += _columns(reading.chain.count, entry, seq, case_id, digest)
        reading.told_by(entry)
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
).order_by(_DISPUTES.c.case_id)


def _disputes(session: Session) -> Iterator[StoredDispute]:
    for row in session.execute(_STORED.execution_options(yield_per=500)):
        yield StoredDispute(*row)


def _loader(rulebook: RulebookLoader, stored: StoredDispute) -> Callable[[], Rulebook]:
    return lambda: rulebook(stored.rulebook, stored.rulebook_digest)


def _unstored(told: dict[str, Told], stored: set[str]) -> list[Problem]:
    return [
        Problem(
            f"dispute {case_id}",
            f"has {told[case_id].entries} entries in the log but is not stored (its row was "
            "deleted)",
        )
        for case_id in sorted(set(told) - stored)
    ]


_Row = TypeVar("_Row", DecisionRow, EvidenceRow)


def _rows(
    rows: Iterable[_Row],
    told: dict[str, Told],
    check: Callable[[str, Told | None, Sequence[_Row]], list[Problem]],
    kind: str,
) -> list[Problem]:
    """Each dispute's rows (ordered by dispute, then as written) against its entries; and
    the disputes whose entries have rows of that kind, but the table none."""
    found: list[Problem] = []
    seen: set[str] = set()
    for case_id, group in groupby(rows, key=lambda row: row.case_id):
        seen.add(case_id)
        found += check(case_id, told.get(case_id), list(group))
    for case_id in sorted(set(told) - seen):
        if told[case_id].decisions if kind == "decisions" else told[case_id].evidence:
            found += check(case_id, told[case_id], [])
    return found


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
