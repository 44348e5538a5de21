"""Line items, offers and the merchant's shipments through ``adjudicator`` as a user runs it:
bad case files refused naming the file, the field and why (exit 2, nothing replayed); each
deadline at exactly its limit and one second past; the examples replayed into a database and
shown, explained and audited there as in memory."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import run
from tests.e2e.variants import EXAMPLES, Case, Invalid, assert_each_invalid, example, write

NEW_EXAMPLES = [f"KS-EX-00{n}" for n in range(22, 28)]


def event(when: str, actor: str, action: str, **fields: Any) -> dict[str, Any]:
    return {"at": f"2026-03-{when}+08:00", "actor": actor, "action": action, **fields}


def _offer_above(case: Case) -> None:  # KS-EX-0022's charger is 99.00 of the order
    case["events"].insert(2, event("05T11:00:00", "merchant", "offer", remedy="partial_refund"))
    case["events"][2]["amount"] = "99.01"


def _item_not_in_the_order(case: Case) -> None:
    case["claim"]["items"] = [{"sku": "AIRPODS", "quantity": 1}]


def _too_many_of_an_item(case: Case) -> None:
    case["claim"]["items"] = [{"sku": "CHG-20W", "quantity": 2}]


def _answered_at(when: str) -> Callable[[Case], None]:
    """KS-EX-0024 without the decline: rejected 05T10:00 (7 days to escalate), offered
    05T10:01 (48 h to answer), accepted at ``when``."""

    def change(case: Case) -> None:
        case["events"] = [*case["events"][:3], event(when, "buyer", "accept_offer", offer="O1")]

    return change


def _answer_to_a_declined_offer(case: Case) -> None:  # KS-EX-0024: O1 declined 05T11:00
    case["events"].insert(4, event("05T11:30:00", "buyer", "accept_offer", offer="O1"))


def _shipped_after_the_deadline(case: Case) -> None:  # KS-EX-0025: agreed 05T09:00, 48 h
    case["events"][2]["at"] = "2026-03-07T09:00:01+08:00"


def _exchange_offer_with_money(case: Case) -> None:
    case["events"][1] = event("05T09:00:00", "merchant", "offer", remedy="exchange", amount="1")


def _offer_id_not_an_id(case: Case) -> None:
    case["events"][2]["offer"] = "first"


INVALID: dict[str, Invalid] = {
    "offer_above_disputed": (
        "KS-EX-0022",
        _offer_above,
        "/events/2/amount",
        "99.01 is more than the disputed amount 99.00",
    ),
    "item_not_in_order": (
        "KS-EX-0022",
        _item_not_in_the_order,
        "/claim/items/0/sku",
        "the order has no item with SKU 'AIRPODS'",
    ),
    "too_many_of_an_item": (
        "KS-EX-0025",
        _too_many_of_an_item,
        "/claim/items/0/quantity",
        "is 2, more than the 1 the order has",
    ),
    "answer_after_lapse": (
        "KS-EX-0024",
        _answered_at("07T10:01:01"),
        "/events/3/offer",
        "O1 lapsed at 2026-03-07T10:01:00+08:00 (deadline.offer): it can no longer be answered",
    ),
    "answer_to_declined": (
        "KS-EX-0024",
        _answer_to_a_declined_offer,
        "/events/4/offer",
        "O1 is declined: it can no longer be answered",
    ),
    "shipped_late": (
        "KS-EX-0025",
        _shipped_after_the_deadline,
        "/events/2",
        "merchant_shipped is not allowed in state refunded",
    ),
    "exchange_with_money": (
        "KS-EX-0023",
        _exchange_offer_with_money,
        "/events/1/amount",
        "is 1, but exchange moves no money: leave it out",
    ),
    "offer_id_not_an_id": (
        "KS-EX-0023",
        _offer_id_not_an_id,
        "/events/2/offer",
        "must be an offer id: O1, O2, ...",
    ),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("cases")
    shutil.copytree(EXAMPLES / "evidence", here / "evidence")
    return here


def test_bad_line_items_offers_and_shipments_are_invalid_naming_the_field(folder: Path) -> None:
    assert_each_invalid(folder, INVALID)


def test_each_limit_holds_at_exactly_its_deadline(folder: Path) -> None:
    """The changes above that were one second late, made at exactly the deadline, replay."""
    answered = example("KS-EX-0024")
    _answered_at("07T10:01:00")(answered)  # 48 h after the offer
    shipped = example("KS-EX-0025")
    shipped["events"][2]["at"] = "2026-03-07T09:00:00+08:00"  # 48 h after the agreement
    exact_amount = example("KS-EX-0022")
    _offer_above(exact_amount)
    exact_amount["events"][2]["amount"] = "99.00"
    exact_amount["events"].insert(3, event("05T11:30:00", "buyer", "accept_offer", offer="O1"))
    exact_amount["events"] = exact_amount["events"][:4]
    paths = [
        write(folder, "ok-answered", answered),
        write(folder, "ok-shipped", shipped),
        write(folder, "ok-amount", exact_amount),
    ]
    done = run("replay", *map(str, paths), "--json")
    assert done.returncode == 0, done.stderr
    lines = {line["case_id"]: line for line in map(json.loads, done.stdout.splitlines())}
    assert (lines["KS-EX-0024"]["resolution"], lines["KS-EX-0024"]["refund_amount"]) == (
        "negotiated",
        "30.00",
    )
    assert (lines["KS-EX-0025"]["state"], lines["KS-EX-0025"]["remedy"]) == ("closed", "reshipment")
    assert (lines["KS-EX-0022"]["resolution"], lines["KS-EX-0022"]["refund_amount"]) == (
        "negotiated",
        "99.00",
    )


def test_the_new_examples_in_a_database_are_shown_explained_and_audited(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'disputes.db'}"
    files = [str(EXAMPLES / f"{case_id}.json") for case_id in NEW_EXAMPLES]
    memory = run("replay", "--json", *files)
    stored = run("replay", "--json", "--db", db, *files)
    assert memory.returncode == stored.returncode == 0, stored.stderr
    assert stored.stdout == memory.stdout  # the same outcome, byte for byte
    for line in memory.stdout.splitlines():
        case_id = json.loads(line)["case_id"]
        shown = run("show", case_id, "--db", db, "--json")
        assert json.loads(shown.stdout) == {
            k: v for k, v in json.loads(line).items() if k != "expected_match"
        }
    negotiated = run("explain", "KS-EX-0024", "--db", db).stdout
    assert "Offers\n  O1 by the merchant at 2026-03-05T10:01:00+08:00: partial_refund of 30.00" in (
        negotiated
    )
    assert "declined at 2026-03-05T11:00:00+08:00" in negotiated
    missed = run("explain", "KS-EX-0026", "--db", db).stdout
    assert "shipment_expired: shipment_due -> refunded [deadline.exchange_ship]" in missed
    assert "[fallback.missed_shipment: return_and_refund 1299.00]" in missed
    items = run("explain", "KS-EX-0022", "--db", db).stdout
    assert "about: 1 x CHG-20W (20W USB-C charger); paid for them: 99.00 of 1398.00" in items
    verified = run("audit", "verify", "--db", db)
    assert verified.returncode == 0, verified.stdout + verified.stderr
