"""The effects the decision log orders (adjudicator/effects.py), over real log entries: every
example case replayed in memory, and flows through the workflow for every remedy, every way a
dispute is refunded, the appeal that pays or takes back the difference, and the shipments owed
and no longer owed. No database."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adjudicator.auditlog import MemoryJournal
from adjudicator.casefile import read_case
from adjudicator.domain import ClaimType, Liability, Remedy
from adjudicator.effects import (
    BY_NAME,
    KINDS,
    Ledger,
    could_order,
    describe,
    effects_of,
    effects_of_log,
)
from adjudicator.lifecycle import State
from adjudicator.replay import Replayed, replay
from adjudicator.workflow import Case, Workflow
from evidence import Party
from tests.unit.test_offers_and_shipments import (
    SECOND,
    Flow,
    at,
    event,
    exchange,
    offer,
    opened,
    reshipment,
)
from tests.unit.test_workflow import (
    CERTIFICATE,
    DECIDED_FOR_THE_BUYER,
    T0,
    FakeExaminer,
    ev,
    make_case,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples" / "cases").glob("*.json"))
BUYER, MERCHANT, PLATFORM = Party.BUYER, Party.MERCHANT, Party.PLATFORM


@cache
def replayed(name: str) -> Replayed:
    return replay(read_case(REPO / "examples" / "cases" / name))


def ordered(entries: Iterable[Mapping[str, Any]], currency: str = "CNY") -> list[dict[str, Any]]:
    return effects_of_log(entries, lambda case_id: currency)


def brief(effects: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Each effect as (its entry and index, kind, amount or party or goods)."""
    out: list[tuple[str, ...]] = []
    for effect in effects:
        where = effect["key"].rpartition("#")[2]
        said = effect.get("amount") or effect.get("tracking_no") or effect.get("cancels")
        detail = effect.get("goods") if effect["kind"] == "shipment" else said
        out.append((where, effect["kind"], str(detail)))
    return out


def of(flow: Flow | MemoryJournal) -> list[tuple[str, ...]]:
    journal = flow.journal if isinstance(flow, Flow) else flow
    return brief(ordered(journal.entries))


def net(effects: list[dict[str, Any]], more: str, less: str) -> Decimal:
    total = Decimal("0.00")
    for effect in effects:
        if effect["kind"] == more:
            total += Decimal(effect["amount"])
        elif effect["kind"] == less:
            total -= Decimal(effect["amount"])
    return total


# --- the examples ---------------------------------------------------------------------------


