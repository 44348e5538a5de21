"""The audit holds the outbox (the ``effects`` table, what the host pays out and ships) to the
log: each dispute's rows must be exactly the effects its entries order (adjudicator.effects),
the same keys, each row's kind column and body those of its effect. Its delivery state is
not in the log and is not checked. Each damage is named the same way by the one read and by
the thorough audit; on each kind of database."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlalchemy import text

from adjudicator import audit
from adjudicator.audit import Audit
from adjudicator.casefile import read_case
from adjudicator.replay import replay_into
from adjudicator.service import Adjudicator
from tests import tamper

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
SPEC = tamper.SPEC
OTHER = "KS-EX-0002"


@pytest.fixture
def loaded(service: Adjudicator) -> Adjudicator:
    for name in (SPEC, OTHER, "KS-EX-0013"):
        replay_into(service, read_case(EXAMPLES / f"{name}.json"))
    return service


def problems(service: Adjudicator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the audit names, the same whichever way finds it (and in chunks of a few rows)."""
    found = service.audit()
    with monkeypatch.context() as patch:
        patch.setattr(audit, "CHUNK", 2)
        assert said(service.audit()) == said(found)
        patch.setattr(audit, "_intact", lambda *_: None)  # the thorough way only
        assert said(service.audit()) == said(found)
    return [str(p) for p in found.problems]


def said(found: Audit) -> tuple[int, int | None, str, list[str]]:
    return found.entries, found.disputes, found.head, [str(p) for p in found.problems]


