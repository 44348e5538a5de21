"""Offers (协商), the merchant's shipments (exchange, reshipment, repair) and who pays the return
shipping, on fakes: every deadline at exactly its limit and one second past, and every bad
answer refused naming its field, with nothing of the refused event written."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from adjudicator.auditlog import MemoryJournal
from adjudicator.decision import Refusal, decide, decide_manually
from adjudicator.domain import (
    ClaimType,
    EvidenceRecord,
    Liability,
    OfferStatus,
    Payer,
    Remedy,
)
from adjudicator.lifecycle import RefusedEvent, State
from adjudicator.rulebook import load_rulebook
from adjudicator.workflow import Case, Event, Workflow
from evidence import EvidenceKind, Party
from tests.unit.test_workflow import T0, FakeExaminer, make_case

BUYER, MERCHANT, PLATFORM = Party.BUYER, Party.MERCHANT, Party.PLATFORM
SECOND = timedelta(seconds=1)
OFFER_WINDOW = timedelta(hours=48)


def at(hours: float, plus: timedelta = timedelta(0)) -> datetime:
    return T0 + timedelta(hours=hours) + plus


def event(when: datetime, actor: Party, action: str, **fields: object) -> Event:
    return Event(when, actor, action, **fields)  # type: ignore[arg-type]


class Flow:
    """A dispute and the workflow that moves it, with its journal."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.journal = MemoryJournal()
        self.flow = Workflow(self.journal, FakeExaminer())

    def __call__(self, *events: Event) -> Flow:
        for each in events:
            self.flow.apply(self.case, each)
        return self

    def refused(self, bad: Event) -> RefusedEvent:
        """``bad`` is refused and writes nothing of its own (deadlines due by its time fire)."""
        self.flow.advance(self.case, bad.at)
        before = (len(self.journal.entries), self.case.state, list(self.case.offers))
        with pytest.raises(RefusedEvent) as caught:
            self.flow.apply(self.case, bad)
        assert (len(self.journal.entries), self.case.state, self.case.offers) == before
        return caught.value

    def rest(self) -> Flow:
        while self.case.next_deadline() is not None:
            self.flow.expire_next(self.case)
        return self

    def events(self) -> list[str]:
        return [entry["event"] for entry in self.journal.entries]


def opened(
    claim: ClaimType = ClaimType.VISIBLE_DEFECT, remedy: Remedy = Remedy.REFUND_ONLY
) -> Flow:
    return Flow(make_case(claim, remedy))(event(at(0), BUYER, "open"))


def offer(hours: float, by: Party, remedy: Remedy, amount: str | None = None) -> Event:
    money = None if amount is None else Decimal(amount)
    return event(at(hours), by, "offer", remedy=remedy, amount=money)


# --- offers -------------------------------------------------------------------------------------


def test_an_accepted_offer_settles_the_dispute_as_negotiated() -> None:
    flow = opened(remedy=Remedy.RETURN_AND_REFUND)(
        offer(1, MERCHANT, Remedy.PARTIAL_REFUND, "50.00"),
        event(at(2), BUYER, "accept_offer", offer="O1"),
    )
    case = flow.case
    assert (case.state, case.resolution) == (State.REFUNDED, "negotiated")
    assert (case.remedy, case.refund_amount) == (Remedy.PARTIAL_REFUND, Decimal("50.00"))
    assert case.decision is None
    assert case.resolution_rules == ()
    assert case.offers[0].status is OfferStatus.ACCEPTED
    assert flow.events() == ["open", "offer", "accept_offer", "pay"]
    made = flow.journal.entries[1]["offer"]
    assert made == {
        "id": "O1",
        "remedy": "partial_refund",
        "amount": "50.00",
        "expires_at": at(49).isoformat(),
    }


def rejected() -> Flow:
    """The merchant rejected the request: the buyer's 7-day escalation window runs."""
    return opened()(event(at(0.5), MERCHANT, "reject"))


def test_an_offer_is_answered_in_time_at_exactly_its_deadline() -> None:
    flow = rejected()(offer(1, MERCHANT, Remedy.PARTIAL_REFUND, "50.00"))
    flow(event(at(1) + OFFER_WINDOW, BUYER, "accept_offer", offer="O1"))
    assert flow.case.resolution == "negotiated"


