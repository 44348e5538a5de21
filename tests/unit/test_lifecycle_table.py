"""Every (state, event) pair of the lifecycle, allowed or refused, against a table written
here from RULES.md section 3 (not from the code's own table).

Two levels: the machine's transitions (every trigger, including the deadlines' own), and the
commands a party sends to a dispute standing in each state, where a refused command must
change nothing and write nothing to the journal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adjudicator.auditlog import MemoryJournal
from adjudicator.domain import ClaimType, Liability, PlatformFinding, Remedy
from adjudicator.lifecycle import MACHINE, RefusedEvent, State, allows
from adjudicator.workflow import Case, Event, Submission, Workflow
from evidence import EvidenceKind, Party
from tests.unit.test_workflow import T0, FakeExaminer, make_case

S = State
OPEN = {
    S.REQUESTED,
    S.MERCHANT_REJECTED,
    S.AWAITING_EVIDENCE,
    S.AWAITING_REBUTTAL,
    S.UNDER_REVIEW,
    S.AGREED,
    S.DECIDED,
    S.RETURN_IN_TRANSIT,
    S.SHIPMENT_DUE,
    S.SHIPMENT_IN_TRANSIT,
}
BEFORE_DECISION = {
    S.REQUESTED,
    S.MERCHANT_REJECTED,
    S.AWAITING_EVIDENCE,
    S.AWAITING_REBUTTAL,
    S.UNDER_REVIEW,
}
# trigger -> {from state: to state}; a state not named refuses the trigger ("same": stays)
TRANSITIONS: dict[str, dict[State, State | str]] = {
    "open": {S.NEW: S.REQUESTED},  # or refused, when opened too late
    "agree": {S.REQUESTED: S.AGREED},
    "answer_expired": {S.REQUESTED: S.AGREED},
    "reject": {S.REQUESTED: S.MERCHANT_REJECTED},
    "escalate": {S.MERCHANT_REJECTED: S.AWAITING_EVIDENCE},
    "escalate_expired": {S.MERCHANT_REJECTED: S.LAPSED},
    "evidence_complete": {S.AWAITING_EVIDENCE: S.AWAITING_REBUTTAL},
    "evidence_expired": {S.AWAITING_EVIDENCE: S.AWAITING_REBUTTAL},
    "rebuttal_complete": {S.AWAITING_REBUTTAL: S.UNDER_REVIEW},
    "rebuttal_expired": {S.AWAITING_REBUTTAL: S.UNDER_REVIEW},
    "decide": {S.UNDER_REVIEW: S.DECIDED},
    "pay": {S.DECIDED: S.REFUNDED, S.AGREED: S.REFUNDED},
    "close": {S.DECIDED: S.CLOSED},
    "return_shipped": {S.DECIDED: S.RETURN_IN_TRANSIT, S.AGREED: S.RETURN_IN_TRANSIT},
    "return_expired": {S.DECIDED: S.LAPSED, S.AGREED: S.LAPSED},
    "confirm_receipt": {S.RETURN_IN_TRANSIT: S.REFUNDED},  # or, for an exchange, shipment_due
    "confirm_expired": {S.RETURN_IN_TRANSIT: S.REFUNDED},
    "await_shipment": {S.DECIDED: S.SHIPMENT_DUE, S.AGREED: S.SHIPMENT_DUE},
    "merchant_shipped": {S.SHIPMENT_DUE: S.SHIPMENT_IN_TRANSIT},
    "shipment_expired": {S.SHIPMENT_DUE: S.REFUNDED},
    "confirm_delivery": {S.SHIPMENT_IN_TRANSIT: S.CLOSED},
    "delivery_expired": {S.SHIPMENT_IN_TRANSIT: S.CLOSED},
    "appeal": dict.fromkeys(
        (S.DECIDED, S.REFUNDED, S.CLOSED, S.RETURN_IN_TRANSIT, S.SHIPMENT_DUE),
        S.AWAITING_REBUTTAL,
    ),
    "offer": dict.fromkeys(BEFORE_DECISION, "same"),
    "accept_offer": dict.fromkeys(BEFORE_DECISION, S.AGREED),  # or same: not yet all accepted
    "decline_offer": dict.fromkeys(BEFORE_DECISION, "same"),
    "offer_expired": dict.fromkeys(BEFORE_DECISION, "same"),
    "withdraw": dict.fromkeys(BEFORE_DECISION, S.WITHDRAWN),
    "submit_evidence": dict.fromkeys(
        (S.AWAITING_EVIDENCE, S.AWAITING_REBUTTAL, S.UNDER_REVIEW), "same"
    ),
    "finding": dict.fromkeys(OPEN, "same"),
    "statement": dict.fromkeys(OPEN, "same"),
}


def test_the_machine_has_exactly_the_triggers_of_the_table() -> None:
    assert set(MACHINE.events) == set(TRANSITIONS)


@pytest.mark.parametrize("trigger", sorted(TRANSITIONS))
@pytest.mark.parametrize("state", list(State))
def test_each_trigger_in_each_state(state: State, trigger: str) -> None:
    expected = TRANSITIONS[trigger].get(state)
    assert allows(state, trigger) is (expected is not None)
    if expected is None:
        return
    destinations = {t.dest or "same" for t in MACHINE.events[trigger].transitions[state.value]}
    wanted = {expected.value if isinstance(expected, State) else expected}
    if trigger == "open":
        wanted.add(S.REFUSED.value)
    if trigger in ("evidence_complete", "evidence_expired"):
        wanted.add(S.UNDER_REVIEW.value)  # a claim type that admits no rebuttal
    if trigger in ("confirm_receipt", "confirm_expired"):
        wanted.add(S.SHIPMENT_DUE.value)  # goods back for an exchange or a repair
    if trigger == "accept_offer":
        wanted.add("same")  # the platform's proposal, accepted by one party of two
    assert destinations == wanted


# --- the commands, sent to a dispute standing in each state ------------------------------------
def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


PHOTO = (Submission(EvidenceKind.PHOTO, Path("photo.jpg")),)
CERTIFICATE = (
    Submission(EvidenceKind.INSPECTION_CERTIFICATE, Path("cert.pdf"), {"result": "pass"}),
)


def ev(at: float, actor: Party, action: str, **kw: object) -> Event:
    return Event(hours(at), actor, action, **kw)  # type: ignore[arg-type]


def _escalated() -> list[Event]:
    return [
        ev(0, Party.BUYER, "open"),
        ev(1, Party.MERCHANT, "reject"),
        ev(2, Party.BUYER, "escalate"),
    ]


def _reviewed(*, proof: bool = True) -> list[Event]:
    return [
        *_escalated(),
        *([ev(3, Party.BUYER, "submit_evidence", evidence=PHOTO)] if proof else []),
        ev(4, Party.BUYER, "evidence_complete"),
        ev(5, Party.MERCHANT, "evidence_complete"),
    ]


# state -> (the case, the events that bring it there, when the next command comes)
Setup = tuple[Callable[[], Case], list[Event], float]
SETUPS: dict[State, Setup] = {
    S.NEW: (make_case, [], 0),
    S.REQUESTED: (make_case, [ev(0, Party.BUYER, "open")], 0.5),
    S.AGREED: (make_case, [ev(0, Party.BUYER, "open"), ev(1, Party.MERCHANT, "agree")], 1.5),
    S.MERCHANT_REJECTED: (make_case, _escalated()[:2], 1.5),
    S.AWAITING_EVIDENCE: (make_case, _escalated(), 2.5),
    S.AWAITING_REBUTTAL: (make_case, _reviewed()[:-1], 4.5),
    S.UNDER_REVIEW: (
        lambda: make_case(remedy=Remedy.REFUND_ONLY, paid="12000.00"),
        _reviewed(),
        5.5,
    ),
    S.DECIDED: (make_case, _reviewed(), 5.5),  # a return is due
    S.RETURN_IN_TRANSIT: (
        make_case,
        [*_reviewed(), ev(6, Party.BUYER, "return_shipped", tracking_no="YT1")],
        6.5,
    ),
    S.SHIPMENT_DUE: (
        lambda: make_case(ClaimType.MISSING_PARTS, Remedy.RESHIPMENT),
        [ev(0, Party.BUYER, "open"), ev(1, Party.MERCHANT, "agree")],
        1.5,
    ),
    S.SHIPMENT_IN_TRANSIT: (
        lambda: make_case(ClaimType.MISSING_PARTS, Remedy.RESHIPMENT),
        [
            ev(0, Party.BUYER, "open"),
            ev(1, Party.MERCHANT, "agree"),
            ev(2, Party.MERCHANT, "merchant_shipped", tracking_no="SF9"),
        ],
        2.5,
    ),
    S.REFUNDED: (lambda: make_case(remedy=Remedy.REFUND_ONLY), _reviewed(), 5.5),
    S.CLOSED: (lambda: make_case(remedy=Remedy.REFUND_ONLY), _reviewed(proof=False), 5.5),
    S.LAPSED: (make_case, _escalated()[:2], 24 * 9),  # the buyer never escalated
    S.WITHDRAWN: (make_case, [ev(0, Party.BUYER, "open"), ev(1, Party.BUYER, "withdraw")], 1.5),
    S.REFUSED: (make_case, [ev(24 * 17, Party.BUYER, "open")], 24 * 17 + 1),
}
# each command as the party it belongs to sends it (the right party, where it is allowed)
COMMANDS: dict[str, Callable[[State, float], Event]] = {
    "open": lambda s, t: ev(t, Party.BUYER, "open"),
    "agree": lambda s, t: ev(t, Party.MERCHANT, "agree"),
    "reject": lambda s, t: ev(t, Party.MERCHANT, "reject"),
    "escalate": lambda s, t: ev(t, Party.BUYER, "escalate"),
    "submit_evidence": lambda s, t: ev(t, Party.BUYER, "submit_evidence", evidence=PHOTO),
    "evidence_complete": lambda s, t: ev(
        t, Party.MERCHANT if s is S.AWAITING_REBUTTAL else Party.BUYER, "evidence_complete"
    ),
    "withdraw": lambda s, t: ev(t, Party.BUYER, "withdraw"),
    "finding": lambda s, t: ev(t, Party.PLATFORM, "finding", finding=PlatformFinding.CARRIER_LOSS),
    "decide": lambda s, t: ev(
        t,
        Party.PLATFORM,
        "decide",
        liability=Liability.MERCHANT,
        remedy=Remedy.REFUND_ONLY,
        refund_amount=Decimal("12000.00"),
    ),
    "return_shipped": lambda s, t: ev(t, Party.BUYER, "return_shipped", tracking_no="YT2"),
    "confirm_receipt": lambda s, t: ev(t, Party.MERCHANT, "confirm_receipt"),
    "appeal": lambda s, t: ev(t, Party.MERCHANT, "appeal", evidence=CERTIFICATE),
    "statement": lambda s, t: ev(t, Party.BUYER, "statement", text="屏幕有裂痕"),
    "offer": lambda s, t: ev(
        t, Party.MERCHANT, "offer", remedy=Remedy.PARTIAL_REFUND, amount=Decimal("10.00")
    ),
    # no setup has an open offer: answers are refused everywhere (see the offers test below)
    "accept_offer": lambda s, t: ev(t, Party.BUYER, "accept_offer", offer="O1"),
    "decline_offer": lambda s, t: ev(t, Party.BUYER, "decline_offer", offer="O1"),
    "merchant_shipped": lambda s, t: ev(t, Party.MERCHANT, "merchant_shipped", tracking_no="SF8"),
    "confirm_delivery": lambda s, t: ev(t, Party.BUYER, "confirm_delivery"),
}
ALLOWED: dict[State, set[str]] = {
    S.NEW: {"open"},
    S.REQUESTED: {"agree", "reject", "withdraw", "finding", "statement", "offer"},
    S.AGREED: {"return_shipped", "finding", "statement"},
    S.MERCHANT_REJECTED: {"escalate", "withdraw", "finding", "statement", "offer"},
    S.AWAITING_EVIDENCE: {
        "submit_evidence",
        "evidence_complete",
        "withdraw",
        "finding",
        "statement",
        "offer",
    },
    S.AWAITING_REBUTTAL: {
        "submit_evidence",
        "evidence_complete",
        "withdraw",
        "finding",
        "statement",
        "offer",
    },
    S.UNDER_REVIEW: {"submit_evidence", "withdraw", "finding", "decide", "statement", "offer"},
    S.DECIDED: {"return_shipped", "finding", "appeal", "statement"},
    S.RETURN_IN_TRANSIT: {"confirm_receipt", "finding", "appeal", "statement"},
    # agreed, not decided: nothing to appeal
    S.SHIPMENT_DUE: {"merchant_shipped", "finding", "statement"},
    S.SHIPMENT_IN_TRANSIT: {"confirm_delivery", "finding", "statement"},
    S.REFUNDED: {"appeal"},
    S.CLOSED: {"appeal"},
    S.LAPSED: set(),
    S.WITHDRAWN: set(),
    S.REFUSED: set(),
}


def standing_in(state: State) -> tuple[Case, float]:
    build, events, then = SETUPS[state]
    case = build()
    flow = Workflow(MemoryJournal(), FakeExaminer())
    for event in events:
        flow.apply(case, event)
    flow.advance(case, hours(then))
    assert case.state is state, (state, case.state)
    return case, then


def test_every_state_is_reached() -> None:
    assert set(SETUPS) == set(State) == set(ALLOWED)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("state", list(State))
def test_each_command_in_each_state(state: State, command: str) -> None:
    case, then = standing_in(state)
    journal = MemoryJournal()
    flow = Workflow(journal, FakeExaminer())
    before = (case.state, case.resolution, case.deadline_at, len(case.evidence), case.decision)
    event = COMMANDS[command](state, then)
    if command in ALLOWED[state]:
        flow.apply(case, event)
        assert journal.entries, "an allowed command is journalled"
        return
    with pytest.raises(RefusedEvent) as refused:
        flow.apply(case, event)
    assert refused.value.event == command
    assert refused.value.state is state
    assert (case.state, case.resolution, case.deadline_at, len(case.evidence), case.decision) == (
        before
    )
    assert journal.entries == []


@pytest.mark.parametrize("state", list(State))
def test_an_offer_is_made_and_answered_only_before_a_decision(state: State) -> None:
    case, then = standing_in(state)
    journal = MemoryJournal()
    flow = Workflow(journal, FakeExaminer())
    offer = COMMANDS["offer"](state, then)
    if state not in BEFORE_DECISION:
        with pytest.raises(RefusedEvent):
            flow.apply(case, offer)
        assert journal.entries == []
        return
    flow.apply(case, offer)
    flow.apply(case, ev(then + 0.01, Party.BUYER, "decline_offer", offer="O1"))
    assert case.state is state  # a declined offer changes nothing
    flow.apply(case, ev(then + 0.02, Party.MERCHANT, "offer", remedy=Remedy.REFUND_ONLY))
    flow.apply(case, ev(then + 0.03, Party.BUYER, "accept_offer", offer="O2"))
    assert (case.state, case.resolution) == (S.REFUNDED, "negotiated")
    assert case.deadline_at is None  # whatever window was open closed with the settlement


# --- the machine is built from the table, and fire() reports what it refuses ------------------
def test_the_machine_built_from_the_table_has_exactly_its_transitions() -> None:
    from adjudicator.lifecycle import TABLE, _build

    machine = _build()  # what MACHINE was built with, called again so that it is checked
    assert list(machine.states) == [s.value for s in State]
    assert machine.initial == S.NEW.value
    built = {
        (trigger, source, t.dest, tuple(c.func for c in t.conditions))
        for trigger, event in machine.events.items()
        for source, transitions in event.transitions.items()
        for t in transitions
    }
    table = {
        (trigger, s.value, None if dest is None else dest.value, (f"guard_{c}",) if c else ())
        for trigger, sources, dest, c in TABLE
        for s in sources
    }
    assert built == table  # and nothing else: no automatic to_<state> triggers
    assert not any(name.startswith("to_") for name in machine.events)


def test_fire_names_the_dispute_state_and_event_it_refuses() -> None:
    from adjudicator.errors import AdjudicationError
    from adjudicator.lifecycle import fire

    with pytest.raises(RefusedEvent) as unknown:
        fire("KS-9", S.REQUESTED, "teleport")
    assert (unknown.value.case_id, unknown.value.state, unknown.value.event, unknown.value.why) == (
        "KS-9",
        S.REQUESTED,
        "teleport",
        "no such event",
    )
    with pytest.raises(RefusedEvent) as unmet:
        fire("KS-9", S.DECIDED, "appeal", {"may_appeal": lambda: False})
    assert (unmet.value.case_id, unmet.value.why) == ("KS-9", "its conditions do not hold")
    assert str(unmet.value) == (
        "dispute KS-9: appeal is not allowed in state decided: its conditions do not hold"
    )
    with pytest.raises(AdjudicationError) as unanswered:
        fire("KS-9", S.DECIDED, "appeal", {})
    assert str(unanswered.value).startswith("dispute KS-9: appeal needs the condition ")
    assert "guard_may_appeal" in str(unanswered.value)
    assert not isinstance(unanswered.value, RefusedEvent)