def test_an_intact_outbox_is_intact_in_one_read_whatever_was_delivered(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = tamper.effects(loaded.engine)
    assert {"refund_due", "penalty"} <= {row["kind"] for row in rows}
    handed = loaded.effects(limit=1000, lease_seconds=60, consumer="payments-1")
    assert len(handed) == len(rows)
    loaded.ack([handed[0]["id"]])  # one acknowledged, the rest leased: not the log's business
    with monkeypatch.context() as patch:
        for name in ("_read_log", "_hold_disputes"):  # the thorough way's two reads
            patch.setattr(audit, name, lambda *_: pytest.fail("read again"))
        assert loaded.audit().intact
    assert problems(loaded, monkeypatch) == []


def test_a_raised_payout_is_named_with_the_field_and_both_amounts(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tamper.refund_due(loaded.engine)["key"]
    tamper.edit_payout(loaded.engine)
    assert [e["amount"] for e in loaded.effects(limit=1000) if e["key"] == key] == ["6495.00"]
    assert problems(loaded, monkeypatch) == [
        f"dispute {SPEC}: effect {key} amount is 6495.00 in the effects table but 649.50 in its log"
    ]


def test_a_deleted_effect_is_named(loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch) -> None:
    row = tamper.refund_due(loaded.engine)
    tamper.execute(loaded.engine, "DELETE FROM effects WHERE id = :id", id=row["id"])
    assert problems(loaded, monkeypatch) == [
        f"dispute {SPEC}: effect {row['key']} is in its log but not in the effects table"
    ]


def test_an_outbox_emptied_of_a_disputes_effects_is_named(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [row["key"] for row in tamper.effects(loaded.engine, SPEC)]
    tamper.execute(loaded.engine, "DELETE FROM effects WHERE case_id = :c", c=SPEC)
    assert problems(loaded, monkeypatch) == [
        f"dispute {SPEC}: effect {key} is in its log but not in the effects table" for key in keys
    ]


def test_an_inserted_effect_is_named(loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second payout of the same refund, under a key no entry orders."""
    row = tamper.refund_due(loaded.engine)
    body = json.loads(row["body"]) | {"key": f"{SPEC}#99.0"}
    tamper.insert_effect(loaded.engine, f"{SPEC}#99.0", SPEC, "refund_due", json.dumps(body))
    assert problems(loaded, monkeypatch) == [
        f"dispute {SPEC}: effect {SPEC}#99.0 is in the effects table but not in its log"
    ]


def test_an_effect_of_a_dispute_with_no_entries_is_named(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.loads(tamper.refund_due(loaded.engine)["body"])
    body |= {"key": "KS-NOBODY#1.0", "case_id": "KS-NOBODY"}
    tamper.insert_effect(
        loaded.engine, "KS-NOBODY#1.0", "KS-NOBODY", "refund_due", json.dumps(body)
    )
    assert problems(loaded, monkeypatch) == [
        "dispute KS-NOBODY: effect KS-NOBODY#1.0 is in the effects table but not in its log"
    ]


def test_a_body_that_is_not_json_is_named(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = tamper.refund_due(loaded.engine)
    tamper.execute(loaded.engine, "UPDATE effects SET body = '{' WHERE id = :id", id=row["id"])
    assert problems(loaded, monkeypatch) == [
        f"dispute {SPEC}: effect {row['key']}'s body in the effects table is not a JSON object"
    ]


def test_a_kind_column_that_disagrees_with_its_body_is_named(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = tamper.refund_due(loaded.engine)
    tamper.execute(
        loaded.engine, "UPDATE effects SET kind = 'penalty' WHERE id = :id", id=row["id"]
    )
    assert problems(loaded, monkeypatch) == [
        f"dispute {SPEC}: effect {row['key']}'s kind column is penalty in the effects table but "
        "refund_due in its log"
    ]


def test_a_body_edited_to_another_kind_is_named_field_by_field(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refund turned into a penalty in its body and its kind column alike: every field of
    the body that is not the log's is named."""
    row = tamper.refund_due(loaded.engine)
    body = json.loads(row["body"])
    body |= {"kind": "penalty", "payer": "merchant"}
    del body["payee"]
    tamper.execute(
        loaded.engine,
        "UPDATE effects SET kind = 'penalty', body = :b WHERE id = :id",
        b=json.dumps(body),
        id=row["id"],
    )
    key = row["key"]
    assert problems(loaded, monkeypatch) == [
        f"dispute {SPEC}: effect {key}'s kind column is penalty in the effects table but "
        "refund_due in its log",
        f"dispute {SPEC}: effect {key} kind is penalty in the effects table but refund_due in "
        "its log",
        f"dispute {SPEC}: effect {key} payee is none in the effects table but buyer in its log",
        f"dispute {SPEC}: effect {key} payer is merchant in the effects table but none in its log",
    ]


def test_an_effect_filed_under_another_dispute_is_named_for_both(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = tamper.refund_due(loaded.engine)
    tamper.execute(
        loaded.engine, "UPDATE effects SET case_id = :c WHERE id = :id", c=OTHER, id=row["id"]
    )
    assert problems(loaded, monkeypatch) == [
        f"dispute {SPEC}: effect {row['key']} is in its log but not in the effects table",
        f"dispute {OTHER}: effect {row['key']} is in the effects table but not in its log",
    ]


def test_an_effect_key_of_another_entry_is_named(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = tamper.refund_due(loaded.engine)
    moved = row["key"].replace("#", "#1") + "9"
    tamper.execute(
        loaded.engine, "UPDATE effects SET key = :k WHERE id = :id", k=moved, id=row["id"]
    )
    assert problems(loaded, monkeypatch) == [
        f"dispute {SPEC}: effect {row['key']} is in its log but not in the effects table",
        f"dispute {SPEC}: effect {moved} is in the effects table but not in its log",
    ]


@pytest.mark.parametrize("seed", range(8))
def test_random_edits_of_the_outbox_are_named_as_the_thorough_audit_names_them(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Some row of the outbox, some field of its body (or a column) given some other value."""
    rng = random.Random(seed)
    rows = tamper.effects(loaded.engine)
    row = rng.choice(rows)
    body = json.loads(row["body"])
    what = rng.choice(["field", "field", "kind", "key", "case_id", "duplicate"])
    if what == "field":
        field = rng.choice(sorted(body))
        choices: list[object] = [None, 0, 1, 1.0, True, "", "x", [], {}, "6495.00", [body[field]]]
        value = rng.choice(choices)
        if json.dumps(value) == json.dumps(body[field]):
            value = [value]
        body[field] = value
        statement, values = "UPDATE effects SET body = :v WHERE id = :id", {"v": json.dumps(body)}
    elif what == "duplicate":
        statement = (
            "INSERT INTO effects (key, case_id, kind, body, deliveries) "
            "SELECT key || :v, case_id, kind, body, 0 FROM effects WHERE id = :id"
        )
        values = {"v": "x"}
    else:
        statement = f"UPDATE effects SET {what} = {what} || :v WHERE id = :id"
        values = {"v": rng.choice(["x", ".0", "#1"])}
    with loaded.engine.begin() as connection:
        connection.execute(text(statement), {"id": row["id"], **values})
    found = problems(loaded, monkeypatch)
    assert found, (what, statement, values)
