"""The dispute domain: plain enums and dataclasses (no persistence, no state machine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from evidence import EvidenceKind, Party

CENT = Decimal("0.01")


def opposite(party: Party) -> Party:
    """The other side of the dispute: the buyer's is the merchant, anyone else's the buyer."""
    return Party.MERCHANT if party is Party.BUYER else Party.BUYER


def money(value: Decimal | str | int) -> Decimal:
    """Two places, rounded half up (RULES.md section 5). Never a float."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


CATEGORIES = (
    "general",
    "used_3c.phone",
    "used_3c.tablet",
    "used_3c.computer",
    "used_3c.appliance",
    "used_3c.digital",
)
"""The order categories (the category chooses the default rulebook)."""


class ClaimType(StrEnum):
    VISIBLE_DEFECT = "visible_defect"
    INVISIBLE_DEFECT = "invisible_defect"
    WRONG_ITEM = "wrong_item"
    MISSING_PARTS = "missing_parts"
    NOT_SHIPPED = "not_shipped"
    NOT_RECEIVED = "not_received"
    NOT_AS_DESCRIBED = "not_as_described"
    ILLEGAL_ORIGIN = "illegal_origin"
    UNOFFICIAL_REPAIR = "unofficial_repair"
    NO_REASON_RETURN = "no_reason_return"


class Liability(StrEnum):
    MERCHANT = "merchant"
    BUYER = "buyer"
    BOTH = "both"
    NEITHER = "neither"


class Remedy(StrEnum):
    REFUND_ONLY = "refund_only"
    RETURN_AND_REFUND = "return_and_refund"
    PARTIAL_REFUND = "partial_refund"
    REJECT_REFUND = "reject_refund"
    REJECT_RETURN = "reject_return"
    EXCHANGE = "exchange"
    RESHIPMENT = "reshipment"
    REPAIR = "repair"


@dataclass(frozen=True)
class RemedyMeaning:
    """What a remedy does: whether money goes to the buyer, whether the goods go back to the
    merchant first (then someone pays the return shipping), whether the merchant then ships
    something to the buyer (``shipment``: the deadline rule the merchant ships by), whether it
    rejects the request, whether a buyer may ask for it (and either side offer it), and in
    words what it sets moving."""

    money: bool
    goods_back: bool
    rejection: bool
    requestable: bool
    words: str
    shipment: str | None = None


REMEDIES: dict[Remedy, RemedyMeaning] = {
    Remedy.REFUND_ONLY: RemedyMeaning(
        money=True,
        goods_back=False,
        rejection=False,
        requestable=True,
        words="the money goes to the buyer, the goods stay with the buyer",
    ),
    Remedy.RETURN_AND_REFUND: RemedyMeaning(
        money=True,
        goods_back=True,
        rejection=False,
        requestable=True,
        words="the goods go back to the merchant, then the money to the buyer",
    ),
    Remedy.PARTIAL_REFUND: RemedyMeaning(
        money=True,
        goods_back=False,
        rejection=False,
        requestable=True,
        words="the money goes to the buyer, the goods stay with the buyer",
    ),
    Remedy.REJECT_REFUND: RemedyMeaning(
        money=False,
        goods_back=False,
        rejection=True,
        requestable=False,
        words="the request is rejected: no money moves, the goods stay with the buyer",
    ),
    Remedy.REJECT_RETURN: RemedyMeaning(
        money=False,
        goods_back=False,
        rejection=True,
        requestable=False,
        words="the request is rejected: no money moves, the goods stay with the buyer",
    ),
    Remedy.EXCHANGE: RemedyMeaning(
        money=False,
        goods_back=True,
        rejection=False,
        requestable=True,
        words="the goods go back to the merchant, who ships a replacement",
        shipment="deadline.exchange_ship",
    ),
    Remedy.RESHIPMENT: RemedyMeaning(
        money=False,
        goods_back=False,
        rejection=False,
        requestable=True,
        words="the merchant ships what was missing, the goods stay with the buyer",
        shipment="deadline.reshipment",
    ),
    Remedy.REPAIR: RemedyMeaning(
        money=False,
        goods_back=True,
        rejection=False,
        requestable=True,
        words="the goods go back to the merchant, who repairs them and ships them back",
        shipment="deadline.repair_ship",
    ),
}
"""The one table of what each remedy means; the decision, the workflow and the explanation
read it. A remedy the merchant ships for needs its ``shipment`` deadline, the buyer's
``deadline.confirm_delivery`` and a ``fallback`` rule in the rulebook (else the rulebook does
not admit it)."""
REQUESTABLE = frozenset(remedy for remedy, meaning in REMEDIES.items() if meaning.requestable)
"""What a buyer may ask for, and what either side (or the platform) may offer."""


