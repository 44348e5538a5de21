"""One unit of work on one dispute: load it, apply commands, save everything in one transaction.

What a command changes (the dispute row, its events, evidence verdicts, decisions and the
decision-log entries that record them) is written together and committed once; an error
anywhere rolls all of it back. The dispute row carries a version: a save whose version moved
underneath it raises :class:`ConflictError` and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Integer, Table, any_, bindparam, func, union_all, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from adjudicator import snapshot
from adjudicator.auditlog import seal
from adjudicator.effects import Ledger, could_order
from adjudicator.errors import ConflictError, DisputeExists, KeyReused, UnknownDispute
from adjudicator.examine import Examined, Examiner, Intake
from adjudicator.inserts import insert_rows
from adjudicator.jsontext import sorted_text
from adjudicator.jsontext import text as json_text
from adjudicator.persistence import (
    CommandRow,
    DecisionRow,
    DisputeRow,
    EffectRow,
    EventRow,
    EvidenceRow,
    LogHead,
    LogRow,
    epoch_us,
)
from adjudicator.rulebook import Rulebook
from adjudicator.workflow import Case, Event, Workflow
from evidence import neardup

RulebookLoader = Callable[[str, str], Rulebook]
"""(source, digest) -> the rulebook a stored dispute was opened under."""


@dataclass
class PendingJournal:
    """Log entries of this unit of work, sealed into the chain when it commits."""

    bodies: list[dict[str, Any]] = field(default_factory=list)

    def append(self, entry: dict[str, Any]) -> None:
        self.bodies.append(entry)


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


# Statements a command or tick runs every time, built once.
_DISPUTE_COLUMNS = ("version", "state", "resolution", "deadline_us", "snapshot")
_DISPUTES = _table(DisputeRow)
_HEAD = _table(LogHead)
_LOG = _table(LogRow)
_LOCK_HEAD = core_select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_MOVE_HEAD = (
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("seq"), hash=bindparam("hash"))
)
_STORED = core_select(
    _DISPUTES.c.case_id,
    _DISPUTES.c.version,
    _DISPUTES.c.rulebook,
    _DISPUTES.c.rulebook_digest,
    _DISPUTES.c.snapshot,
)
_LOAD_DISPUTE = _STORED.where(_DISPUTES.c.case_id == bindparam("case_id"))
_EVENTS = _table(EventRow)
_COUNT_EVENTS = core_select(func.count()).where(_EVENTS.c.case_id == bindparam("case_id"))
_UPDATE_DISPUTE = (
    update(_DISPUTES)
    .where(_DISPUTES.c.case_id == bindparam("key"), _DISPUTES.c.version == bindparam("expected"))
    .values({name: bindparam(name) for name in _DISPUTE_COLUMNS})
)  # moves a dispute on from the version it was read at, or matches nothing


class DatabasePrior:
    """Evidence already submitted in *other* disputes in this database."""

    def __init__(self, session: Session, case_id: str) -> None:
        self.session, self.case_id = session, case_id

    def used_elsewhere(self, sha256: str) -> bool:
        query = (
            select(EvidenceRow.id)
            .where(EvidenceRow.sha256 == sha256, EvidenceRow.case_id != self.case_id)
            .limit(1)
        )
        return self.session.exec(query).first() is not None

    def near_duplicate(
        self, perceptual_hash: str, max_distance: int, *, scan: bool = False
    ) -> str | None:
        """The stored hash of another dispute nearest ``perceptual_hash``, within
        ``max_distance`` bits (ties: the smallest text), or None (:func:`neardup.nearest`).

        The candidates are the rows the band indexes find (multi-index hashing,
        :mod:`evidence.neardup`); every stored hash is read instead when the bands cannot help
        (a distance of 20 or more, a probe that is no 64-bit hash) or ``scan`` asks it: that is
        the reference the tests and ``scripts/bench_neardup.py`` compare the index with."""
        stored = col(EvidenceRow.perceptual_hash)
        query = core_select(stored).where(
            stored.is_not(None), col(EvidenceRow.case_id) != self.case_id
        )
        wanted = None if scan else neardup.lookups(perceptual_hash, max_distance)
        if wanted is None:  # streamed: every stored photo hash
            every = self.session.connection().execute(query).scalars()
            return neardup.nearest(perceptual_hash, every, max_distance)
        bands = (
            EvidenceRow.phash_band0,
            EvidenceRow.phash_band1,
            EvidenceRow.phash_band2,
            EvidenceRow.phash_band3,
        )
        # One look-up per band index, each answered from its index alone (hash and dispute
        # are in it); with an OR of the four PostgreSQL reads every candidate's row instead,
        # 4-10x slower at 10^6 photos. The values are bound, so the statement is compiled once:
        # on PostgreSQL as one array a band (thousands of bound values each cost more to send
        # than the look-up at the larger radii), elsewhere as a list.
        array = self.session.get_bind().dialect.name == "postgresql"
        near = union_all(
            *(
                query.where(
                    col(b) == any_(bindparam(f"band{k}", type_=ARRAY(Integer)))
                    if array
                    else col(b).in_(bindparam(f"band{k}", expanding=True))
                )
                for k, b in enumerate(bands)
            )
        )
        values = {f"band{k}": list(v) for k, v in enumerate(wanted)}
        found = self.session.connection().execute(near, values).scalars().all()
        return neardup.nearest(perceptual_hash, found, max_distance)


@dataclass(frozen=True)
class Request:
    """A command given with an idempotency key: the key, and what the command asked."""

    key: str
    case_id: str
    action: str
    fingerprint: str

    @classmethod
    def of(cls, key: str, case_id: str, action: str, asked: dict[str, Any]) -> Request:
        text = json.dumps(asked, ensure_ascii=False, sort_keys=True, default=str)
        return cls(key, case_id, action, hashlib.sha256(text.encode()).hexdigest())

    def describe(self) -> str:
        return f"{self.action} on dispute {self.case_id}"


def recall(session: Session, request: Request, rulebook: RulebookLoader) -> Case | None:
    """The dispute as the first command with this key left it, or None if there was none.
    Raises :class:`KeyReused` if the key was given for a different command."""
    first = session.get(CommandRow, request.key)
    if first is None:
        return None
    if (first.case_id, first.action, first.fingerprint) != (
        request.case_id,
        request.action,
        request.fingerprint,
    ):
        asked = f"{first.action} on dispute {first.case_id}"
        if (first.case_id, first.action) == (request.case_id, request.action):
            asked += " with other arguments"
        raise KeyReused(request.key, asked, request.describe())
    row = session.get(DisputeRow, first.case_id)
    assert row is not None  # disputes are never deleted
    book = rulebook(row.rulebook, row.rulebook_digest)
    return snapshot.from_json(json.loads(first.result), book)


class Unit:
    """The dispute being worked on, and the workflow that records what happens to it."""

    def __init__(self, session: Session, case: Case, row: Stored | None, intake: Intake):
        self.session, self.case, self.row = session, case, row
        self.journal = PendingJournal()
        self.examiner = Examiner(intake, DatabasePrior(session, case.case_id))
        self.flow = Workflow(self.journal, self.examiner)
        self.events: list[Event] = []

    def apply(self, event: Event) -> None:
        self.flow.apply(self.case, event)
        self.events.append(event)

    def advance(self, now: datetime) -> int:
        """Fire every deadline ``now`` is past; how many fired."""
        before = len(self.journal.bodies)
        self.flow.advance(self.case, now)
        return sum(
            1 for entry in self.journal.bodies[before:] if entry["event"].endswith("_expired")
        )

    def expire_next(self) -> None:
        """Fire the pending deadline (replay's clock has passed it)."""
        self.flow.expire_next(self.case)


def ensure_new(session: Session, case_id: str) -> None:
    query = select(DisputeRow.case_id).where(DisputeRow.case_id == case_id)
    if session.execute(query).first() is not None:
        raise DisputeExists(case_id)


@dataclass(frozen=True)
class Stored:
    """What a unit of work needs of a dispute's row: the version it read, and how to make
    the dispute again (its rulebook and snapshot)."""

    case_id: str
    version: int
    rulebook: str
    rulebook_digest: str
    snapshot: str


def load(session: Session, case_id: str, rulebook: RulebookLoader) -> tuple[Stored, Case]:
    found = session.connection().execute(_LOAD_DISPUTE, {"case_id": case_id}).one_or_none()
    if found is None:
        raise UnknownDispute(case_id)
    row = Stored(*found)
    return row, case_of(row, rulebook)


def load_many(session: Session, case_ids: Iterable[str], rulebook: RulebookLoader) -> list[Case]:
    """The disputes of ``case_ids`` that are stored (any other id is left out), in no order:
    one query for every ``_CHUNK`` of them, where :func:`load` is one query each."""
    wanted = sorted(set(case_ids))
    cases: list[Case] = []
    for start in range(0, len(wanted), _CHUNK):
        query = _STORED.where(_DISPUTES.c.case_id.in_(wanted[start : start + _CHUNK]))
        for found in session.connection().execute(query):
            cases.append(case_of(Stored(*found), rulebook))
    return cases


_CHUNK = 500  # ids bound in one query: well under every database's limit on parameters


def case_of(row: Stored, rulebook: RulebookLoader) -> Case:
    book = rulebook(row.rulebook, row.rulebook_digest)
    return snapshot.from_json(json.loads(row.snapshot), book)


def claim_due(
    session: Session, now_us: int | None, skip: Iterable[str], limit: int, *, wait: bool
) -> list[Stored]:
    """Lock and return up to ``limit`` disputes with a deadline due by ``now_us``, earliest
    first. Rows other transactions hold are skipped (``SKIP LOCKED``), or with ``wait``
    waited for; on SQLite the transaction's writer lock already excludes everyone else."""
    query = _STORED.where(_DISPUTES.c.deadline_us < now_us)  # past the deadline: inclusive
    skipped = list(skip)
    if skipped:
        query = query.where(_DISPUTES.c.case_id.not_in(skipped))
    query = query.order_by(_DISPUTES.c.deadline_us, _DISPUTES.c.case_id).limit(limit)
    claimed = session.connection().execute(query.with_for_update(skip_locked=not wait))
    return [Stored(*row) for row in claimed]


def save(unit: Unit, rulebook_source: str, request: Request | None = None) -> None:
    """Write everything the unit changed, its log entries, and the idempotency key it was
    asked under; the caller commits."""
    writes = Writes()
    writes.add(unit, rulebook_source, request)
    writes.flush(unit.session)


@dataclass
class Writes:
    """What units of work changed, gathered so that each table gets one statement however
    many disputes there are (a tick saves a whole batch at once). Rows go in through
    :mod:`adjudicator.inserts` (COPY on PostgreSQL, the driver's executemany on SQLite) and
    moved disputes in one executemany update: the ORM's per-object bookkeeping, and then a
    round trip per dispute, were most of the cost."""

    new: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    ledgers: dict[str, Ledger] = field(default_factory=dict)  # of disputes with log entries
    stored: set[str] = field(default_factory=set)  # those with entries from earlier commands

    def add(self, unit: Unit, rulebook_source: str, request: Request | None = None) -> None:
        case, row = unit.case, unit.row
        columns = {
            "state": case.state.value,
            "resolution": case.resolution,
            "deadline_us": epoch_us(case.next_deadline()),  # the window's, or an offer's
            "snapshot": sorted_text(snapshot.to_json(case)),
        }
        if row is None:
            version, first_event = 1, 1
            made = {"case_id": case.case_id, "version": 1, "rulebook": rulebook_source}
            made["order_id"] = case.order.order_id
            made |= {"rulebook_label": case.rulebook.label, "rulebook_digest": case.rulebook.digest}
            self.new.append(made | columns)
        else:
            version = row.version + 1
            self.moved.append(
                {"key": case.case_id, "expected": row.version, "version": version, **columns}
            )
            first_event = _event_count(unit.session, case.case_id) + 1 if unit.events else 0
        self.events += _event_rows(case.case_id, first_event, unit.events)
        self.evidence += [_evidence_row(case.case_id, i) for i in unit.examiner.examined]
        bodies = unit.journal.bodies
        self.decisions += [_decision_row(body) for body in bodies if body["event"] == "decision"]
        self.log += bodies
        if bodies:
            self.ledgers[case.case_id] = Ledger(
                case.case_id, case.order.currency, refund_hint=case.refund_amount
            )
            if row is not None:
                self.stored.add(case.case_id)
        if request is not None:
            remembered: dict[str, Any] = {"key": request.key, "case_id": request.case_id}
            remembered |= {"action": request.action, "fingerprint": request.fingerprint}
            self.commands.append(remembered | {"version": version, "result": columns["snapshot"]})

    def flush(self, session: Session) -> None:
        """Write it all in the caller's transaction. A dispute made meanwhile by another
        writer raises :class:`DisputeExists`; one moved on meanwhile, or an idempotency key
        taken meanwhile, :class:`ConflictError` (the caller's transaction is then spoilt)."""
        try:
            _insert(session, DisputeRow, self.new)
        except IntegrityError:
            raise DisputeExists(self.new[0]["case_id"]) from None
        if self.moved:
            done = session.connection().execute(_UPDATE_DISPUTE, self.moved).rowcount
            if done != len(self.moved):
                raise _conflict(session, self.moved)
        _insert(session, EventRow, self.events)
        _insert(session, EvidenceRow, self.evidence)
        _insert(session, DecisionRow, self.decisions)
        append_log(session, self.log, self.ledgers, self.stored)
        try:
            _insert(session, CommandRow, self.commands)
        except IntegrityError:  # the key was taken meanwhile: judged again, it is recalled
            first = self.commands[0]
            raise ConflictError(first["case_id"], first["version"] - 1) from None


def _conflict(session: Session, moved: list[dict[str, Any]]) -> ConflictError:
    """The first dispute that was no longer at the version it was read at."""
    keys = [m["key"] for m in moved]
    query = select(DisputeRow.case_id, DisputeRow.version).where(col(DisputeRow.case_id).in_(keys))
    now: dict[str, int] = dict(session.execute(query).all())
    stale = next((m for m in moved if now.get(m["key"]) != m["expected"]), moved[0])
    return ConflictError(stale["key"], stale["expected"])


def append_log(
    session: Session,
    bodies: list[dict[str, Any]],
    ledgers: dict[str, Ledger],
    stored: AbstractSet[str] = frozenset(),
) -> None:
    """Seal ``bodies`` onto the chain, and write the effects they order to the outbox.
    Locking the head row makes concurrent appenders queue.

    ``ledgers``: a fresh :class:`Ledger` for each dispute with entries among ``bodies``;
    ``stored``: those of them with entries from earlier commands, which their ledger reads
    first (only when this batch has an entry that may order an effect: most have none).

    The effects get their ids (the outbox's cursor) here, while this transaction holds the
    head row's lock, which it keeps until it commits: a later id is always a later commit,
    so a consumer reading after a cursor never skips a row that commits late."""
    if not bodies:
        return
    _read_earlier(session, bodies, ledgers, stored)
    connection = session.connection()
    seq, prev = connection.execute(_LOCK_HEAD).one()
    rows, effects = [], []
    for body in bodies:
        seq += 1
        entry = seal(seq, prev, body)
        prev = entry["hash"]
        text = sorted_text(entry)
        rows.append({"seq": seq, "case_id": body["case_id"], "hash": prev, "entry": text})
        effects += ledgers[body["case_id"]].observe(entry)
    _insert(session, LogRow, rows)
    connection.execute(_MOVE_HEAD, {"seq": seq, "hash": prev})
    _insert(session, EffectRow, [_effect_row(effect) for effect in effects])


def _read_earlier(
    session: Session,
    bodies: list[dict[str, Any]],
    ledgers: dict[str, Ledger],
    stored: AbstractSet[str],
) -> None:
    """Give each dispute's ledger its entries from earlier commands, if this batch may order
    an effect of it (whose amount, or key, depends on them); one query for the batch."""
    wanted = sorted({b["case_id"] for b in bodies if b["case_id"] in stored and could_order(b)})
    if not wanted:
        return
    # a few dozen rows a dispute: fetched at once (streaming them costs round trips)
    query = core_select(_LOG.c.entry).where(_LOG.c.case_id.in_(wanted)).order_by(_LOG.c.seq)
    for text in session.connection().execute(query).scalars().all():
        entry = json.loads(text)
        ledgers[entry["case_id"]].observe(entry)


def _effect_row(effect: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": effect["key"],
        "case_id": effect["case_id"],
        "kind": effect["kind"],
        "body": json_text(effect),  # in the order effects.py builds it
        "deliveries": 0,
    }


# --- the outbox (docs/effects.md) -------------------------------------------------------------
_EFFECTS = _table(EffectRow)


def lease_effects(
    session: Session, after: int, limit: int, *, now_us: int, until_us: int, owner: str | None
) -> list[dict[str, Any]]:
    """Lease up to ``limit`` effects after id ``after``, oldest first, that are not
    acknowledged and not leased (or whose lease ended by ``now_us``), to ``owner`` until
    ``until_us``: each as its id, key, delivery number and body. Rows another transaction
    is leasing are skipped (``SKIP LOCKED`` on PostgreSQL; SQLite's writer lock makes every
    lease wait its turn), so no effect is leased twice at once. The caller commits."""
    effects = _EFFECTS.c
    free = (effects.leased_until_us.is_(None)) | (effects.leased_until_us <= now_us)
    query = (
        core_select(effects.id, effects.key, effects.deliveries, effects.body)
        .where(effects.id > after, effects.acked_us.is_(None), free)
        .order_by(effects.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    connection = session.connection()
    rows = connection.execute(query).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    connection.execute(
        update(_EFFECTS)
        .where(effects.id.in_(ids))
        .values(leased_until_us=until_us, lease_owner=owner, deliveries=effects.deliveries + 1)
    )
    return [
        {"id": row.id, "key": row.key, "delivery": row.deliveries + 1, **json.loads(row.body)}
        for row in rows
    ]


def ack_effects(session: Session, ids: list[int], now_us: int) -> tuple[int, list[int]]:
    """Acknowledge the effects ``ids`` at ``now_us``: (how many were not acknowledged
    before, the ids that are no effect). Nothing is acknowledged if any id is no effect
    (the caller raises, and its transaction rolls back)."""
    effects = _EFFECTS.c
    connection = session.connection()
    query = core_select(effects.id).where(effects.id.in_(ids)).order_by(effects.id)
    found = set(connection.execute(query.with_for_update()).scalars())
    missing = sorted(set(ids) - found)
    if missing:
        return 0, missing
    done = connection.execute(
        update(_EFFECTS)
        .where(effects.id.in_(ids), effects.acked_us.is_(None))
        .values(acked_us=now_us)
    )
    return done.rowcount, []


def _insert(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Rows into a table on the session's connection, the cheapest way its database takes
    them (:mod:`adjudicator.inserts`): the ORM's bulk path cost more than the database did."""
    insert_rows(session.connection(), _table(table), rows)


def log_entries(session: Session, case_id: str | None = None) -> Iterator[dict[str, Any]]:
    """The decision log, oldest first (one dispute's entries, or all)."""
    query = select(LogRow.entry).order_by(col(LogRow.seq))
    if case_id is not None:
        query = query.where(LogRow.case_id == case_id)
    for text in session.exec(query.execution_options(yield_per=1000)):
        yield json.loads(text)


def log_head(session: Session) -> LogHead:
    return session.exec(select(LogHead).where(LogHead.id == 1)).one()


def evidence_rows(session: Session, case_id: str) -> list[EvidenceRow]:
    query = select(EvidenceRow).where(EvidenceRow.case_id == case_id).order_by(col(EvidenceRow.id))
    return list(session.exec(query))


def _event_count(session: Session, case_id: str) -> int:
    return int(session.connection().execute(_COUNT_EVENTS, {"case_id": case_id}).scalar_one())


def _event_rows(case_id: str, first: int, events: list[Event]) -> list[dict[str, Any]]:
    return [
        {
            "case_id": case_id,
            "seq": seq,
            "at": event.at.isoformat(),
            "actor": event.actor.value,
            "action": event.action,
            "body": sorted_text(event_json(event)),
        }
        for seq, event in enumerate(events, start=first)
    ]


def event_json(event: Event) -> dict[str, Any]:
    """An event as its case-file line (docs/case-files.md), with nothing left null."""
    out: dict[str, Any] = {"at": event.at.isoformat(), "actor": event.actor.value}
    out["action"] = event.action
    for name in (
        "reason",
        "finding",
        "liability",
        "remedy",
        "refund_amount",
        "tracking_no",
        "text",
        "amount",
        "offer",
        "via",
    ):
        value = getattr(event, name)
        if value is not None:
            out[name] = str(value)
    if event.evidence:
        out["evidence"] = [
            {
                "kind": s.kind.value,
                "file": s.name or str(s.file),
                **s.declared,
                **({} if s.description is None else {"description": s.description}),
            }
            for s in event.evidence
        ]
    return out


def _evidence_row(case_id: str, item: Examined) -> dict[str, Any]:
    fact = item.verdict.facts.get("perceptual_hash")
    phash = fact if isinstance(fact, str) else None
    bands = neardup.bands(phash) or (None,) * neardup.BANDS  # the near-duplicate index's
    return {
        "case_id": case_id,
        "evidence_id": item.record.id,
        "party": item.record.party.value,
        "kind": item.record.kind.value,
        "sha256": item.verdict.sha256,
        "perceptual_hash": phash,
        **{f"phash_band{k}": value for k, value in enumerate(bands)},
        "accepted": item.verdict.accepted,
        "submitted_at": item.submitted_at.isoformat(),
        "file": item.submission.name or str(item.submission.file),
        "verdict": json_text(item.verdict.to_json()),
    }


def _decision_row(body: dict[str, Any]) -> dict[str, Any]:
    decision = body["decision"]
    return {
        "case_id": body["case_id"],
        "at": body["at"],
        "liability": decision["liability"],
        "remedy": decision["remedy"],
        "refund_amount": decision["refund_amount"],
        "rulebook": decision["rulebook"],
        "rulebook_digest": decision["rulebook_digest"],
        "body": sorted_text(body),
    }


def disputes_of_order(session: Session, order_id: str) -> list[str]:
    """The case ids of every dispute about the order ``order_id``, sorted (here, not by the
    database, whose collation may order text otherwise)."""
    query = core_select(_DISPUTES.c.case_id).where(_DISPUTES.c.order_id == order_id)
    return sorted(session.connection().execute(query).scalars())
