"""A dispute's decision in words (``adjudicator explain``): facts, evidence, rules and why."""

from __future__ import annotations

from typing import Any

from adjudicator.domain import REMEDIES, Offer, OfferStatus, Remedy, opposite
from adjudicator.workflow import Case


def explain(case: Case, evidence: list[dict[str, Any]], history: list[dict[str, Any]]) -> str:
    """``evidence`` as :meth:`Adjudicator.evidence` gives it, ``history`` the dispute's log."""
    order, claim = case.order, case.claim
    book = case.rulebook
    lines = [
        f"Dispute {case.case_id}: {claim.type} on order {order.order_id} ({order.category}), "
        f"paid {order.paid_amount} {order.currency}",
        f"  requested: {claim.requested_remedy}"
        + ("" if claim.requested_amount is None else f" of {claim.requested_amount}")
        + (f" ({claim.description})" if claim.description else ""),
        *_claimed(case),
        f"  rulebook: {book.label} (digest {book.digest})",
        f"  now: {case.state}, resolution {case.resolution or 'none yet'}",
        "",
        "Facts",
        f"  burden of proof: {case.burdened} ({book.burdens[claim.type].id})",
    ]
    for name, at in (
        ("paid", order.paid_at),
        ("shipped", order.shipped_at),
        ("signed for", order.signed_at),
        ("dispute opened", case.opened_at),
        ("decided", case.decided_at),
    ):
        if at is not None:
            lines.append(f"  {name}: {at.isoformat()}")
    if case.findings:
        lines.append(f"  platform findings: {', '.join(f.value for f in case.findings)}")
    if case.deadline_at is not None:
        lines.append(
            f"  next deadline: {case.deadline_event} at {case.deadline_at.isoformat()} "
            f"({case.deadline_rule})"
        )
    offer = case.open_offer
    if offer is not None:
        lines.append(
            f"  offer {offer.id} lapses at {offer.expires_at.isoformat()} (deadline.offer)"
        )
    if case.return_tracking_no is not None:
        lines.append(f"  goods sent back: tracking number {case.return_tracking_no}")
    if case.shipment_tracking_no is not None:
        lines.append(f"  the merchant shipped: tracking number {case.shipment_tracking_no}")
    if case.offers:
        lines += ["", "Offers"]
        lines += [_offer(o) for o in case.offers]
    if case.statements:
        lines += ["", "Statements"]
        lines += [f"  {s.by} at {s.at.isoformat()}: “{s.text}”" for s in case.statements]
    lines += ["", "Evidence"]
    described = {r.id: r.description for r in case.evidence if r.description is not None}
    lines += _evidence(evidence, described) or ["  none submitted"]
    lines += ["", "Outcome"]
    lines += _outcome(case)
    lines += _appeal(case)
    lines += ["", "What happened"]
    lines += [step(entry) for entry in history]
    return "\n".join(lines) + "\n"


def _claimed(case: Case) -> list[str]:
    """The items the claim is about, and what was paid for them (none for a whole order)."""
    claimed = case.claim.items
    if not claimed:
        return []
    names = {item.sku: item.name for item in case.order.items}
    listed = ", ".join(f"{c.quantity} x {c.sku} ({names.get(c.sku, '?')})" for c in claimed)
    share = case.order.paid_share(claimed)
    return [f"  about: {listed}; paid for them: {share} of {case.order.paid_amount}"]