def test_the_examples_order_what_their_outcomes_say() -> None:
    table = {path.name: brief(ordered(replayed(path.name).log)) for path in EXAMPLES}
    assert table["KS-2026-000123.json"] == [
        ("11.0", "penalty", "2338.20"),
        ("12.0", "refund_due", "649.50"),
    ]
    assert table["KS-EX-0002.json"] == [  # decided: the goods come back, then the money
        ("9.0", "penalty", "3897.00"),
        ("10.0", "return_shipping", "YT0000000001"),
        ("11.0", "refund_due", "1299.00"),
    ]
    assert table["KS-EX-0003.json"] == []  # a rejection moves nothing
    assert table["KS-EX-0013.json"] == [("3.0", "refund_due", "1299.00")]  # merchant timeout
    assert table["KS-EX-0014.json"] == table["KS-EX-0015.json"] == []  # lapsed, refused
    assert table["KS-EX-0016.json"] == []  # withdrawn
    assert table["KS-EX-0018.json"] == [  # decided, paid, appealed, rejected: all back
        ("9.0", "penalty", "3897.00"),
        ("10.0", "refund_due", "1299.00"),
        ("15.0", "refund_reversed", "1299.00"),
        ("15.1", "penalty_reversed", "3897.00"),
    ]
    # appealed and decided the same again: no second refund, no second penalty
    assert table["KS-EX-0021.json"] == [
        ("9.0", "penalty", "3897.00"),
        ("10.0", "refund_due", "1299.00"),
    ]
    assert table["KS-EX-0023.json"] == [("4.0", "refund_due", "50.00")]  # negotiated
    assert table["KS-EX-0025.json"] == [("3.0", "shipment", "what was missing")]
    assert table["KS-EX-0026.json"] == [  # an exchange the merchant never shipped
        ("3.0", "return_shipping", "YT2000000026"),
        ("4.0", "shipment", "a replacement"),
        ("5.0", "shipment_cancelled", "KS-EX-0026#4.0"),
        ("5.1", "refund_due", "1299.00"),
    ]
    assert table["KS-EX-0027.json"] == [
        ("3.0", "return_shipping", "YT2000000027"),
        ("4.0", "refund_due", "1299.00"),
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_an_examples_money_adds_up_to_its_outcome(path: Path) -> None:
    """What the buyer is paid, net, is the refund of a refunded dispute (0.00 otherwise), and
    the penalty, net, the decision's; every refund names the order's currency."""
    done = replayed(path.name)
    case = done.case
    effects = ordered(done.log, case.order.currency)
    paid = case.refund_amount if case.state is State.REFUNDED else Decimal("0.00")
    assert net(effects, "refund_due", "refund_reversed") == paid
    penalty = case.decision.penalty_amount if case.decision else Decimal("0.00")
    assert net(effects, "penalty", "penalty_reversed") == penalty
    assert sum(e["kind"] == "refund_due" for e in effects) <= 1 + case.appealed
    for effect in effects:
        assert (effect.get("currency") == case.order.currency) is BY_NAME[effect["kind"]].money
        assert effect["case_id"] == case.case_id
        caused = done.log[effect["seq"] - 1]
        assert (caused["hash"], caused["event"], caused["at"]) == (
            effect["hash"],
            effect["event"],
            effect["at"],
        )


def test_each_entry_orders_what_the_whole_log_orders_and_only_entries_that_may() -> None:
    for path in EXAMPLES:
        done = replayed(path.name)
        ledger = Ledger(done.case.case_id, "CNY")
        one_by_one = []
        for entry in done.log:
            made = effects_of(entry, ledger)
            assert could_order(entry) or not made, entry
            one_by_one += made
        assert one_by_one == ordered(done.log)


def test_keys_are_unique_and_the_same_when_the_case_is_replayed_again() -> None:
    keys = [e["key"] for p in EXAMPLES for e in ordered(replayed(p.name).log)]
    assert len(keys) == len(set(keys)) > 40
    assert all(re.fullmatch(r"[A-Za-z0-9._:-]+#[1-9][0-9]*\.[0-9]+", key) for key in keys)
    again = replay(read_case(EXAMPLES[0]))
    assert ordered(again.log) == ordered(replayed(EXAMPLES[0].name).log)


def test_a_ledger_takes_only_its_own_disputes_entries() -> None:
    entry = replayed("KS-EX-0013.json").log[0]
    with pytest.raises(ValueError, match="KS-EX-0013"):
        Ledger("KS-OTHER", "CNY").observe(entry)


def test_an_amount_that_is_no_amount_orders_nothing_rather_than_failing() -> None:
    flow = opened()(event(at(1), MERCHANT, "agree"))
    forged = [dict(e) for e in flow.journal.entries]
    for text in ("NaN", "Infinity", "12,00", None):
        forged[1]["refund_amount"] = text
        assert ordered(forged) == []


# --- every remedy, every way to a refund ------------------------------------------------------


def test_an_agreed_refund_is_due_at_once_and_a_timed_out_one_too() -> None:
    assert of(opened()(event(at(1), MERCHANT, "agree"))) == [("3.0", "refund_due", "1299.00")]
    silent = opened().rest()
    assert silent.events()[1:] == ["answer_expired", "pay"]
    assert of(silent) == [("3.0", "refund_due", "1299.00")]


def test_a_negotiated_partial_refund_pays_the_offer() -> None:
    flow = opened(remedy=Remedy.RETURN_AND_REFUND)(
        offer(1, MERCHANT, Remedy.PARTIAL_REFUND, "50.00"),
        event(at(2), BUYER, "accept_offer", offer="O1"),
    )
    effects = ordered(flow.journal.entries)
    assert brief(effects) == [("4.0", "refund_due", "50.00")]
    assert effects[0]["remedy"] == "partial_refund"
    assert effects[0]["payee"] == "buyer"


def test_the_platforms_proposal_pays_once_both_accept() -> None:
    flow = opened()(
        offer(1, PLATFORM, Remedy.PARTIAL_REFUND, "80.00"),
        event(at(2), BUYER, "accept_offer", offer="O1"),
    )
    assert of(flow) == []  # the merchant has yet to accept
    flow(event(at(3), MERCHANT, "accept_offer", offer="O1"))
    assert of(flow) == [("5.0", "refund_due", "80.00")]


def test_a_return_pays_its_shipping_when_shipped_and_the_refund_when_received() -> None:
    flow = opened(remedy=Remedy.RETURN_AND_REFUND)(event(at(1), MERCHANT, "agree"))
    assert of(flow) == []  # agreed: nothing moves until the goods are sent
    flow(event(at(2), BUYER, "return_shipped", tracking_no="YT1"))
    effects = ordered(flow.journal.entries)
    assert effects[0]["kind"] == "return_shipping"
    assert (effects[0]["payer"], effects[0]["shipper"], effects[0]["recipient"]) == (
        "merchant",
        "buyer",
        "merchant",
    )
    assert effects[0]["rules"] == ["shipping.default"]
    assert "currency" not in effects[0]
    flow(event(at(3), MERCHANT, "confirm_receipt"))
    assert of(flow) == [("3.0", "return_shipping", "YT1"), ("4.0", "refund_due", "1299.00")]


def test_a_return_never_shipped_orders_nothing() -> None:
    flow = opened(remedy=Remedy.RETURN_AND_REFUND)(event(at(1), MERCHANT, "agree")).rest()
    assert flow.case.state is State.LAPSED
    assert of(flow) == []


def test_an_insured_return_is_shipped_at_the_insurers_cost() -> None:
    case = make_case(remedy=Remedy.RETURN_AND_REFUND)
    case = replace(case, order=replace(case.order, return_insurance=True))
    flow = Flow(case)(
        event(at(0), BUYER, "open"),
        event(at(1), MERCHANT, "agree"),
        event(at(2), BUYER, "return_shipped", tracking_no="YT1"),
    )
    effect = ordered(flow.journal.entries)[0]
    assert (effect["payer"], effect["rules"]) == ("insurer", ["shipping.insured"])


def test_a_reshipment_is_owed_at_once_and_shipped_orders_nothing_more() -> None:
    flow = reshipment()
    effects = ordered(flow.journal.entries)
    assert brief(effects) == [("3.0", "shipment", "what was missing")]
    assert (effects[0]["shipper"], effects[0]["recipient"], effects[0]["remedy"]) == (
        "merchant",
        "buyer",
        "reshipment",
    )
    flow(
        event(at(2), MERCHANT, "merchant_shipped", tracking_no="SF9"),
        event(at(3), BUYER, "confirm_delivery"),
    )
    assert of(flow) == [("3.0", "shipment", "what was missing")]


def test_a_missed_reshipment_is_cancelled_and_refunded() -> None:
    flow = reshipment()
    flow.flow.advance(flow.case, at(1 + 48) + SECOND)
    assert of(flow) == [
        ("3.0", "shipment", "what was missing"),
        ("4.0", "shipment_cancelled", "KS-1#3.0"),
        ("4.1", "refund_due", "1299.00"),
    ]
    refund = ordered(flow.journal.entries)[-1]
    assert refund["remedy"] == "refund_only"
    assert refund["rules"][-2:] == ["deadline.reshipment", "fallback.missed_shipment"]


def test_an_exchange_ships_a_replacement_once_the_goods_are_back() -> None:
    flow = exchange()
    assert of(flow) == [("3.0", "return_shipping", "YT1")]
    flow(event(at(3), MERCHANT, "confirm_receipt"))
    flow(event(at(4), MERCHANT, "merchant_shipped", tracking_no="SF-NEW"))
    flow(event(at(5), BUYER, "confirm_delivery"))
    assert of(flow) == [("3.0", "return_shipping", "YT1"), ("4.0", "shipment", "a replacement")]


def test_a_repair_received_by_default_then_missed_refunds_the_returned_goods() -> None:
    flow = exchange(Remedy.REPAIR)
    flow.flow.advance(flow.case, at(2) + timedelta(days=7 + 15) + 2 * SECOND)
    assert flow.events()[-2:] == ["confirm_expired", "shipment_expired"]
    assert of(flow) == [
        ("3.0", "return_shipping", "YT1"),
        ("4.0", "shipment", "the repaired goods"),
        ("5.0", "shipment_cancelled", "KS-1#4.0"),
        ("5.1", "refund_due", "1299.00"),
    ]
    assert ordered(flow.journal.entries)[-1]["remedy"] == "return_and_refund"


def decided(claim: ClaimType, remedy: Remedy, *events: Any) -> tuple[Case, MemoryJournal]:
    case = make_case(claim, remedy)
    journal = MemoryJournal()
    flow = Workflow(journal, FakeExaminer())
    for each in events:
        flow.apply(case, each)
    return case, journal


def test_a_rejection_orders_nothing_whichever_it_rejects() -> None:
    no_proof = [
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "reject"),
        ev(2, BUYER, "escalate"),
        ev(3, BUYER, "evidence_complete"),
        ev(4, MERCHANT, "evidence_complete"),
    ]
    for remedy, rejected in [
        (Remedy.REFUND_ONLY, Remedy.REJECT_REFUND),
        (Remedy.RETURN_AND_REFUND, Remedy.REJECT_RETURN),
        (Remedy.EXCHANGE, Remedy.REJECT_RETURN),
    ]:
        case, journal = decided(ClaimType.VISIBLE_DEFECT, remedy, *no_proof)
        assert case.decision is not None
        assert (case.decision.remedy, case.state) == (rejected, State.CLOSED)
        assert of(journal) == []


