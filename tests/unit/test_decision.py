"""Every row of the decision tables (RULES.md sections 4 and 5), on plain domain objects."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import count

import pytest

from adjudicator.decision import Refusal, decide, decide_manually, needs_manual_review
from adjudicator.domain import (
    Claim,
    ClaimType,
    Decision,
    Dispute,
    EvidenceRecord,
    Liability,
    Order,
    OrderItem,
    Payer,
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
        id=str(facts.pop("id", f"e{next(_ids)}")),
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
        Payer.MERCHANT,
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
    assert upheld.return_shipping_payer is Payer.BUYER
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
    assert needs_manual_review(dispute(ClaimType.VISIBLE_DEFECT), GENERAL) == ()
    rich = dispute(ClaimType.VISIBLE_DEFECT, paid="10000.00")  # at the threshold: inclusive
    assert [step.rule for step in needs_manual_review(rich, GENERAL)] == ["review.amount"]
    assert "10000.00" in needs_manual_review(rich, GENERAL)[0].because
    assert needs_manual_review(dispute(ClaimType.VISIBLE_DEFECT, paid="9999.99"), GENERAL) == ()
    near = dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "photo", near_duplicate=True))
    assert [step.rule for step in needs_manual_review(near, GENERAL)] == ["review.near_duplicate"]
    rejected_near = dispute(
        ClaimType.VISIBLE_DEFECT, item(BUYER, "photo", accepted=False, near_duplicate=True)
    )
    assert needs_manual_review(rejected_near, GENERAL) == ()
    both = dispute(
        ClaimType.VISIBLE_DEFECT, item(BUYER, "photo", near_duplicate=True), paid="12000.00"
    )
    assert [step.rule for step in needs_manual_review(both, GENERAL)] == [
        "review.amount",
        "review.near_duplicate",
    ]


def test_an_eligible_no_reason_return_has_no_shared_liability() -> None:
    # photo (1) against photo (1): the table says both; a no-reason return has no both, so the
    # buyer's return is upheld, at the buyer's shipping cost
    equal = dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), item(MERCHANT, "photo"))
    decision = decide(equal, GENERAL)
    assert (decision.liability, decision.remedy) == (Liability.MERCHANT, Remedy.RETURN_AND_REFUND)
    assert (decision.refund_amount, decision.return_shipping_payer) == (
        Decimal("1299.00"),
        Payer.BUYER,
    )
    assert decision.penalty_amount == Decimal("3897.00")
    assert decision.rules == (
        "burden.no_reason_return",
        "weigh.equal",
        "special.no_reason_return.no_both",
        "special.no_reason_return.upheld",
        "remedy.merchant",
    )
    stronger = dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), item(MERCHANT, "video"))
    assert (decide(stronger, GENERAL).liability, decide(stronger, GENERAL).remedy) == (
        Liability.BUYER,
        Remedy.REJECT_RETURN,
    )
    unproven = dispute(ClaimType.NO_REASON_RETURN, item(MERCHANT, "photo"))
    assert decide(unproven, GENERAL).liability is Liability.BUYER
    # other claim types keep their both
    described = Claim(ClaimType.NOT_AS_DESCRIBED, Remedy.RETURN_AND_REFUND)
    assert decide(replace(equal, claim=described), GENERAL).liability is Liability.BOTH


def test_only_the_rulebooks_exclusion_codes_make_a_return_ineligible() -> None:
    for code in sorted(GENERAL.exclusion_codes):
        excluded = dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), exclusions=(code,))
        assert decide(excluded, GENERAL).liability is Liability.BUYER, code
    assert GENERAL.exclusion_codes == {"custom_made", "perishable", "opened_digital", "periodical"}


def test_a_finding_no_row_of_the_claim_type_weighs_sends_the_dispute_to_review() -> None:
    stray = dispute(
        ClaimType.VISIBLE_DEFECT, item(BUYER, "photo"), findings=(PlatformFinding.CARRIER_LOSS,)
    )
    reasons = needs_manual_review(stray, GENERAL)
    assert [step.rule for step in reasons] == ["review.finding"]
    assert "carrier_loss" in reasons[0].because
    # a finding that a row of the claim type uses is weighed, not sent to a reviewer
    used = dispute(
        ClaimType.NOT_RECEIVED,
        requested=Remedy.REFUND_ONLY,
        findings=(PlatformFinding.CARRIER_LOSS,),
    )
    assert needs_manual_review(used, GENERAL) == ()
    repair = dispute(ClaimType.UNOFFICIAL_REPAIR, findings=(PlatformFinding.UNOFFICIAL_REPAIR,))
    assert needs_manual_review(repair, USED_3C) == ()
    # the same finding on a claim type whose rows do not name it
    assert [
        s.rule
        for s in needs_manual_review(
            replace(repair, claim=Claim(ClaimType.WRONG_ITEM, Remedy.RETURN_AND_REFUND)), USED_3C
        )
    ] == ["review.finding"]


# --- a platform reviewer's decision is checked like an automatic one (RULES.md section 5) -----
def manually(
    case: Dispute,
    liability: Liability,
    remedy: Remedy,
    refund: str | None = None,
    *,
    reason: str | None = "the reviewer's reason",
    book: Rulebook = GENERAL,
) -> Decision | Refusal:
    return decide_manually(
        case,
        book,
        liability=liability,
        remedy=remedy,
        refund=None if refund is None else Decimal(refund),
        reason=reason,
    )


def test_a_manual_refund_is_at_most_the_disputed_amount() -> None:
    rich = dispute(
        ClaimType.VISIBLE_DEFECT,
        item(BUYER, "photo"),
        requested=Remedy.REFUND_ONLY,
        paid="12000.00",
    )
    refused = manually(rich, Liability.MERCHANT, Remedy.REFUND_ONLY, "99999.00")
    assert refused == Refusal("remedy.merchant", "refund 99999.00 is not within 0.00 to 12000.00")
    at_most = manually(rich, Liability.MERCHANT, Remedy.REFUND_ONLY, "12000.00")
    assert isinstance(at_most, Decision)
    assert at_most.refund_amount == Decimal("12000.00")
    assert at_most.rules == (
        "review.manual",
        "remedy.merchant",
    )  # what the rules decide: no override
    asked_less = replace(rich, claim=replace(rich.claim, requested_amount=Decimal("5000.00")))
    over = manually(asked_less, Liability.MERCHANT, Remedy.REFUND_ONLY, "5000.01")
    assert isinstance(over, Refusal)


def test_a_manual_rejection_refunds_nothing() -> None:
    case = dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "photo"), requested=Remedy.REFUND_ONLY)
    refused = manually(case, Liability.BUYER, Remedy.REJECT_REFUND, "5000.00")
    assert refused == Refusal("remedy.buyer", "a rejection refunds 0.00, not 5000.00")
    decision = manually(case, Liability.BUYER, Remedy.REJECT_REFUND)
    assert isinstance(decision, Decision)
    assert (decision.refund_amount, decision.penalty_amount) == (Decimal("0.00"), Decimal("0.00"))
    # the buyer asked for refund only: its rejection is reject_refund, not reject_return
    wrong = manually(case, Liability.BUYER, Remedy.REJECT_RETURN)
    assert wrong == Refusal(
        "remedy.buyer", "buyer liability gives reject_refund, not reject_return"
    )


def test_a_manual_remedy_must_be_the_one_the_liability_gives() -> None:
    case = dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "photo"))  # asks return_and_refund
    assert manually(case, Liability.MERCHANT, Remedy.PARTIAL_REFUND) == Refusal(
        "remedy.merchant", "merchant liability gives return_and_refund, not partial_refund"
    )
    assert manually(case, Liability.BOTH, Remedy.REFUND_ONLY) == Refusal(
        "remedy.both", "both liability gives partial_refund, not refund_only"
    )
    assert manually(case, Liability.NEITHER, Remedy.RETURN_AND_REFUND) == Refusal(
        "remedy.neither", "neither liability gives refund_only, not return_and_refund"
    )
    both = manually(case, Liability.BOTH, Remedy.PARTIAL_REFUND)  # refund by the table
    assert isinstance(both, Decision)
    assert (both.refund_amount, both.penalty_amount) == (Decimal("649.50"), Decimal("2338.20"))
    assert both.return_shipping_payer is None


def test_a_manual_decision_follows_the_special_rows() -> None:
    repair = dispute(
        ClaimType.UNOFFICIAL_REPAIR,
        item(BUYER, "photo"),
        item(MERCHANT, "inspection_certificate", result="pass", authoritative=True),
    )
    decision = manually(repair, Liability.MERCHANT, Remedy.RETURN_AND_REFUND, book=USED_3C)
    assert isinstance(decision, Decision)
    assert decision.violations == ("quality_problem_promoted",)
    assert decision.return_shipping_payer is Payer.MERCHANT
    assert "review.override" in decision.rules  # the rules decide buyer (3 against 1)
    upheld = dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), item(MERCHANT, "video"))
    returned = manually(upheld, Liability.MERCHANT, Remedy.RETURN_AND_REFUND)
    assert isinstance(returned, Decision)
    assert returned.return_shipping_payer is Payer.BUYER  # 退回商品的运费由消费者承担
    assert manually(upheld, Liability.BOTH, Remedy.PARTIAL_REFUND) == Refusal(
        "special.no_reason_return.no_both", "no_reason_return has no shared liability"
    )
    ineligible = dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), seven_day_return=False)
    refused = manually(ineligible, Liability.MERCHANT, Remedy.RETURN_AND_REFUND)
    assert isinstance(refused, Refusal)
    assert refused.rule == "special.no_reason_return.ineligible"
    found = dispute(ClaimType.ILLEGAL_ORIGIN, findings=(PlatformFinding.ILLEGAL_ORIGIN,))
    prohibited = manually(found, Liability.MERCHANT, Remedy.REFUND_ONLY)
    assert isinstance(prohibited, Decision)
    assert prohibited.violations == ("prohibited_goods",)
    assert prohibited.rules == ("review.manual", "special.illegal_origin.found", "remedy.merchant")
    assert manually(found, Liability.MERCHANT, Remedy.RETURN_AND_REFUND) == Refusal(
        "special.illegal_origin.found",
        "merchant liability gives refund_only, not return_and_refund",
    )
    not_found = dispute(ClaimType.ILLEGAL_ORIGIN)
    assert isinstance(manually(not_found, Liability.MERCHANT, Remedy.RETURN_AND_REFUND), Refusal)


def test_a_manual_decision_that_departs_from_the_rules_is_an_override_with_its_reason() -> None:
    case = dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "photo"), requested=Remedy.REFUND_ONLY)
    same = manually(case, Liability.MERCHANT, Remedy.REFUND_ONLY, reason=None)
    assert isinstance(same, Decision)
    assert same.rules == ("review.manual", "remedy.merchant")
    assert manually(case, Liability.BUYER, Remedy.REJECT_REFUND, reason=None) == Refusal(
        "review.override", "a decision that departs from the rules needs a reason"
    )
    override = manually(case, Liability.MERCHANT, Remedy.REFUND_ONLY, "300.00", reason="轻微划痕")
    assert isinstance(override, Decision)
    assert override.rules == ("review.manual", "review.override", "remedy.merchant")
    assert override.trace[1].because == (
        "轻微划痕 (the rules decide merchant liability: refund_only, refund 1299.00)"
    )
    assert override.penalty_amount == Decimal("3897.00")  # the penalty follows the liability


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
