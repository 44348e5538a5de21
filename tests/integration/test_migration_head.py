"""A start on a database already at the newest revision reads its version table and nothing
more (no Alembic); anything else is Alembic's to judge, as before (test_migrations.py)."""

from __future__ import annotations

import pytest
from alembic.util import CommandError
from sqlalchemy import text

from adjudicator import migrations
from adjudicator.database import at_revision, engine_for, newest_revision
from adjudicator.errors import SchemaMismatch


def test_the_newest_revision_read_from_the_files_is_alembics_head() -> None:
    assert newest_revision() == migrations.head() == migrations.known()[-1]


def test_only_a_database_at_the_newest_revision_is_at_it(db_url: str) -> None:
    newest = migrations.head()
    engine = engine_for(db_url)
    try:
        assert not at_revision(engine, newest)  # empty: no version table
        migrations.upgrade(engine, migrations.known()[-2])
        assert not at_revision(engine, newest)
        migrations.upgrade(engine)
        assert at_revision(engine, newest)
        with engine.begin() as connection:  # two rows: Alembic's to refuse, not ours to pass
            connection.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
        assert not at_revision(engine, newest)
        with pytest.raises(CommandError, match="more than one head"):
            migrations.ensure_current(engine, db_url)
    finally:
        engine.dispose()


def test_a_database_behind_is_still_refused_with_the_command_that_upgrades_it(
    db_url: str,
) -> None:
    engine = engine_for(db_url)
    try:
        migrations.upgrade(engine, migrations.known()[-2])
        with pytest.raises(SchemaMismatch, match="run `adjudicator db upgrade --db "):
            migrations.ensure_current(engine, db_url)
        migrations.upgrade(engine)
        migrations.ensure_current(engine, db_url)
    finally:
        engine.dispose()