def test_a_decided_exchange_costs_the_merchant_its_penalty_and_the_shipment() -> None:
    case, journal = decided(ClaimType.VISIBLE_DEFECT, Remedy.EXCHANGE, *DECIDED_FOR_THE_BUYER[:-1])
    Workflow(journal, FakeExaminer()).apply(case, DECIDED_FOR_THE_BUYER[-1])
    flow = Workflow(journal, FakeExaminer())
    flow.apply(case, ev(6, BUYER, "return_shipped", tracking_no="YT1"))
    flow.apply(case, ev(7, MERCHANT, "confirm_receipt"))
    assert of(journal) == [
        ("9.0", "penalty", "3897.00"),
        ("10.0", "return_shipping", "YT1"),
        ("11.0", "shipment", "a replacement"),
    ]


def test_a_reviewers_decision_pays_its_own_amount() -> None:
    case = make_case(paid="12000.00", remedy=Remedy.REFUND_ONLY)
    journal = MemoryJournal()
    flow = Workflow(journal, FakeExaminer())
    for each in [
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "reject"),
        ev(2, BUYER, "escalate"),
        ev(3, BUYER, "submit_evidence", "photo.jpg"),
        ev(4, BUYER, "evidence_complete"),
        ev(5, MERCHANT, "evidence_complete"),
    ]:
        flow.apply(case, each)
    assert of(journal) == []  # waiting for the reviewer
    flow.apply(
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
    assert of(journal)[-2:] == [("10.0", "penalty", "36000.00"), ("11.0", "refund_due", "800.00")]


# --- appeals: the difference, never a second full amount --------------------------------------


def test_an_appeal_that_halves_the_refund_takes_half_back() -> None:
    case, journal = decided(
        ClaimType.VISIBLE_DEFECT,
        Remedy.REFUND_ONLY,
        *DECIDED_FOR_THE_BUYER,
        ev(20, MERCHANT, "appeal", evidence=CERTIFICATE),
    )
    Workflow(journal, FakeExaminer()).advance(case, T0 + timedelta(hours=20 + 48, seconds=1))
    decision = [e for e in journal.entries if e["event"] == "decision"][-1]
    assert decision["refund_reversed"] == "649.50"  # as the log says it
    assert of(journal) == [
        ("9.0", "penalty", "3897.00"),
        ("10.0", "refund_due", "1299.00"),
        ("15.0", "refund_reversed", "649.50"),
        ("15.1", "penalty_reversed", "1558.80"),
    ]
    reversed_ = ordered(journal.entries)[2]
    assert (reversed_["payer"], reversed_["currency"]) == ("buyer", "CNY")
    assert reversed_["rules"][-1] == "remedy.both"


def test_an_appeal_that_raises_the_refund_pays_the_difference() -> None:
    case, journal = decided(
        ClaimType.VISIBLE_DEFECT,
        Remedy.REFUND_ONLY,
        ev(0, BUYER, "open"),
        ev(1, MERCHANT, "reject"),
        ev(2, BUYER, "escalate"),
        ev(3, BUYER, "submit_evidence", "photo.jpg"),
        ev(4, MERCHANT, "submit_evidence", evidence=CERTIFICATE),
        ev(4, BUYER, "evidence_complete"),
        ev(5, MERCHANT, "evidence_complete"),
    )
    assert case.decision is not None
    assert case.decision.liability is Liability.BOTH  # a photo against a certificate
    flow = Workflow(journal, FakeExaminer())
    flow.apply(case, ev(6, BUYER, "appeal", "video.mp4"))
    flow.apply(case, ev(7, MERCHANT, "evidence_complete"))
    assert case.decision.liability.value == "merchant"  # (mypy keeps the narrowing above)
    assert of(journal) == [
        ("11.0", "penalty", "2338.20"),
        ("12.0", "refund_due", "649.50"),
        ("17.0", "penalty", "1558.80"),
        ("18.0", "refund_due", "649.50"),  # not a second 1299.00
    ]


def test_an_appeal_while_the_return_is_on_its_way_takes_back_nothing_never_paid() -> None:
    case, journal = decided(ClaimType.VISIBLE_DEFECT, Remedy.RETURN_AND_REFUND)
    flow = Workflow(journal, FakeExaminer())
    for each in DECIDED_FOR_THE_BUYER:
        flow.apply(case, each)
    flow.apply(case, ev(6, BUYER, "return_shipped", tracking_no="YT1"))
    flow.apply(case, ev(53, MERCHANT, "appeal", evidence=CERTIFICATE))
    flow.advance(case, T0 + timedelta(hours=53 + 48, seconds=1))
    decision = [e for e in journal.entries if e["event"] == "decision"][-1]
    # the 1299.00 was never paid (the goods were still on their way back): the log says
    # nothing was reversed (it said 649.50, the old decision's refund less the new one's)
    assert "refund_reversed" not in decision
    assert of(journal) == [
        ("9.0", "penalty", "3897.00"),
        ("10.0", "return_shipping", "YT1"),
        ("15.0", "penalty_reversed", "1558.80"),
        ("16.0", "refund_due", "649.50"),
    ]


def test_a_new_decision_for_goods_on_their_way_orders_their_shipping_once() -> None:
    case, journal = decided(ClaimType.VISIBLE_DEFECT, Remedy.RETURN_AND_REFUND)
    flow = Workflow(journal, FakeExaminer())
    for each in DECIDED_FOR_THE_BUYER:
        flow.apply(case, each)
    flow.apply(case, ev(6, BUYER, "return_shipped", tracking_no="YT1"))
    flow.apply(case, ev(7, BUYER, "appeal", "video.mp4"))
    flow.apply(case, ev(8, MERCHANT, "evidence_complete"))
    flow.apply(case, ev(9, MERCHANT, "confirm_receipt"))
    events = [e["event"] for e in journal.entries]
    assert events.count("return_shipped") == 2  # the new decision sends the goods on again
    assert of(journal) == [
        ("9.0", "penalty", "3897.00"),
        ("10.0", "return_shipping", "YT1"),
        ("17.0", "refund_due", "1299.00"),
    ]


def test_an_appeal_ends_the_shipment_owed_and_a_new_decision_orders_it_again() -> None:
    case, journal = decided(
        ClaimType.MISSING_PARTS,
        Remedy.RESHIPMENT,
        *DECIDED_FOR_THE_BUYER,
    )
    assert case.state is State.SHIPMENT_DUE
    flow = Workflow(journal, FakeExaminer())
    flow.apply(case, ev(6, MERCHANT, "appeal", "photo.jpg"))
    flow.apply(case, ev(7, BUYER, "evidence_complete"))
    assert case.state is State.SHIPMENT_DUE
    assert of(journal) == [
        ("9.0", "penalty", "3897.00"),
        ("10.0", "shipment", "what was missing"),
        ("11.0", "shipment_cancelled", "KS-1#10.0"),
        ("16.0", "shipment", "what was missing"),
    ]


# --- reading them ------------------------------------------------------------------------------


def test_every_kind_reads_as_a_line() -> None:
    seen = {e["kind"]: e for p in EXAMPLES for e in ordered(replayed(p.name).log)}
    assert describe(seen["refund_due"]) == "pay the buyer 1299.00 CNY"
    assert describe(seen["return_shipping"]).startswith("the goods come back (YT")
    assert describe({"kind": "return_shipping", "tracking_no": None, "payer": None}) == (
        "the goods come back (-); shipping paid by: -"
    )
    assert describe({"kind": "shipment_cancelled", "cancels": "K#1.0"}) == (
        "the shipment K#1.0 is owed no longer"
    )
    assert describe({"kind": "from_the_future"}) == "from_the_future"
    for kind in KINDS:
        assert "{" not in describe({"kind": kind.name})


def test_docs_effects_md_documents_every_kind_and_no_other() -> None:
    text = (REPO / "docs" / "effects.md").read_text("utf-8")
    lines = text.splitlines()
    header = lines.index("| kind | fields besides the common ones | ordered by |")
    rows = []
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    documented = [re.findall(r"`([a-z_]+)`", row)[0] for row in rows]
    assert documented == [k.name for k in sorted(KINDS, key=_doc_order)]
    for row, kind in zip(rows, sorted(KINDS, key=_doc_order), strict=True):
        assert ("`amount`, `currency`" in row) is kind.money, kind.name
        for party, who in kind.parties.items():
            assert f"`{party}` (`{who}`)" in row, (kind.name, party)


def _doc_order(kind: Any) -> int:
    """The docs list refunds, penalties, then goods; the table lists them in entry order."""
    return [
        "refund_due",
        "refund_reversed",
        "penalty",
        "penalty_reversed",
        "return_shipping",
        "shipment",
        "shipment_cancelled",
    ].index(kind.name)


_NAMES = sorted({name for kind in KINDS for name in kind.events | kind.to} | {"open", "x"})


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "event": st.sampled_from(_NAMES) | st.none(),
            "to": st.sampled_from(_NAMES) | st.none(),
            "from": st.sampled_from(_NAMES) | st.none(),
        },
    )
)
def test_could_order_is_what_some_kind_says(entry: dict[str, Any]) -> None:
    """could_order asks every kind at once; it says what asking each in turn says."""
    assert could_order(entry) is any(kind.may_order(entry) for kind in KINDS)
