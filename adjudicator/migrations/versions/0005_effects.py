"""The outbox of effects (issue 12): every movement of money or goods the decision log orders,
written in the transaction of the entries that order it, for the host to read in order,
lease and acknowledge (docs/effects.md).

The table starts empty: an existing database's earlier entries were acted on before there
was an outbox, so only entries appended from this revision on write effects (their amounts
still count what the earlier entries paid: a new decision after an appeal pays or takes back
the difference). ``id`` is the cursor; on SQLite it is AUTOINCREMENT, so that an id is never
given twice even once old effects are deleted.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "effects",
        # 64-bit on PostgreSQL (BIGSERIAL); SQLite's INTEGER PRIMARY KEY is already 64-bit
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("case_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("leased_until_us", sa.BigInteger(), nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("acked_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_effects_case_id", "effects", ["case_id"])
    op.create_index("ix_effects_acked_us_id", "effects", ["acked_us", "id"])


def downgrade() -> None:
    op.drop_index("ix_effects_acked_us_id", table_name="effects")
    op.drop_index("ix_effects_case_id", table_name="effects")
    op.drop_table("effects")
