"""The database engine for a URL: SQLite by default, PostgreSQL at scale.

This project's connection settings live here (SQLite's busy timeout, write-ahead log and
``BEGIN IMMEDIATE``; PostgreSQL's pre-ping). The engine knows nothing of the tables
(:mod:`adjudicator.persistence`) or of the schema's revision (:mod:`adjudicator.migrations`,
which the service asks to check it before use). Nothing connects at import time.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import create_engine


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
