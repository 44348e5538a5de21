"""Schema revisions (Alembic), and the check every service start makes against them.

An empty database is brought to the newest revision when the service first opens it. A
database at an older revision is refused until an operator runs ``adjudicator db upgrade
--db URL`` (a schema change is a deliberate step, not a side effect of starting a worker),
and one at a revision this installation does not know (a newer release wrote it) is refused
too. Each upgrade runs in one transaction, under a lock, so concurrent starts on an empty
database make the schema once and a failed upgrade leaves the database as it was.

Alembic (and Mako with it) is imported only when a database is not already at the newest
revision: a start on one that is reads its version table with one query
(:func:`adjudicator.database.at_revision`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from adjudicator.database import at_revision, engine_for, newest_revision
from adjudicator.errors import SchemaMismatch, StoreMismatch, Unavailable, UsageError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

_LOCK_KEY = 0x616A7564  # the PostgreSQL advisory lock that migrations take ("ajud")


def head() -> str:
    """The newest revision this installation knows."""
    revision = _scripts().get_current_head()
    assert revision is not None
    return revision


def known() -> list[str]:
    """Every revision this installation knows, oldest first."""
    return [script.revision for script in reversed(list(_scripts().walk_revisions()))]


def current(connection: Connection) -> str | None:
    """The database's revision; ``None`` for a database Alembic never touched."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def downgrade(engine: Engine, target: str) -> None:
    """Take the database back to revision ``target`` (``"base"``: empty), in one transaction."""
    from alembic import command

    with engine.begin() as connection:
        _lock(connection)
        command.downgrade(_config(connection), target)


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Bring the database to ``target`` in one transaction; (revision before, after).

    A database made by the first release (tables, but no revision) is taken to be at 0001.
    """
    from alembic import command

    with engine.begin() as connection:
        _lock(connection)
        before = current(connection)
        if before is None and _has_tables(connection):
            command.stamp(_config(connection), "0001")
        command.upgrade(_config(connection), target)
        return before, current(connection) or ""


def upgrade_url(url: str) -> tuple[str | None, str]:
    """:func:`upgrade` the database at ``url``; connection failures and revisions this
    installation does not know raise :class:`AdjudicationError` subclasses."""
    from alembic.util import CommandError

    try:
        engine = engine_for(url)
    except (ArgumentError, ImportError) as exc:
        raise UsageError(f"--db {url}: cannot open the database: {exc}") from exc
    except SQLAlchemyError as exc:
        raise Unavailable(f"--db {url}: cannot open the database: {exc}") from exc
    try:
        return upgrade(engine)
    except StoreMismatch as exc:  # what a revision found in the data it moves
        raise StoreMismatch(
            f"the database at {url} cannot be upgraded, and is left as it was: {exc}"
        ) from None
    except CommandError as exc:
        raise SchemaMismatch(
            f"the database at {url} cannot be upgraded by this installation (it knows "
            f"revisions {', '.join(known())}): {exc}"
        ) from None
    except SQLAlchemyError as exc:
        raise Unavailable(f"--db {url}: cannot upgrade the database: {exc}") from exc
    finally:
        engine.dispose()


def connect(url: str) -> Engine:
    """An engine for ``url`` whose schema is this installation's revision: an empty database
    gets it made; any other revision raises :class:`SchemaMismatch`. Nothing connects at
    import time."""
    engine = engine_for(url)
    try:
        ensure_current(engine, url)
    except BaseException:
        engine.dispose()
        raise
    return engine


def ensure_current(engine: Engine, url: str) -> None:
    """Make an empty database's schema, or refuse one at a revision other than the newest."""
    newest = newest_revision()
    if newest is not None and at_revision(engine, newest):
        return  # the usual start: one query, no Alembic
    with engine.connect() as connection:
        revision = current(connection)
        empty = revision is None and not _has_tables(connection)
        connection.rollback()
    if empty:
        upgrade(engine)
        return
    newest = head()
    if revision == newest:
        return
    shown = make_url(url).render_as_string(hide_password=True)
    where, upgrade_command = f"the database at {shown}", f"adjudicator db upgrade --db {shown}"
    if revision is None:
        raise SchemaMismatch(
            f"{where} has no schema revision (it predates migrations; this installation "
            f"runs on revision {newest}): run `{upgrade_command}` to upgrade it"
        )
    if revision in known():
        raise SchemaMismatch(
            f"{where} is at schema revision {revision}, this installation runs on {newest}: "
            f"run `{upgrade_command}` to upgrade it"
        )
    raise SchemaMismatch(
        f"{where} is at schema revision {revision!r}, which this installation does not know "
        f"(it knows {', '.join(known())}; a newer release wrote it): upgrade "
        f"dispute-adjudicator (`pip install -U dispute-adjudicator`), then run "
        f"`{upgrade_command}`"
    )


def _has_tables(connection: Connection) -> bool:
    return inspect(connection).has_table("disputes")


def _lock(connection: Connection) -> None:
    """One migrator at a time: an advisory lock on PostgreSQL; SQLite's writer lock is taken
    by the transaction itself (``BEGIN IMMEDIATE``)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "adjudicator:migrations")
    config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())