class Payer(StrEnum):
    """Who pays the return shipping of goods sent back to the merchant."""

    BUYER = "buyer"
    MERCHANT = "merchant"
    INSURER = "insurer"  # the order's return-shipping insurance (运费险)


class Resolution(StrEnum):
    """How a dispute's liability and remedy were set (not how the money moved afterwards)."""

    ADJUDICATED = "adjudicated"  # a platform decision, automatic or manual
    AGREED = "agreed"  # the merchant agreed to the request
    MERCHANT_TIMEOUT = "merchant_timeout"  # agreed by default: the merchant did not answer
    WITHDRAWN = "withdrawn"
    NEGOTIATED = "negotiated"  # an offer was accepted (协商一致)
    LAPSED = "lapsed"  # the buyer did not escalate in time: nothing was decided or agreed
    REFUSED = "refused"  # opened too late
    PENDING_REVIEW = "pending_review"  # waiting for a platform reviewer


class PlatformFinding(StrEnum):
    ILLEGAL_ORIGIN = "illegal_origin"
    UNOFFICIAL_REPAIR = "unofficial_repair"
    CARRIER_LOSS = "carrier_loss"


@dataclass(frozen=True)
class OrderItem:
    sku: str
    name: str
    price: Decimal
    quantity: int
    serial: str | None = None


