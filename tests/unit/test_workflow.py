"""The lifecycle and its deadlines, on fakes: no files, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adjudicator.auditlog import MemoryJournal, verify
from adjudicator.domain import (
    Claim,
    ClaimType,
    EvidenceRecord,
    Liability,
    Order,
    OrderItem,
    PlatformFinding,
    Remedy,
)
from adjudicator.lifecycle import RefusedEvent, State
from adjudicator.rulebook import load_rulebook
from adjudicator.workflow import Case, Event, Submission, Workflow
from evidence import DisputeContext, EvidenceKind, Party

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 4, 18, 0, tzinfo=CST)  # opened 2h40m after signing
BUYER, MERCHANT, PLATFORM = Party.BUYER, Party.MERCHANT, Party.PLATFORM
USED_3C = load_rulebook("kuaishou.used_3c")


class FakeExaminer:
    """Accepts every file; its name says the facts: 'video-pre_shipment.mp4', 'photo-bad.jpg'."""

    def __init__(self) -> None:
        self.contexts: list[DisputeContext] = []

    def __call__(self, sub: Submission, context: DisputeContext, id_: str) -> EvidenceRecord:
        self.contexts.append(context)
        late = (
            context.window_closes_at is not None
            and context.submitted_at is not None
            and context.submitted_at > context.window_closes_at
        )
        bad = "bad" in sub.file.name or late
        return EvidenceRecord(
            id=id_,
            party=context.party,
            kind=sub.kind,
            sha256="0" * 64,
            accepted=not bad,
            reasons=("late",) if late else (),
            pre_shipment="pre_shipment" in sub.file.name,
            result=sub.declared.get("result"),
            status=sub.declared.get("status"),
        )


def make_case(
    claim: ClaimType = ClaimType.VISIBLE_DEFECT,
    remedy: Remedy = Remedy.RETURN_AND_REFUND,
    paid: str = "1299.00",
    shipped: bool = True,
) -> Case:
    signed = datetime(2026, 3, 4, 15, 20, tzinfo=CST)
    order = Order(
        order_id="O-1",
        category="used_3c.phone",
        paid_amount=Decimal(paid),
        currency="CNY",
        items=(OrderItem("IP13", "iPhone 13", Decimal(paid), 1, "356789104512345"),),
        shipped_at=signed - timedelta(days=2) if shipped else None,
        tracking_no="SF1" if shipped else None,
        signed_at=signed if shipped else None,
    )
    return Case("KS-1", USED_3C, order, Claim(claim, remedy))


def ev(hours: float, actor: Party, action: str, *files: str, **kw: object) -> Event:
    subs = tuple(Submission(EvidenceKind(f.split("-")[0].split(".")[0]), Path(f)) for f in files)
    kw.setdefault("evidence", subs)
    return Event(T0 + timedelta(hours=hours), actor, action, **kw)  # type: ignore[arg-type]


def run(case: Case, *events: Event, until: datetime | None = None) -> MemoryJournal:
    journal = MemoryJournal()
    flow = Workflow(journal, FakeExaminer())
    for event in events:
        flow.apply(case, event)
    while case.deadline_at is not None and (until is None or case.deadline_at < until):
        flow.expire_next(case)
    assert verify(journal.entries) is None
    return journal


def test_the_case_format_example_walks_the_whole_lifecycle() -> None:
    case = make_case()
    journal = run(
        case,
        ev(0, BUYER, "open"),
        ev(16, MERCHANT, "reject", reason="人为损坏"),
        ev(18, BUYER, "escalate"),
        ev(18.1, BUYER, "submit_evidence", "video.mp4"),
        ev(18.2, BUYER, "evidence_complete"),
        ev(39, MERCHANT, "submit_evidence", "video-pre_shipment.mp4"),
    )
    assert case.state is State.REFUNDED
    assert case.resolution == "adjudicated"
    assert case.decision is not None
    assert case.decision.liability is Liability.BOTH
    assert case.refund_amount == Decimal("649.50")
    events = [e["event"] for e in journal.entries]
    assert events[-4:] == ["rebuttal_expired", "decide", "decision", "pay"]
    expired = next(e for e in journal.entries if e["event"] == "rebuttal_expired")
    assert expired["at"] == (T0 + timedelta(hours=18.2 + 48)).isoformat()
    assert expired["rule"] == "deadline.rebuttal"


@pytest.mark.parametrize(
    ("remedy", "shipped", "hours"),
    [
        (Remedy.REFUND_ONLY, False, 24),
        (Remedy.REFUND_ONLY, True, 36),
        (Remedy.RETURN_AND_REFUND, True, 48),
        (Remedy.PARTIAL_REFUND, True, 48),
    ],
)
def test_an_unanswered_request_is_agreed_by_default(
    remedy: Remedy, shipped: bool, hours: int
) -> None:
    claim = ClaimType.NOT_SHIPPED if not shipped else ClaimType.VISIBLE_DEFECT
    at_the_limit = make_case(claim, remedy, shipped=shipped)
    run(at_the_limit, ev(0, BUYER, "open"), until=T0 + timedelta(hours=hours))
    assert at_the_limit.state is State.REQUESTED  # "within 24 h": 24 h itself is in time
    case = make_case(claim, remedy, shipped=shipped)
    past = T0 + timedelta(hours=hours, microseconds=1)
    journal = run(case, ev(0, BUYER, "open"), until=past)
    assert case.resolution == "merchant_timeout"
    expired = next(e for e in journal.entries if e["event"] == "answer_expired")
    assert expired["at"] == (T0 + timedelta(hours=hours)).isoformat()
    if remedy is Remedy.RETURN_AND_REFUND:
        assert case.state is State.AGREED  # waiting for the buyer to ship the goods back
    else:
        assert case.state is State.REFUNDED


def test_agreed_return_lapses_when_the_buyer_never_ships() -> None:
    case = make_case()
    run(case, ev(0, BUYER, "open"), ev(1, MERCHANT, "agree"))
    assert (case.state, case.resolution) == (State.LAPSED, "agreed")


def test_return_flow_with_confirmation_and_by_default() -> None:
    confirmed = make_case()
    run(
        confirmed,
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "agree"),
        ev(30, BUYER, "return_shipped", tracking_no="YT1"),
        ev(50, MERCHANT, "confirm_receipt"),
    )
    assert confirmed.state is State.REFUNDED
    by_default = make_case()
    journal = run(
        by_default,
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "agree"),
        ev(30, BUYER, "return_shipped", tracking_no="YT1"),
    )
    assert by_default.state is State.REFUNDED
    assert journal.entries[-1]["rule"] == "deadline.confirm_receipt"


def test_an_unescalated_rejection_lapses_after_seven_days() -> None:
    case = make_case()
    journal = run(case, ev(0, BUYER, "open"), ev(2, MERCHANT, "reject"))
    assert (case.state, case.resolution) == (State.LAPSED, "lapsed")
    assert journal.entries[-1]["at"] == (T0 + timedelta(hours=2, days=7)).isoformat()


def test_evidence_window_expiry_moves_to_rebuttal_then_review() -> None:
    case = make_case()
    run(case, ev(0, BUYER, "open"), ev(1, MERCHANT, "reject"), ev(2, BUYER, "escalate"))
    assert case.state is State.CLOSED  # no proof at all: the buyer's claim is rejected
    assert case.decision is not None
    assert case.decision.liability is Liability.BUYER


def test_opening_late_is_refused_but_not_for_non_delivery_claims() -> None:
    late = make_case()
    run(late, ev(24 * 16, BUYER, "open"))
    assert (late.state, late.resolution) == (State.REFUSED, "refused")
    fifteen_days = make_case()
    run(fifteen_days, ev(24 * 15, BUYER, "open"), ev(24 * 15 + 1, MERCHANT, "agree"))
    assert fifteen_days.resolution == "agreed"
    not_received = make_case(ClaimType.NOT_RECEIVED, Remedy.REFUND_ONLY)
    run(not_received, ev(24 * 40, BUYER, "open"), ev(24 * 40 + 1, MERCHANT, "agree"))
    assert not_received.state is State.REFUNDED


def test_a_refused_event_changes_nothing_and_names_state_and_event() -> None:
    case = make_case()
    flow = Workflow(MemoryJournal(), FakeExaminer())
    flow.apply(case, ev(0, BUYER, "open"))
    before = (case.state, case.deadline_at, len(case.evidence))
    with pytest.raises(RefusedEvent, match="KS-1: escalate is not allowed in state requested"):
        flow.apply(case, ev(1, BUYER, "escalate"))
    with pytest.raises(RefusedEvent, match="not by the buyer"):
        flow.apply(case, ev(1, BUYER, "agree"))
    assert (case.state, case.deadline_at, len(case.evidence)) == before


def test_late_evidence_is_recorded_and_rejected() -> None:
    case = make_case()
    examiner = FakeExaminer()
    flow = Workflow(MemoryJournal(), examiner)
    for event in (
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "reject"),
        ev(2, BUYER, "escalate"),
        ev(3, BUYER, "submit_evidence", "photo.jpg"),
        ev(4, BUYER, "evidence_complete"),
        ev(5, BUYER, "submit_evidence", "video.mp4"),  # the buyer's window closed at 4
    ):
        flow.apply(case, event)
    assert [e.accepted for e in case.evidence] == [True, False]
    assert case.evidence[1].reasons == ("late",)


def test_manual_review_waits_for_the_platform() -> None:
    case = make_case(paid="12000.00", remedy=Remedy.REFUND_ONLY)
    run(
        case,
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "reject"),
        ev(2, BUYER, "escalate"),
        ev(3, BUYER, "submit_evidence", "photo.jpg"),
        ev(4, BUYER, "evidence_complete"),
        ev(5, MERCHANT, "evidence_complete"),
    )
    assert (case.state, case.resolution) == (State.UNDER_REVIEW, "pending_review")
    journal = MemoryJournal()
    Workflow(journal, FakeExaminer()).apply(
        case,
        ev(
            30,
            PLATFORM,
            "decide",
            liability=Liability.MERCHANT,
            remedy=Remedy.REFUND_ONLY,
            refund_amount=Decimal("800"),
            reason="a small scratch",
        ),
    )
    assert case.state is State.REFUNDED
    assert case.decision is not None
    # the rules would refund all 12,000.00: the reviewer's 800.00 is an override, with its reason
    assert case.decision.rules == ("review.manual", "review.override", "remedy.merchant")
    assert case.decision.trace[1].because.startswith("a small scratch")
    assert case.decision.refund_amount == Decimal("800.00")
    assert case.decision.penalty_amount == Decimal("36000.00")


def test_an_appeal_replaces_the_decision_once_within_48_hours() -> None:
    case = make_case(remedy=Remedy.REFUND_ONLY)
    journal = run(
        case,
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "reject"),
        ev(2, BUYER, "escalate"),
        ev(3, BUYER, "submit_evidence", "photo.jpg"),
        ev(4, BUYER, "evidence_complete"),
        ev(5, MERCHANT, "evidence_complete"),  # decided: merchant liable, refunded
        ev(
            20,
            MERCHANT,
            "appeal",
            evidence=(
                Submission(
                    EvidenceKind.INSPECTION_CERTIFICATE, Path("cert.pdf"), {"result": "pass"}
                ),
            ),
        ),
    )
    # first: the buyer's photo (1) unrebutted, merchant liable, 1299.00 refunded; on appeal the
    # merchant's certificate (1, not accredited) equals it: both liable, half refunded
    assert case.decision is not None
    assert case.decision.liability is Liability.BOTH
    assert case.state is State.REFUNDED
    appeal_decision = [e for e in journal.entries if e["event"] == "decision"][-1]
    assert appeal_decision["replaces"]["liability"] == "merchant"
    assert appeal_decision["refund_reversed"] == "649.50"
    with pytest.raises(RefusedEvent, match="conditions do not hold"):
        Workflow(MemoryJournal(), FakeExaminer()).apply(case, ev(21, BUYER, "appeal"))


DECIDED_FOR_THE_BUYER = [
    ev(0, BUYER, "open"),
    ev(1, MERCHANT, "reject"),
    ev(2, BUYER, "escalate"),
    ev(3, BUYER, "submit_evidence", "photo.jpg"),
    ev(4, BUYER, "evidence_complete"),
    ev(5, MERCHANT, "evidence_complete"),  # decided at 5: merchant liable, 1299.00 refunded
]
CERTIFICATE = (
    Submission(EvidenceKind.INSPECTION_CERTIFICATE, Path("cert.pdf"), {"result": "pass"}),
)


def test_an_appeal_opens_a_rebuttal_window_for_the_other_side() -> None:
    case = make_case(remedy=Remedy.REFUND_ONLY)
    flow = Workflow(MemoryJournal(), FakeExaminer())
    for event in DECIDED_FOR_THE_BUYER:
        flow.apply(case, event)
    flow.apply(case, ev(20, MERCHANT, "appeal", evidence=CERTIFICATE))
    # nothing is decided yet: the buyer has 48 h to answer the merchant's new evidence
    waiting = case.state
    assert waiting is State.AWAITING_REBUTTAL
    assert (case.deadline_rule, case.deadline_event) == ("deadline.rebuttal", "rebuttal_expired")
    assert case.deadline_at == T0 + timedelta(hours=20 + 48)
    assert case.decision is not None
    assert case.decision.liability is Liability.MERCHANT  # the old decision stands meanwhile
    # the buyer answers at exactly 48 h (in time) with a video, and closes the window
    flow.apply(case, ev(68, BUYER, "submit_evidence", "video.mp4"))
    assert case.evidence[-1].accepted
    with pytest.raises(RefusedEvent, match="not the merchant's window"):
        flow.apply(case, ev(68, MERCHANT, "evidence_complete"))
    flow.apply(case, ev(68, BUYER, "evidence_complete"))
    # review again with all evidence: video (2) against the certificate (1): merchant liable
    assert case.state is State.REFUNDED
    assert case.decision.liability is Liability.MERCHANT
    assert case.appeal is not None
    assert case.appeal.refund_reversed(case.decision) is None


def test_the_appellant_cannot_add_evidence_after_its_appeal() -> None:
    case = make_case(remedy=Remedy.REFUND_ONLY)
    flow = Workflow(MemoryJournal(), FakeExaminer())
    for event in DECIDED_FOR_THE_BUYER:
        flow.apply(case, event)
    flow.apply(case, ev(20, MERCHANT, "appeal", evidence=CERTIFICATE))
    flow.apply(case, ev(21, MERCHANT, "submit_evidence", "video-pre_shipment.mp4"))
    assert case.evidence[-1].reasons == ("late",)
    assert case.evidence[-2].accepted  # the appeal's own evidence is never late


def test_an_unanswered_appeal_is_decided_when_its_window_lapses() -> None:
    case = make_case(remedy=Remedy.REFUND_ONLY)
    journal = run(
        case,
        *DECIDED_FOR_THE_BUYER,
        ev(20, MERCHANT, "appeal", evidence=CERTIFICATE),
    )
    events = [e["event"] for e in journal.entries]
    assert events[events.index("appeal") :] == [
        "appeal",
        "evidence",
        "rebuttal_expired",
        "decide",
        "decision",
        "pay",
    ]
    assert case.decision is not None
    assert case.decision.liability is Liability.BOTH
    assert case.appeal is not None
    assert case.appeal.paid == Decimal("1299.00")
    assert case.appeal.refund_reversed(case.decision) == Decimal("649.50")


def test_an_appeal_is_allowed_while_the_return_is_in_transit() -> None:
    case = make_case()  # return_and_refund
    flow = Workflow(MemoryJournal(), FakeExaminer())
    for event in DECIDED_FOR_THE_BUYER:
        flow.apply(case, event)
    states = [case.state]
    flow.apply(case, ev(6, BUYER, "return_shipped", tracking_no="YT1"))
    states.append(case.state)
    flow.apply(case, ev(53, MERCHANT, "appeal", evidence=CERTIFICATE))  # 48 h after: in time
    states.append(case.state)
    assert states == [State.DECIDED, State.RETURN_IN_TRANSIT, State.AWAITING_REBUTTAL]
    assert case.appeal is not None
    assert case.appeal.paid is None  # no money had moved
    flow.advance(case, T0 + timedelta(hours=53 + 48, seconds=1))
    # both liable now: a partial refund, nothing goes back, nothing had been paid to reverse
    assert case.decision is not None
    assert (case.state, case.decision.liability) == (State.REFUNDED, Liability.BOTH)
    assert case.appeal.refund_reversed(case.decision) is None


def test_a_new_decision_for_a_return_in_transit_waits_for_the_goods() -> None:
    case = make_case()
    flow = Workflow(MemoryJournal(), FakeExaminer())
    for event in DECIDED_FOR_THE_BUYER:
        flow.apply(case, event)
    flow.apply(case, ev(6, BUYER, "return_shipped", tracking_no="YT1"))
    flow.apply(
        case, ev(7, BUYER, "appeal", evidence=(Submission(EvidenceKind.VIDEO, Path("v.mp4")),))
    )
    flow.apply(case, ev(8, MERCHANT, "evidence_complete"))
    # decided again for the buyer: the goods already shipped are still on their way back
    assert case.state is State.RETURN_IN_TRANSIT
    assert case.return_tracking_no == "YT1"
    assert (case.deadline_rule, case.deadline_at) == (
        "deadline.confirm_receipt",
        T0 + timedelta(hours=8, days=7),
    )


def test_an_agreed_request_cannot_be_appealed_nor_a_decided_one_withdrawn() -> None:
    agreed = make_case()
    run(
        agreed,
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "agree"),
        ev(2, BUYER, "return_shipped", tracking_no="YT1"),
        until=T0 + timedelta(hours=3),
    )
    with pytest.raises(RefusedEvent, match="appeal is not allowed in state return_in_transit"):
        Workflow(MemoryJournal(), FakeExaminer()).apply(agreed, ev(3, MERCHANT, "appeal"))
    appealed = make_case(remedy=Remedy.REFUND_ONLY)
    flow = Workflow(MemoryJournal(), FakeExaminer())
    for event in DECIDED_FOR_THE_BUYER:
        flow.apply(appealed, event)
    flow.apply(appealed, ev(20, MERCHANT, "appeal", evidence=CERTIFICATE))
    with pytest.raises(RefusedEvent, match="withdraw is not allowed in state awaiting_rebuttal"):
        flow.apply(appealed, ev(21, BUYER, "withdraw"))


def test_an_appeal_after_48_hours_or_a_second_one_is_refused() -> None:
    case = make_case(remedy=Remedy.REFUND_ONLY)
    flow = Workflow(MemoryJournal(), FakeExaminer())
    for event in DECIDED_FOR_THE_BUYER:
        flow.apply(case, event)
    late = ev(53, MERCHANT, "appeal", evidence=CERTIFICATE)
    with pytest.raises(RefusedEvent, match="conditions do not hold"):
        flow.apply(case, replace(late, at=late.at + timedelta(microseconds=1)))
    flow.apply(case, late)  # exactly 48 h after the decision: in time


def test_a_finding_no_rule_weighs_waits_for_a_reviewer() -> None:
    case = make_case()
    run(
        case,
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "reject"),
        ev(2, BUYER, "escalate"),
        ev(2.5, PLATFORM, "finding", finding=PlatformFinding.CARRIER_LOSS),
        ev(3, BUYER, "submit_evidence", "photo.jpg"),
        ev(4, BUYER, "evidence_complete"),
        ev(5, MERCHANT, "evidence_complete"),
    )
    assert (case.state, case.resolution) == (State.UNDER_REVIEW, "pending_review")
    assert case.resolution_rules == ("review.finding",)
    assert case.decision is None


def test_findings_are_recorded_and_weighed_at_review() -> None:
    case = make_case(ClaimType.NOT_RECEIVED, Remedy.REFUND_ONLY)
    run(
        case,
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "reject"),
        ev(2, BUYER, "escalate"),
        ev(3, PLATFORM, "finding", finding=PlatformFinding.CARRIER_LOSS),
    )
    assert case.decision is not None
    assert case.decision.liability is Liability.NEITHER
    assert case.state is State.REFUNDED


def test_withdrawal_before_a_decision() -> None:
    case = make_case()
    run(case, ev(0, BUYER, "open"), ev(1, MERCHANT, "reject"), ev(2, BUYER, "withdraw"))
    assert (case.state, case.resolution, case.deadline_at) == (State.WITHDRAWN, "withdrawn", None)


# --- every limit is inclusive: an event at exactly the end of its window is in time ----------
ESCALATED = [ev(0, BUYER, "open"), ev(1, MERCHANT, "reject"), ev(2, BUYER, "escalate")]
REVIEWED = [
    *ESCALATED,
    ev(3, BUYER, "submit_evidence", "photo.jpg"),
    ev(4, BUYER, "evidence_complete"),
]
RETURNING = [ev(0, BUYER, "open"), ev(1, MERCHANT, "agree")]


@pytest.mark.parametrize(
    ("remedy", "shipped", "before", "last"),
    [
        # a merchant's answer at exactly 24 h (refund only, not shipped), 36 h, 48 h
        (Remedy.REFUND_ONLY, False, [ev(0, BUYER, "open")], ev(24, MERCHANT, "reject")),
        (Remedy.REFUND_ONLY, True, [ev(0, BUYER, "open")], ev(36, MERCHANT, "agree")),
        (Remedy.RETURN_AND_REFUND, True, [ev(0, BUYER, "open")], ev(48, MERCHANT, "agree")),
        # escalating at exactly 7 days after the rejection
        (
            Remedy.RETURN_AND_REFUND,
            True,
            [ev(0, BUYER, "open"), ev(1, MERCHANT, "reject")],
            ev(1 + 7 * 24, BUYER, "escalate"),
        ),
        # counter-evidence at exactly 48 h after the evidence window closed
        (
            Remedy.RETURN_AND_REFUND,
            True,
            REVIEWED,
            ev(4 + 48, MERCHANT, "submit_evidence", "video-pre_shipment.mp4"),
        ),
        # shipping the goods back at exactly 10 days after the agreement
        (
            Remedy.RETURN_AND_REFUND,
            True,
            RETURNING,
            ev(1 + 240, BUYER, "return_shipped", tracking_no="SF9"),
        ),
        # confirming receipt at exactly 7 days after the goods were shipped back
        (
            Remedy.RETURN_AND_REFUND,
            True,
            [*RETURNING, ev(2, BUYER, "return_shipped", tracking_no="SF9")],
            ev(2 + 168, MERCHANT, "confirm_receipt"),
        ),
    ],
    ids=[
        "answer-24h",
        "answer-36h",
        "answer-48h",
        "escalate-7d",
        "rebuttal-48h",
        "return-10d",
        "confirm-7d",
    ],
)
def test_an_event_at_exactly_the_end_of_its_window_is_in_time(
    remedy: Remedy, shipped: bool, before: list[Event], last: Event
) -> None:
    claim = ClaimType.NOT_SHIPPED if not shipped else ClaimType.VISIBLE_DEFECT
    case = make_case(claim, remedy, shipped=shipped)
    journal = MemoryJournal()
    flow = Workflow(journal, FakeExaminer())
    for event in [*before, last]:
        flow.apply(case, event)  # refused (RefusedEvent) if its window had expired
    assert not [e for e in journal.entries if e["event"].endswith("_expired")]
    assert journal.entries[-1]["at"] == last.at.isoformat()
    if last.evidence:
        assert case.evidence[-1].accepted  # not late
    late = replace(last, at=last.at + timedelta(microseconds=1))
    after = make_case(claim, remedy, shipped=shipped)
    flow = Workflow(MemoryJournal(), FakeExaminer())
    for event in before:
        flow.apply(after, event)
    with pytest.raises(RefusedEvent):  # a microsecond later the window has expired
        flow.apply(after, late)


def test_a_party_explains_itself_in_its_own_words() -> None:
    case = make_case()
    journal = run(
        case,
        ev(0, BUYER, "open"),
        ev(1, BUYER, "statement", text="屏幕有裂痕, 开箱即发现"),
        ev(2, MERCHANT, "statement", text="发货前已检查\n视频为证"),
        ev(3, MERCHANT, "reject"),
        until=T0 + timedelta(hours=4),
    )
    assert [(s.by, s.text) for s in case.statements] == [
        (BUYER, "屏幕有裂痕, 开箱即发现"),
        (MERCHANT, "发货前已检查\n视频为证"),
    ]
    said = [e for e in journal.entries if e["event"] == "statement"]
    assert [(e["actor"], e["from"], e["to"], e["text"]) for e in said] == [
        ("buyer", "requested", "requested", "屏幕有裂痕, 开箱即发现"),
        ("merchant", "requested", "requested", "发货前已检查\n视频为证"),
    ]
    # a statement decides nothing: the merchant's answer window runs on
    assert case.deadline_rule == "deadline.escalate"


@pytest.mark.parametrize(
    ("actor", "text", "why"),
    [
        (BUYER, "", "a statement is 1 to 500 characters, not 0"),
        (BUYER, "   ", "a statement is 1 to 500 characters, not 3"),
        (BUYER, "字" * 501, "a statement is 1 to 500 characters, not 501"),
        (PLATFORM, "平台说明", "not by the platform"),
    ],
)
def test_a_statement_that_is_empty_too_long_or_the_platforms_is_refused(
    actor: Party, text: str, why: str
) -> None:
    case = make_case()
    journal = MemoryJournal()
    flow = Workflow(journal, FakeExaminer())
    flow.apply(case, ev(0, BUYER, "open"))
    before = len(journal.entries)
    with pytest.raises(RefusedEvent, match=why):
        flow.apply(case, ev(1, actor, "statement", text=text))
    assert (case.statements, len(journal.entries)) == ([], before)
    flow.apply(case, ev(1, BUYER, "statement", text="字" * 500))  # at the limit: in
    assert len(case.statements) == 1
