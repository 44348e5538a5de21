"""The near-duplicate index: each photo's perceptual hash cut in four 16-bit bands
(``phash_band0`` to ``phash_band3`` on ``evidence``), each with an index of its own.

A photo is compared with every stored photo of other disputes; read row by row, that took some
200 ms a photo at 10^5 stored photos. With the bands a look-up reads only the rows sharing a
band value near the probe's (multi-index hashing, :mod:`evidence.neardup`). Each index holds
the band, then the hash and the dispute, so a look-up reads the indexes and no row: reading a
thousand candidate rows one by one cost 5 ms of a look-up's 6 at 10^6 photos. Existing rows get
their bands from their ``perceptual_hash``, read and written in batches; rows without one keep
null bands. 16-bit values fit a 32-bit INTEGER everywhere. The bands are cut as
:func:`evidence.neardup.bands` cuts them, which new rows use too: a change to that cut needs a
revision of its own that fills them again.

On PostgreSQL the indexes answer from themselves only for rows the visibility map knows all
transactions see, and filling the bands rewrites every photo's row: until (auto)vacuum has been by,
a look-up reads its candidates' rows too (about 20 ms a photo at 10^6 photos instead of 2-3).
After upgrading a large database, run ``VACUUM ANALYZE evidence``.

Revision ID: 0006
Revises: 0005
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from evidence.neardup import BANDS, bands

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 2000  # rows read, and then updated, at a time

COLUMNS = [f"phash_band{k}" for k in range(BANDS)]

_evidence = sa.table(
    "evidence",
    sa.column("id", sa.Integer),
    sa.column("perceptual_hash", sa.String),
    *(sa.column(name, sa.Integer) for name in COLUMNS),
)


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("evidence", sa.Column(name, sa.Integer(), nullable=True))
    _backfill(op.get_bind())
    for name in COLUMNS:
        op.create_index(f"ix_evidence_{name}", "evidence", [name, "perceptual_hash", "case_id"])


def downgrade() -> None:
    for name in COLUMNS:
        op.drop_index(f"ix_evidence_{name}", table_name="evidence")
    with op.batch_alter_table("evidence") as batch:  # SQLite: the table is made again
        for name in COLUMNS:
            batch.drop_column(name)


def _backfill(connection: sa.Connection) -> None:
    """Each photo's bands from its hash, a batch of rows at a time (by id)."""
    write = (
        sa.update(_evidence)
        .where(_evidence.c.id == sa.bindparam("key"))
        .values({name: sa.bindparam(name) for name in COLUMNS})
    )
    last = 0
    while True:
        query = (
            sa.select(_evidence.c.id, _evidence.c.perceptual_hash)
            .where(_evidence.c.perceptual_hash.is_not(None), _evidence.c.id > last)
            .order_by(_evidence.c.id)
            .limit(BATCH)
        )
        rows = connection.execute(query).all()
        if not rows:
            return
        connection.execute(write, [_bands_of(key, text) for key, text in rows])
        last = rows[-1][0]


def _bands_of(key: int, text: str) -> dict[str, Any]:
    values = bands(text)
    assert values is not None
    return {"key": key, **dict(zip(COLUMNS, values, strict=True))}
