"""Idempotency keys for commands, and one event per (dispute, seq).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commands",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("case_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_commands_case_id", "commands", ["case_id"])
    # A second writer can no longer add an event under a number another one took.
    op.create_index("ix_events_case_id_seq", "events", ["case_id", "seq"], unique=True)
    op.drop_index("ix_events_case_id", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_case_id", "events", ["case_id"])
    op.drop_index("ix_events_case_id_seq", table_name="events")
    op.drop_index("ix_commands_case_id", table_name="commands")
    op.drop_table("commands")
