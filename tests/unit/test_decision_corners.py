"""The decision's corners that mutation testing of adjudicator/decision.py found unpinned: the
explanation of each rule (what ``explain`` prints), the strengths a decision records, the
order evidence is looked at in, the special rows a reviewer's decision carries along, and the
limits of a reviewer's refund."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from adjudicator.decision import Refusal, decide, decide_manually, needs_manual_review, penalty
from adjudicator.domain import ClaimType, Decision, Dispute, Liability, PlatformFinding, Remedy
from adjudicator.errors import AdjudicationError
from adjudicator.rulebook import RemedyRow
from tests.unit.test_decision import BUYER, CST, GENERAL, MERCHANT, USED_3C, dispute, item


def trace(decision: Decision) -> list[tuple[str, str]]:
    return [(step.rule, step.because) for step in decision.trace]


def manual(
    case: Dispute,
    liability: Liability,
    remedy: Remedy,
    refund: str | None = None,
    *,
    reason: str | None = "看过",
) -> Decision | Refusal:
    return decide_manually(
        case,
        GENERAL,
        liability=liability,
        remedy=remedy,
        refund=None if refund is None else Decimal(refund),
        reason=reason,
    )


def test_each_rule_says_why_it_fired() -> None:
    weighed = dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "photo", id="E1"))
    assert trace(decide(weighed, GENERAL)) == [
        ("burden.visible_defect", "the buyer must prove the visible_defect claim"),
        (
            "weigh.unrebutted",
            "proof 1 (photo E1: 1) against rebuttal 0 (none accepted): merchant liable",
        ),
        (
            "remedy.merchant",
            "merchant liability: return_and_refund, refund 1299.00, return shipping paid by "
            "the merchant, penalty 3897.00",
        ),
    ]
    nothing = dispute(ClaimType.NOT_SHIPPED, requested=Remedy.REFUND_ONLY)
    assert trace(decide(nothing, GENERAL))[1:] == [
        (
            "weigh.no_proof",
            "proof 0 (none accepted) against rebuttal 0 (none accepted): merchant liable",
        ),
        ("special.not_shipped.unproven", "the merchant proved nothing"),
        ("remedy.merchant", "merchant liability: refund_only, refund 1299.00, penalty 3897.00"),
    ]


def test_the_special_rows_say_why_they_fired() -> None:
    found = dispute(ClaimType.ILLEGAL_ORIGIN, findings=(PlatformFinding.ILLEGAL_ORIGIN,))
    assert trace(decide(found, GENERAL))[1] == (
        "special.illegal_origin.found",
        "the platform found illegal_origin",
    )
    assert trace(decide(dispute(ClaimType.ILLEGAL_ORIGIN), GENERAL))[1] == (
        "special.illegal_origin.not_found",
        "no platform finding of illegal_origin at review",
    )
    never_signed = dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), signed_at=None)
    assert trace(decide(never_signed, GENERAL))[1] == (
        "special.no_reason_return.ineligible",
        "the order was never signed for",
    )
    not_allowed = dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), seven_day_return=False)
    assert trace(decide(not_allowed, GENERAL))[1] == (
        "special.no_reason_return.ineligible",
        "the order does not allow 7-day no-reason returns",
    )
    excluded = dispute(
        ClaimType.NO_REASON_RETURN, item(BUYER, "photo"), exclusions=("custom_made", "perishable")
    )
    assert trace(decide(excluded, GENERAL))[1] == (
        "special.no_reason_return.ineligible",
        "the goods are excluded (custom_made, perishable)",
    )
    equal = dispute(
        ClaimType.NO_REASON_RETURN, item(BUYER, "photo", id="E1"), item(MERCHANT, "photo", id="E2")
    )
    assert trace(decide(equal, GENERAL))[2:4] == [
        ("special.no_reason_return.no_both", "no_reason_return has no shared liability"),
        ("special.no_reason_return.upheld", "the merchant is liable"),
    ]


def test_a_decision_records_the_strengths_it_weighed() -> None:
    weighed = decide(
        dispute(
            ClaimType.VISIBLE_DEFECT,
            item(BUYER, "video"),
            item(MERCHANT, "video", pre_shipment=True),
        ),
        GENERAL,
    )
    assert (weighed.proof_strength, weighed.rebuttal_strength) == (2, 2)
    before = decide(
        dispute(ClaimType.ILLEGAL_ORIGIN, findings=(PlatformFinding.ILLEGAL_ORIGIN,)), GENERAL
    )
    assert (before.proof_strength, before.rebuttal_strength) == (0, 0)  # decided before weighing


def test_every_accepted_item_of_the_party_is_looked_at_whatever_comes_first() -> None:
    # the merchant's item and a rejected one come before the buyer's accepted video
    case = dispute(
        ClaimType.VISIBLE_DEFECT,
        item(MERCHANT, "photo"),
        item(BUYER, "photo", accepted=False),
        item(BUYER, "video"),
    )
    assert decide(case, GENERAL).proof_strength == 2


def test_a_buyer_rebuts_a_merchants_burden() -> None:
    # invisible defect: the merchant's certificate (1) against the buyer's failing one (1)
    case = dispute(
        ClaimType.INVISIBLE_DEFECT,
        item(MERCHANT, "inspection_certificate", result="pass"),
        item(BUYER, "inspection_certificate", result="fail"),
    )
    decision = decide(case, GENERAL)
    assert (decision.liability, decision.rebuttal_strength) == (Liability.BOTH, 1)


def test_the_no_reason_window_starts_at_midnight_in_the_rulebook_zone() -> None:
    # signed 00:30 on 5 March in Shanghai (16:30 on 4 March in UTC): the 168 hours start at
    # 00:00 on 6 March, Shanghai time, whatever the machine's own zone
    signed = datetime(2026, 3, 5, 0, 30, tzinfo=CST)
    late_in_window = datetime(2026, 3, 12, 12, 0, tzinfo=CST)
    case = dispute(
        ClaimType.NO_REASON_RETURN,
        item(BUYER, "photo"),
        signed_at=signed,
        opened_at=late_in_window,
    )
    assert decide(case, GENERAL).liability is Liability.MERCHANT


def test_manual_review_says_each_reason() -> None:
    case = dispute(
        ClaimType.VISIBLE_DEFECT,
        item(BUYER, "photo", id="E1", near_duplicate=True),
        item(BUYER, "photo", id="E2", near_duplicate=True),
        findings=(PlatformFinding.ILLEGAL_ORIGIN, PlatformFinding.CARRIER_LOSS),
    )
    assert [(s.rule, s.because) for s in needs_manual_review(case, GENERAL)] == [
        (
            "review.finding",
            "the platform found carrier_loss, illegal_origin, which no rule for visible_defect "
            "claims weighs: a reviewer must see it: manual review",
        ),
        (
            "review.near_duplicate",
            "evidence E1, E2 nearly duplicates a photo of another dispute: manual review",
        ),
    ]


def test_penalties_follow_the_remedy_row() -> None:
    def row(multiplier: str, minimum: str) -> RemedyRow:
        return RemedyRow(
            "remedy.x",
            Liability.MERCHANT,
            "requested",
            "disputed",
            None,
            Decimal(multiplier),
            Decimal(minimum),
        )

    assert penalty(row("0", "50.00"), Decimal("100.00")) == Decimal("0.00")  # no multiplier: none
    assert penalty(row("1", "50.00"), Decimal("100.00")) == Decimal("100.00")
    assert penalty(row("1", "50.00"), Decimal("10.00")) == Decimal("50.00")
    assert penalty(row("0.5", "0.00"), Decimal("0.05")) == Decimal("0.03")  # half up


# --- a reviewer's decision ----------------------------------------------------------------------
def test_a_reviewers_decision_says_who_decided_and_keeps_the_strengths() -> None:
    case = dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "video"), requested=Remedy.REFUND_ONLY)
    silent = manual(case, Liability.MERCHANT, Remedy.REFUND_ONLY, reason=None)
    assert isinstance(silent, Decision)
    assert trace(silent)[0] == ("review.manual", "decided by the platform")
    assert (silent.proof_strength, silent.rebuttal_strength) == (2, 0)
    said = manual(case, Liability.MERCHANT, Remedy.REFUND_ONLY, reason="看过")
    assert isinstance(said, Decision)
    assert trace(said)[0] == ("review.manual", "看过")


def test_a_reviewer_may_refund_anything_from_nothing_to_the_disputed_amount() -> None:
    case = dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "photo"), requested=Remedy.REFUND_ONLY)
    for refund in ("0.00", "0.50", "1299.00"):
        decision = manual(case, Liability.MERCHANT, Remedy.REFUND_ONLY, refund)
        assert isinstance(decision, Decision), refund
        assert decision.refund_amount == Decimal(refund)
    assert manual(case, Liability.BUYER, Remedy.REJECT_REFUND, "1.00") == Refusal(
        "remedy.buyer", "a rejection refunds 0.00, not 1.00"
    )
    assert isinstance(manual(case, Liability.BUYER, Remedy.REJECT_REFUND, "0.00"), Decision)


def test_a_liability_the_rulebook_has_no_remedy_for_is_refused() -> None:
    remedies: dict[Liability, RemedyRow] = {
        k: v for k, v in GENERAL.remedies.items() if k is not Liability.NEITHER
    }
    book = replace(GENERAL, remedies=remedies)
    case = dispute(ClaimType.VISIBLE_DEFECT, item(BUYER, "photo"), requested=Remedy.REFUND_ONLY)
    refused = decide_manually(
        case, book, liability=Liability.NEITHER, remedy=Remedy.REFUND_ONLY, refund=None, reason="x"
    )
    assert refused == Refusal(
        "review.manual", f"rulebook {GENERAL.label} has no remedy row for neither"
    )


def test_the_special_rows_that_follow_a_reviewers_liability() -> None:
    unproven = dispute(ClaimType.NOT_SHIPPED, requested=Remedy.REFUND_ONLY)
    decision = manual(unproven, Liability.MERCHANT, Remedy.REFUND_ONLY)
    assert isinstance(decision, Decision)
    assert decision.rules == ("review.manual", "special.not_shipped.unproven", "remedy.merchant")
    assert trace(decision)[1][1] == "it follows merchant liability"
    shipped = dispute(
        ClaimType.NOT_SHIPPED,
        item(MERCHANT, "logistics_record", status="shipped"),
        requested=Remedy.REFUND_ONLY,
    )
    overruled = manual(shipped, Liability.MERCHANT, Remedy.REFUND_ONLY)
    assert isinstance(overruled, Decision)
    assert "special.not_shipped.unproven" not in overruled.rules  # the merchant proved it
    buyer_burden = dispute(ClaimType.VISIBLE_DEFECT, requested=Remedy.REFUND_ONLY)
    plain = manual(buyer_burden, Liability.MERCHANT, Remedy.REFUND_ONLY)
    assert isinstance(plain, Decision)
    assert plain.rules == ("review.manual", "review.override", "remedy.merchant")


def test_a_reviewers_rejection_of_an_illegal_origin_claim_without_a_finding() -> None:
    case = dispute(ClaimType.ILLEGAL_ORIGIN, requested=Remedy.REFUND_ONLY)
    decision = manual(case, Liability.BUYER, Remedy.REJECT_REFUND)
    assert isinstance(decision, Decision)
    assert decision.rules == ("review.manual", "special.illegal_origin.not_found", "remedy.buyer")
    assert manual(case, Liability.MERCHANT, Remedy.REFUND_ONLY) == Refusal(
        "special.illegal_origin.not_found", "without a finding of illegal_origin: buyer"
    )
    # with a finding, the reviewer may still reject (an override): the not-found row is silent
    found = replace(
        case,
        findings=(PlatformFinding.ILLEGAL_ORIGIN,),
        order=replace(case.order, seven_day_return=False),
    )
    rejected = manual(found, Liability.BUYER, Remedy.REJECT_REFUND)
    assert isinstance(rejected, Decision)
    assert rejected.rules == ("review.manual", "review.override", "remedy.buyer")


def test_a_reviewer_and_the_eligibility_of_a_no_reason_return() -> None:
    eligible = dispute(ClaimType.NO_REASON_RETURN, item(BUYER, "photo"))
    rejected = manual(eligible, Liability.BUYER, Remedy.REJECT_RETURN)
    assert isinstance(rejected, Decision)
    assert rejected.rules == ("review.manual", "review.override", "remedy.buyer")
    upheld = manual(eligible, Liability.MERCHANT, Remedy.RETURN_AND_REFUND)
    assert isinstance(upheld, Decision)
    assert upheld.rules == ("review.manual", "special.no_reason_return.upheld", "remedy.merchant")
    ineligible = replace(eligible, order=replace(eligible.order, seven_day_return=False))
    agreed = manual(ineligible, Liability.BUYER, Remedy.REJECT_RETURN)
    assert isinstance(agreed, Decision)
    assert agreed.rules == ("review.manual", "special.no_reason_return.ineligible", "remedy.buyer")
    assert manual(ineligible, Liability.MERCHANT, Remedy.RETURN_AND_REFUND) == Refusal(
        "special.no_reason_return.ineligible",
        "not eligible (the order does not allow 7-day no-reason returns): buyer liable",
    )


def test_a_finding_row_follows_only_with_its_finding() -> None:
    lost = dispute(
        ClaimType.NOT_RECEIVED,
        requested=Remedy.REFUND_ONLY,
        findings=(PlatformFinding.CARRIER_LOSS,),
    )
    with_finding = manual(lost, Liability.NEITHER, Remedy.REFUND_ONLY)
    assert isinstance(with_finding, Decision)
    assert with_finding.rules == ("review.manual", "special.carrier_loss", "remedy.neither")
    without = manual(replace(lost, findings=()), Liability.NEITHER, Remedy.REFUND_ONLY)
    assert isinstance(without, Decision)
    assert without.rules == ("review.manual", "review.override", "remedy.neither")
    repair = dispute(ClaimType.UNOFFICIAL_REPAIR, item(BUYER, "photo"))
    for_merchant = decide_manually(
        repair,
        USED_3C,
        liability=Liability.MERCHANT,
        remedy=Remedy.RETURN_AND_REFUND,
        refund=None,
        reason=None,
    )
    assert isinstance(for_merchant, Decision)
    assert for_merchant.rules == ("review.manual", "special.unofficial_repair", "remedy.merchant")


def test_the_weighing_lists_every_item_it_counted() -> None:
    case = dispute(
        ClaimType.VISIBLE_DEFECT,
        item(BUYER, "chat_record", id="E1"),  # no proof of a visible defect: not counted
        item(BUYER, "photo", id="E2"),
        item(BUYER, "video", id="E3"),
        item(MERCHANT, "video", id="E4", pre_shipment=True),
    )
    decision = decide(case, GENERAL)
    assert trace(decision)[1] == (
        "weigh.equal",
        "proof 2 (photo E2: 1, video E3: 2) against rebuttal 2 (video E4: 2): both liable",
    )


def test_a_platform_burden_with_no_special_row_is_an_error_that_names_the_rule() -> None:
    specials = {
        k: v for k, v in GENERAL.specials.items() if v.claim is not ClaimType.ILLEGAL_ORIGIN
    }
    book = replace(GENERAL, specials=specials)
    with pytest.raises(AdjudicationError, match=r"^burden\.illegal_origin: the platform's burden"):
        decide(dispute(ClaimType.ILLEGAL_ORIGIN), book)


def test_a_reviewer_may_reject_a_not_shipped_claim_the_merchant_did_not_disprove() -> None:
    case = dispute(ClaimType.NOT_SHIPPED, requested=Remedy.REFUND_ONLY)
    rejected = manual(case, Liability.BUYER, Remedy.REJECT_REFUND)
    assert isinstance(rejected, Decision)  # the unproven row follows merchant liability only
    assert rejected.rules == ("review.manual", "review.override", "remedy.buyer")
