"""Alembic's entry point: runs the revisions on the connection :mod:`adjudicator.migrations`
hands it, inside that connection's transaction (so a failed upgrade leaves nothing)."""

from alembic import context
from sqlmodel import SQLModel

import adjudicator.persistence  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `adjudicator db upgrade --db URL`")
context.configure(connection=connection, target_metadata=SQLModel.metadata)
with context.begin_transaction():
    context.run_migrations()
