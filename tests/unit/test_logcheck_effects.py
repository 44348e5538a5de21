"""What a dispute's entries order (adjudicator.logcheck.Told.effects), held to a Ledger given
every entry as the writer gives them: the audit gives its ledger only the entries it reads
besides counting them, and must get the same effects, at every step of every example. And
an outbox row held to its effect (compare_effects), without a database."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from adjudicator.auditlog import seal
from adjudicator.casefile import read_case
from adjudicator.effects import Ledger
from adjudicator.jsontext import text as json_text
from adjudicator.logcheck import Told, compare_effects
from adjudicator.replay import replay
from tests.unit.test_logcheck import CASES, EXAMPLES, VARIANTS, case_path


class Row(NamedTuple):
    case_id: str
    key: str
    kind: str
    body: str


def told_of(entries: list[dict[str, Any]], currency: str, refund: Any) -> Told:
    told = Told(entries[0]["case_id"])
    for entry in entries:
        told.observe(entry)
    told.currency, told.refund = currency, refund
    return told


def every_entry(entries: list[dict[str, Any]], currency: str, refund: Any) -> list[Any]:
    hint = None if refund is None else Decimal(str(refund))
    ledger = Ledger(entries[0]["case_id"], currency, refund_hint=hint)
    return [effect for entry in entries for effect in ledger.observe(entry)]


@pytest.mark.parametrize(
    "source", [*CASES, *VARIANTS.values()], ids=[p.stem for p in CASES] + list(VARIANTS)
)
def test_the_entries_the_audit_gives_its_ledger_order_what_every_entry_orders(
    source: Path | dict[str, Any], tmp_path: Path
) -> None:
    replayed = replay(read_case(case_path(source, tmp_path)))
    log, case = replayed.log, replayed.case
    for refund in (None, case.refund_amount, "1.00"):  # the hint, where the log says nothing
        for end in range(1, len(log) + 1):
            told = told_of(log[:end], case.order.currency, refund)
            assert told.effects() == every_entry(log[:end], case.order.currency, refund)


def test_the_examples_order_every_kind_of_effect_but_reversals(tmp_path: Path) -> None:
    """The step-by-step test above sees refunds, penalties, returns and shipments ordered."""
    kinds: set[str] = set()
    for name, source in VARIANTS.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(source), "utf-8")
    for path in [*CASES, *tmp_path.glob("*.json")]:
        replayed = replay(read_case(path))
        kinds |= {e["kind"] for e in every_entry(replayed.log, "CNY", None)}
    assert {"refund_due", "penalty", "return_shipping", "shipment", "shipment_cancelled"} <= kinds


def _spec() -> tuple[Told, list[dict[str, Any]]]:
    replayed = replay(read_case(EXAMPLES / "KS-2026-000123.json"))
    told = told_of(replayed.log, replayed.case.order.currency, replayed.case.refund_amount)
    effects = told.effects()
    assert effects
    return told, effects


def rows_of(effects: list[dict[str, Any]]) -> list[Row]:
    return [Row(e["case_id"], e["key"], e["kind"], json_text(e)) for e in effects]


def test_rows_as_the_writer_writes_them_are_the_effects() -> None:
    told, effects = _spec()
    assert compare_effects(told.case_id, told, rows_of(effects)) == []
    sorted_keys = [
        row._replace(body=json.dumps(json.loads(row.body), sort_keys=True))
        for row in rows_of(effects)
    ]
    assert compare_effects(told.case_id, told, sorted_keys) == []  # the same JSON


@pytest.mark.parametrize(
    ("value", "shown"), [(True, "true"), (1.0, "1.0"), ("9", "9"), (None, "none")]
)
def test_a_seq_that_only_equals_the_entrys_is_named(value: object, shown: str) -> None:
    told, effects = _spec()
    rows = rows_of(effects)
    body = json.loads(rows[0].body)
    seq, body["seq"] = body["seq"], value
    rows[0] = rows[0]._replace(body=json.dumps(body))
    assert [str(p) for p in compare_effects(told.case_id, told, rows)] == [
        f"dispute {told.case_id}: effect {rows[0].key} seq is {shown} in the effects table but "
        f"{seq} in its log"
    ]


def test_a_forged_entry_the_ledger_cannot_read_is_named_not_raised() -> None:
    """A decision whose penalty is too large for any sum (resealed, so the chain holds)."""
    told, effects = _spec()
    entry = seal(99, "0" * 64, {"case_id": told.case_id, "event": "decision", "at": "x"})
    entry["decision"] = {"penalty_amount": "1e999999999", "refund_amount": "-1e999999999"}
    told.observe(entry)
    found = [str(p) for p in compare_effects(told.case_id, told, rows_of(effects))]
    assert found[0].startswith(f"dispute {told.case_id}: its effects cannot be worked out from ")
    listed = {"event": ["decision"], "to": "refunded"}
    again = Told(told.case_id)
    again.observe({"case_id": told.case_id, **listed})
    found = [str(p) for p in compare_effects(told.case_id, again, [])]
    assert found[0].startswith(f"dispute {told.case_id}: its effects cannot be worked out from ")
