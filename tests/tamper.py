"""What someone with write access to the database could do to the log and the disputes, done
the careful way: every hash recomputed, the head row fixed and the outbox written anew as
the new log orders it, so that only the stored-state check or a signed checkpoint kept
elsewhere can tell."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, text

from adjudicator.auditlog import GENESIS, seal
from adjudicator.effects import Ledger

SPEC = "KS-2026-000123"  # the specification's example: refund 649.50


def _entries(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT entry FROM log ORDER BY seq")).scalars()
        return [json.loads(row) for row in rows]


def _rewrite(engine: Engine, entries: list[dict[str, Any]]) -> None:
    """Replace the whole log by ``entries`` (their seq, prev and hash recomputed), point the
    head at the last, and the outbox by the effects the new log orders (as the writer works
    them out, from the stored disputes' currency and refund)."""
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT case_id, snapshot FROM disputes"))
        snapshots = {case_id: json.loads(snapshot) for case_id, snapshot in stored}
    ledgers: dict[str, Ledger] = {}
    effects: list[dict[str, Any]] = []
    prev, rows = GENESIS, []
    for seq, entry in enumerate(entries, start=1):
        body = {k: v for k, v in entry.items() if k not in ("seq", "prev", "hash")}
        sealed = seal(seq, prev, body)
        case_id = sealed["case_id"]
        if case_id not in ledgers:
            data = snapshots.get(case_id, {})
            refund = data.get("refund_amount")
            ledgers[case_id] = Ledger(
                case_id,
                data.get("order", {}).get("currency"),
                refund_hint=None if refund is None else Decimal(refund),
            )
        effects += ledgers[case_id].observe(sealed)
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
        connection.execute(text("DELETE FROM effects"))
        for effect in effects:
            insert_effect(
                connection,
                effect["key"],
                effect["case_id"],
                effect["kind"],
                json.dumps(effect, ensure_ascii=False),
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


# --- the outbox (docs/effects.md): what the host pays out and ships ----------------------------
def effects(engine: Engine, case_id: str | None = None) -> list[dict[str, Any]]:
    """The effects rows (of one dispute, or all), in id order: id, key, case_id, kind, body."""
    query = "SELECT id, key, case_id, kind, body FROM effects"
    where = "" if case_id is None else " WHERE case_id = :case"
    with engine.connect() as connection:
        found = connection.execute(text(query + where + " ORDER BY id"), {"case": case_id})
        return [dict(row._mapping) for row in found]


def refund_due(engine: Engine) -> dict[str, Any]:
    """The specification's refund of 649.50 in the outbox."""
    (row,) = [e for e in effects(engine, SPEC) if e["kind"] == "refund_due"]
    assert json.loads(row["body"])["amount"] == "649.50"
    return row


def edit_payout(engine: Engine) -> None:
    """The refund the host pays out raised tenfold in the outbox, the log left as it was."""
    execute(
        engine,
        'UPDATE effects SET body = replace(body, \'"amount": "649.50"\', \'"amount": '
        '"6495.00"\') WHERE id = :id',
        id=refund_due(engine)["id"],
    )


def insert_effect(
    engine: Engine | Connection, key: str, case_id: str, kind: str, body: str
) -> None:
    """A row in the outbox (on ``engine``, or in the transaction of ``connection``)."""
    insert = text(
        "INSERT INTO effects (key, case_id, kind, body, deliveries) "
        "VALUES (:key, :case, :kind, :body, 0)"
    )
    values = {"key": key, "case": case_id, "kind": kind, "body": body}
    if isinstance(engine, Connection):
        engine.execute(insert, values)
        return
    with engine.begin() as connection:
        connection.execute(insert, values)
