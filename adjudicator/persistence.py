"""Tables (sqlmodel): what a dispute is stored as, on SQLite or PostgreSQL.

The domain never sees these rows. A dispute is one row whose state, resolution, next
deadline and order id are plain columns (for queries) beside a JSON snapshot of the whole
:class:`Case` (:mod:`adjudicator.snapshot`); its events, evidence verdicts and decisions
have their own tables; the decision log is one hash chain over every dispute (``log``), whose
last entry is mirrored in ``log_head``. An append locks the head row, so concurrent writers
take turns and the chain stays one valid sequence; a deleted tail is caught because the head
still names it.
``commands`` keeps the idempotency keys commands were given, with their first result.
``effects`` is the outbox of what the log orders done (refunds, shipments), written with the
entries that order them.

The schema itself is made and changed by the Alembic revisions in :mod:`adjudicator.migrations`;
these classes must match the newest of them (a test compares the two on both databases). The
engine that reaches a database is :mod:`adjudicator.database`'s.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Index, Integer, Text
from sqlmodel import Column, Field, SQLModel

from adjudicator.auditlog import GENESIS


class DisputeRow(SQLModel, table=True):
    __tablename__ = "disputes"

    case_id: str = Field(primary_key=True)
    version: int = 1
    state: str = Field(index=True)
    resolution: str | None = None
    rulebook: str  # where it is loaded from: a built-in id or a file's absolute path
    rulebook_label: str
    rulebook_digest: str
    deadline_us: int | None = Field(default=None, index=True, sa_type=BigInteger)  # UTC epoch µs
    snapshot: str = Field(sa_column=Column(Text, nullable=False))
    order_id: str = Field(index=True)  # the snapshot's order's: one order may have several


class EventRow(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_case_id_seq", "case_id", "seq", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str
    seq: int
    at: str
    actor: str
    action: str
    body: str = Field(sa_column=Column(Text, nullable=False))


class EvidenceRow(SQLModel, table=True):
    __tablename__ = "evidence"
    # the near-duplicate look-up (evidence.neardup): an index per band of the photo's hash,
    # holding the hash and the dispute too, so candidates are read from the indexes alone
    __table_args__ = tuple(
        Index(f"ix_evidence_phash_band{k}", f"phash_band{k}", "perceptual_hash", "case_id")
        for k in range(4)
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True)
    evidence_id: str
    party: str
    kind: str
    sha256: str = Field(index=True)
    perceptual_hash: str | None = None
    # the perceptual hash cut in four 16-bit bands (evidence.neardup.bands); null: no hash
    phash_band0: int | None = None
    phash_band1: int | None = None
    phash_band2: int | None = None
    phash_band3: int | None = None
    accepted: bool
    submitted_at: str
    file: str  # the name it was submitted under (the bytes are in the store, by sha256)
    verdict: str = Field(sa_column=Column(Text, nullable=False))


class DecisionRow(SQLModel, table=True):
    __tablename__ = "decisions"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True)
    at: str
    liability: str
    remedy: str
    refund_amount: str
    rulebook: str
    rulebook_digest: str
    body: str = Field(sa_column=Column(Text, nullable=False))


class LogRow(SQLModel, table=True):
    __tablename__ = "log"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    case_id: str = Field(index=True)
    hash: str
    entry: str = Field(sa_column=Column(Text, nullable=False))  # the whole entry, as JSON


class LogHead(SQLModel, table=True):
    __tablename__ = "log_head"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    hash: str = GENESIS
    # the first entry whose effects the outbox holds (revision 0007; docs/effects.md)
    outbox_from: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class CommandRow(SQLModel, table=True):
    """A command given with an idempotency key, and the dispute as that command left it."""

    __tablename__ = "commands"

    key: str = Field(primary_key=True)
    case_id: str = Field(index=True)
    action: str
    fingerprint: str  # what was asked: a repeat with the same key must ask the same
    version: int  # the dispute's version after the command
    result: str = Field(sa_column=Column(Text, nullable=False))  # the Case snapshot, as JSON


class EffectRow(SQLModel, table=True):
    """An effect the decision log orders (:mod:`adjudicator.effects`): the outbox hosts read
    (docs/effects.md). ``id`` is the cursor: ids are given in commit order, as the rows are
    written while the log's head row is locked. A consumer leases an effect (``leased_until_us``,
    ``lease_owner``, ``deliveries`` counts them) and acknowledges it (``acked_us``)."""

    __tablename__ = "effects"
    __table_args__ = (
        Index("ix_effects_acked_us_id", "acked_us", "id"),  # what is pending, oldest first
        {"sqlite_autoincrement": True},  # an id is never given twice, even once rows are gone
    )

    # 64-bit on PostgreSQL; SQLite's INTEGER PRIMARY KEY (AUTOINCREMENT) is 64-bit already
    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer(), "sqlite")
    )
    key: str = Field(unique=True)  # CASE_ID#N.I: stable whenever the same events are applied
    case_id: str = Field(index=True)
    kind: str
    body: str = Field(sa_column=Column(Text, nullable=False))  # the effect, as JSON
    deliveries: int = 0  # how many times it has been handed out
    leased_until_us: int | None = Field(default=None, sa_type=BigInteger)  # UTC epoch µs
    lease_owner: str | None = None
    acked_us: int | None = Field(default=None, sa_type=BigInteger)  # UTC epoch µs


class TokenRow(SQLModel, table=True):
    """An API token: its public id, its role, and the SHA-256 of the whole token (the token
    itself is shown once, when it is made, and never stored)."""

    __tablename__ = "tokens"

    id: str = Field(primary_key=True)
    role: str
    digest: str
    label: str | None = None
    created_at: str


def epoch_us(at: datetime | None) -> int | None:
    """An instant as UTC microseconds: sortable the same way on every database."""
    if at is None:
        return None
    delta = at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
