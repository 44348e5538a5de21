"""adjudicator.inserts on real SQLite and PostgreSQL: what goes in comes back, byte for byte
(COPY's text format has its own escapes), and a failure raises what SQLAlchemy raises."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, Engine, MetaData, Table, Text, select
from sqlalchemy.exc import IntegrityError, OperationalError

from adjudicator.inserts import insert_rows
from adjudicator.persistence import EventRow, EvidenceRow, LogRow
from adjudicator.service import Adjudicator

LOG = LogRow.__table__  # type: ignore[attr-defined]
EVENTS = EventRow.__table__  # type: ignore[attr-defined]
EVIDENCE = EvidenceRow.__table__  # type: ignore[attr-defined]

# what COPY's text format escapes or reads specially, and what JSON text holds
AWKWARD = [
    "",
    "\\N",
    "\\",
    "tab\there",
    "new\nline\r\n",
    "back\\slash\\t",
    "quote ' \" ;",
    "中文 emoji 😀 \u2028",
    "\x01\x7f",
    '{"a": "b\\"c"}',
    "x" * 100_000,
]


@pytest.fixture
def engine(service: Adjudicator) -> Engine:
    """A fresh database of each kind, at the newest schema."""
    return service.engine


def test_what_goes_in_comes_back(engine: Engine) -> None:
    rows = [
        {"seq": n + 1, "case_id": f"KS-{n}", "hash": text, "entry": text}
        for n, text in enumerate(AWKWARD)
    ]
    with engine.begin() as connection:
        insert_rows(connection, LOG, rows)
    with engine.connect() as connection:
        back = connection.execute(select(LOG.c.seq, LOG.c.case_id, LOG.c.hash, LOG.c.entry))
        assert sorted(map(tuple, back)) == [tuple(row.values()) for row in rows]


def test_nulls_booleans_and_numbers_keep_their_types(engine: Engine) -> None:
    base: dict[str, Any] = {"case_id": "KS-1", "party": "buyer", "kind": "photo"}
    base["sha256"] = "0" * 64
    base |= {"submitted_at": "2026-11-29T00:00:00+08:00", "file": "a.jpg", "verdict": "{}"}
    rows = [
        base | {"evidence_id": "E1", "perceptual_hash": None, "phash_band0": None},
        base | {"evidence_id": "E2", "perceptual_hash": "ff" * 8, "phash_band0": 65535},
    ]
    rows[0]["accepted"], rows[1]["accepted"] = True, False  # Python's own bool, each way
    with engine.begin() as connection:
        insert_rows(connection, EVIDENCE, rows)
    columns = EVIDENCE.c
    query = select(columns.evidence_id, columns.perceptual_hash, columns.phash_band0)
    with engine.connect() as connection:
        got = connection.execute(query.add_columns(columns.accepted).order_by(columns.id)).all()
    assert [tuple(row) for row in got] == [("E1", None, None, True), ("E2", "ff" * 8, 65535, False)]
    assert all(type(row.accepted) is bool for row in got)


def test_ids_come_from_the_tables_own_sequence(engine: Engine) -> None:
    row = {"case_id": "KS-1", "seq": 1, "at": "t", "actor": "buyer", "action": "open"}
    rows = [row | {"body": "{}"}, row | {"seq": 2, "body": "{}"}]
    with engine.begin() as connection:
        insert_rows(connection, EVENTS, rows)
        ids = connection.execute(select(EVENTS.c.id).order_by(EVENTS.c.id)).scalars().all()
    assert ids == [1, 2]


def test_a_single_column(engine: Engine) -> None:
    scratch = Table("scratch_single", MetaData(), Column("name", Text))
    scratch.create(engine)
    try:
        with engine.begin() as connection:
            insert_rows(connection, scratch, [{"name": "a"}, {"name": None}])
            assert connection.execute(select(scratch.c.name)).scalars().all() == ["a", None]
    finally:
        scratch.drop(engine)


def test_a_duplicate_key_raises_sqlalchemys_integrity_error_and_leaves_nothing(
    engine: Engine,
) -> None:
    row = {"seq": 1, "case_id": "KS-1", "hash": "h", "entry": "{}"}
    with engine.begin() as connection:
        insert_rows(connection, LOG, [row])
    with pytest.raises(IntegrityError), engine.begin() as connection:
        insert_rows(connection, LOG, [row | {"seq": 2}, row])
    with engine.connect() as connection:
        assert connection.execute(select(LOG.c.seq)).scalars().all() == [1]


def test_a_column_the_table_lacks_is_refused_before_the_database_is_asked(
    engine: Engine,
) -> None:
    with pytest.raises(KeyError, match="nosuch"), engine.begin() as connection:
        insert_rows(connection, LOG, [{"seq": 1, "nosuch": "x"}])


def test_no_rows_is_no_statement(engine: Engine) -> None:
    with engine.begin() as connection:
        insert_rows(connection, LOG, [])


def test_a_database_gone_away_raises_sqlalchemys_operational_error(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a SQLite file does not go away under an open connection")
    row = {"seq": 1, "case_id": "K", "hash": "h", "entry": "e"}
    with engine.connect() as connection:  # rolled back, not committed, at the end
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with engine.connect() as killer:
            killer.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        with pytest.raises(OperationalError) as raised:
            insert_rows(connection, LOG, [row])
        assert raised.value.connection_invalidated
        assert connection.invalidated  # not handed out again by the pool