def test_an_answer_one_second_after_the_offer_lapsed_is_refused_naming_the_offer() -> None:
    flow = rejected()(offer(1, MERCHANT, Remedy.PARTIAL_REFUND, "50.00"))
    refused = flow.refused(event(at(1) + OFFER_WINDOW + SECOND, BUYER, "accept_offer", offer="O1"))
    assert refused.field == "offer"
    assert refused.why == (
        f"O1 lapsed at {(at(1) + OFFER_WINDOW).isoformat()} (deadline.offer): it can no longer "
        "be answered"
    )
    lapse = flow.journal.entries[-1]
    assert (lapse["event"], lapse["rule"], lapse["offer"]) == (
        "offer_expired",
        "deadline.offer",
        "O1",
    )
    assert lapse["at"] == (at(1) + OFFER_WINDOW).isoformat()
    assert flow.case.state is State.MERCHANT_REJECTED  # a lapsed offer changes nothing else


@pytest.mark.parametrize(
    ("remedy", "amount", "field", "words"),
    [
        (
            Remedy.PARTIAL_REFUND,
            "1299.01",
            "amount",
            "1299.01 is more than the disputed amount 1299.00",
        ),
        (Remedy.PARTIAL_REFUND, "0.00", "amount", "is 0.00: an offer of money is more than 0.00"),
        (Remedy.PARTIAL_REFUND, None, "amount", "is required for a partial_refund"),
        (Remedy.EXCHANGE, "10.00", "amount", "is 10.00, but exchange moves no money"),
        (Remedy.REJECT_REFUND, None, "remedy", "reject_refund is a decision's, not an offer's"),
    ],
)
def test_a_bad_offer_is_refused_naming_its_field(
    remedy: Remedy, amount: str | None, field: str, words: str
) -> None:
    refused = opened().refused(offer(1, MERCHANT, remedy, amount))
    assert refused.field == field
    assert words in refused.why


def test_an_offer_of_exactly_the_disputed_amount_and_of_money_by_default() -> None:
    flow = opened()(offer(1, MERCHANT, Remedy.PARTIAL_REFUND, "1299.00"))
    assert flow.case.offers[0].amount == Decimal("1299.00")
    flow(offer(2, BUYER, Remedy.REFUND_ONLY))  # no amount: all that is disputed
    assert flow.case.offers[1].amount == Decimal("1299.00")


def test_an_offer_outside_the_claim_types_scope_is_refused() -> None:
    flow = Flow(make_case(ClaimType.NOT_SHIPPED, Remedy.REFUND_ONLY, shipped=False))
    flow(event(at(0), BUYER, "open"))
    refused = flow.refused(offer(1, MERCHANT, Remedy.RESHIPMENT))
    assert (refused.field, refused.why) == (
        "remedy",
        "scope.not_shipped: not_shipped admits partial_refund or refund_only only",
    )


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (event(at(2), MERCHANT, "accept_offer", offer="O1"), "O1 is the merchant's own offer"),
        (event(at(2), BUYER, "accept_offer", offer="O7"), "'O7': no such offer was made"),
        (event(at(2), BUYER, "decline_offer", offer=None), "None: no such offer was made"),
    ],
)
def test_an_answer_no_one_may_give_is_refused(answer: Event, words: str) -> None:
    flow = opened()(offer(1, MERCHANT, Remedy.PARTIAL_REFUND, "50.00"))
    refused = flow.refused(answer)
    assert (refused.field, refused.why) == ("offer", words)


def test_a_declined_offer_cannot_be_accepted_and_the_dispute_goes_on() -> None:
    flow = opened()(
        offer(1, MERCHANT, Remedy.PARTIAL_REFUND, "50.00"),
        event(at(2), BUYER, "decline_offer", offer="O1"),
    )
    assert flow.case.state is State.REQUESTED
    assert flow.case.deadline_rule == "deadline.answer.refund_only_shipped"  # still running
    refused = flow.refused(event(at(3), BUYER, "accept_offer", offer="O1"))
    assert refused.why == "O1 is declined: it can no longer be answered"


def test_a_counter_offer_replaces_the_open_one() -> None:
    flow = opened()(
        offer(1, MERCHANT, Remedy.PARTIAL_REFUND, "50.00"),
        offer(2, BUYER, Remedy.PARTIAL_REFUND, "200.00"),
    )
    assert [o.status for o in flow.case.offers] == [OfferStatus.SUPERSEDED, OfferStatus.OPEN]
    assert flow.journal.entries[-1]["supersedes"] == "O1"
    assert flow.refused(event(at(3), BUYER, "accept_offer", offer="O1")).why == (
        "O1 is superseded: it can no longer be answered"
    )
    flow(event(at(3), MERCHANT, "accept_offer", offer="O2"))
    assert flow.case.refund_amount == Decimal("200.00")


