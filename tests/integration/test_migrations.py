"""Alembic revisions on both databases: from empty, from each older revision, from a
database the first release made, what 0003 fills in from the stored snapshots, and the
refusals that name the command that upgrades."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from adjudicator import migrations
from adjudicator.cli import main
from adjudicator.database import engine_for
from adjudicator.errors import SchemaMismatch, StoreMismatch
from adjudicator.service import Adjudicator
from evidence import FilesystemStore
from tests.integration.test_service import CLAIM, hours, order


def schema_drift(engine: Engine) -> list[object]:
    """What separates the migrated schema from the tables the code declares."""
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), SQLModel.metadata))


def revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return migrations.current(connection)


def at_revision_with_a_dispute(db_url: str, store: Path, target: str) -> Engine:
    """A database at revision ``target``, holding a dispute: written at the newest revision,
    then taken down to ``target`` (today's code cannot write an older schema)."""
    engine = engine_for(db_url)
    migrations.upgrade(engine)
    service = Adjudicator(engine, FilesystemStore(store))
    service.open("D-1", order(), CLAIM, at=hours(0))
    service.reject("D-1", at=hours(1), reason="人为损坏")
    migrations.downgrade(engine, target)
    assert revision(engine) == target
    return engine


def dispute_columns(engine: Engine) -> dict[str, bool]:
    """The columns of ``disputes``, each with whether it may be null."""
    return {c["name"]: c["nullable"] for c in inspect(engine).get_columns("disputes")}


def dispute_indexes(engine: Engine) -> dict[str, list[str | None]]:
    return {i["name"] or "": i["column_names"] for i in inspect(engine).get_indexes("disputes")}


def test_an_empty_database_gets_the_newest_schema_exactly_as_declared(
    db_url: str, tmp_path: Path
) -> None:
    service = Adjudicator.from_url(db_url, evidence_dir=tmp_path)
    assert revision(service.engine) == migrations.head() == migrations.known()[-1]
    assert schema_drift(service.engine) == []
    service.open("D-1", order(), CLAIM, at=hours(0))
    assert service.verify_log() == (1, None)
    assert service.disputes_of_order(order().order_id) == ["D-1"]
    service.close()


def test_the_revisions_are_0001_to_0007() -> None:
    assert migrations.known() == ["0001", "0002", "0003", "0004", "0005", "0006", "0007"]
    assert migrations.head() == "0007"


@pytest.mark.parametrize("old", migrations.known()[:-1])
def test_an_older_revision_is_refused_then_upgraded_with_its_data(
    db_url: str, tmp_path: Path, old: str
) -> None:
    engine = at_revision_with_a_dispute(db_url, tmp_path, old)
    before = Adjudicator(engine, FilesystemStore(tmp_path)).get("D-1")
    history = list(Adjudicator(engine, FilesystemStore(tmp_path)).log())
    with pytest.raises(SchemaMismatch, match=rf"at schema revision {old}.*adjudicator db upgrade"):
        Adjudicator.from_url(db_url, evidence_dir=tmp_path)

    assert migrations.upgrade_url(db_url) == (old, migrations.head())
    assert schema_drift(engine) == []
    service = Adjudicator.from_url(db_url, evidence_dir=tmp_path)
    assert service.get("D-1") == before
    assert list(service.log()) == history
    assert service.disputes_of_order(order().order_id) == ["D-1"]  # filled from the snapshot
    service.escalate("D-1", at=hours(2), idempotency_key="k-1")  # the commands table works
    assert service.verify_log() == (3, None)
    service.close()
    engine.dispose()


def refunded(service: Adjudicator, case_id: str, start: float) -> None:
    """A dispute agreed, its goods sent back and received: return shipping, then a refund."""
    service.open(case_id, order(), CLAIM, at=hours(start))
    service.agree(case_id, at=hours(start + 1))
    service.return_shipped(case_id, f"SF-{case_id}", at=hours(start + 2))
    service.confirm_receipt(case_id, at=hours(start + 3))


def outbox_from(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT outbox_from FROM log_head")).scalar_one())


@pytest.mark.parametrize("old", ["0004", "0006"])
def test_the_outbox_is_held_to_the_log_from_where_the_database_got_one(
    db_url: str, tmp_path: Path, old: str
) -> None:
    """Upgraded through 0005, a database's earlier entries have no effects: 0007 records
    where the outbox began, and the audit asks for effects from there on only."""
    engine = engine_for(db_url)
    migrations.upgrade(engine)
    service = Adjudicator(engine, FilesystemStore(tmp_path))
    refunded(service, "D-1", 0)
    ordering = [
        e["seq"] for e in service.log() if e["event"] in ("return_shipped", "confirm_receipt")
    ]
    migrations.downgrade(engine, old)  # 0004: no outbox at all; 0006: an outbox, no start
    migrations.upgrade(engine)
    # at 0004 the outbox went with its table: it begins after the log's last entry; at 0006
    # it had D-1's effects: it begins at the first entry they name
    assert outbox_from(engine) == (len(list(service.log())) + 1 if old == "0004" else ordering[0])
    assert service.audit().problems == ()
    refunded(service, "D-2", 10)  # effects written from the upgrade on
    assert service.audit().problems == ()
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM effects WHERE case_id = 'D-2'"))
    missing = [str(p) for p in service.audit().problems]
    assert missing == [
        "dispute D-2: effect D-2#3.0 is in its log but not in the effects table",
        "dispute D-2: effect D-2#4.0 is in its log but not in the effects table",
    ]
    engine.dispose()


def test_a_new_database_holds_every_effect_from_the_first_entry(
    db_url: str, tmp_path: Path
) -> None:
    service = Adjudicator.from_url(db_url, evidence_dir=tmp_path)
    assert outbox_from(service.engine) == 1
    refunded(service, "D-1", 0)
    with service.engine.begin() as connection:
        connection.execute(text("DELETE FROM effects WHERE key = 'D-1#3.0'"))
    assert [str(p) for p in service.audit().problems] == [
        "dispute D-1: effect D-1#3.0 is in its log but not in the effects table"
    ]
    service.close()


def at_0002_with_disputes(engine: Engine, snapshots: dict[str, str]) -> None:
    """Revision 0002, holding disputes (case id: snapshot JSON) written as its code wrote them."""
    migrations.upgrade(engine, "0002")
    insert = text(
        "INSERT INTO disputes (case_id, version, state, rulebook, rulebook_label, "
        "rulebook_digest, snapshot) VALUES (:case_id, 1, 'awaiting_merchant', "
        "'kuaishou.general', 'kuaishou.general@2026.3', 'digest', :snapshot)"
    )
    with engine.begin() as connection:
        connection.execute(insert, [{"case_id": k, "snapshot": v} for k, v in snapshots.items()])


def snapshot_of(case_id: str, order_id: str) -> str:
    return json.dumps({"v": 1, "case_id": case_id, "order": {"order_id": order_id}})


def test_0003_fills_each_disputes_order_id_from_its_snapshot_and_goes_down_again(
    db_url: str, tmp_path: Path
) -> None:
    orders = {"D-2": "O-7", "D-1": "O-7", "D-3": "订单-8"}  # two claims on O-7: two disputes
    orders |= {f"F-{n:04}": f"O-F{n % 7}" for n in range(1100)}  # over two batches of 500
    engine = engine_for(db_url)
    at_0002_with_disputes(engine, {k: snapshot_of(k, v) for k, v in orders.items()})
    assert "order_id" not in dispute_columns(engine)

    migrations.upgrade(engine, "0003")
    assert revision(engine) == "0003"
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT case_id, order_id, snapshot FROM disputes"))
        rows = [tuple(row) for row in stored]
    assert {case_id: order_id for case_id, order_id, _ in rows} == orders
    assert all(json.loads(s)["order"]["order_id"] == order_id for _, order_id, s in rows)
    assert dispute_columns(engine)["order_id"] is False  # NOT NULL
    assert dispute_indexes(engine)["ix_disputes_order_id"] == ["order_id"]
    migrations.upgrade(engine)  # the revisions after it leave the column as it is
    assert schema_drift(engine) == []
    service = Adjudicator(engine, FilesystemStore(tmp_path))
    assert service.disputes_of_order("O-7") == ["D-1", "D-2"]
    assert service.disputes_of_order("订单-8") == ["D-3"]
    assert service.disputes_of_order("O-9") == []

    migrations.downgrade(engine, "0002")
    assert revision(engine) == "0002"
    assert "order_id" not in dispute_columns(engine)
    assert "tokens" not in inspect(engine).get_table_names()
    assert "ix_disputes_order_id" not in dispute_indexes(engine)
    assert {"ix_disputes_state", "ix_disputes_deadline_us"} <= set(dispute_indexes(engine))
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM disputes")).scalar_one()
    assert count == len(orders)
    engine.dispose()


def test_a_snapshot_without_an_order_id_fails_0003_and_changes_nothing(db_url: str) -> None:
    engine = engine_for(db_url)
    at_0002_with_disputes(engine, {"D-1": snapshot_of("D-1", "O-1"), "D-2": '{"v": 1}'})
    with pytest.raises(StoreMismatch, match=r"dispute D-2: its snapshot names no order id"):
        migrations.upgrade(engine, "0003")
    assert revision(engine) == "0002"
    assert "order_id" not in dispute_columns(engine)
    engine.dispose()


def test_db_upgrade_names_the_dispute_that_stops_it_and_exits_2(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not an internal error: the database holds what this revision cannot move."""
    engine = engine_for(db_url)
    at_0002_with_disputes(engine, {"D-1": snapshot_of("D-1", "O-1"), "D-2": "[]"})
    assert main(["db", "upgrade", "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("adjudicator: error: the database at ")
    assert "cannot be upgraded, and is left as it was: dispute D-2: its snapshot names no " in err
    assert "Traceback" not in err
    assert "bug" not in err
    assert revision(engine) == "0002"
    engine.dispose()


def test_a_database_made_before_migrations_is_taken_as_the_first_revision(
    db_url: str, tmp_path: Path
) -> None:
    engine = at_revision_with_a_dispute(db_url, tmp_path, "0001")
    before = Adjudicator(engine, FilesystemStore(tmp_path)).get("D-1")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))  # as create_all left it
    with pytest.raises(SchemaMismatch, match=r"predates migrations.*adjudicator db upgrade"):
        Adjudicator.from_url(db_url, evidence_dir=tmp_path)
    assert migrations.upgrade_url(db_url) == (None, migrations.head())
    assert schema_drift(engine) == []
    service = Adjudicator.from_url(db_url, evidence_dir=tmp_path)
    assert service.get("D-1") == before
    assert service.verify_log() == (2, None)
    service.close()
    engine.dispose()


def test_an_unknown_revision_is_refused_and_not_upgraded(db_url: str, tmp_path: Path) -> None:
    engine = engine_for(db_url)
    migrations.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(SchemaMismatch, match=r"'f00d', which this installation does not know"):
        Adjudicator.from_url(db_url, evidence_dir=tmp_path)
    with pytest.raises(SchemaMismatch, match="cannot be upgraded by this installation"):
        migrations.upgrade_url(db_url)
    assert revision(engine) == "f00d"
    engine.dispose()


def test_every_revision_goes_down_and_up_again(db_url: str) -> None:
    engine = engine_for(db_url)
    migrations.upgrade(engine)
    migrations.downgrade(engine, "base")
    assert revision(engine) is None
    with engine.connect() as connection:
        assert not connection.dialect.has_table(connection, "disputes")
    migrations.upgrade(engine)
    assert schema_drift(engine) == []
    engine.dispose()


def test_services_starting_at_once_on_an_empty_database_make_the_schema_once(
    db_url: str, tmp_path: Path
) -> None:
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def starts() -> None:
        start.wait()
        try:
            Adjudicator.from_url(db_url, evidence_dir=tmp_path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=starts) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = engine_for(db_url)
    assert revision(engine) == migrations.head()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM log_head")).scalar_one() == 1
    engine.dispose()
