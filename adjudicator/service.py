"""The service a back office embeds: :class:`Adjudicator`, one unit of work per command.

Build it once with :meth:`Adjudicator.from_url` (the composition root: it makes the engine,
the schema and the evidence store; nothing connects at import time)::

    service = Adjudicator.from_url("sqlite:///disputes.db")
    service.open("KS-1", order, claim, at=now)
    service.reject("KS-1", at=later, reason="人为损坏")
    service.tick(now=wall_clock())          # fire every deadline that is due

Each command loads the dispute, fires the deadlines due by its time ``at``, applies itself
through the shared lifecycle machine, and commits the new state, its event, evidence verdicts,
decisions and decision-log entries in one transaction. A refused command raises
:class:`RefusedEvent` and changes nothing. A command that finds another writer changed the
dispute first has changed nothing and is judged again, up to ``retries`` times, before
:class:`ConflictError` reaches the caller. Every command takes an optional idempotency key.
Any number of processes may share the database (docs/concurrency.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlmodel import Session, col, select

from adjudicator import repository, review_queue, snapshot
from adjudicator.audit import Audit, audit_database, chain_and_head
from adjudicator.auditlog import Break
from adjudicator.checkpoint import Checkpoint, Checkpoints, SigningKey
from adjudicator.domain import Claim, Liability, Order, PlatformFinding, Remedy, claim_problem
from adjudicator.errors import (
    AdjudicationError,
    BrokenLog,
    ConflictError,
    DisputeExists,
    RulebookError,
    StoreMismatch,
    Unavailable,
    UnknownDispute,
    UsageError,
)
from adjudicator.examine import Examined, Intake
from adjudicator.persistence import DisputeRow, EvidenceRow, epoch_us
from adjudicator.review_queue import Waiting
from adjudicator.rulebook import (
    BUILTIN,
    Rulebook,
    builtin_reference,
    load_released,
    load_rulebook,
)
from adjudicator.workflow import Case, Event, Submission
from evidence import EvidencePolicy, FilesystemStore, Party, PriorEvidence
from evidence.errors import StoreError
from evidence.neardup import nearest
from evidence.store import Collected, ContentStore

EVIDENCE_DIR_ENV = "ADJUDICATOR_EVIDENCE_DIR"


@dataclass(frozen=True)
class Settings:
    """Where the service keeps things. :meth:`from_env` is the only place that reads the
    environment."""

    url: str
    evidence_dir: Path

    @classmethod
    def from_env(cls, url: str, evidence_dir: Path | None = None) -> Settings:
        if evidence_dir is None:
            configured = os.environ.get(EVIDENCE_DIR_ENV)
            evidence_dir = Path(configured) if configured else _beside_database(url)
        return cls(url, evidence_dir)


def _beside_database(url: str) -> Path:
    """``disputes.db`` keeps its evidence in ``disputes.db.evidence/``; other databases in
    ``./adjudicator-evidence/`` unless ADJUDICATOR_EVIDENCE_DIR says otherwise."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(str(parsed.database))
        return database.with_name(database.name + ".evidence")
    return Path("adjudicator-evidence")


@dataclass(frozen=True)
class Ticked:
    """What a :meth:`Adjudicator.tick` did: deadlines fired, and disputes it could not advance
    (case id, why)."""

    fired: int
    failed: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class NewDispute:
    """One dispute for :meth:`Adjudicator.create_many` to store: how to make it before its
    first event (called again if the batch is judged again), the rulebook source it keeps,
    what to apply to it, and its evidence files, received before the batch is given."""

    case_id: str
    source: str
    new_case: Callable[[], Case]
    drive: Callable[[repository.Unit], None]
    intake: Intake


IMPORT_BATCH = 200
"""How many new disputes :func:`adjudicator.replay.replay_many` (``replay --db``) stores per
transaction. Measured on 2 cores, SQLite gains nothing past some 50 cases a batch and
PostgreSQL little past 200 (the commit, the round trips and the log head's lock are by then a
small share of a case's cost), while a larger batch holds SQLite's writer lock (the whole
batch) or PostgreSQL's log head (its append to its commit) longer against other writers,
delays the output, and loses more work to a failure."""