def test_the_platforms_proposal_needs_both_parties() -> None:
    flow = opened()(offer(1, PLATFORM, Remedy.PARTIAL_REFUND, "400.00"))
    flow(event(at(2), BUYER, "accept_offer", offer="O1"))
    assert (flow.case.state, flow.case.offers[0].accepted_by) == (State.REQUESTED, (BUYER,))
    assert flow.refused(event(at(2.5), BUYER, "accept_offer", offer="O1")).why == (
        "O1 is already accepted by the buyer"
    )
    flow(event(at(3), MERCHANT, "accept_offer", offer="O1"))
    assert (flow.case.resolution, flow.case.refund_amount) == ("negotiated", Decimal("400.00"))


def test_either_party_declining_the_platforms_proposal_ends_it() -> None:
    flow = opened()(
        offer(1, PLATFORM, Remedy.PARTIAL_REFUND, "400.00"),
        event(at(2), BUYER, "accept_offer", offer="O1"),
        event(at(3), MERCHANT, "decline_offer", offer="O1"),
    )
    assert flow.case.offers[0].status is OfferStatus.DECLINED
    assert flow.case.state is State.REQUESTED


def _escalated() -> Flow:
    return opened()(
        event(at(1), MERCHANT, "reject"),
        event(at(2), BUYER, "escalate"),
    )


def test_an_offer_accepted_while_escalated_ends_the_platforms_process() -> None:
    flow = _escalated()(offer(3, MERCHANT, Remedy.PARTIAL_REFUND, "300.00"))
    assert flow.case.deadline_rule == "deadline.evidence"
    flow(event(at(4), BUYER, "accept_offer", offer="O1")).rest()
    assert (flow.case.state, flow.case.resolution) == (State.REFUNDED, "negotiated")
    assert flow.case.decision is None  # the evidence window closed unused: no review ran
    assert "evidence_expired" not in flow.events()


def test_an_offer_after_a_decision_is_refused() -> None:
    flow = _escalated()(
        event(at(3), BUYER, "evidence_complete"),
        event(at(4), MERCHANT, "evidence_complete"),  # decided: the buyer proved nothing
        event(at(5), BUYER, "appeal"),
    )
    assert flow.case.state is State.AWAITING_REBUTTAL  # before the new decision
    refused = flow.refused(offer(6, MERCHANT, Remedy.PARTIAL_REFUND, "10.00"))
    assert refused.why == "offers end with a decision"


def test_an_open_offer_is_void_once_the_dispute_is_settled_otherwise() -> None:
    flow = opened()(
        offer(1, BUYER, Remedy.PARTIAL_REFUND, "600.00"), event(at(2), MERCHANT, "agree")
    )
    assert flow.case.offers[0].status is OfferStatus.VOID
    assert flow.journal.entries[-2]["voids"] == "O1"  # the agree entry (pay follows)
    assert flow.case.next_deadline() is None


def test_an_offer_lapsing_with_the_window_at_the_same_instant_lapses_first() -> None:
    flow = opened(remedy=Remedy.RETURN_AND_REFUND)  # the answer window ends at(48)
    flow(offer(0, MERCHANT, Remedy.PARTIAL_REFUND, "10.00"))  # lapses at(48) too
    assert flow.case.next_deadline() == at(48)
    flow.flow.advance(flow.case, at(48))
    assert flow.events()[-1] == "offer"  # at exactly 48 h neither has expired
    flow.flow.advance(flow.case, at(48) + SECOND)
    assert flow.events()[2:4] == ["offer_expired", "answer_expired"]


def test_a_window_ending_before_the_offer_fires_first_and_voids_it() -> None:
    flow = opened(remedy=Remedy.RETURN_AND_REFUND)(offer(10, MERCHANT, Remedy.PARTIAL_REFUND, "10"))
    assert flow.case.next_deadline() == at(48)
    flow.flow.advance(flow.case, at(58) + SECOND)
    assert flow.events()[2] == "answer_expired"
    assert flow.journal.entries[2]["voids"] == "O1"
    assert "offer_expired" not in flow.events()
    assert flow.case.offers[0].status is OfferStatus.VOID


