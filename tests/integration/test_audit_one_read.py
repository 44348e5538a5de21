"""The audit reads an intact database once (adjudicator.audit._intact: the log dispute by
dispute, each row beside the hash column of the row before it) and reads it all again the
thorough way as soon as anything is not as it should be: what it reports is always what the
thorough audit alone reports, line for line. On each kind of database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from adjudicator import audit
from adjudicator.audit import Audit
from adjudicator.auditlog import seal
from adjudicator.casefile import read_case
from adjudicator.replay import replay_into
from adjudicator.service import Adjudicator
from tests import tamper

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
SPEC = tamper.SPEC


@pytest.fixture
def loaded(service: Adjudicator) -> Adjudicator:
    for name in (SPEC, "KS-EX-0002", "KS-EX-0013"):
        replay_into(service, read_case(EXAMPLES / f"{name}.json"))
    return service


def said(found: Audit) -> tuple[int, int | None, str, list[str]]:
    return found.entries, found.disputes, found.head, [str(p) for p in found.problems]


def thorough(service: Adjudicator, monkeypatch: pytest.MonkeyPatch) -> Audit:
    """The audit without its one read: the thorough way only."""
    with monkeypatch.context() as patch:
        patch.setattr(audit, "_intact", lambda *_: None)
        return service.audit()


def _entry(engine: Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT entry FROM log WHERE seq = :s"), {"s": seq})
        entry: dict[str, Any] = json.loads(stored.scalar_one())
        return entry


def _store(engine: Engine, seq: int, entry: dict[str, Any], *, hash_column: bool) -> None:
    """The entry written back as row ``seq`` (and its hash as the row's hash column)."""
    body = json.dumps(entry, ensure_ascii=False, sort_keys=True)
    column = ", hash = :h" if hash_column else ""
    tamper.execute(
        engine, f"UPDATE log SET entry = :e{column} WHERE seq = :s", e=body, s=seq, h=entry["hash"]
    )


def resealed(engine: Engine, seq: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Entry ``seq`` changed and its own hash recomputed (and its row's hash column): the
    entry after it no longer follows it."""
    entry = _entry(engine, seq)
    change(entry)
    body = {k: v for k, v in entry.items() if k not in ("seq", "prev", "hash")}
    _store(engine, seq, seal(entry["seq"], entry["prev"], body), hash_column=True)


def _edit(seq: int, key: str, value: Any) -> Callable[[Engine], None]:
    def edit(engine: Engine) -> None:
        entry = _entry(engine, seq)
        entry[key] = value
        _store(engine, seq, entry, hash_column=False)

    return edit


def _sql(statement: str, **values: Any) -> Callable[[Engine], None]:
    return lambda engine: tamper.execute(engine, statement, **values)


def _last_seq_moved(engine: Engine) -> None:
    with engine.connect() as connection:
        last = connection.execute(text("SELECT max(seq) FROM log")).scalar_one()
    tamper.execute(engine, "UPDATE log SET seq = :to WHERE seq = :s", to=last + 5, s=last)


DAMAGE: dict[str, Callable[[Engine], None]] = {
    "an entry edited, its hash left": _edit(5, "actor", "platform"),
    "an entry's seq edited, its hash left": _edit(5, "seq", 6),
    "an entry resealed with another seq": lambda e: resealed(e, 5, lambda x: x.update(seq=4)),
    "an entry resealed with another prev": lambda e: resealed(
        e, 5, lambda x: x.update(prev="ab" * 32)
    ),
    "an entry resealed under another dispute": lambda e: resealed(
        e, 5, lambda x: x.update(case_id="KS-EX-0002")
    ),
    "an entry resealed without its case_id": lambda e: resealed(e, 5, lambda x: x.pop("case_id")),
    "a row's hash column": _sql("UPDATE log SET hash = :h WHERE seq = 7", h="cd" * 32),
    "a row's case_id column": _sql("UPDATE log SET case_id = 'KS-EX-0002' WHERE seq = 1"),
    "a row's case_id column naming no dispute": _sql(
        "UPDATE log SET case_id = 'KS-X' WHERE seq = 9"
    ),
    "the first row deleted": _sql("DELETE FROM log WHERE seq = 1"),
    "a row in the middle deleted": _sql("DELETE FROM log WHERE seq = 15"),
    "the last row numbered past the end": _last_seq_moved,
    "an entry that is not JSON": lambda e: tamper.garble(e, 3),
    "an entry that is a JSON list": _sql("UPDATE log SET entry = '[1]' WHERE seq = 3"),
    "the head's seq": _sql("UPDATE log_head SET seq = seq - 1"),
    "the head's hash": _sql("UPDATE log_head SET hash = :h", h="ef" * 32),
    "the head deleted": tamper.delete_head,
    "a tail cut, the head fixed": lambda e: tamper.cut_tail(e, 3),
    "a stored refund": tamper.edit_refund,
    "a decision's body": _sql("UPDATE decisions SET body = replace(body, 'both', 'buyer')"),
    "a decision's body not JSON": _sql("UPDATE decisions SET body = '{' WHERE id = 1"),
    "an evidence verdict": _sql("UPDATE evidence SET verdict = replace(verdict, 'true', 'false')"),
    "an evidence row deleted": _sql("DELETE FROM evidence WHERE id = 2"),
    "a decisions row deleted": _sql("DELETE FROM decisions WHERE id = 1"),
    "a dispute's row deleted": _sql("DELETE FROM disputes WHERE case_id = 'KS-EX-0002'"),
    "a dispute's entries dropped": lambda e: tamper.drop_dispute(e, SPEC),
    "a dispute's state column": _sql(
        "UPDATE disputes SET state = 'requested' WHERE case_id = :c", c=SPEC
    ),
    "a payout raised in the outbox": tamper.edit_payout,
    "an effect deleted": _sql("DELETE FROM effects WHERE id = 1"),
    "the outbox emptied": _sql("DELETE FROM effects"),
    "an effect inserted": _sql(
        "INSERT INTO effects (key, case_id, kind, body, deliveries) "
        "SELECT key || '0', case_id, kind, body, 0 FROM effects WHERE id = 1"
    ),
    "an effect's kind column": _sql("UPDATE effects SET kind = 'refund_reversed' WHERE id = 1"),
    "an effect's body not JSON": _sql("UPDATE effects SET body = '[' WHERE id = 1"),
    "an effect's body another JSON value": _sql("UPDATE effects SET body = '7' WHERE id = 1"),
    "an effect filed under a dispute with no entries": _sql(
        "UPDATE effects SET case_id = 'KS-X' WHERE id = 1"
    ),
    "an effect filed under another dispute": _sql(
        "UPDATE effects SET case_id = 'KS-EX-0002' WHERE case_id = :c", c=SPEC
    ),
    "an effect's key": _sql("UPDATE effects SET key = key || '1' WHERE id = 1"),
}


def test_an_intact_database_is_audited_in_one_read(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = thorough(loaded, monkeypatch)
    assert whole.intact
    with monkeypatch.context() as patch:
        for name in ("_read_log", "_hold_disputes"):  # the thorough way's two reads
            patch.setattr(audit, name, lambda *_: pytest.fail("read again"))
        assert said(loaded.audit()) == said(whole)
    assert said(loaded.audit()) == said(whole)


def test_a_consistent_rewrite_is_intact_read_once(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every hash recomputed and the head fixed: the one read finds nothing either (only a
    checkpoint could)."""
    tamper.edit_refund_everywhere(loaded.engine)
    found = loaded.audit()
    assert found.intact
    assert said(found) == said(thorough(loaded, monkeypatch))


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damage_is_named_as_the_thorough_audit_names_it(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    DAMAGE[damage](loaded.engine)
    expected = said(thorough(loaded, monkeypatch))
    assert expected[3], "the damage is named"
    assert said(loaded.audit()) == expected
    with monkeypatch.context() as patch:
        patch.setattr(audit, "CHUNK", 7)
        assert said(loaded.audit()) == expected


def test_rows_sharing_a_seq_are_named_as_the_thorough_audit_names_them(
    service: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the log's primary key dropped, two rows could share a seq; both linked, they are
    still not a chain (its count is more than its last seq)."""
    replay_into(service, read_case(EXAMPLES / f"{SPEC}.json"))
    with service.engine.begin() as connection:
        if service.engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE log DROP CONSTRAINT log_pkey"))
        else:  # SQLite: the table made again without it
            connection.execute(text("CREATE TABLE log_copy AS SELECT * FROM log"))
            connection.execute(text("DROP TABLE log"))
            connection.execute(text("ALTER TABLE log_copy RENAME TO log"))
        connection.execute(text("INSERT INTO log SELECT * FROM log WHERE seq = 4"))
    expected = said(thorough(service, monkeypatch))
    assert expected[3][0] == "entry 5: has seq 4 where 5 belongs"
    assert "entry 5: is stored under seq 4 (its row's seq column)" in expected[3]
    assert said(service.audit()) == expected


def test_an_entry_with_space_around_it_is_read_the_thorough_way(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON allows space around a value, and the log never writes any: the one read takes an
    entry only as the log writes it, and leaves one with space around it to the thorough
    way, which finds it whole."""
    _sql("UPDATE log SET entry = ' ' || entry || ' ' WHERE seq = 5")(loaded.engine)
    expected = said(thorough(loaded, monkeypatch))
    assert expected[3] == []
    one_read = audit._intact
    found: list[object] = []
    with monkeypatch.context() as patch:
        patch.setattr(audit, "_intact", lambda *a: found.append(one_read(*a)))
        assert said(loaded.audit()) == expected
    assert found == [None]
