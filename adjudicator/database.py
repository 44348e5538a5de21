"""The database engine for a URL: SQLite by default, PostgreSQL at scale.

This project's connection settings live here (SQLite's busy timeout, write-ahead log and
``BEGIN IMMEDIATE``; PostgreSQL's pre-ping). The engine knows nothing of the tables
(:mod:`adjudicator.persistence`) or of the schema's revision (:mod:`adjudicator.migrations`,
which the service asks to check it before use), beyond :func:`at_revision`, the check that
lets a database already at the newest revision be opened without loading Alembic. Nothing
connects at import time.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import create_engine

VERSIONS = Path(__file__).with_name("migrations") / "versions"
"""Where the schema revisions are (Alembic's ``versions`` folder)."""
VERSION_TABLE = "alembic_version"
_REVISION_LINE = re.compile(
    r"""^(revision|down_revision|depends_on)(?:\s*:[^=\n]*)?\s*="""
    r"""\s*(?:"([^"\n]+)"|'([^'\n]+)'|None)\s*$""",
    re.MULTILINE,
)


def engine_for(url: str) -> Engine:
    """An engine for ``url`` with this project's connection settings, schema unchecked."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # how long a writer waits for another's lock: ``?timeout=SECONDS`` (default 30)
        raw = parsed.query.get("timeout", "30")
        try:
            seconds = float(raw if isinstance(raw, str) else raw[-1])
        except ValueError:
            raise ArgumentError(f"timeout={raw!r} is not a number of seconds") from None
        if not 0 <= seconds <= 3600:
            raise ArgumentError(f"timeout={raw!r} must be 0 to 3600 seconds")
        plain = parsed.difference_update_query(["timeout"])
        engine = create_engine(plain, connect_args={"timeout": seconds})
        _sqlite_transactions(engine, seconds)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _write_ahead_log(cursor: Any) -> None:
    """Put the database in WAL mode (it stays so). The switch, made once per file, answers
    "database is locked" at once, without the busy timeout, while other connections are
    opening the new file: those are waited out here, for up to ten seconds."""
    for attempt in range(200):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 199:
                raise
            time.sleep(0.05)


def _sqlite_transactions(engine: Engine, timeout: float) -> None:
    """WAL, a busy timeout, and ``BEGIN IMMEDIATE``: writers queue instead of failing late."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        _write_ahead_log(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@functools.cache
def newest_revision() -> str | None:
    """The newest schema revision this installation has, read from each revision file's
    ``revision``, ``down_revision`` and ``depends_on`` lines, without Alembic; None when the
    files do not say it plainly (a file without them, a merge, a dependency, two heads): then
    only Alembic can tell. tests/integration/test_migration_head.py holds it to Alembic's own
    ``head()``."""
    revisions: dict[str, str | None] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        if path.name.startswith("_"):
            continue
        found: dict[str, str | None] = {}
        for match in _REVISION_LINE.finditer(path.read_text(encoding="utf-8")):
            if match[1] in found:
                return None
            found[match[1]] = match[2] or match[3]
        if (
            set(found) != {"revision", "down_revision", "depends_on"}
            or found["revision"] is None
            or found["depends_on"] is not None
        ):
            return None
        revisions[found["revision"]] = found["down_revision"]
    heads = set(revisions) - {below for below in revisions.values() if below is not None}
    return heads.pop() if len(heads) == 1 and len(revisions) > 0 else None


def at_revision(engine: Engine, revision: str) -> bool:
    """Whether the database's schema is at ``revision``: Alembic's version table holds that
    revision and nothing else. The queries are those Alembic makes to read it (whether the
    table is there, then its rows), so a database that cannot be read fails here as it would
    there; any answer but yes is for Alembic to look into."""
    with engine.connect() as connection:
        try:
            if not inspect(connection).has_table(VERSION_TABLE):
                return False
            rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
        finally:
            connection.rollback()
    return [row[0] for row in rows] == [revision]
