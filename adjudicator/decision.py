"""The burden-of-proof decision (RULES.md sections 4 and 5): pure, deterministic, explained.

``decide`` takes the dispute as it stands at review (its claim, order, platform findings and
every evidence item with its verdict) and the rulebook, and returns the liability, remedy,
refund, return-shipping payer, penalty and violations, with the rules that fired, in order,
each with the reason it fired. Only accepted evidence counts.

A decision is made in two steps: who is liable (the special rows that decide first, or the
weighing of proof against rebuttal), then what follows from that liability (the special rows
that follow it, the remedy row, the refund and the penalty). ``decide_manually`` takes a
reviewer's liability through the same second step and checks the reviewer's remedy and
refund against it (RULES.md section 5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from adjudicator.domain import (
    REMEDIES,
    Decision,
    Dispute,
    EvidenceRecord,
    Liability,
    Payer,
    PlatformFinding,
    Remedy,
    RuleFired,
    money,
    opposite,
)
from adjudicator.errors import AdjudicationError
from adjudicator.rulebook import Burden, EvidenceSpec, RemedyRow, Rulebook, Special
from evidence import EvidenceKind, Party

MANUAL = "review.manual"
"""The rule id a platform reviewer's decision cites."""
OVERRIDE = "review.override"
"""The rule id cited when a reviewer's decision departs from what the rules decide."""


@dataclass
class _Outcome:
    liability: Liability | None = None
    remedy: str | None = None  # a Remedy value, "requested" or "rejection"
    remedy_rule: str | None = None  # the special row that set it
    return_shipping: Payer | None = None
    violations: list[str] = field(default_factory=list)
    trace: list[RuleFired] = field(default_factory=list)

    def apply(self, special: Special, because: str) -> None:
        if special.liability is not None:
            self.liability = special.liability
        if special.remedy is not None:
            self.remedy, self.remedy_rule = special.remedy, special.id
        if special.return_shipping is not None:
            self.return_shipping = special.return_shipping
        if special.violation is not None:
            self.violations.append(special.violation)
        self.trace.append(RuleFired(special.id, because))


def decide(dispute: Dispute, rulebook: Rulebook) -> Decision:
    """What the rules decide, automatically."""
    burden = _burden(dispute, rulebook)
    outcome = _Outcome()
    outcome.trace.append(
        RuleFired(burden.id, f"the {burden.party} must prove the {dispute.claim.type} claim")
    )
    specials = list(rulebook.specials_for(dispute.claim.type))
    proof = rebuttal = 0
    if not _decided_before_weighing(dispute, rulebook, specials, set(dispute.findings), outcome):
        if burden.party is Party.PLATFORM:
            raise AdjudicationError(f"{burden.id}: the platform's burden needs a special rule")
        proof, proof_items = _strongest(dispute, rulebook, burden, burden.proof, burden.party)
        other = opposite(burden.party)
        rebuttal, rebuttal_items = _strongest(dispute, rulebook, burden, burden.rebuttal, other)
        _weigh(rulebook, burden, (proof, proof_items), (rebuttal, rebuttal_items), outcome)
        _after_weighing(specials, burden, proof, outcome)
    assert outcome.liability is not None
    return _conclude(dispute, rulebook, outcome, proof, rebuttal)


@dataclass(frozen=True)
class Refusal:
    """Why a reviewer's decision cannot stand: the rule it breaks, and how."""

    rule: str
    why: str