def _evidence(items: list[dict[str, Any]], described: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for item in items:
        verdict = item["verdict"]
        status = "accepted" if verdict["accepted"] else "rejected"
        facts = verdict["facts"]
        seen = [verdict["mime"]]
        if facts.get("width") is not None and facts.get("height") is not None:
            seen.append(f"{facts['width']}x{facts['height']}")
        for key in ("sharpness", "duration_seconds", "pages", "captured_at"):
            if facts.get(key) is not None:
                seen.append(f"{key} {facts[key]}")
        lines.append(
            f"  {item['id']} {item['party']} {item['kind']} {item['file']} "
            f"(sha256 {verdict['sha256'][:16]}…, submitted {item['submitted_at']}): "
            f"{status}; {', '.join(seen)}"
        )
        if item["id"] in described:
            lines.append(f"      described: “{described[item['id']]}”")
        lines += [f"      {d['reason']}: {d['detail']}" for d in verdict["details"]]
        if verdict["flags"]:
            lines.append(f"      flags: {', '.join(verdict['flags'])}")
    return lines


def _outcome(case: Case) -> list[str]:
    decision = case.decision
    if case.resolution == "adjudicated" and decision is not None:
        payer = decision.return_shipping_payer
        lines = [
            f"  liability {decision.liability}, remedy {decision.remedy} "
            f"({_meaning(decision.remedy)}), refund {decision.refund_amount}, penalty "
            f"{decision.penalty_amount}, return shipping paid by "
            f"{payer or 'nobody (no goods go back)'}",
            f"  strongest accepted proof {decision.proof_strength}, rebuttal "
            f"{decision.rebuttal_strength}",
        ]
        if decision.violations:
            lines.append(f"  violations: {', '.join(decision.violations)}")
        lines.append("  rules that fired, in order:")
        lines += [
            f"    {n}. {step.rule}: {step.because}" for n, step in enumerate(decision.trace, 1)
        ]
        return lines
    if case.resolution in _AGREED:
        how = _AGREED[case.resolution]
        rules = f" ({', '.join(case.resolution_rules)})" if case.resolution_rules else ""
        meaning = "" if case.remedy is None else f" ({_meaning(case.remedy)})"
        payer = case.return_payer
        return [
            f"  {how}{rules}: remedy {case.remedy}{meaning}, refund {case.refund_amount}"
            + ("" if payer is None else f", return shipping paid by the {payer}")
            + "; no liability is assigned without an adjudication"
        ]
    if case.resolution is None:
        return ["  nothing decided yet"]
    if case.resolution == "pending_review":
        return [
            f"  waiting for a platform reviewer, sent by {', '.join(case.resolution_rules)} "
            "(why: the review entry below)"
        ]
    rules = f" ({', '.join(case.resolution_rules)})" if case.resolution_rules else ""
    return [f"  {case.resolution}{rules}: nothing was adjudicated"]


_AGREED = {
    "agreed": "agreed by the merchant",
    "merchant_timeout": "agreed by default",
    "negotiated": "settled by an accepted offer",
}


def _meaning(remedy: Remedy) -> str:
    """What the remedy does, in words, from the remedy table."""
    return REMEDIES[remedy].words


def _offer(offer: Offer) -> str:
    """One offer: who made it, what it offers, and how it ended."""
    money = "" if offer.amount is None else f" of {offer.amount}"
    text = f"  {offer.id} by the {offer.by} at {offer.at.isoformat()}: {offer.remedy}{money}"
    if offer.accepted_by:
        text += f"; accepted by the {' and the '.join(offer.accepted_by)}"
    if offer.status is OfferStatus.OPEN:
        return text + f"; open until {offer.expires_at.isoformat()}"
    assert offer.ended_at is not None
    return text + f"; {offer.status} at {offer.ended_at.isoformat()}"


def _appeal(case: Case) -> list[str]:
    appeal = case.appeal
    if appeal is None:
        return []
    old = appeal.previous
    lines = [
        "",
        "Appeal",
        f"  by the {appeal.by} at {appeal.at.isoformat()}, against {old.liability} liability: "
        f"{old.remedy}, refund {old.refund_amount}"
        + ("" if appeal.paid is None else f" (paid: {appeal.paid})"),
    ]
    if case.decision is old:
        lines.append(
            f"  the {opposite(appeal.by)} may answer its new "
            "evidence; the decision above stands until the review runs again"
        )
    else:
        reversed_ = appeal.refund_reversed(case.decision)
        lines.append(
            "  the decision above replaced it"
            + ("" if reversed_ is None else f"; {reversed_} of the paid refund is reversed")
        )
    return lines


def step(entry: dict[str, Any]) -> str:
    """One decision-log entry as a line of the dispute's story."""
    text = f"  #{entry['seq']} {entry['at']} {entry['actor']} {entry['event']}"
    if "from" in entry:
        text += f": {entry['from']} -> {entry['to']}"
    if "rule" in entry:
        text += f" [{entry['rule']}]"
    if "because" in entry:
        text += f" ({entry['because']})"
    if "evidence" in entry:
        item = entry["evidence"]
        state = "accepted" if item["accepted"] else f"rejected: {', '.join(item['reasons'])}"
        text += f": {item['id']} {item['kind']} {state}"
    if isinstance(entry.get("offer"), dict):
        made = entry["offer"]
        money = "" if made.get("amount") is None else f" of {made['amount']}"
        text += f": {made.get('id')} {made.get('remedy')}{money}"
    elif "offer" in entry:
        text += f": {entry['offer']}"
    if "fallback" in entry:
        text += f" [{entry['fallback']}: {entry.get('remedy')} {entry.get('refund_amount')}]"
    if "voids" in entry:
        text += f" (offer {entry['voids']} void)"
    if "decision" in entry:
        decision = entry["decision"]
        text += f": {decision['liability']} / {decision['remedy']} {decision['refund_amount']}"
    if "reason" in entry:
        text += f" “{entry['reason']}”"
    return text