def test_a_rulebook_without_deadline_offer_takes_no_offers() -> None:
    older = replace(make_case(), rulebook=load_rulebook("kuaishou.used_3c@2026.2"))
    flow = Flow(older)(event(at(0), BUYER, "open"))
    refused = flow.refused(offer(1, MERCHANT, Remedy.PARTIAL_REFUND, "10.00"))
    assert refused.why == (
        "rulebook kuaishou.used_3c@2026.2 has no deadline.offer: it takes no offers"
    )


def test_an_accepted_return_names_who_pays_the_return_shipping() -> None:
    flow = opened()(
        offer(1, MERCHANT, Remedy.RETURN_AND_REFUND),
        event(at(2), BUYER, "accept_offer", offer="O1"),
    )
    assert (flow.case.return_payer, flow.case.resolution_rules) == (
        Payer.MERCHANT,
        ("shipping.default",),
    )
    assert flow.journal.entries[-1]["return_shipping_payer"] == "merchant"
    insured = make_case(remedy=Remedy.RETURN_AND_REFUND)
    insured = replace(insured, order=replace(insured.order, return_insurance=True))
    flow = Flow(insured)(event(at(0), BUYER, "open"), event(at(1), MERCHANT, "agree"))
    assert (flow.case.return_payer, flow.case.resolution_rules) == (
        Payer.INSURER,
        ("shipping.insured",),
    )


# --- the merchant's shipments -------------------------------------------------------------------


def reshipment() -> Flow:
    return opened(ClaimType.MISSING_PARTS, Remedy.RESHIPMENT)(event(at(1), MERCHANT, "agree"))


def test_a_reshipment_is_due_at_once_and_shipped_in_time_at_exactly_its_deadline() -> None:
    flow = reshipment()
    assert (flow.case.state, flow.case.deadline_rule) == (State.SHIPMENT_DUE, "deadline.reshipment")
    assert flow.case.refund_amount == Decimal("0.00")
    flow(event(at(1 + 48), MERCHANT, "merchant_shipped", tracking_no="SF9"))
    assert (flow.case.state, flow.case.deadline_rule) == (
        State.SHIPMENT_IN_TRANSIT,
        "deadline.confirm_delivery",
    )
    flow(event(at(1 + 48 + 240), BUYER, "confirm_delivery"))  # 10 days: in time
    assert flow.case.state.value == "closed"


def test_a_shipment_one_second_late_is_refused_and_the_dispute_refunds_instead() -> None:
    flow = reshipment()
    refused = flow.refused(
        event(at(1 + 48) + SECOND, MERCHANT, "merchant_shipped", tracking_no="SF9")
    )
    assert refused.state is State.REFUNDED
    case = flow.case
    assert (case.remedy, case.refund_amount) == (Remedy.REFUND_ONLY, Decimal("1299.00"))
    assert case.resolution_rules == ("deadline.reshipment", "fallback.missed_shipment")
    missed = flow.journal.entries[-1]
    assert (missed["event"], missed["fallback"], missed["at"]) == (
        "shipment_expired",
        "fallback.missed_shipment",
        at(1 + 48).isoformat(),
    )


def test_delivery_closes_by_default_one_second_after_its_window() -> None:
    flow = reshipment()(event(at(2), MERCHANT, "merchant_shipped", tracking_no="SF9"))
    flow.flow.advance(flow.case, at(2 + 240))
    assert flow.case.state is State.SHIPMENT_IN_TRANSIT  # exactly 10 days: not yet
    flow.flow.advance(flow.case, at(2 + 240) + SECOND)
    assert (flow.case.state, flow.events()[-1]) == (State.CLOSED, "delivery_expired")


def exchange(remedy: Remedy = Remedy.EXCHANGE) -> Flow:
    return opened(remedy=remedy)(
        event(at(1), MERCHANT, "agree"),
        event(at(2), BUYER, "return_shipped", tracking_no="YT1"),
    )


def test_an_exchange_sends_the_goods_back_then_the_replacement() -> None:
    flow = exchange()
    assert flow.case.return_payer is Payer.MERCHANT
    flow(event(at(3), MERCHANT, "confirm_receipt"))
    assert (flow.case.state, flow.case.deadline_rule) == (
        State.SHIPMENT_DUE,
        "deadline.exchange_ship",
    )
    assert flow.case.deadline_at == at(3 + 72)
    flow(event(at(3 + 72), MERCHANT, "merchant_shipped", tracking_no="SF-NEW"))
    assert flow.case.shipment_tracking_no == "SF-NEW"
    flow(event(at(80), BUYER, "confirm_delivery"))
    assert (flow.case.state, flow.case.remedy, flow.case.refund_amount) == (
        State.CLOSED,
        Remedy.EXCHANGE,
        Decimal("0.00"),
    )