def decide_manually(
    dispute: Dispute,
    rulebook: Rulebook,
    *,
    liability: Liability,
    remedy: Remedy,
    refund: Decimal | None,
    reason: str | None,
) -> Decision | Refusal:
    """A platform reviewer's decision, checked as RULES.md section 5 says: the remedy must be
    the one the rules give for ``liability`` (special rows included), the refund at most the
    disputed amount ("0.00" for a rejection; the table's when None); penalty, return-shipping
    payer and violations follow from the liability. Where it departs from the automatic
    decision, ``review.override`` is cited with the reviewer's ``reason`` (then required)."""
    burden = _burden(dispute, rulebook)
    outcome = _Outcome(liability=liability)
    outcome.trace.append(RuleFired(MANUAL, reason or "decided by the platform"))
    specials = list(rulebook.specials_for(dispute.claim.type))
    refused = _follow_liability(dispute, rulebook, burden, specials, outcome)
    if refused is not None:
        return refused
    row = rulebook.remedies.get(liability)
    if row is None:
        return Refusal(MANUAL, f"rulebook {rulebook.label} has no remedy row for {liability}")
    due = _remedy(outcome.remedy or row.remedy, dispute.claim.requested_remedy)
    if remedy is not due:
        source = outcome.remedy_rule or row.id
        return Refusal(source, f"{liability} liability gives {due}, not {remedy}")
    disputed = dispute.disputed_amount
    if refund is not None:
        if REMEDIES[remedy].rejection and refund != 0:
            return Refusal(row.id, f"a rejection refunds 0.00, not {refund}")
        if not REMEDIES[remedy].money and refund != 0:
            return Refusal(row.id, f"{remedy} moves no money: it refunds 0.00, not {refund}")
        if not 0 <= refund <= disputed:
            return Refusal(row.id, f"refund {refund} is not within 0.00 to {disputed}")
    automatic = decide(dispute, rulebook)
    decision = _conclude(
        dispute,
        rulebook,
        outcome,
        automatic.proof_strength,
        automatic.rebuttal_strength,
        refund=refund,
    )
    if (decision.liability, decision.remedy, decision.refund_amount) == (
        automatic.liability,
        automatic.remedy,
        automatic.refund_amount,
    ):
        return decision
    if not reason:
        return Refusal(OVERRIDE, "a decision that departs from the rules needs a reason")
    override = RuleFired(
        OVERRIDE,
        f"{reason} (the rules decide {automatic.liability} liability: {automatic.remedy}, "
        f"refund {automatic.refund_amount})",
    )
    return replace(decision, trace=(decision.trace[0], override, *decision.trace[1:]))


def penalty(row: RemedyRow, paid: Decimal) -> Decimal:
    """The penalty a liability costs, on what was paid for what the claim is about (the
    claimed items, or the whole order; RULES.md section 5)."""
    if row.penalty_multiplier <= 0:
        return money(0)
    return money(max(paid * row.penalty_multiplier, row.penalty_minimum))


def _burden(dispute: Dispute, rulebook: Rulebook) -> Burden:
    burden = rulebook.burdens.get(dispute.claim.type)
    if burden is None:
        raise AdjudicationError(
            f"rulebook {rulebook.label} does not decide claim type {dispute.claim.type}"
        )
    return burden


def _conclude(
    dispute: Dispute,
    rulebook: Rulebook,
    outcome: _Outcome,
    proof: int,
    rebuttal: int,
    *,
    refund: Decimal | None = None,
) -> Decision:
    """The remedy, refund, return-shipping payer and penalty that the liability gives."""
    assert outcome.liability is not None
    row = rulebook.remedies[outcome.liability]
    remedy = _remedy(outcome.remedy or row.remedy, dispute.claim.requested_remedy)
    meaning = REMEDIES[remedy]
    disputed = dispute.disputed_amount
    if refund is not None:
        refund = money(refund)
    elif not meaning.money or row.refund == "zero":
        refund = money(0)
    elif row.refund == "ratio":
        refund = money(disputed * rulebook.settings.both_ratio)
    else:
        refund = disputed
    payer = _return_payer(dispute, rulebook, outcome, row) if meaning.goods_back else None
    charged = penalty(row, dispute.claimed_paid)
    outcome.trace.append(
        RuleFired(
            row.id,
            f"{outcome.liability} liability: {remedy}, refund {refund}"
            + (f", return shipping paid by the {payer}" if payer else "")
            + f", penalty {charged}",
        )
    )
    return Decision(
        liability=outcome.liability,
        remedy=remedy,
        refund_amount=refund,
        return_shipping_payer=payer,
        penalty_amount=charged,
        violations=tuple(outcome.violations),
        trace=tuple(outcome.trace),
        proof_strength=proof,
        rebuttal_strength=rebuttal,
    )


def _return_payer(
    dispute: Dispute, rulebook: Rulebook, outcome: _Outcome, row: RemedyRow
) -> Payer | None:
    """Who pays to send the goods back: the special or remedy row's payer, unless the order is
    insured (then the insurer, by the rulebook's shipping rule), or, where no row says, the
    shipping rule of the claim type. The shipping rule that decided it joins the trace."""
    payer = outcome.return_shipping or row.return_shipping
    rule = rulebook.return_payer(dispute.order, dispute.claim)
    if rule is None or (payer is not None and not rule.insured):
        return payer
    if rule.insured:
        because = "the order has return-shipping insurance: the insurer pays the return shipping"
    else:
        because = f"the {rule.payer} pays the return shipping of a {dispute.claim.type} claim"
    outcome.trace.append(RuleFired(rule.id, because))
    return rule.payer


