"""Every row of the decision tables (RULES.md sections 4 and 5), on plain domain objects."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import count

import pytest

from adjudicator.decision import decide, needs_manual_review
from adjudicator.domain import (
    Claim,
    ClaimType,
    Dispute,
    EvidenceRecord,
    Liability,
    Order,
    OrderItem,
    PlatformFinding,
    Remedy,
)
from adjudicator.errors import AdjudicationError
from adjudicator.rulebook import Rulebook, load_rulebook
from evidence import EvidenceKind, Party

CST = timezone(timedelta(hours=8))
SIGNED = datetime(2026, 3, 4, 15, 20, tzinfo=CST)
SERIAL = "356789104512345"
GENERAL = load_rulebook("kuaishou.general")
USED_3C = load_rulebook("kuaishou.used_3c")
BUYER, MERCHANT = Party.BUYER, Party.MERCHANT
_ids = count(1)


def item(party: Party, kind: str, **facts: object) -> EvidenceRecord:
    accepted = bool(facts.pop("accepted", True))
    return EvidenceRecord(
        id=f"e{next(_ids)}",
        party=party,
        kind=EvidenceKind(kind),
        sha256="0" * 64,
        accepted=accepted,
        **facts,  # type: ignore[arg-type]
    )


def dispute(
    claim: ClaimType,
    *evidence: EvidenceRecord,
    requested: Remedy = Remedy.RETURN_AND_REFUND,
    amount: str | None = None,
    paid: str = "1299.00",
    findings: tuple[PlatformFinding, ...] = (),
    opened_at: datetime = SIGNED + timedelta(hours=3),
    **order: object,
) -> Dispute:
    base = Order(
        order_id="O-1",
        category="used_3c.phone",
        paid_amount=Decimal(paid),
        currency="CNY",
        items=(OrderItem("IP13", "iPhone 13", Decimal(paid), 1, SERIAL),),
        seven_day_return=True,
        shipped_at=SIGNED - timedelta(days=2),
        tracking_no="SF1",
        signed_at=SIGNED,
    )
    return Dispute(
        case_id="KS-1",
        order=replace(base, **order),  # type: ignore[arg-type]
        claim=Claim(claim, requested, None if amount is None else Decimal(amount)),
        opened_at=opened_at,
        findings=findings,
        evidence=evidence,
    )


def test_the_case_format_example() -> None:
    case = dispute(
        ClaimType.VISIBLE_DEFECT,
        item(BUYER, "video"),
        item(MERCHANT, "video", pre_shipment=True, shows_serial=SERIAL),
    )
    decision = decide(case, USED_3C)
    assert decision.liability is Liability.BOTH
    assert decision.remedy is Remedy.PARTIAL_REFUND
    assert decision.refund_amount == Decimal("649.50")
    assert decision.return_shipping_payer is None
    assert decision.penalty_amount == Decimal("2338.20")
    assert decision.rules == ("burden.visible_defect", "weigh.equal", "remedy.both")


@pytest.mark.parametrize(
    ("evidence", "rule", "liability"),
    [
        ((), "weigh.no_proof", Liability.BUYER),
        ((item(BUYER, "photo", accepted=False),), "weigh.no_proof", Liability.BUYER),
        ((item(MERCHANT, "photo"),), "weigh.no_proof", Liability.BUYER),  # wrong party
        ((item(BUYER, "photo"),), "weigh.unrebutted", Liability.MERCHANT),
        (
            (item(BUYER, "video"), item(MERCHANT, "inspection_certificate", result="pass")),
            "weigh.weaker_rebuttal",
            Liability.MERCHANT,
        ),
        (
            (item(BUYER, "video"), item(MERCHANT, "video", pre_shipment=True)),
            "weigh.equal",
            Liability.BOTH,
        ),
        (
            (
                item(BUYER, "photo"),
                item(MERCHANT, "inspection_certificate", result="pass", authoritative=True),
            ),
            "weigh.stronger_rebuttal",
            Liability.BUYER,
        ),
        (  # a video shot after shipping is no pre-shipment rebuttal
            (item(BUYER, "photo"), item(MERCHANT, "video", pre_shipment=False)),
            "weigh.unrebutted",
            Liability.MERCHANT,
        ),
    ],
)
def test_weighing_rows(
    evidence: tuple[EvidenceRecord, ...], rule: str, liability: Liability
) -> None:
    decision = decide(dispute(ClaimType.VISIBLE_DEFECT, *evidence), GENERAL)
    assert decision.rules[1] == rule
    assert decision.liability is liability


def test_a_burdened_merchant_who_proves_nothing_is_liable() -> None:
    decision = decide(dispute(ClaimType.INVISIBLE_DEFECT), GENERAL)
    assert (decision.liability, decision.rules[1]) == (Liability.MERCHANT, "weigh.no_proof")
    proved = dispute(
        ClaimType.INVISIBLE_DEFECT,
        item(MERCHANT, "inspection_certificate", result="pass", authoritative=True),
        item(BUYER, "inspection_certificate", result="fail"),
    )
    assert decide(proved, GENERAL).liability is Liability.BUYER  # 3 against 1


def test_remedies_by_liability() -> None:
    merchant = decide(dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "photo")), GENERAL)
    assert merchant.remedy is Remedy.RETURN_AND_REFUND
    assert (merchant.refund_amount, merchant.return_shipping_payer) == (
        Decimal("1299.00"),
        MERCHANT,
    )
    assert merchant.penalty_amount == Decimal("3897.00")
    refund_only = dispute(
        ClaimType.VISIBLE_DEFECT, item(BUYER, "photo"), requested=Remedy.REFUND_ONLY
    )
    assert decide(refund_only, GENERAL).return_shipping_payer is None
    partial = dispute(
        ClaimType.VISIBLE_DEFECT,
        item(BUYER, "photo"),
        requested=Remedy.PARTIAL_REFUND,
        amount="300.00",
    )
    decided = decide(partial, GENERAL)
    assert (decided.remedy, decided.refund_amount) == (Remedy.PARTIAL_REFUND, Decimal("300.00"))
    assert decided.penalty_amount == Decimal("3897.00")  # on the paid amount, not the disputed
    buyer = decide(dispute(ClaimType.VISIBLE_DEFECT, requested=Remedy.REFUND_ONLY), GENERAL)
    assert (buyer.remedy, buyer.refund_amount) == (Remedy.REJECT_REFUND, Decimal("0.00"))
    assert buyer.penalty_amount == Decimal("0.00")
    assert decide(dispute(ClaimType.VISIBLE_DEFECT), GENERAL).remedy is Remedy.REJECT_RETURN


def test_money_rounds_half_up_and_penalties_have_a_floor() -> None:
    both = dispute(
        ClaimType.VISIBLE_DEFECT,
        item(BUYER, "video"),
        item(MERCHANT, "video", pre_shipment=True),
        paid="0.05",
    )
    decision = decide(both, GENERAL)
    assert decision.refund_amount == Decimal("0.03")  # 0.025 half up
    assert decision.penalty_amount == Decimal("50.00")  # max(1.8 x 0.05, 50.00)
    small = decide(dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "photo"), paid="10.00"), GENERAL)
    assert small.penalty_amount == Decimal("50.00")  # max(3 x 10.00, 50.00)


def test_illegal_origin() -> None:
    found = decide(
        dispute(ClaimType.ILLEGAL_ORIGIN, findings=(PlatformFinding.ILLEGAL_ORIGIN,)), GENERAL
    )
    assert (found.liability, found.remedy) == (Liability.MERCHANT, Remedy.REFUND_ONLY)
    assert found.violations == ("prohibited_goods",)
    assert found.return_shipping_payer is None
    assert found.rules == (
        "burden.illegal_origin",
        "special.illegal_origin.found",
        "remedy.merchant",
    )
    none = decide(dispute(ClaimType.ILLEGAL_ORIGIN, item(BUYER, "photo")), GENERAL)
    assert (none.liability, none.remedy) == (Liability.BUYER, Remedy.REJECT_RETURN)
    asked_refund = dispute(ClaimType.ILLEGAL_ORIGIN, requested=Remedy.REFUND_ONLY)
    assert decide(asked_refund, GENERAL).remedy is Remedy.REJECT_REFUND


def test_unofficial_repair_is_used_3c_only() -> None:
    case = dispute(ClaimType.UNOFFICIAL_REPAIR, item(BUYER, "video"))
    decision = decide(case, USED_3C)
    assert decision.liability is Liability.MERCHANT
    assert decision.violations == ("quality_problem_promoted",)
    assert decision.remedy is Remedy.RETURN_AND_REFUND  # the buyer's request is granted
    assert decision.rules[-2:] == ("special.unofficial_repair", "remedy.merchant")
    found = dispute(ClaimType.UNOFFICIAL_REPAIR, findings=(PlatformFinding.UNOFFICIAL_REPAIR,))
    assert decide(found, USED_3C).rules[1] == "special.unofficial_repair"
    rebutted = dispute(
        ClaimType.UNOFFICIAL_REPAIR,
        item(BUYER, "photo"),
        item(MERCHANT, "inspection_certificate", result="pass", authoritative=True),
    )
    assert decide(rebutted, USED_3C).violations == ()
    with pytest.raises(AdjudicationError, match="does not decide claim type unofficial_repair"):
        decide(case, GENERAL)


def test_carrier_loss() -> None:
    case = dispute(
        ClaimType.NOT_RECEIVED,
        requested=Remedy.REFUND_ONLY,
        findings=(PlatformFinding.CARRIER_LOSS,),
    )
    decision = decide(case, GENERAL)
    assert (decision.liability, decision.remedy) == (Liability.NEITHER, Remedy.REFUND_ONLY)
    assert (decision.refund_amount, decision.penalty_amount) == (
        Decimal("1299.00"),
        Decimal("0.00"),
    )


def test_not_received_and_not_shipped() -> None:
    delivered = dispute(
        ClaimType.NOT_RECEIVED,
        item(MERCHANT, "logistics_record", status="delivered"),
        item(BUYER, "chat_record"),
        requested=Remedy.REFUND_ONLY,
    )
    assert decide(delivered, GENERAL).liability is Liability.BUYER  # 2 against 1
    in_transit = dispute(
        ClaimType.NOT_RECEIVED, item(MERCHANT, "logistics_record", status="in_transit")
    )
    assert decide(in_transit, GENERAL).liability is Liability.MERCHANT  # no sign-for
    unproven = decide(dispute(ClaimType.NOT_SHIPPED), GENERAL)
    assert (unproven.liability, unproven.remedy) == (Liability.MERCHANT, Remedy.REFUND_ONLY)
    assert "special.not_shipped.unproven" in unproven.rules
    shipped = dispute(ClaimType.NOT_SHIPPED, item(MERCHANT, "logistics_record", status="shipped"))
    assert decide(shipped, GENERAL).liability is Liability.BUYER


def test_no_reason_return() -> None:
    upheld = decide(dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo")), GENERAL)
    assert (upheld.liability, upheld.remedy) == (Liability.MERCHANT, Remedy.RETURN_AND_REFUND)
    assert upheld.return_shipping_payer is BUYER
    assert upheld.penalty_amount == Decimal("3897.00")
    assert "special.no_reason_return.upheld" in upheld.rules
    for ineligible in (
        dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), seven_day_return=False),
        dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), exclusions=("custom_made",)),
    ):
        decision = decide(ineligible, GENERAL)
        assert (decision.liability, decision.remedy) == (Liability.BUYER, Remedy.REJECT_RETURN)
        assert decision.rules[1] == "special.no_reason_return.ineligible"


def test_no_reason_return_window_counts_from_midnight_after_signing() -> None:
    last = datetime(2026, 3, 12, 0, 0, tzinfo=CST)  # 168 h from 2026-03-05 00:00
    on_time = dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), opened_at=last)
    assert decide(on_time, GENERAL).liability is Liability.MERCHANT
    late = replace(on_time, opened_at=last + timedelta(seconds=1))
    assert decide(late, GENERAL).rules[1] == "special.no_reason_return.ineligible"


def test_a_pre_shipment_rebuttal_showing_the_serial_counts_one_stronger_in_used_3c() -> None:
    case = dispute(
        ClaimType.WRONG_ITEM,
        item(BUYER, "video"),
        item(MERCHANT, "photo", pre_shipment=True, shows_serial=SERIAL),
    )
    assert decide(case, USED_3C).liability is Liability.BOTH  # 2 against 1 + 1
    assert decide(case, GENERAL).liability is Liability.MERCHANT  # 2 against 1
    other_serial = dispute(
        ClaimType.WRONG_ITEM,
        item(BUYER, "video"),
        item(MERCHANT, "photo", pre_shipment=True, shows_serial="000"),
    )
    assert decide(other_serial, USED_3C).liability is Liability.MERCHANT


def test_manual_review() -> None:
    assert needs_manual_review(dispute(ClaimType.VISIBLE_DEFECT), GENERAL) is None
    rich = dispute(ClaimType.VISIBLE_DEFECT, paid="10000.00")
    review = needs_manual_review(rich, GENERAL)
    assert review is not None
    assert "10000.00" in review.because
    near = dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "photo", near_duplicate=True))
    assert needs_manual_review(near, GENERAL) is not None


def test_every_rule_in_the_trace_exists_in_the_rulebook() -> None:
    books: dict[str, Rulebook] = {"general": GENERAL, "used_3c": USED_3C}
    for book in books.values():
        for claim in book.claim_types:
            decision = decide(dispute(claim, item(BUYER, "photo")), book)
            for rule in decision.rules:
                assert (
                    rule in book.specials
                    or rule in {b.id for b in book.burdens.values()}
                    or rule in {r.id for r in book.weigh}
                    or rule in {r.id for r in book.remedies.values()}
                ), rule
