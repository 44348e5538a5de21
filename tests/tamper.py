"""What someone with write access to the database could do to the log and the disputes, done
the careful way: every hash recomputed and the head row fixed, so that only the stored-state
check or a signed checkpoint kept elsewhere can tell."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, text

from adjudicator.auditlog import GENESIS, seal

SPEC = "KS-2026-000123"  # the specification's example: refund 649.50


def _entries(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT entry FROM log ORDER BY seq")).scalars()
        return [json.loads(row) for row in rows]


def _rewrite(engine: Engine, entries: list[dict[str, Any]]) -> None:
    """Replace the whole log by ``entries`` (their seq, prev and hash recomputed) and point
    the head at the last."""
    prev, rows = GENESIS, []
    for seq, entry in enumerate(entries, start=1):
        body = {k: v for k, v in entry.items() if k not in ("seq", "prev", "hash")}
        sealed = seal(seq, prev, body)
        prev = sealed["hash"]
        rows.append(
            {
                "seq": seq,
                "case_id": sealed["case_id"],
                "hash": prev,
                "entry": json.dumps(sealed, ensure_ascii=False, sort_keys=True),
            }
        )
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM log"))
        if rows:
            insert = "INSERT INTO log (seq, case_id, hash, entry) VALUES "
            connection.execute(text(insert + "(:seq, :case_id, :hash, :entry)"), rows)
        connection.execute(
            text("UPDATE log_head SET seq = :seq, hash = :hash WHERE id = 1"),
            {"seq": len(rows), "hash": prev},
        )


def edit_refund(engine: Engine) -> None:
    """The issue's reproducer: the stored dispute says 99999.00, its log still 649.50."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE disputes SET snapshot = replace(snapshot, '649.50', '99999.00') "
                "WHERE case_id = :case"
            ),
            {"case": SPEC},
        )


def edit_refund_everywhere(engine: Engine) -> None:
    """The refund changed in the stored dispute, its decisions row and its log entry, and
    every later hash recomputed with the head fixed: consistent, but not what was signed."""
    edit_refund(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE decisions SET refund_amount = '99999.00', "
                "body = replace(body, '649.50', '99999.00') WHERE case_id = :case"
            ),
            {"case": SPEC},
        )
    entries = [
        json.loads(json.dumps(e).replace("649.50", "99999.00")) if e["case_id"] == SPEC else e
        for e in _entries(engine)
    ]
    _rewrite(engine, entries)


def cut_tail(engine: Engine, count: int) -> None:
    """The last ``count`` entries deleted, and the head pointed at the new last one."""
    _rewrite(engine, _entries(engine)[:-count])


def truncate(engine: Engine) -> None:
    """Every entry deleted and the head reset, as on a new database."""
    _rewrite(engine, [])


def drop_dispute(engine: Engine, case_id: str) -> None:
    """One dispute's entries deleted and the rest renumbered and re-chained."""
    _rewrite(engine, [e for e in _entries(engine) if e["case_id"] != case_id])


def delete_head(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM log_head"))


def garble(engine: Engine, seq: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE log SET entry = :junk WHERE seq = :seq"),
            {"junk": '{"seq": 3, "case_id": ', "seq": seq},
        )


def execute(engine: Engine, statement: str, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement), values)