def needs_manual_review(dispute: Dispute, rulebook: Rulebook) -> tuple[RuleFired, ...]:
    """Why the dispute waits for a platform ``decide`` instead of being decided at once: every
    review rule that holds, in the rulebook's order (none: it is decided at once)."""
    claim = dispute.claim.type
    used = {s.finding for s in rulebook.specials_for(claim) if s.finding is not None}
    reasons = []
    for review in rulebook.reviews:
        because = None
        if review.when == "paid_amount_at_least":
            assert review.amount is not None
            paid = dispute.claimed_paid
            if paid >= review.amount:
                what = "the claimed items' paid amount" if dispute.claim.items else "paid amount"
                because = f"{what} {paid} is at or above {review.amount}"
        elif review.when == "near_duplicate":
            near = [e.id for e in dispute.evidence if e.accepted and e.near_duplicate]
            if near:
                because = f"evidence {', '.join(near)} nearly duplicates a photo of another dispute"
        elif review.when == "unused_finding":
            unused = sorted({f.value for f in dispute.findings} - {f.value for f in used})
            if unused:
                because = (
                    f"the platform found {', '.join(unused)}, which no rule for {claim} claims "
                    "weighs: a reviewer must see it"
                )
        if because is not None:
            reasons.append(RuleFired(review.id, because + ": manual review"))
    return tuple(reasons)


def no_reason_return_eligible(dispute: Dispute, rulebook: Rulebook) -> tuple[bool, str]:
    order = dispute.order
    if not order.seven_day_return:
        return False, "the order does not allow 7-day no-reason returns"
    excluded = [code for code in order.exclusions if code in rulebook.exclusion_codes]
    if excluded:
        return False, f"the goods are excluded ({', '.join(excluded)})"
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
    """The special rows that follow the weighing, in a fixed order: a merchant who proved
    nothing, then what replaces ``both``, then what follows merchant liability."""
    for special in specials:
        if special.when == "merchant_unproven" and burden.party is Party.MERCHANT and proof == 0:
            outcome.apply(special, "the merchant proved nothing")
    for special in specials:
        if special.when == "both_liable" and outcome.liability is Liability.BOTH:
            outcome.apply(special, f"{special.claim} has no shared liability")
    for special in specials:
        if special.when == "merchant_liable" and outcome.liability is Liability.MERCHANT:
            outcome.apply(special, "the merchant is liable")


def _follow_liability(
    dispute: Dispute,
    rulebook: Rulebook,
    burden: Burden,
    specials: list[Special],
    outcome: _Outcome,
) -> Refusal | None:
    """The special rows that follow a reviewer's liability as they would follow the rules'
    (their remedy, return-shipping payer and violation); a liability a special row rules
    out is refused."""
    given, found = outcome.liability, set(dispute.findings)
    eligible, why = no_reason_return_eligible(dispute, rulebook)
    for special in specials:
        if special.when == "both_liable" and given is Liability.BOTH:
            return Refusal(special.id, f"{special.claim} has no shared liability")
        if special.when == "ineligible" and given is not special.liability and not eligible:
            return Refusal(special.id, f"not eligible ({why}): {special.liability} liable")
        if (
            special.when == "no_finding"
            and special.finding not in found
            and given is not special.liability
        ):
            return Refusal(
                special.id, f"without a finding of {special.finding}: {special.liability}"
            )
    proof = _strongest(dispute, rulebook, burden, burden.proof, burden.party)[0]
    for special in specials:
        match special.when:
            case "merchant_liable":
                follows = given is Liability.MERCHANT
            case "merchant_unproven":
                follows = given is Liability.MERCHANT and burden.party is Party.MERCHANT
                follows = follows and proof == 0
            case "no_finding":
                follows = given is special.liability and special.finding not in found
            case "ineligible":
                follows = given is special.liability and not eligible
            case None:
                follows = special.finding in found and special.liability in (None, given)
            case _:
                follows = False
        if follows:
            outcome.apply(special, f"it follows {given} liability")
    return None


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
        party = burden.party if row.liability == "burdened" else opposite(burden.party)
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
    if choice == "rejection":  # a request to send the goods back is a return rejected
        return Remedy.REJECT_RETURN if REMEDIES[requested].goods_back else Remedy.REJECT_REFUND
    return Remedy(choice)


def _listed(items: list[str]) -> str:
    return ", ".join(items) if items else "none accepted"
