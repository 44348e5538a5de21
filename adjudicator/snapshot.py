"""A dispute as it stands, to and from plain JSON (what the database keeps of a :class:`Case`).

Times keep their own offsets and money its two places, so a dispute read back replays to the
same bytes as one that never left memory. The rulebook is not in the snapshot: the caller
keeps its id and digest beside it and hands the loaded rulebook back in.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from adjudicator.domain import (
    Claim,
    ClaimedItem,
    ClaimType,
    Decision,
    EvidenceRecord,
    Liability,
    Offer,
    OfferStatus,
    Order,
    OrderItem,
    Payer,
    PlatformFinding,
    Remedy,
    Resolution,
    RuleFired,
)
from adjudicator.facts import claim_json, order_json
from adjudicator.lifecycle import State
from adjudicator.rulebook import Rulebook
from adjudicator.workflow import Appeal, Case, Statement, evidence_json
from evidence import EvidenceKind, Party

VERSION = 1


def to_json(case: Case) -> dict[str, Any]:
    return {
        "v": VERSION,
        "case_id": case.case_id,
        "order": order_json(case.order),
        "claim": claim_json(case.claim),
        "state": case.state.value,
        "resolution": case.resolution,
        "opened_at": _instant_out(case.opened_at),
        "deadline_at": _instant_out(case.deadline_at),
        "deadline_rule": case.deadline_rule,
        "deadline_event": case.deadline_event,
        "evidence_closed_at": _instant_out(case.evidence_closed_at),
        "rebuttal_closed_at": _instant_out(case.rebuttal_closed_at),
        "decided_at": _instant_out(case.decided_at),
        "appealed": case.appealed,
        "appeal": None if case.appeal is None else _appeal_out(case.appeal),
        "decision": None if case.decision is None else _decision_out(case.decision),
        "remedy": None if case.remedy is None else case.remedy.value,
        "refund_amount": _text(case.refund_amount),
        "resolution_rules": list(case.resolution_rules),
        "evidence": [_record_out(r) for r in case.evidence],
        "findings": [f.value for f in case.findings],
        "return_tracking_no": case.return_tracking_no,
        "statements": [
            {"by": s.by.value, "at": s.at.isoformat(), "text": s.text} for s in case.statements
        ],
        "offers": [_offer_out(o) for o in case.offers],
        "return_payer": None if case.return_payer is None else case.return_payer.value,
        "shipment_tracking_no": case.shipment_tracking_no,
    }


def from_json(data: dict[str, Any], rulebook: Rulebook) -> Case:
    if data.get("v") != VERSION:
        raise ValueError(f"snapshot version {data.get('v')!r} is not {VERSION}")
    claim = data["claim"]
    decision = data["decision"]
    return Case(
        case_id=data["case_id"],
        rulebook=rulebook,
        order=_order_in(data["order"]),
        claim=Claim(
            type=ClaimType(claim["type"]),
            requested_remedy=Remedy(claim["requested_remedy"]),
            requested_amount=_decimal(claim["requested_amount"]),
            description=claim["description"],
            items=tuple(ClaimedItem(i["sku"], i["quantity"]) for i in claim.get("items", [])),
        ),
        state=State(data["state"]),
        resolution=None if data["resolution"] is None else Resolution(data["resolution"]),
        opened_at=_instant(data["opened_at"]),
        deadline_at=_instant(data["deadline_at"]),
        deadline_rule=data["deadline_rule"],
        deadline_event=data["deadline_event"],
        evidence_closed_at=_instant(data["evidence_closed_at"]),
        rebuttal_closed_at=_instant(data["rebuttal_closed_at"]),
        decided_at=_instant(data["decided_at"]),
        appealed=data["appealed"],
        appeal=None if data.get("appeal") is None else _appeal_in(data["appeal"]),
        decision=None if decision is None else _decision_in(decision),
        remedy=None if data["remedy"] is None else Remedy(data["remedy"]),
        refund_amount=_decimal(data["refund_amount"]),
        resolution_rules=tuple(data["resolution_rules"]),
        evidence=[_record_in(r) for r in data["evidence"]],
        findings=[PlatformFinding(f) for f in data["findings"]],
        return_tracking_no=data["return_tracking_no"],
        statements=[  # snapshots written before statements say none
            Statement(Party(s["by"]), datetime.fromisoformat(s["at"]), s["text"])
            for s in data.get("statements", [])
        ],
        offers=[_offer_in(o) for o in data.get("offers", [])],  # (and before offers, none)
        return_payer=None if data.get("return_payer") is None else Payer(data["return_payer"]),
        shipment_tracking_no=data.get("shipment_tracking_no"),
    )


def _order_in(data: dict[str, Any]) -> Order:
    return Order(
        order_id=data["order_id"],
        category=data["category"],
        paid_amount=Decimal(data["paid_amount"]),
        currency=data["currency"],
        items=tuple(
            OrderItem(i["sku"], i["name"], Decimal(i["price"]), i["quantity"], i["serial"])
            for i in data["items"]
        ),
        seven_day_return=data["seven_day_return"],
        exclusions=tuple(data["exclusions"]),
        paid_at=_instant(data["paid_at"]),
        shipped_at=_instant(data["shipped_at"]),
        tracking_no=data["tracking_no"],
        signed_at=_instant(data["signed_at"]),
        return_insurance=data.get("return_insurance", False),
    )


def _offer_out(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "by": offer.by.value,
        "at": offer.at.isoformat(),
        "remedy": offer.remedy.value,
        "amount": _text(offer.amount),
        "expires_at": offer.expires_at.isoformat(),
        "status": offer.status.value,
        "accepted_by": [p.value for p in offer.accepted_by],
        "ended_at": _instant_out(offer.ended_at),
    }


def _offer_in(data: dict[str, Any]) -> Offer:
    return Offer(
        id=data["id"],
        by=Party(data["by"]),
        at=datetime.fromisoformat(data["at"]),
        remedy=Remedy(data["remedy"]),
        amount=_decimal(data["amount"]),
        expires_at=datetime.fromisoformat(data["expires_at"]),
        status=OfferStatus(data["status"]),
        accepted_by=tuple(Party(p) for p in data["accepted_by"]),
        ended_at=_instant(data["ended_at"]),
    )


def _decision_out(decision: Decision) -> dict[str, Any]:
    payer = decision.return_shipping_payer
    return {
        "liability": decision.liability.value,
        "remedy": decision.remedy.value,
        "refund_amount": str(decision.refund_amount),
        "return_shipping_payer": None if payer is None else payer.value,
        "penalty_amount": str(decision.penalty_amount),
        "violations": list(decision.violations),
        "trace": [[step.rule, step.because] for step in decision.trace],
        "proof_strength": decision.proof_strength,
        "rebuttal_strength": decision.rebuttal_strength,
    }


def _decision_in(data: dict[str, Any]) -> Decision:
    payer = data["return_shipping_payer"]
    return Decision(
        liability=Liability(data["liability"]),
        remedy=Remedy(data["remedy"]),
        refund_amount=Decimal(data["refund_amount"]),
        return_shipping_payer=None if payer is None else Payer(payer),
        penalty_amount=Decimal(data["penalty_amount"]),
        violations=tuple(data["violations"]),
        trace=tuple(RuleFired(rule, because) for rule, because in data["trace"]),
        proof_strength=data["proof_strength"],
        rebuttal_strength=data["rebuttal_strength"],
    )


def _appeal_out(appeal: Appeal) -> dict[str, Any]:
    return {
        "by": appeal.by.value,
        "at": appeal.at.isoformat(),
        "previous": _decision_out(appeal.previous),
        "paid": _text(appeal.paid),
    }


def _appeal_in(data: dict[str, Any]) -> Appeal:
    return Appeal(
        by=Party(data["by"]),
        at=datetime.fromisoformat(data["at"]),
        previous=_decision_in(data["previous"]),
        paid=_decimal(data["paid"]),
    )


def _record_out(record: EvidenceRecord) -> dict[str, Any]:
    return {
        **evidence_json(record),
        "authoritative": record.authoritative,
        "result": record.result,
        "status": record.status,
        "pre_shipment": record.pre_shipment,
        "shows_serial": record.shows_serial,
        "near_duplicate": record.near_duplicate,
    }


def _record_in(data: dict[str, Any]) -> EvidenceRecord:
    return EvidenceRecord(
        id=data["id"],
        party=Party(data["party"]),
        kind=EvidenceKind(data["kind"]),
        sha256=data["sha256"],
        accepted=data["accepted"],
        reasons=tuple(data["reasons"]),
        authoritative=data["authoritative"],
        result=data["result"],
        status=data["status"],
        pre_shipment=data["pre_shipment"],
        shows_serial=data["shows_serial"],
        near_duplicate=data["near_duplicate"],
        description=data.get("description"),  # (older snapshots kept none)
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _instant_out(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