class Adjudicator:
    """Disputes in a database, each command one transaction."""

    def __init__(
        self,
        engine: Engine,
        store: ContentStore,
        *,
        retries: int = 3,
        rulebooks: Iterable[Path] = (),
    ) -> None:
        self.engine = engine
        self.store = store
        if retries < 0:
            raise UsageError(f"retries {retries}: must be 0 or more")
        self.retries = retries  # how often a command that lost a race is judged again
        self._rulebooks: dict[str, Rulebook] = {}
        self._registered: dict[str, str] = {}  # rulebook id -> its file's absolute path
        for path in rulebooks:
            self.register_rulebook(path)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        evidence_dir: Path | None = None,
        retries: int = 3,
        rulebooks: Iterable[Path] = (),
    ) -> Adjudicator:
        """Connect to ``url`` (an SQLAlchemy URL). An empty database gets the schema; one at
        another schema revision raises :class:`SchemaMismatch`, naming the upgrade command.
        ``rulebooks``: rulebook files the operator registers, which case files may then name
        by id (:meth:`register_rulebook`)."""
        from adjudicator import migrations  # Alembic is loaded only to open a database

        settings = Settings.from_env(url, evidence_dir)
        try:
            engine = migrations.connect(settings.url)
        except (ArgumentError, ImportError) as exc:
            raise UsageError(f"--db {settings.url}: cannot open the database: {exc}") from exc
        except SQLAlchemyError as exc:
            raise Unavailable(f"--db {settings.url}: cannot open the database: {exc}") from exc
        store = FilesystemStore(settings.evidence_dir)
        return cls(engine, store, retries=retries, rulebooks=rulebooks)

    def close(self) -> None:
        self.engine.dispose()

    # --- commands --------------------------------------------------------------------------
    def open(
        self,
        case_id: str,
        order: Order,
        claim: Claim,
        *,
        at: datetime,
        rulebook: str | Path | None = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
        via: str | None = None,
    ) -> Case:
        """The buyer opens a dispute on ``order`` (a new dispute; refused if the id exists).

        ``rulebook`` is a built-in rulebook id or a rulebook file; by default the order's
        category chooses it. ``via``: the API token the command came with (logged).
        """
        impossible = claim_problem(order, claim)
        if impossible is not None:
            raise UsageError(f"{impossible[0]}: {impossible[1]}")
        from adjudicator.casefile import default_rulebook  # not the case-file models' import

        source, book = self.rulebook(rulebook or default_rulebook(order.category))
        outside = book.out_of_scope(order, claim)
        if outside is not None:
            raise UsageError(f"{outside[0]}: {outside[1]}")
        case = Case(case_id, book, order, claim)
        event = Event(at, Party.BUYER, "open", reason=reason, via=via)
        request = None
        if idempotency_key is not None:
            asked = {"case": snapshot.to_json(case), "event": repository.event_json(event)}
            request = repository.Request.of(idempotency_key, case_id, "open", asked)
        try:
            return self.create(case, source, lambda unit: unit.apply(event), request)
        except DisputeExists:
            if request is None:
                raise
            with Session(self.engine) as session:  # the same key's first open won the race
                first = repository.recall(session, request, self._stored_rulebook)
            if first is None:
                raise
            return first

    def agree(
        self,
        case_id: str,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """The merchant agrees to the request."""
        return self.apply(
            case_id,
            Event(at, Party.MERCHANT, "agree", reason=reason),
            idempotency_key=idempotency_key,
        )

    def reject(
        self,
        case_id: str,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """The merchant rejects the request; the buyer may escalate."""
        return self.apply(
            case_id,
            Event(at, Party.MERCHANT, "reject", reason=reason),
            idempotency_key=idempotency_key,
        )

    def escalate(
        self,
        case_id: str,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """The buyer asks the platform to step in (申请平台介入)."""
        return self.apply(
            case_id,
            Event(at, Party.BUYER, "escalate", reason=reason),
            idempotency_key=idempotency_key,
        )

    def submit_evidence(
        self,
        case_id: str,
        party: Party,
        items: Sequence[Submission],
        *,
        at: datetime,
        idempotency_key: str | None = None,
    ) -> Case:
        """``party`` submits evidence files; each is validated and its verdict recorded."""
        return self.apply(
            case_id,
            Event(at, party, "submit_evidence", evidence=tuple(items)),
            idempotency_key=idempotency_key,
        )

    def evidence_complete(
        self, case_id: str, party: Party, *, at: datetime, idempotency_key: str | None = None
    ) -> Case:
        """``party`` says it has nothing more to submit in its window."""
        return self.apply(
            case_id, Event(at, party, "evidence_complete"), idempotency_key=idempotency_key
        )

    def withdraw(
        self,
        case_id: str,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """The buyer withdraws the dispute (any state before a decision)."""
        return self.apply(
            case_id,
            Event(at, Party.BUYER, "withdraw", reason=reason),
            idempotency_key=idempotency_key,
        )

    def finding(
        self,
        case_id: str,
        finding: PlatformFinding,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """The platform records a finding (strength 3 at review)."""
        return self.apply(
            case_id,
            Event(at, Party.PLATFORM, "finding", reason=reason, finding=finding),
            idempotency_key=idempotency_key,
        )

    def decide(
        self,
        case_id: str,
        liability: Liability,
        remedy: Remedy,
        refund_amount: Decimal | None = None,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """The platform's manual decision on a dispute waiting for review, checked as an
        automatic one is (RULES.md section 5): the remedy the liability gives, a refund of at
        most the disputed amount (the table's when None). One that departs from what the
        rules decide needs a ``reason``, recorded as ``review.override``. A decision the rules
        do not allow raises :class:`RefusedEvent` naming the rule."""
        event = Event(
            at,
            Party.PLATFORM,
            "decide",
            reason=reason,
            liability=liability,
            remedy=remedy,
            refund_amount=refund_amount,
        )
        return self.apply(case_id, event, idempotency_key=idempotency_key)

    def statement(
        self,
        case_id: str,
        party: Party,
        text: str,
        *,
        at: datetime,
        idempotency_key: str | None = None,
    ) -> Case:
        """The buyer or the merchant explains itself in its own words (1 to 500 characters,
        ``workflow.STATEMENT_CHARS``); allowed in any open state, it changes nothing else."""
        event = Event(at, party, "statement", text=text)
        return self.apply(case_id, event, idempotency_key=idempotency_key)

    def return_shipped(
        self, case_id: str, tracking_no: str, *, at: datetime, idempotency_key: str | None = None
    ) -> Case:
        """The buyer ships the goods back."""
        event = Event(at, Party.BUYER, "return_shipped", tracking_no=tracking_no)
        return self.apply(case_id, event, idempotency_key=idempotency_key)

    def confirm_receipt(
        self, case_id: str, *, at: datetime, idempotency_key: str | None = None
    ) -> Case:
        """The merchant confirms the returned goods arrived."""
        return self.apply(
            case_id, Event(at, Party.MERCHANT, "confirm_receipt"), idempotency_key=idempotency_key
        )

    def offer(
        self,
        case_id: str,
        party: Party,
        remedy: Remedy,
        amount: Decimal | None = None,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """``party`` (the buyer, the merchant, or the platform as a proposal) offers to settle
        on ``remedy``, with ``amount`` for a remedy that moves money (the disputed amount when
        None; more than 0.00 and at most the disputed amount). Allowed until the dispute is
        first decided, escalated or not; it replaces an offer still open, and lapses
        unanswered after the rulebook's ``deadline.offer``. Read the new offer's id from
        ``case.offers[-1].id``. A bad remedy or amount raises :class:`RefusedEvent` naming the
        field (``remedy``, ``amount``)."""
        event = Event(at, party, "offer", reason=reason, remedy=remedy, amount=amount)
        return self.apply(case_id, event, idempotency_key=idempotency_key)

    def accept_offer(
        self,
        case_id: str,
        party: Party,
        offer_id: str,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """``party`` accepts the open offer ``offer_id`` (the other party's, or the platform's:
        that one needs both parties). Accepted, it settles the dispute: resolution
        ``negotiated``, the offer's remedy and amount, the platform's process ended. An offer
        that lapsed, was declined or replaced, or is the party's own raises
        :class:`RefusedEvent` naming ``offer``."""
        event = Event(at, party, "accept_offer", reason=reason, offer=offer_id)
        return self.apply(case_id, event, idempotency_key=idempotency_key)

    def decline_offer(
        self,
        case_id: str,
        party: Party,
        offer_id: str,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """``party`` declines the open offer ``offer_id``; the dispute goes on as it was."""
        event = Event(at, party, "decline_offer", reason=reason, offer=offer_id)
        return self.apply(case_id, event, idempotency_key=idempotency_key)

    def merchant_shipped(
        self, case_id: str, tracking_no: str, *, at: datetime, idempotency_key: str | None = None
    ) -> Case:
        """The merchant ships what it owes (an exchange's replacement, the repaired goods, the
        missing part), before the remedy's shipment deadline."""
        event = Event(at, Party.MERCHANT, "merchant_shipped", tracking_no=tracking_no)
        return self.apply(case_id, event, idempotency_key=idempotency_key)

    def confirm_delivery(
        self, case_id: str, *, at: datetime, idempotency_key: str | None = None
    ) -> Case:
        """The buyer confirms what the merchant shipped arrived; the dispute closes."""
        return self.apply(
            case_id, Event(at, Party.BUYER, "confirm_delivery"), idempotency_key=idempotency_key
        )

    def appeal(
        self,
        case_id: str,
        party: Party,
        items: Sequence[Submission],
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """``party`` appeals a decision with new evidence (once, within the appeal window)."""
        return self.apply(
            case_id,
            Event(at, party, "appeal", reason=reason, evidence=tuple(items)),
            idempotency_key=idempotency_key,
        )

    def apply(self, case_id: str, event: Event, *, idempotency_key: str | None = None) -> Case:
        """Any event (as a case file writes it) on an existing dispute, as one unit of work.

        With an ``idempotency_key``, the first command given that key has its effect and every
        later one with the same key returns the dispute as that first command left it (a
        retried webhook); the key given for a different command raises :class:`KeyReused`. A
        refused command leaves no key behind, so it is judged again if repeated.
        """
        request = None
        if idempotency_key is not None:
            asked = repository.event_json(event)
            request = repository.Request.of(idempotency_key, case_id, event.action, asked)
        intake = self._receive(case_id, event)
        attempt = 0
        try:
            while True:
                try:
                    case, saved = self._command(case_id, event, request, intake)
                except ConflictError:
                    # Nothing was written: the command is judged again on the dispute as the
                    # other writer left it, which may now refuse it.
                    if attempt == self.retries:
                        raise
                    attempt += 1
                    continue
                if saved:
                    intake.commit()
                return case
        finally:
            intake.discard()

    def tick(self, now: datetime, *, batch: int = 50) -> Ticked:
        """Fire every deadline ``now`` is past (one at D expires once the clock is past D: limits
        are inclusive), in each dispute's time order; safe to run in any number of processes at
        once.

        Each transaction claims up to ``batch`` due disputes that no other worker holds
        (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's writer lock makes it serial),
        fires their deadlines, and commits them with their log entries in one append. A
        worker that finds every due dispute held by others waits for one of them, so when
        this returns nothing is due at ``now`` but the disputes that could not be advanced
        (their rulebook no longer loads, say): those are reported and left as they were. A
        worker killed half-way commits nothing of its current batch; the next tick does it.
        """
        if batch < 1:
            raise UsageError(f"batch {batch}: a tick claims at least 1 dispute at a time")
        fired = 0
        failed: dict[str, str] = {}
        while True:
            count = self._tick_batch(now, failed, batch, wait=False)
            if count is None:
                if not self._anything_due(now, failed):
                    return Ticked(fired, tuple(sorted(failed.items())))
                count = self._tick_batch(now, failed, 1, wait=True)
            fired += count or 0

    # --- reading ---------------------------------------------------------------------------
    def get(self, case_id: str) -> Case:
        """The dispute as it stands now. Raises :class:`UnknownDispute`."""
        with Session(self.engine) as session:
            return repository.load(session, case_id, self._stored_rulebook)[1]

    def get_many(self, case_ids: Iterable[str]) -> dict[str, Case]:
        """The disputes of ``case_ids`` as they stand now, by id, read together (a page that
        lists many); an id that is not stored is not in the answer."""
        with Session(self.engine) as session:
            found = repository.load_many(session, case_ids, self._stored_rulebook)
        return {case.case_id: case for case in found}

    def evidence(self, case_id: str) -> list[dict[str, Any]]:
        """Every item submitted in the dispute, in order: its id, file, time and verdict."""
        if not self.exists(case_id):
            raise UnknownDispute(case_id)
        with Session(self.engine) as session:
            return [_evidence_view(row) for row in repository.evidence_rows(session, case_id)]

    def history(self, case_id: str) -> list[dict[str, Any]]:
        """The dispute's decision-log entries, oldest first."""
        with Session(self.engine) as session:
            return list(repository.log_entries(session, case_id))

    def log(self) -> Iterator[dict[str, Any]]:
        """The whole decision log, oldest first (streamed)."""
        with Session(self.engine) as session:
            yield from repository.log_entries(session)

    def verify_log(self) -> tuple[int, Break | None]:
        """Check the hash chain and its head only: (entries read, the first bad entry or
        None). A damaged entry or a missing head row is a :class:`Break`, never an exception.
        :meth:`audit` checks everything (what the stored disputes say, checkpoints)."""
        with self._log_snapshot() as session:
            return chain_and_head(session)

    def audit(self, checkpoints: Checkpoints | None = None) -> Audit:
        """Audit the decision log and what it records, returning every problem found: the
        chain and its head; each stored dispute's state, resolution, deadline, decision,
        refund and evidence verdicts (and its decisions and evidence rows) against its log
        entries; and, given ``checkpoints``, that each is signed by their key and that the log
        still extends it (docs/audit.md). All is read in one snapshot of the database."""
        with self._log_snapshot() as session:
            return audit_database(session, self._stored_rulebook, checkpoints)

    def checkpoint(
        self, key: SigningKey, *, at: datetime, after: Checkpoints | None = None
    ) -> Checkpoint:
        """A checkpoint of the log as it is now, signed with ``key`` at ``at`` (the operator's
        clock), for auditors to keep outside the database. The log is audited first (and held
        to the checkpoints ``after``, if given): a broken log raises :class:`BrokenLog` and is
        never signed."""
        found = self.audit(after)
        if not found.intact:
            raise BrokenLog(found)
        return key.sign(found.entries, found.head, at)

    # --- the outbox of effects (docs/effects.md) -------------------------------------------
    def effects(
        self,
        after: int = 0,
        *,
        limit: int = 100,
        lease_seconds: float = 30.0,
        consumer: str | None = None,
        now: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Hand out, oldest first, up to ``limit`` (1 to 1000) effects with an id above
        ``after`` that are not acknowledged and not leased to anyone (or whose lease has
        ended), leasing each to the caller for ``lease_seconds`` (more than 0, at most a
        day) from ``now`` (default: the wall clock). ``consumer`` names the caller (kept as
        the lease's owner). An effect leased and not acknowledged (:meth:`ack`) before its
        lease ends is handed out again; two callers never hold the same effect at once.

        Each is a plain JSON object: ``id`` (the cursor), ``key`` (stable: the id to be
        idempotent by), ``delivery`` (1 the first time it is handed out, 2 the next...),
        ``leased_until`` and the effect's own fields (:mod:`adjudicator.effects`)."""
        _whole("after", after, 0, LARGEST_ID)
        _whole("limit", limit, 1, EFFECTS_LIMIT)
        if not 0 < lease_seconds <= LEASE_LIMIT:  # (NaN is neither)
            raise UsageError(
                f"lease {lease_seconds}: a lease is more than 0 and at most {LEASE_LIMIT:g} seconds"
            )
        if consumer is not None and not 0 < len(consumer) <= CONSUMER_CHARS:
            raise UsageError(f"consumer: a consumer's name is 1 to {CONSUMER_CHARS} characters")
        start = _instant(now)
        until = start + timedelta(seconds=lease_seconds)
        with _database("hand out effects"), Session(self.engine) as session, session.begin():
            leased = repository.lease_effects(
                session,
                after,
                limit,
                now_us=_us(start),
                until_us=_us(until),
                owner=consumer,
            )
        shown = until.astimezone(UTC).isoformat()
        return [{**effect, "leased_until": shown} for effect in leased]

    def ack(self, ids: Sequence[int], *, now: datetime | None = None) -> int:
        """Acknowledge the effects ``ids`` (at most 1000 at a time): they are never handed out
        again. Idempotent: how many of them were not acknowledged before. An id that is no
        effect raises :class:`UsageError` naming it, and nothing is acknowledged. Any holder
        may acknowledge an effect, its lease ended or not (delivery is at least once)."""
        wanted = sorted(set(ids))
        for each in wanted:
            _whole("id", each, 1, LARGEST_ID)
        if len(wanted) > EFFECTS_LIMIT:
            raise UsageError(f"ids: at most {EFFECTS_LIMIT} effects are acknowledged at a time")
        if not wanted:
            return 0
        at = _us(_instant(now))
        with _database("acknowledge effects"), Session(self.engine) as session, session.begin():
            done, missing = repository.ack_effects(session, wanted, at)
            if missing:
                shown = ", ".join(str(i) for i in missing[:10])
                more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
                raise UsageError(f"ids: no effect {shown}{more}: nothing was acknowledged")
        return done

    @contextmanager
    def _log_snapshot(self) -> Iterator[Session]:
        """A session whose reads are one snapshot (one SQLite transaction; REPEATABLE READ on
        PostgreSQL), so that writers appending meanwhile cannot look like a cut tail."""
        with Session(self.engine) as session:
            if self.engine.dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    def collect_garbage(self, *, grace_seconds: float = 3600.0) -> Collected:
        """Finish or remove what interrupted writes left in the evidence store
        (:meth:`FilesystemStore.collect`), asking the database which bytes disputes refer to."""
        if not isinstance(self.store, FilesystemStore):  # pragma: no cover - one store today
            raise UsageError("garbage collection needs a FilesystemStore")

        def referenced(sha256: str) -> bool:
            query = select(EvidenceRow.id).where(EvidenceRow.sha256 == sha256).limit(1)
            with Session(self.engine) as session:
                return session.exec(query).first() is not None

        return self.store.collect(referenced, grace_seconds=grace_seconds)

    # --- units of work ---------------------------------------------------------------------
    def create(
        self,
        case: Case,
        source: str,
        drive: Callable[[repository.Unit], None],
        request: repository.Request | None = None,
        *,
        intake: Intake | None = None,
    ) -> Case:
        """Store a new dispute after ``drive`` has applied its first events, all in one unit
        of work (replay uses this to import a whole case file at once). ``intake``: the
        evidence files, received before this is called; their bytes are kept once the unit
        commits (and discarded otherwise)."""
        intake = intake or self._intake(case.rulebook.evidence_policy())
        try:
            with Session(self.engine) as session, session.begin():
                if request is not None:
                    first = repository.recall(session, request, self._stored_rulebook)
                    if first is not None:
                        return first
                repository.ensure_new(session, case.case_id)
                unit = repository.Unit(session, case, None, intake)
                drive(unit)
                repository.save(unit, source, request)
            intake.commit()
        finally:
            intake.discard()
        return case

    def create_many(self, disputes: Sequence[NewDispute]) -> list[Case | Exception]:
        """Store many new disputes in one transaction, each still all or nothing: one result
        per dispute, in order, the stored :class:`Case` or the exception that refused it
        (:class:`DisputeExists` when its id is in the database, or earlier in ``disputes``;
        whatever its ``new_case`` or ``drive`` raised, :class:`InvalidCase` or a bug). A
        refused dispute leaves nothing: no rows, log entries, effects or evidence bytes.

        Each dispute is driven in memory first, with one query for the ids already stored;
        then every table gets one statement for the whole batch, and the log one append.
        Evidence reuse sees the database and the evidence of the disputes before it in the
        batch. If another writer stores one of the ids meanwhile, the batch is judged again
        from the start, without it. Evidence bytes are kept once the batch commits. A failed
        database or evidence store raises (SQLAlchemy's error, ``StoreError``, ``OSError``)
        and stores nothing of the batch."""
        try:
            clashes = 0
            while True:
                try:
                    results = self._create_batch(disputes)
                    break
                except DisputeExists:  # stored by another writer since the ids were read
                    clashes += 1  # which drops that id: a batch clashes once per dispute at most
                    if clashes > len(disputes):  # pragma: no cover - a bug, not a race
                        raise
            for dispute, result in zip(disputes, results, strict=True):
                if isinstance(result, Case):
                    dispute.intake.commit()
            return results
        finally:
            for dispute in disputes:
                dispute.intake.discard()  # what was committed is no longer there

    def _create_batch(self, disputes: Sequence[NewDispute]) -> list[Case | Exception]:
        """One attempt of :meth:`create_many`: raises :class:`DisputeExists` if a dispute was
        stored by another writer after the ids were read (nothing of the batch is kept)."""
        results: list[Case | Exception] = []
        with Session(self.engine) as session, session.begin():
            ids = sorted({dispute.case_id for dispute in disputes})
            query = select(DisputeRow.case_id).where(col(DisputeRow.case_id).in_(ids))
            taken = set(session.connection().execute(query).scalars()) if ids else set()
            pending = _Pending()
            writes: list[repository.Writes] = []
            for dispute in disputes:
                if dispute.case_id in taken:
                    results.append(DisputeExists(dispute.case_id))
                    continue
                try:
                    case = dispute.new_case()
                    unit = repository.Unit(session, case, None, dispute.intake)
                    unit.examiner.prior = _BatchPrior(unit.examiner.prior, pending)
                    dispute.drive(unit)
                    written = repository.Writes()
                    written.add(unit, dispute.source)
                except (SQLAlchemyError, OSError, StoreError, MemoryError):
                    raise  # the database or the store failed: the batch is lost
                except Exception as exc:  # this dispute's alone: refused
                    results.append(exc)
                    continue
                taken.add(dispute.case_id)
                pending.add(unit.examiner.examined)
                writes.append(written)
                results.append(case)
            _merged(writes).flush(session)
        return results

    def exists(self, case_id: str) -> bool:
        with Session(self.engine) as session:
            return session.get(DisputeRow, case_id) is not None

    def disputes_of_order(self, order_id: str) -> list[str]:
        """The case ids of every dispute about the order ``order_id`` (several claims on one
        order are several disputes), sorted; none for an order no dispute is about."""
        with Session(self.engine) as session:
            return repository.disputes_of_order(session, order_id)

    def awaiting_review(self) -> list[Waiting]:
        """The disputes waiting for a platform reviewer's ``decide``, the longest waiting first:
        each with since when and why (:mod:`adjudicator.review_queue`; the desk's queue)."""
        return review_queue.awaiting_review(self.engine)

    def _command(
        self, case_id: str, event: Event, request: repository.Request | None, intake: Intake
    ) -> tuple[Case, bool]:
        """One attempt: the dispute after ``event``, and whether it was saved (False: the
        idempotency key's first result was recalled)."""
        with Session(self.engine) as session, session.begin():
            if request is not None:
                first = repository.recall(session, request, self._stored_rulebook)
                if first is not None:
                    return first, False
            row, case = repository.load(session, case_id, self._stored_rulebook)
            unit = repository.Unit(session, case, row, intake)
            unit.apply(event)
            repository.save(unit, row.rulebook, request)
        return case, True

    def _intake(self, policy: EvidencePolicy | None) -> Intake:
        return Intake(self.store, policy)

    def _receive(self, case_id: str, event: Event) -> Intake:
        """The event's evidence files, received (copied and decoded) before any transaction:
        a slow file holds no lock. The policy is the dispute's rulebook's, read first."""
        if not event.evidence:
            return self._intake(None)  # nothing to validate
        with Session(self.engine) as session:
            row = repository.load(session, case_id, self._stored_rulebook)[0]
        book = self._stored_rulebook(row.rulebook, row.rulebook_digest)
        intake = self._intake(book.evidence_policy())
        try:
            intake.receive_all([event])
        except BaseException:
            intake.discard()
            raise
        return intake

    def _tick_batch(
        self, now: datetime, failed: dict[str, str], limit: int, *, wait: bool
    ) -> int | None:
        """One transaction over up to ``limit`` claimed disputes: deadlines fired, or None
        when none could be claimed. ``wait``: wait for disputes other workers hold."""
        try:
            with Session(self.engine) as session, session.begin():
                rows = repository.claim_due(session, epoch_us(now), failed, limit, wait=wait)
                if not rows:
                    return None
                fired, writes = 0, repository.Writes()
                for row in rows:
                    try:  # loading and firing write nothing; the writes are flushed below
                        case = repository.case_of(row, self._stored_rulebook)
                        policy = case.rulebook.evidence_policy()
                        unit = repository.Unit(session, case, row, self._intake(policy))
                        fired += unit.advance(now)
                    except AdjudicationError as exc:
                        failed[row.case_id] = str(exc)
                        continue
                    writes.add(unit, row.rulebook)
                # One statement per table for the whole batch; the log's head is locked by
                # its one append, near the end, and held only from there to commit.
                writes.flush(session)
            return fired  # only once the batch has committed
        except ConflictError:
            return 0  # a writer that did not claim the dispute got there first; look again

    def _anything_due(self, now: datetime, failed: dict[str, str]) -> bool:
        query = select(DisputeRow.case_id).where(col(DisputeRow.deadline_us) < epoch_us(now))
        if failed:
            query = query.where(col(DisputeRow.case_id).not_in(list(failed)))
        with Session(self.engine) as session:
            return session.exec(query.limit(1)).first() is not None

    def register_rulebook(self, path: Path) -> Rulebook:
        """Make the rulebook file at ``path`` available by its id to case files (which name
        rulebooks by id only, never by path). Raises :class:`RulebookError`."""
        key, book = self.rulebook(Path(path))
        if book.id in BUILTIN:
            raise RulebookError([f"{path}: id {book.id} is a built-in rulebook's"])
        if self._registered.get(book.id, key) != key:
            raise RulebookError(
                [f"{path}: id {book.id} is registered already, from {self._registered[book.id]}"]
            )
        self._registered[book.id] = key
        return book

    def rulebook_by_id(self, rulebook_id: str) -> tuple[str, Rulebook]:
        """A built-in or registered rulebook by id (what a case file names), with its source.
        Raises :class:`RulebookError` for any other id."""
        if builtin_reference(rulebook_id) is not None:
            return self.rulebook(rulebook_id)
        if rulebook_id in self._registered:
            return self.rulebook(Path(self._registered[rulebook_id]))
        known = ", ".join([*BUILTIN, *sorted(self._registered)])
        raise RulebookError(
            [f"no rulebook {rulebook_id!r}: known are {known} (the operator registers others)"]
        )

    def rulebook(self, rulebook: str | Path) -> tuple[str, Rulebook]:
        """The rulebook by a built-in id or a file, and the source disputes keep to reload it
        (the id, or the file's absolute path). Raises :class:`RulebookError`."""
        builtin = builtin_reference(rulebook) is not None
        key = str(rulebook) if builtin else str(Path(rulebook).resolve())
        if key not in self._rulebooks:
            self._rulebooks[key] = load_rulebook(key if builtin else Path(key))
        return key, self._rulebooks[key]

    def _stored_rulebook(self, source: str, digest: str) -> Rulebook:
        """The rulebook a stored dispute was opened under: by its source and the digest
        recorded then (a built-in rulebook's earlier release comes from its archive)."""
        try:
            book = self.rulebook(source)[1]
            if book.digest != digest and source in BUILTIN:
                key = f"{source}#{digest}"
                if key not in self._rulebooks:
                    released = load_released(source, digest)
                    self._rulebooks[key] = book if released is None else released
                book = self._rulebooks[key]
        except RulebookError as exc:
            raise StoreMismatch(f"the rulebook {source} no longer loads: {exc}") from exc
        if book.digest != digest:
            raise StoreMismatch(
                f"rulebook {source} has changed since its disputes opened (digest "
                f"{digest[:12]}… then, {book.digest[:12]}… now)"
            )
        return book


class _Pending:
    """The evidence of a batch's disputes driven so far, not yet written."""

    def __init__(self) -> None:
        self.sha256s: set[str] = set()
        self.perceptual_hashes: list[str] = []

    def add(self, examined: Iterable[Examined]) -> None:
        """What the evidence rows of these items will hold (``repository._evidence_row``)."""
        for item in examined:
            if item.verdict.sha256:
                self.sha256s.add(item.verdict.sha256)
            phash = item.verdict.facts.get("perceptual_hash")
            if isinstance(phash, str):
                self.perceptual_hashes.append(phash)


class _BatchPrior:
    """The evidence of other disputes for one dispute of a batch: the database's (its own
    prior, :class:`repository.DatabasePrior`) and that of the batch's earlier disputes, not
    yet written. Within one batch no dispute id repeats, so all of it is another's."""

    def __init__(self, stored: PriorEvidence, pending: _Pending) -> None:
        self.stored, self.pending = stored, pending

    def used_elsewhere(self, sha256: str) -> bool:
        return sha256 in self.pending.sha256s or self.stored.used_elsewhere(sha256)

    def near_duplicate(self, perceptual_hash: str, max_distance: int) -> str | None:
        """The canonical answer over both: the nearest hash, ties by the smallest text."""
        found = self.stored.near_duplicate(perceptual_hash, max_distance)
        return nearest(perceptual_hash, [found, *self.pending.perceptual_hashes], max_distance)


def _merged(parts: list[repository.Writes]) -> repository.Writes:
    """The writes of a batch's disputes as one, each table's rows in the batch's order, but
    for the new dispute rows, sorted by id: writers inserting overlapping batches then take
    the rows' locks in one order, so they wait for each other instead of deadlocking."""
    merged = repository.Writes()
    for part in parts:
        for each in fields(repository.Writes):
            mine, theirs = getattr(merged, each.name), getattr(part, each.name)
            if isinstance(mine, list):
                mine.extend(theirs)
            else:  # a dict or a set
                mine.update(theirs)
    merged.new.sort(key=lambda row: str(row["case_id"]))
    return merged


EFFECTS_LIMIT = 1000
LARGEST_ID = 2**63 - 1  # an effect's id is a signed 64-bit integer in both databases
"""The most effects one :meth:`Adjudicator.effects` call hands out, or one ack names."""
LEASE_LIMIT = 86_400.0
"""The longest lease, in seconds (a day)."""
CONSUMER_CHARS = 200


def _whole(name: str, value: object, least: int, most: int | None = None) -> None:
    """``value`` is a whole number from ``least`` to ``most``, or a :class:`UsageError`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < least
        or (most is not None and value > most)
    ):
        bound = f"{least} to {most}" if most is not None else f"a whole number from {least}"
        raise UsageError(f"{name} {value!r}: must be {bound}")


def _instant(now: datetime | None) -> datetime:
    """``now``, or the wall clock (handing out effects is delivery, not a decision)."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise UsageError(f"now {now.isoformat()}: a time needs its offset")
    return now


def _us(at: datetime) -> int:
    us = epoch_us(at)
    assert us is not None
    return us


@contextmanager
def _database(doing: str) -> Iterator[None]:
    """The database down, unreachable, locked past its timeout or full: :class:`Unavailable`."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise Unavailable(f"cannot {doing}: {_first_line(exc)}") from exc


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig if exc.orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _evidence_view(row: EvidenceRow) -> dict[str, Any]:
    return {
        "id": row.evidence_id,
        "party": row.party,
        "kind": row.kind,
        "file": row.file,
        "submitted_at": row.submitted_at,
        "verdict": json.loads(row.verdict),
    }
