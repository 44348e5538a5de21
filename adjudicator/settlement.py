"""How a dispute is settled without a verdict (RULES.md section 8): the terms an agreement,
the merchant's silence or an accepted offer settles on, what may be offered (协商), and who
may answer an offer. Pure: the workflow records what these say, and turns an
:class:`OfferProblem` into a refused event naming its field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adjudicator.domain import REMEDIES, Claim, Offer, OfferStatus, Order, Payer, Remedy, money
from adjudicator.rulebook import OFFER_DEADLINE, Rulebook
from evidence import Party


class OfferProblem(Exception):
    """Why an offer, or an answer to one, cannot be taken: the event's ``field`` and why."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field} {why}")
        self.field, self.why = field, why


@dataclass(frozen=True)
class Terms:
    """What a settlement without a verdict settles on: the remedy, the refund, and who pays
    to send goods back (with the shipping rule that says so)."""

    remedy: Remedy
    refund: Decimal
    payer: Payer | None
    rules: tuple[str, ...]

    def detail(self) -> dict[str, Any]:
        """As the settling log entry records it (None: left out of the entry)."""
        return {
            "remedy": self.remedy.value,
            "refund_amount": str(self.refund),
            "return_shipping_payer": None if self.payer is None else self.payer.value,
            "rules": list(self.rules) or None,
        }


def terms(
    rulebook: Rulebook,
    order: Order,
    claim: Claim,
    remedy: Remedy,
    *,
    amount: Decimal | None,
    disputed: Decimal,
) -> Terms:
    """The terms of settling on ``remedy``: ``amount`` (the disputed amount when None, 0.00
    for a remedy that moves no money), and, for goods sent back, the payer the rulebook's
    shipping rules name (none in a rulebook without them)."""
    meaning = REMEDIES[remedy]
    refund = disputed if amount is None else amount
    if not meaning.money:
        refund = money(0)
    rule = rulebook.return_payer(order, claim) if meaning.goods_back else None
    if rule is None:
        return Terms(remedy, refund, None, ())
    return Terms(remedy, refund, rule.payer, (rule.id,))


def offered(
    rulebook: Rulebook,
    claim: Claim,
    disputed: Decimal,
    remedy: Remedy | None,
    amount: Decimal | None,
) -> tuple[Remedy, Decimal | None]:
    """An offer's remedy and amount, checked: a remedy a buyer could ask for that the claim
    type's scope and the rulebook admit, and money only for a remedy that moves money, more
    than 0.00 and at most the disputed amount (all of it when not said). Raises
    :class:`OfferProblem`."""
    if remedy is None:
        raise OfferProblem("remedy", "is required")
    if not REMEDIES[remedy].requestable:
        raise OfferProblem("remedy", f"{remedy} is a decision's, not an offer's")
    scope = rulebook.scopes.get(claim.type)
    if scope is not None and scope.remedies and remedy not in scope.remedies:
        admitted = " or ".join(sorted(scope.remedies))
        raise OfferProblem("remedy", f"{scope.id}: {claim.type} admits {admitted} only")
    unadmitted = rulebook.admits(remedy)
    if unadmitted is not None:
        raise OfferProblem("remedy", unadmitted)
    if not REMEDIES[remedy].money:
        if amount is not None:
            raise OfferProblem("amount", f"is {amount}, but {remedy} moves no money: leave it out")
        return remedy, None
    if amount is None and remedy is Remedy.PARTIAL_REFUND:
        raise OfferProblem("amount", "is required for a partial_refund")
    given = disputed if amount is None else money(amount)
    if given > disputed:
        raise OfferProblem("amount", f"{given} is more than the disputed amount {disputed}")
    if given <= 0:
        raise OfferProblem("amount", f"is {given}: an offer of money is more than 0.00")
    return remedy, given


def answerable(offers: Sequence[Offer], offer_id: str | None, actor: Party) -> Offer:
    """The open offer ``offer_id`` if ``actor`` may answer it now. Raises
    :class:`OfferProblem` (field ``offer``) for one never made, lapsed, ended, the actor's own,
    or already accepted by the actor."""
    offer = next((o for o in offers if o.id == offer_id), None)
    if offer is None:
        raise OfferProblem("offer", f"{offer_id!r}: no such offer was made")
    if offer.status is OfferStatus.LAPSED:
        assert offer.ended_at is not None
        raise OfferProblem(
            "offer",
            f"{offer.id} lapsed at {offer.ended_at.isoformat()} ({OFFER_DEADLINE}): it can no "
            "longer be answered",
        )
    if offer.status is not OfferStatus.OPEN:
        raise OfferProblem("offer", f"{offer.id} is {offer.status}: it can no longer be answered")
    if actor not in offer.answerers:
        raise OfferProblem("offer", f"{offer.id} is the {actor}'s own offer")
    if actor in offer.accepted_by:
        raise OfferProblem("offer", f"{offer.id} is already accepted by the {actor}")
    return offer


def offer_json(offer: Offer) -> dict[str, Any]:
    """An offer as its log entry records it."""
    out: dict[str, Any] = {"id": offer.id, "remedy": offer.remedy.value}
    out["amount"] = None if offer.amount is None else str(offer.amount)
    out["expires_at"] = offer.expires_at.isoformat()
    return out
