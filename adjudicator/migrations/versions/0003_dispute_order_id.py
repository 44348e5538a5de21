"""The order each dispute is about, as an indexed column of ``disputes``.

Several claims on one order are several disputes, and the back office finds them by the
order: until now its id was only inside each dispute's JSON snapshot, which no query can
reach without reading every row. Existing rows get it from their snapshot
(``["order"]["order_id"]``), read and written in batches; then the column is made NOT NULL.

Revision ID: 0003
Revises: 0002
"""

import json

import sqlalchemy as sa
from alembic import op

from adjudicator.errors import StoreMismatch

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 500  # rows read, and then updated, at a time

_disputes = sa.table(
    "disputes",
    sa.column("case_id", sa.String),
    sa.column("snapshot", sa.Text),
    sa.column("order_id", sa.String),
)


def upgrade() -> None:
    op.add_column("disputes", sa.Column("order_id", sa.String(), nullable=True))
    _backfill(op.get_bind())
    with op.batch_alter_table("disputes") as batch:  # SQLite: the table is made again
        batch.alter_column("order_id", existing_type=sa.String(), nullable=False)
    op.create_index("ix_disputes_order_id", "disputes", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_disputes_order_id", table_name="disputes")
    with op.batch_alter_table("disputes") as batch:
        batch.drop_column("order_id")


def _backfill(connection: sa.Connection) -> None:
    """Each dispute's order id from its snapshot, a batch of rows at a time (by case id)."""
    write = (
        sa.update(_disputes)
        .where(_disputes.c.case_id == sa.bindparam("key"))
        .values(order_id=sa.bindparam("order_id"))
    )
    last: str | None = None
    while True:
        query = sa.select(_disputes.c.case_id, _disputes.c.snapshot)
        if last is not None:
            query = query.where(_disputes.c.case_id > last)
        rows = connection.execute(query.order_by(_disputes.c.case_id).limit(BATCH)).all()
        if not rows:
            return
        connection.execute(write, [_order_of(case_id, text) for case_id, text in rows])
        last = rows[-1][0]


def _order_of(case_id: str, text: str) -> dict[str, str]:
    try:
        order_id = json.loads(text)["order"]["order_id"]
    except (ValueError, KeyError, TypeError):
        order_id = None
    if not isinstance(order_id, str):
        raise StoreMismatch(
            f"dispute {case_id}: its snapshot names no order id (order.order_id), which "
            "revision 0003 copies into the disputes table"
        )
    return {"key": case_id, "order_id": order_id}
