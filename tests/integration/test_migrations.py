"""Alembic revisions on both databases: from empty, from the previous revision, from a
database the first release made, and the refusals that name the command that upgrades."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from adjudicator import migrations
from adjudicator.database import engine_for
from adjudicator.errors import SchemaMismatch
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


def at_previous_revision_with_a_dispute(db_url: str, store: Path) -> Engine:
    """A database at the revision before the newest, holding a dispute its code wrote."""
    engine = engine_for(db_url)
    migrations.upgrade(engine, "0001")
    old = Adjudicator(engine, FilesystemStore(store))
    old.open("D-1", order(), CLAIM, at=hours(0))
    old.reject("D-1", at=hours(1), reason="人为损坏")
    return engine


def test_an_empty_database_gets_the_newest_schema_exactly_as_declared(
    db_url: str, tmp_path: Path
) -> None:
    service = Adjudicator.from_url(db_url, evidence_dir=tmp_path)
    assert revision(service.engine) == migrations.head() == migrations.known()[-1]
    assert schema_drift(service.engine) == []
    service.open("D-1", order(), CLAIM, at=hours(0))
    assert service.verify_log() == (1, None)
    service.close()


def test_the_previous_revision_is_refused_then_upgraded_with_its_data(
    db_url: str, tmp_path: Path
) -> None:
    engine = at_previous_revision_with_a_dispute(db_url, tmp_path)
    before = Adjudicator(engine, FilesystemStore(tmp_path)).get("D-1")
    history = list(Adjudicator(engine, FilesystemStore(tmp_path)).log())
    with pytest.raises(SchemaMismatch, match=r"at schema revision 0001.*adjudicator db upgrade"):
        Adjudicator.from_url(db_url, evidence_dir=tmp_path)

    assert migrations.upgrade_url(db_url) == ("0001", migrations.head())
    assert schema_drift(engine) == []
    service = Adjudicator.from_url(db_url, evidence_dir=tmp_path)
    assert service.get("D-1") == before
    assert list(service.log()) == history
    service.escalate("D-1", at=hours(2), idempotency_key="k-1")  # the new table works
    assert service.verify_log() == (3, None)
    service.close()
    engine.dispose()


def test_a_database_made_before_migrations_is_taken_as_the_first_revision(
    db_url: str, tmp_path: Path
) -> None:
    engine = at_previous_revision_with_a_dispute(db_url, tmp_path)
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