def test_a_missed_exchange_refunds_the_goods_already_returned() -> None:
    flow = exchange()(event(at(3), MERCHANT, "confirm_receipt"))
    flow.flow.advance(flow.case, at(3 + 72) + SECOND)
    case = flow.case
    assert (case.state, case.remedy, case.refund_amount) == (
        State.REFUNDED,
        Remedy.RETURN_AND_REFUND,
        Decimal("1299.00"),
    )
    assert case.resolution_rules == (
        "shipping.default",
        "deadline.exchange_ship",
        "fallback.missed_shipment",
    )


def test_a_repair_not_confirmed_is_received_by_default_and_its_shipment_counts_from_then() -> None:
    flow = exchange(Remedy.REPAIR)
    received = at(2) + timedelta(days=7)  # deadline.confirm_receipt
    flow.flow.advance(flow.case, received + SECOND)
    assert (flow.case.state, flow.case.deadline_rule) == (
        State.SHIPMENT_DUE,
        "deadline.repair_ship",
    )
    assert flow.case.deadline_at == received + timedelta(days=15)


# --- decisions on the new remedies ------------------------------------------------------------


def _photo(party: Party = BUYER) -> EvidenceRecord:
    return EvidenceRecord("E1", party, EvidenceKind.PHOTO, "0" * 64, accepted=True)


def test_a_liable_merchant_owes_the_requested_exchange_and_no_refund() -> None:
    case = make_case(remedy=Remedy.EXCHANGE)
    decision = decide(replace(case, evidence=[_photo()]).for_review(at(5)), case.rulebook)
    assert (decision.liability, decision.remedy) == (Liability.MERCHANT, Remedy.EXCHANGE)
    assert (decision.refund_amount, decision.penalty_amount) == (
        Decimal("0.00"),
        Decimal("3897.00"),
    )
    assert decision.return_shipping_payer is Payer.MERCHANT


def test_a_rejected_exchange_is_a_rejected_return() -> None:
    case = make_case(remedy=Remedy.EXCHANGE)
    decision = decide(case.for_review(at(5)), case.rulebook)  # no proof: the buyer is liable
    assert (decision.liability, decision.remedy) == (Liability.BUYER, Remedy.REJECT_RETURN)
    reship = make_case(ClaimType.MISSING_PARTS, Remedy.RESHIPMENT)
    assert decide(reship.for_review(at(5)), reship.rulebook).remedy is Remedy.REJECT_REFUND


def test_a_reviewer_may_not_refund_money_on_an_exchange() -> None:
    case = replace(make_case(remedy=Remedy.EXCHANGE), evidence=[_photo()])
    refused = decide_manually(
        case.for_review(at(5)),
        case.rulebook,
        liability=Liability.MERCHANT,
        remedy=Remedy.EXCHANGE,
        refund=Decimal("10.00"),
        reason="x",
    )
    assert refused == Refusal(
        "remedy.merchant", "exchange moves no money: it refunds 0.00, not 10.00"
    )


def test_an_insured_orders_insurer_pays_even_a_decisions_return_shipping() -> None:
    case = make_case(ClaimType.NO_REASON_RETURN, Remedy.RETURN_AND_REFUND)
    case = replace(case, order=replace(case.order, seven_day_return=True, return_insurance=True))
    decision = decide(replace(case, evidence=[_photo()]).for_review(at(5)), case.rulebook)
    assert decision.return_shipping_payer is Payer.INSURER
    assert "shipping.insured" in decision.rules
    uninsured = replace(case, order=replace(case.order, return_insurance=False))
    plain = decide(replace(uninsured, evidence=[_photo()]).for_review(at(5)), case.rulebook)
    assert plain.return_shipping_payer is Payer.BUYER  # special.no_reason_return.upheld
    assert not any(rule.startswith("shipping.") for rule in plain.rules)


def test_an_older_rulebook_does_not_admit_the_merchants_shipments() -> None:
    case = make_case(remedy=Remedy.EXCHANGE)
    older = load_rulebook("kuaishou.used_3c@2026.2")
    assert older.out_of_scope(case.order, case.claim) == (
        "/claim/requested_remedy",
        "rulebook kuaishou.used_3c@2026.2 has no deadline.exchange_ship or "
        "deadline.confirm_delivery or fallback rule: it does not admit exchange",
    )
