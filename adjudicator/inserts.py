"""Many rows into one table at once, the cheapest way each database takes them.

Every row of one call has the same columns, with plain values (text, whole numbers, booleans,
None). Core's ``insert`` handled each row's parameters in Python, which cost more than the
database did; here the driver takes them: PostgreSQL through ``COPY ... FROM STDIN`` (psycopg
writes each row in C, and the server reads them as one stream), SQLite through the driver's
own ``executemany``. Either runs in the connection's transaction, and a failure raises what
SQLAlchemy would have raised (an ``IntegrityError`` for a duplicate key, an
``OperationalError`` for a database gone away), so callers tell them apart as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

__all__ = ["insert_rows"]


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in the connection's transaction."""
    if not rows:
        return
    dialect = connection.dialect
    names = tuple(rows[0])
    values = itemgetter(*names)
    tuples = [_row(values(row)) for row in rows]
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy(connection, _copy_statement(dialect, table, names), tuples)
        return
    statement = _insert_statement(dialect, table, names)
    if statement is None:  # pragma: no cover - a driver whose parameters are not ? or %s
        connection.execute(insert(table), list(rows))
        return
    connection.exec_driver_sql(statement, tuples)


def _copy(connection: Connection, statement: str, tuples: list[tuple[Any, ...]]) -> None:
    import psycopg  # the driver of this connection: already loaded

    raw = connection.connection.driver_connection
    assert raw is not None  # a connection in a transaction holds its driver's
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for values in tuples:
                copy.write_row(values)
    except psycopg.Error as exc:  # raised as SQLAlchemy raises what a statement raises
        lost = connection.dialect.is_disconnect(exc, raw, None)  # type: ignore[arg-type]
        if lost:  # a connection gone away is not handed out again
            connection.invalidate(exc)
        raise DBAPIError.instance(
            statement, None, exc, psycopg.Error, connection_invalidated=lost
        ) from exc


@cache
def _columns(dialect: Dialect, table: Table, names: tuple[str, ...]) -> str:
    quote = dialect.identifier_preparer.quote
    for name in names:
        table.c[name]  # a column the table has, or a KeyError: the rows are not its
    return f"{quote(table.name)} ({', '.join(quote(name) for name in names)})"


@cache
def _copy_statement(dialect: Dialect, table: Table, names: tuple[str, ...]) -> str:
    return f"COPY {_columns(dialect, table, names)} FROM STDIN"


@cache
def _insert_statement(dialect: Dialect, table: Table, names: tuple[str, ...]) -> str | None:
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
    if mark is None:  # pragma: no cover - SQLite and psycopg take ? and %s
        return None
    return (
        f"INSERT INTO {_columns(dialect, table, names)} VALUES ({', '.join([mark] * len(names))})"
    )


def _row(values: Any) -> tuple[Any, ...]:
    """``itemgetter`` gives a tuple for two or more names, the value itself for one."""
    return values if isinstance(values, tuple) else (values,)