@dataclass(frozen=True)
class ClaimedItem:
    """An item a claim is about: an order line's SKU and how many of it."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class Order:
    order_id: str
    category: str
    paid_amount: Decimal
    currency: str
    items: tuple[OrderItem, ...]
    seven_day_return: bool = False
    exclusions: tuple[str, ...] = ()
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    tracking_no: str | None = None
    signed_at: datetime | None = None
    return_insurance: bool = False  # 运费险: an insurer pays the shipping of a return

    @property
    def serials(self) -> frozenset[str]:
        return frozenset(i.serial for i in self.items if i.serial)

    def paid_share(self, claimed: tuple[ClaimedItem, ...]) -> Decimal:
        """What the buyer paid for ``claimed`` (all of the order when it names none): the
        paid amount split over the lines by their value (price times quantity), or by
        quantity when every line is free; two places, rounded half up. Each item must be
        one line of the order (:func:`claim_problem` says so first)."""
        if not claimed:
            return money(self.paid_amount)
        lines = {item.sku: item for item in self.items}
        whole = sum((item.price * item.quantity for item in self.items), Decimal(0))
        if whole > 0:
            part = sum((lines[c.sku].price * c.quantity for c in claimed), Decimal(0))
        else:
            whole = Decimal(sum(item.quantity for item in self.items))
            part = Decimal(sum(c.quantity for c in claimed))
        return money(self.paid_amount * part / whole)


@dataclass(frozen=True)
class Claim:
    """What the buyer claims and asks for, about ``items`` of the order (none: all of it)."""

    type: ClaimType
    requested_remedy: Remedy
    requested_amount: Decimal | None = None
    description: str = ""
    items: tuple[ClaimedItem, ...] = ()


def claim_problem(order: Order, claim: Claim) -> tuple[str, str] | None:
    """What makes ``claim`` impossible on ``order``, as (JSON pointer, reason), or None: an
    item the order does not have, more of one than it has, an item named twice or on two
    lines of the order, or a requested amount above what was paid for what is claimed."""
    lines: dict[str, list[OrderItem]] = {}
    for item in order.items:
        lines.setdefault(item.sku, []).append(item)
    named: set[str] = set()
    for index, claimed in enumerate(claim.items):
        at = f"/claim/items/{index}"
        found = lines.get(claimed.sku)
        if found is None:
            return f"{at}/sku", f"the order has no item with SKU {claimed.sku!r}"
        if len(found) > 1:
            return f"{at}/sku", (
                f"the order has SKU {claimed.sku!r} on {len(found)} lines: a claim cannot "
                "tell which it means"
            )
        if claimed.sku in named:
            return f"{at}/sku", f"SKU {claimed.sku!r} is named twice"
        named.add(claimed.sku)
        if claimed.quantity > found[0].quantity:
            return f"{at}/quantity", (
                f"is {claimed.quantity}, more than the {found[0].quantity} the order has"
            )
    amount = claim.requested_amount
    if amount is not None and not claim.items and amount > order.paid_amount:
        return "/claim/requested_amount", "is more than the paid amount"
    if amount is not None and claim.items:
        share = order.paid_share(claim.items)
        if amount > share:
            return "/claim/requested_amount", (
                f"is more than {share}, what was paid for the claimed items"
            )
    return None


@dataclass(frozen=True)
class EvidenceRecord:
    """One submitted item as the decision sees it: its verdict and the facts it rests on."""

    id: str
    party: Party
    kind: EvidenceKind
    sha256: str
    accepted: bool
    reasons: tuple[str, ...] = ()
    authoritative: bool = False  # certificates: a recognised CMA/CNAS accreditation
    result: str | None = None  # certificates: pass / fail
    status: str | None = None  # logistics: shipped / in_transit / delivered / lost
    pre_shipment: bool = False
    shows_serial: str | None = None
    near_duplicate: bool = False
    description: str | None = None  # the submitter's words about it


class OfferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LAPSED = "lapsed"  # not answered by its deadline
    SUPERSEDED = "superseded"  # another offer replaced it
    VOID = "void"  # the dispute was settled or closed some other way first


@dataclass(frozen=True)
class Offer:
    """A proposal to settle (协商): by a party, or by the platform (then both parties must
    accept it); a remedy and, for money, the amount."""

    id: str
    by: Party
    at: datetime
    remedy: Remedy
    amount: Decimal | None
    expires_at: datetime
    status: OfferStatus = OfferStatus.OPEN
    accepted_by: tuple[Party, ...] = ()
    ended_at: datetime | None = None

    @property
    def answerers(self) -> tuple[Party, ...]:
        """Who must accept it: the other party, or both for the platform's proposal."""
        return tuple(p for p in (Party.BUYER, Party.MERCHANT) if p is not self.by)


@dataclass(frozen=True)
class RuleFired:
    """A rule that decided something, and why, in words."""

    rule: str
    because: str


@dataclass(frozen=True)
class Decision:
    liability: Liability
    remedy: Remedy
    refund_amount: Decimal
    return_shipping_payer: Payer | None
    penalty_amount: Decimal
    violations: tuple[str, ...]
    trace: tuple[RuleFired, ...]
    proof_strength: int = 0
    rebuttal_strength: int = 0

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(step.rule for step in self.trace)


@dataclass(frozen=True)
class Dispute:
    """What the decision needs to know of a dispute at review time."""

    case_id: str
    order: Order
    claim: Claim
    opened_at: datetime
    findings: tuple[PlatformFinding, ...] = ()
    evidence: tuple[EvidenceRecord, ...] = field(default=())

    @property
    def claimed_paid(self) -> Decimal:
        """What was paid for what the claim is about: its items' share, or the whole order."""
        return self.order.paid_share(self.claim.items)

    @property
    def disputed_amount(self) -> Decimal:
        """The amount asked for, or else all that was paid for what the claim is about."""
        amount = self.claim.requested_amount
        return self.claimed_paid if amount is None else money(amount)
