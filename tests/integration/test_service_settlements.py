"""Line items, offers and the merchant's shipments through the service, on a real database
(SQLite, and PostgreSQL where one is configured): each command one transaction, timers fired
by ``tick`` at exactly their limit and one second past, a refused command changing nothing,
and the audit holding the stored disputes to their log."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from adjudicator.domain import Claim, ClaimedItem, ClaimType, Order, OrderItem, Payer, Remedy
from adjudicator.errors import UsageError
from adjudicator.lifecycle import RefusedEvent, State
from adjudicator.persistence import DisputeRow
from adjudicator.service import Adjudicator
from evidence import Party

CST = timezone(timedelta(hours=8))
SIGNED = datetime(2026, 3, 4, 15, 20, tzinfo=CST)
T0 = datetime(2026, 3, 4, 18, 0, tzinfo=CST)
SECOND = timedelta(seconds=1)
BUYER, MERCHANT, PLATFORM = Party.BUYER, Party.MERCHANT, Party.PLATFORM
ORDER = Order(
    order_id="O-2",
    category="general",
    paid_amount=Decimal("1398.00"),
    currency="CNY",
    items=(
        OrderItem("IP13", "iPhone 13", Decimal("1299.00"), 1),
        OrderItem("CHG", "charger", Decimal("99.00"), 1),
    ),
    shipped_at=datetime(2026, 3, 2, 9, 0, tzinfo=CST),
    tracking_no="SF1",
    signed_at=SIGNED,
)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def claim(
    remedy: Remedy, *items: tuple[str, int], kind: ClaimType = ClaimType.VISIBLE_DEFECT
) -> Claim:
    return Claim(kind, remedy, items=tuple(ClaimedItem(sku, n) for sku, n in items))


def stored_deadline(service: Adjudicator, case_id: str) -> int | None:
    with Session(service.engine) as session:
        row = session.exec(select(DisputeRow).where(DisputeRow.case_id == case_id)).one()
        return row.deadline_us


def test_a_claim_on_one_item_is_its_own_dispute(service: Adjudicator) -> None:
    charger = service.open("S-CHG", ORDER, claim(Remedy.REFUND_ONLY, ("CHG", 1)), at=T0)
    phone = service.open("S-IP", ORDER, claim(Remedy.RETURN_AND_REFUND, ("IP13", 1)), at=T0)
    assert charger.for_review(T0).disputed_amount == Decimal("99.00")
    assert phone.for_review(T0).disputed_amount == Decimal("1299.00")
    service.agree("S-CHG", at=hours(1))
    kept = service.get("S-CHG")
    assert (kept.state, kept.refund_amount, kept.claim.items) == (
        State.REFUNDED,
        Decimal("99.00"),
        (ClaimedItem("CHG", 1),),
    )
    assert service.get("S-IP").state is State.REQUESTED  # the other item's dispute goes on
    assert service.audit().intact


def test_a_claim_the_order_cannot_have_is_refused_and_nothing_is_stored(
    service: Adjudicator,
) -> None:
    with pytest.raises(UsageError, match=r"^/claim/items/0/sku: the order has no item"):
        service.open("S-BAD", ORDER, claim(Remedy.REFUND_ONLY, ("USB", 1)), at=T0)
    with pytest.raises(UsageError, match=r"^/claim/items/0/quantity: is 2, more than the 1"):
        service.open("S-BAD", ORDER, claim(Remedy.REFUND_ONLY, ("CHG", 2)), at=T0)
    assert not service.exists("S-BAD")


def test_a_negotiated_settlement_is_stored_and_audited(service: Adjudicator) -> None:
    service.open("S-NEG", ORDER, claim(Remedy.RETURN_AND_REFUND), at=T0)
    service.reject("S-NEG", at=hours(1))
    service.escalate("S-NEG", at=hours(2))
    made = service.offer("S-NEG", MERCHANT, Remedy.PARTIAL_REFUND, Decimal("200.00"), at=hours(3))
    assert made.offers[-1].id == "O1"
    service.decline_offer("S-NEG", BUYER, "O1", at=hours(4), reason="太少")
    service.offer("S-NEG", PLATFORM, Remedy.PARTIAL_REFUND, Decimal("400.00"), at=hours(5))
    service.accept_offer("S-NEG", MERCHANT, "O2", at=hours(6), idempotency_key="acc-1")
    again = service.accept_offer("S-NEG", MERCHANT, "O2", at=hours(6), idempotency_key="acc-1")
    assert again.state is State.AWAITING_EVIDENCE  # the same key: the first answer
    done = service.accept_offer("S-NEG", BUYER, "O2", at=hours(7))
    assert (done.state, done.resolution, done.refund_amount) == (
        State.REFUNDED,
        "negotiated",
        Decimal("400.00"),
    )
    fresh = Adjudicator(service.engine, service.store)
    kept = fresh.get("S-NEG")
    assert [o.status.value for o in kept.offers] == ["declined", "accepted"]
    assert kept.offers[1].accepted_by == (MERCHANT, BUYER)
    events = [entry["event"] for entry in fresh.history("S-NEG")]
    assert events[-4:] == ["offer", "accept_offer", "accept_offer", "pay"]
    assert fresh.audit().intact


def test_bad_offers_and_answers_are_refused_naming_the_field_and_change_nothing(
    service: Adjudicator,
) -> None:
    service.open("S-BAD", ORDER, claim(Remedy.REFUND_ONLY, ("CHG", 1)), at=T0)
    service.reject("S-BAD", at=hours(1))
    with pytest.raises(RefusedEvent) as above:
        service.offer("S-BAD", MERCHANT, Remedy.PARTIAL_REFUND, Decimal("99.01"), at=hours(2))
    assert (above.value.field, above.value.why) == (
        "amount",
        "99.01 is more than the disputed amount 99.00",
    )
    service.offer("S-BAD", MERCHANT, Remedy.PARTIAL_REFUND, Decimal("99.00"), at=hours(2))
    with pytest.raises(RefusedEvent) as unknown:
        service.accept_offer("S-BAD", BUYER, "O9", at=hours(3))
    assert unknown.value.field == "offer"
    entries = len(service.history("S-BAD"))
    lapsed_at = hours(2) + timedelta(hours=48)
    with pytest.raises(RefusedEvent) as late:
        service.accept_offer("S-BAD", BUYER, "O1", at=lapsed_at + SECOND)
    assert late.value.why.startswith(f"O1 lapsed at {lapsed_at.isoformat()}")
    # a refused command writes nothing: not even the lapse its clock passed (tick does that)
    assert len(service.history("S-BAD")) == entries
    assert service.get("S-BAD").offers[0].status.value == "open"


def test_tick_lapses_an_offer_one_second_after_its_deadline(service: Adjudicator) -> None:
    service.open("S-LAPSE", ORDER, claim(Remedy.REFUND_ONLY), at=T0)
    service.reject("S-LAPSE", at=hours(1))
    service.offer("S-LAPSE", BUYER, Remedy.PARTIAL_REFUND, Decimal("500.00"), at=hours(2))
    lapses = hours(2) + timedelta(hours=48)
    # the table's next timer is the offer's lapse, before the 7-day escalation window
    assert stored_deadline(service, "S-LAPSE") == int(lapses.timestamp() * 1_000_000)
    assert service.tick(lapses).fired == 0  # at exactly 48 h it still stands
    assert service.tick(lapses + SECOND).fired == 1
    kept = service.get("S-LAPSE")
    assert (kept.offers[0].status.value, kept.state) == ("lapsed", State.MERCHANT_REJECTED)
    assert stored_deadline(service, "S-LAPSE") == int(
        (hours(1) + timedelta(days=7)).timestamp() * 1_000_000
    )
    assert service.audit().intact


def test_a_reshipment_shipped_and_delivered(service: Adjudicator) -> None:
    missing = claim(Remedy.RESHIPMENT, ("CHG", 1), kind=ClaimType.MISSING_PARTS)
    service.open("S-SHIP", ORDER, missing, at=T0)
    service.agree("S-SHIP", at=hours(1))
    assert service.get("S-SHIP").state is State.SHIPMENT_DUE
    service.merchant_shipped("S-SHIP", "SF-PART", at=hours(1 + 48))  # exactly in time
    delivered = service.confirm_delivery("S-SHIP", at=hours(60))
    assert (delivered.state, delivered.remedy, delivered.refund_amount) == (
        State.CLOSED,
        Remedy.RESHIPMENT,
        Decimal("0.00"),
    )
    assert service.get("S-SHIP").shipment_tracking_no == "SF-PART"
    assert service.audit().intact


def test_an_exchange_the_merchant_does_not_ship_becomes_a_refund(service: Adjudicator) -> None:
    service.open("S-EXC", ORDER, claim(Remedy.EXCHANGE, ("IP13", 1)), at=T0)
    service.agree("S-EXC", at=hours(1))
    service.return_shipped("S-EXC", "YT-1", at=hours(2))
    service.confirm_receipt("S-EXC", at=hours(3))
    due = hours(3 + 72)
    assert service.tick(due).fired == 0
    assert service.get("S-EXC").state is State.SHIPMENT_DUE
    with pytest.raises(RefusedEvent):  # one second late: the fallback fires first
        service.merchant_shipped("S-EXC", "SF-NEW", at=due + SECOND)
    assert service.tick(due + SECOND).fired == 1
    kept = service.get("S-EXC")
    assert (kept.state, kept.remedy, kept.refund_amount, kept.return_payer) == (
        State.REFUNDED,
        Remedy.RETURN_AND_REFUND,
        Decimal("1299.00"),
        Payer.MERCHANT,
    )
    assert kept.resolution_rules[-2:] == ("deadline.exchange_ship", "fallback.missed_shipment")
    assert service.audit().intact


def test_an_insured_orders_agreed_return_is_paid_by_the_insurer(service: Adjudicator) -> None:
    insured = replace(ORDER, return_insurance=True)
    service.open("S-INS", insured, claim(Remedy.RETURN_AND_REFUND), at=T0)
    agreed = service.agree("S-INS", at=hours(1))
    assert (agreed.return_payer, agreed.resolution_rules) == (Payer.INSURER, ("shipping.insured",))
    assert Adjudicator(service.engine, service.store).get("S-INS").order.return_insurance
    assert service.audit().intact


def test_a_dispute_under_release_2026_2_takes_no_offers(service: Adjudicator) -> None:
    service.open(
        "S-OLD", ORDER, claim(Remedy.REFUND_ONLY), at=T0, rulebook="kuaishou.general@2026.2"
    )
    with pytest.raises(RefusedEvent, match=r"has no deadline\.offer: it takes no offers"):
        service.offer("S-OLD", MERCHANT, Remedy.PARTIAL_REFUND, Decimal("10.00"), at=hours(1))
    with pytest.raises(UsageError, match="it does not admit exchange"):
        service.open(
            "S-OLD-2", ORDER, claim(Remedy.EXCHANGE), at=T0, rulebook="kuaishou.general@2026.2"
        )
    assert service.get("S-OLD").rulebook.label == "kuaishou.general@2026.2"
