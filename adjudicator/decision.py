"""The burden-of-proof decision (RULES.md sections 4 and 5): pure, deterministic, explained.

``decide`` takes the dispute as it stands at review (its claim, order, platform findings and
every evidence item with its verdict) and the rulebook, and returns the liability, remedy,
refund, return-shipping payer, penalty and violations, with the rules that fired, in order,
each with the reason it fired. Only accepted evidence counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from adjudicator.domain import (
    Decision,
    Dispute,
    EvidenceRecord,
    Liability,
    PlatformFinding,
    Remedy,
    RuleFired,
    money,
)
from adjudicator.errors import AdjudicationError
from adjudicator.rulebook import Burden, EvidenceSpec, Rulebook, Special
from evidence import EvidenceKind, Party

_REJECTIONS = frozenset({Remedy.REJECT_REFUND, Remedy.REJECT_RETURN})


@dataclass
class _Outcome:
    liability: Liability | None = None
    remedy: str | None = None  # a Remedy value, "requested" or "rejection"
    return_shipping: Party | None = None
    violations: list[str] = field(default_factory=list)
    trace: list[RuleFired] = field(default_factory=list)

    def apply(self, special: Special, because: str) -> None:
        if special.liability is not None:
            self.liability = special.liability
        if special.remedy is not None:
            self.remedy = special.remedy
        if special.return_shipping is not None:
            self.return_shipping = special.return_shipping
        if special.violation is not None:
            self.violations.append(special.violation)
        self.trace.append(RuleFired(special.id, because))


def decide(dispute: Dispute, rulebook: Rulebook) -> Decision:
    claim = dispute.claim.type
    burden = rulebook.burdens.get(claim)
    if burden is None:
        raise AdjudicationError(f"rulebook {rulebook.label} does not decide claim type {claim}")
    outcome = _Outcome()
    outcome.trace.append(RuleFired(burden.id, f"the {burden.party} must prove the {claim} claim"))
    specials = list(rulebook.specials_for(claim))
    found = set(dispute.findings)

    proof = rebuttal = 0
    if not _decided_before_weighing(dispute, rulebook, specials, found, outcome):
        if burden.party is Party.PLATFORM:
            raise AdjudicationError(f"{burden.id}: the platform's burden needs a special rule")
        proof, proof_items = _strongest(dispute, rulebook, burden, burden.proof, burden.party)
        other = _other(burden.party)
        rebuttal, rebuttal_items = _strongest(dispute, rulebook, burden, burden.rebuttal, other)
        _weigh(rulebook, burden, (proof, proof_items), (rebuttal, rebuttal_items), outcome)
        _after_weighing(specials, burden, proof, outcome)

    assert outcome.liability is not None
    row = rulebook.remedies[outcome.liability]
    remedy = _remedy(outcome.remedy or row.remedy, dispute.claim.requested_remedy)
    disputed = dispute.disputed_amount
    if remedy in _REJECTIONS:
        refund = money(0)
    elif row.refund == "ratio":
        refund = money(disputed * rulebook.settings.both_ratio)
    elif row.refund == "zero":
        refund = money(0)
    else:
        refund = disputed
    payer = None
    if remedy is Remedy.RETURN_AND_REFUND:
        payer = outcome.return_shipping or row.return_shipping
    paid = dispute.order.paid_amount
    penalty = money(0)
    if row.penalty_multiplier > 0:
        penalty = money(max(paid * row.penalty_multiplier, row.penalty_minimum))
    outcome.trace.append(
        RuleFired(
            row.id,
            f"{outcome.liability} liability: {remedy}, refund {refund}"
            + (f", return shipping paid by the {payer}" if payer else "")
            + f", penalty {penalty}",
        )
    )
    return Decision(
        liability=outcome.liability,
        remedy=remedy,
        refund_amount=refund,
        return_shipping_payer=payer,
        penalty_amount=penalty,
        violations=tuple(outcome.violations),
        trace=tuple(outcome.trace),
        proof_strength=proof,
        rebuttal_strength=rebuttal,
    )


def needs_manual_review(dispute: Dispute, rulebook: Rulebook) -> RuleFired | None:
    """Why the dispute waits for a platform ``decide`` instead of being decided at once."""
    settings = rulebook.settings
    if dispute.order.paid_amount >= settings.manual_review_amount:
        return RuleFired(
            "settings",
            f"paid amount {dispute.order.paid_amount} is at or above "
            f"{settings.manual_review_amount}: manual review",
        )
    if settings.manual_review_near_duplicate:
        for item in dispute.evidence:
            if item.accepted and item.near_duplicate:
                return RuleFired(
                    "settings", f"evidence {item.id} nearly duplicates a photo of another dispute"
                )
    return None


def no_reason_return_eligible(dispute: Dispute, rulebook: Rulebook) -> tuple[bool, str]:
    order = dispute.order
    if not order.seven_day_return:
        return False, "the order does not allow 7-day no-reason returns"
    if order.exclusions:
        return False, f"the goods are excluded ({', '.join(order.exclusions)})"
    if order.signed_at is None:
        return False, "the order was never signed for"
    zone = ZoneInfo(rulebook.settings.zone)
    day_after = order.signed_at.astimezone(zone).date() + timedelta(days=1)
    start = datetime.combine(day_after, time(0), tzinfo=zone)
    ends = start + rulebook.deadline("deadline.no_reason_return")
    if dispute.opened_at > ends:
        return False, f"opened {dispute.opened_at.isoformat()}, after {ends.isoformat()}"
    return True, f"eligible: opened by {ends.isoformat()}"


def _decided_before_weighing(
    dispute: Dispute,
    rulebook: Rulebook,
    specials: list[Special],
    found: set[PlatformFinding],
    outcome: _Outcome,
) -> bool:
    for special in specials:
        if special.finding is not None and special.when in (None, "merchant_liable"):
            if special.finding in found:
                outcome.apply(special, f"the platform found {special.finding}")
                return True
        elif special.finding is not None and special.when == "no_finding":
            if special.finding not in found:
                outcome.apply(special, f"no platform finding of {special.finding} at review")
                return True
        elif special.when == "ineligible":
            eligible, why = no_reason_return_eligible(dispute, rulebook)
            if not eligible:
                outcome.apply(special, why)
                return True
    return False


def _after_weighing(specials: list[Special], burden: Burden, proof: int, outcome: _Outcome) -> None:
    for special in specials:
        if special.when == "merchant_unproven":
            if burden.party is Party.MERCHANT and proof == 0:
                outcome.apply(special, "the merchant proved nothing")
        elif special.when == "merchant_liable" and outcome.liability is Liability.MERCHANT:
            outcome.apply(special, "the merchant is liable")


def _weigh(
    rulebook: Rulebook,
    burden: Burden,
    proved: tuple[int, list[str]],
    rebutted: tuple[int, list[str]],
    outcome: _Outcome,
) -> None:
    (proof, proof_items), (rebuttal, rebuttal_items) = proved, rebutted
    situation = (
        "none" if proof == 0 else "some",
        "none"
        if rebuttal == 0
        else "weaker"
        if rebuttal < proof
        else "equal"
        if rebuttal == proof
        else "stronger",
    )
    row = next(r for r in rulebook.weigh if r.matches(*situation))  # the rulebook covers all
    if row.liability == "both":
        outcome.liability = Liability.BOTH
    else:
        party = burden.party if row.liability == "burdened" else _other(burden.party)
        outcome.liability = Liability(party.value)
    outcome.trace.append(
        RuleFired(
            row.id,
            f"proof {proof} ({_listed(proof_items)}) against rebuttal {rebuttal} "
            f"({_listed(rebuttal_items)}): {outcome.liability} liable",
        )
    )


def _strongest(
    dispute: Dispute,
    rulebook: Rulebook,
    burden: Burden,
    specs: Iterable[EvidenceSpec],
    party: Party,
) -> tuple[int, list[str]]:
    specs = tuple(specs)
    best, items = 0, []
    for item in dispute.evidence:
        if not item.accepted or item.party is not party:
            continue
        if not any(spec.matches(item) for spec in specs):
            continue
        strength = _strength(item, rulebook)
        shows_order_serial = item.shows_serial in dispute.order.serials
        if burden.serial_bonus and party is not burden.party and shows_order_serial:
            strength += burden.serial_bonus
        items.append(f"{item.kind} {item.id}: {strength}")
        best = max(best, strength)
    return best, items


def _strength(item: EvidenceRecord, rulebook: Rulebook) -> int:
    if item.kind is EvidenceKind.INSPECTION_CERTIFICATE and item.authoritative:
        return rulebook.strength["inspection_certificate_accredited"]
    return rulebook.strength[item.kind.value]


def _remedy(choice: str, requested: Remedy) -> Remedy:
    if choice == "requested":
        return requested
    if choice == "rejection":
        return (
            Remedy.REJECT_RETURN if requested is Remedy.RETURN_AND_REFUND else Remedy.REJECT_REFUND
        )
    return Remedy(choice)


def _other(party: Party) -> Party:
    return Party.BUYER if party is Party.MERCHANT else Party.MERCHANT


def _listed(items: list[str]) -> str:
    return ", ".join(items) if items else "none accepted"
