"""Line items (issue 11): a claim about some of an order's items is decided on what was paid
for those items: its disputed amount, its penalty and its manual-review threshold."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adjudicator.casefile import InvalidCase, read_case
from adjudicator.decision import decide, needs_manual_review
from adjudicator.domain import (
    Claim,
    ClaimedItem,
    ClaimType,
    Dispute,
    EvidenceRecord,
    Liability,
    Order,
    OrderItem,
    Remedy,
    claim_problem,
)
from adjudicator.facts import claim_json
from adjudicator.rulebook import load_rulebook
from evidence import EvidenceKind, Party

CST = timezone(timedelta(hours=8))
SIGNED = datetime(2026, 3, 4, 15, 20, tzinfo=CST)
GENERAL = load_rulebook("kuaishou.general")
PHONE = OrderItem("IP13", "iPhone 13", Decimal("1299.00"), 1, "356789104512345")
CHARGER = OrderItem("CHG", "USB-C charger", Decimal("99.00"), 1)


def order(*items: OrderItem, paid: str = "1398.00") -> Order:
    return Order(
        order_id="O-1",
        category="general",
        paid_amount=Decimal(paid),
        currency="CNY",
        items=items or (PHONE, CHARGER),
        shipped_at=SIGNED - timedelta(days=2),
        tracking_no="SF1",
        signed_at=SIGNED,
    )


def on(*claimed: tuple[str, int], amount: str | None = None) -> Claim:
    return Claim(
        ClaimType.VISIBLE_DEFECT,
        Remedy.REFUND_ONLY,
        None if amount is None else Decimal(amount),
        items=tuple(ClaimedItem(sku, quantity) for sku, quantity in claimed),
    )


def photo() -> EvidenceRecord:
    return EvidenceRecord("E1", Party.BUYER, EvidenceKind.PHOTO, "0" * 64, accepted=True)


# --- what was paid for the claimed items -----------------------------------------------------


def test_a_claim_naming_no_items_is_about_everything_paid() -> None:
    assert order().paid_share(()) == Decimal("1398.00")


def test_the_paid_amount_is_shared_by_the_lines_value() -> None:
    assert order().paid_share((ClaimedItem("CHG", 1),)) == Decimal("99.00")
    # a discount (1,258.20 paid for 1,398.00 of goods) is shared the same way
    discounted = order(paid="1258.20")
    assert discounted.paid_share((ClaimedItem("CHG", 1),)) == Decimal("89.10")
    assert discounted.paid_share((ClaimedItem("IP13", 1),)) == Decimal("1169.10")


def test_part_of_a_line_is_its_share_of_the_lines_quantity() -> None:
    cables = OrderItem("CABLE", "cable", Decimal("10.00"), 3)
    assert order(cables, paid="30.00").paid_share((ClaimedItem("CABLE", 2),)) == Decimal("20.00")


def test_a_share_is_rounded_half_up_to_the_cent() -> None:
    three = (OrderItem("A", "a", Decimal("1.00"), 1), OrderItem("B", "b", Decimal("2.00"), 1))
    # 10.00 x 1/3 = 3.333..., 10.00 x 2/3 = 6.666...
    assert order(*three, paid="10.00").paid_share((ClaimedItem("A", 1),)) == Decimal("3.33")
    assert order(*three, paid="10.00").paid_share((ClaimedItem("B", 1),)) == Decimal("6.67")
    assert order(*three, paid="0.05").paid_share((ClaimedItem("A", 1),)) == Decimal("0.02")


def test_free_lines_share_the_paid_amount_by_quantity() -> None:
    gifts = (OrderItem("G1", "gift", Decimal("0.00"), 1), OrderItem("G2", "gift", Decimal("0"), 3))
    assert order(*gifts, paid="8.00").paid_share((ClaimedItem("G2", 3),)) == Decimal("6.00")


# --- a claim the order cannot have -----------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "pointer", "words"),
    [
        (on(("NOPE", 1)), "/claim/items/0/sku", "no item with SKU 'NOPE'"),
        (on(("CHG", 1), ("CHG", 1)), "/claim/items/1/sku", "named twice"),
        (on(("CHG", 2)), "/claim/items/0/quantity", "is 2, more than the 1 the order has"),
        (on(("CHG", 1), amount="99.01"), "/claim/requested_amount", "more than 99.00"),
        (on(amount="1398.01"), "/claim/requested_amount", "more than the paid amount"),
    ],
)
def test_a_claim_the_order_cannot_have_is_named_by_its_field(
    claim: Claim, pointer: str, words: str
) -> None:
    problem = claim_problem(order(), claim)
    assert problem is not None
    assert problem[0] == pointer
    assert words in problem[1]


def test_a_sku_on_two_lines_cannot_be_claimed_by_it() -> None:
    twice = order(CHARGER, CHARGER, paid="198.00")
    problem = claim_problem(twice, on(("CHG", 1)))
    assert problem == (
        "/claim/items/0/sku",
        "the order has SKU 'CHG' on 2 lines: a claim cannot tell which it means",
    )
    assert claim_problem(twice, on()) is None  # the whole order still can


def test_a_claim_at_exactly_its_limits_is_possible() -> None:
    assert claim_problem(order(), on(("CHG", 1), amount="99.00")) is None
    assert claim_problem(order(), on(amount="1398.00")) is None


# --- the decision on a claimed item ----------------------------------------------------------


def dispute(claim: Claim, the_order: Order | None = None) -> Dispute:
    return Dispute("KS-1", the_order or order(), claim, SIGNED + timedelta(hours=3), (), (photo(),))


def test_the_charger_of_a_phone_order_is_decided_on_the_chargers_price() -> None:
    decision = decide(dispute(on(("CHG", 1))), GENERAL)
    assert decision.liability is Liability.MERCHANT
    assert decision.refund_amount == Decimal("99.00")
    # remedy.merchant: 3 x 99.00 = 297.00 (on the whole order it would be 4,194.00)
    assert decision.penalty_amount == Decimal("297.00")
    whole = decide(dispute(on()), GENERAL)
    assert (whole.refund_amount, whole.penalty_amount) == (Decimal("1398.00"), Decimal("4194.00"))


def test_a_requested_amount_on_claimed_items_is_refunded_but_the_penalty_is_on_their_price() -> (
    None
):
    decision = decide(dispute(on(("CHG", 1), amount="40.00")), GENERAL)
    assert (decision.refund_amount, decision.penalty_amount) == (
        Decimal("40.00"),
        Decimal("297.00"),
    )


def test_manual_review_by_amount_looks_at_what_the_claim_is_about() -> None:
    costly = order(OrderItem("MBP", "laptop", Decimal("11999.00"), 1), CHARGER, paid="12098.00")
    assert needs_manual_review(dispute(on(), costly), GENERAL)[0].rule == "review.amount"
    assert needs_manual_review(dispute(on(("CHG", 1)), costly), GENERAL) == ()
    laptop = needs_manual_review(dispute(on(("MBP", 1)), costly), GENERAL)
    assert "the claimed items' paid amount 11999.00 is at or above 10000.00" in laptop[0].because


def test_a_whole_order_claim_keeps_its_json_and_so_its_digest() -> None:
    assert "items" not in claim_json(on())
    assert claim_json(on(("CHG", 1)))["items"] == [{"sku": "CHG", "quantity": 1}]


# --- the case file --------------------------------------------------------------------------


def case_file(folder: Path, claim: dict[str, object]) -> Path:
    path = folder / "case.json"
    path.write_text(
        json.dumps(
            {
                "format": "dispute-case/1",
                "case_id": "KS-ITEMS",
                "order": {
                    "order_id": "O-1",
                    "category": "general",
                    "paid_amount": "1398.00",
                    "currency": "CNY",
                    "items": [
                        {"sku": "IP13", "name": "iPhone 13", "price": "1299.00", "quantity": 1},
                        {"sku": "CHG", "name": "charger", "price": "99.00", "quantity": 1},
                    ],
                },
                "claim": {"type": "visible_defect", "requested_remedy": "refund_only", **claim},
                "events": [{"at": "2026-03-05T10:00:00+08:00", "actor": "buyer", "action": "open"}],
            }
        ),
        "utf-8",
    )
    return path


def test_a_case_file_names_the_claimed_items(tmp_path: Path) -> None:
    case = read_case(case_file(tmp_path, {"items": [{"sku": "CHG", "quantity": 1}]}))
    assert case.claim.items == (ClaimedItem("CHG", 1),)


@pytest.mark.parametrize(
    ("items", "pointer", "words"),
    [
        ([{"sku": "USB", "quantity": 1}], "/claim/items/0/sku", "no item with SKU 'USB'"),
        ([{"sku": "CHG", "quantity": 2}], "/claim/items/0/quantity", "more than the 1"),
        ([{"sku": "CHG", "quantity": 0}], "/claim/items/0/quantity", "from 1 to"),
        ([{"sku": "CHG"}], "/claim/items/0/quantity", "is required"),
        ([{"sku": "CHG", "quantity": 1, "x": 1}], "/claim/items/0/x", "unknown field"),
        ({"sku": "CHG"}, "/claim/items", "must be a list of items"),
    ],
)
def test_a_case_file_claiming_what_the_order_lacks_is_invalid_there(
    tmp_path: Path, items: object, pointer: str, words: str
) -> None:
    with pytest.raises(InvalidCase) as caught:
        read_case(case_file(tmp_path, {"items": items}))
    assert caught.value.pointer == pointer
    assert words in caught.value.message
