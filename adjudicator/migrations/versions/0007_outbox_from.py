"""Where the effects outbox begins: ``log_head.outbox_from``, the number of the first log
entry whose effects the outbox holds.

Revision 0005 started the outbox empty: a database upgraded through it had acted on its
earlier entries before there was an outbox, and they have no effects (docs/effects.md). The
audit holds the outbox to the log (each effect an entry orders is there, and nothing else is),
so it must know where the outbox began: the effects of earlier entries are not asked for.

A database made at this revision or later has an empty log here: the outbox holds everything,
from entry 1. For an existing database this revision takes the first entry whose effects the
outbox holds (the smallest ``seq`` its effects name): since the outbox began, no entry before
that one ordered an effect, else the outbox would hold it. What it cannot tell apart is an
outbox whose first effects were deleted before this upgrade: the audit starts from the
effects that are there. With a log but no effect at all, the outbox begins after the last
entry.

Revision ID: 0007
Revises: 0006
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 2000  # effect rows read at a time

_effects = sa.table("effects", sa.column("id", sa.BigInteger), sa.column("body", sa.Text))
_head = sa.table(
    "log_head",
    sa.column("id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("outbox_from", sa.Integer),
)


def upgrade() -> None:
    op.add_column(
        "log_head", sa.Column("outbox_from", sa.Integer(), nullable=False, server_default="1")
    )
    connection = op.get_bind()
    head = connection.execute(sa.select(_head.c.seq).where(_head.c.id == 1)).scalar()
    if head:  # entries were logged: from the first whose effects are held
        first = _first_ordering_entry(connection)
        begins = first if first is not None else head + 1
        connection.execute(sa.update(_head).where(_head.c.id == 1).values(outbox_from=begins))


def downgrade() -> None:
    with op.batch_alter_table("log_head") as batch:  # SQLite: the table is made again
        batch.drop_column("outbox_from")


def _first_ordering_entry(connection: sa.Connection) -> int | None:
    """The smallest log ``seq`` an effect in the outbox names (None: no effect does)."""
    first: int | None = None
    last = None
    while True:
        query = sa.select(_effects.c.id, _effects.c.body).order_by(_effects.c.id).limit(BATCH)
        if last is not None:
            query = query.where(_effects.c.id > last)
        rows = connection.execute(query).all()
        if not rows:
            return first
        for _, body in rows:
            seq = _seq_of(body)
            if seq is not None and (first is None or seq < first):
                first = seq
        last = rows[-1][0]


def _seq_of(body: Any) -> int | None:
    try:
        seq = json.loads(body).get("seq")
    except (ValueError, TypeError, AttributeError, RecursionError):
        return None  # a damaged row: the audit names it
    return seq if type(seq) is int and seq > 0 else None
