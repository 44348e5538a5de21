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


@dataclass(frozen=True)
class RemedyMeaning:
    """What a remedy does: whether money goes to the buyer, whether the goods go back to the
    merchant first (then someone pays the return shipping: the rulebook's remedy and special
    rows say who), whether it rejects the request, and whether a buyer may ask for it."""

    money: bool
    goods_back: bool
    rejection: bool
    requestable: bool


REMEDIES: dict[Remedy, RemedyMeaning] = {
    Remedy.REFUND_ONLY: RemedyMeaning(
        money=True, goods_back=False, rejection=False, requestable=True
    ),
    Remedy.RETURN_AND_REFUND: RemedyMeaning(
        money=True, goods_back=True, rejection=False, requestable=True
    ),
    Remedy.PARTIAL_REFUND: RemedyMeaning(
        money=True, goods_back=False, rejection=False, requestable=True
    ),
    Remedy.REJECT_REFUND: RemedyMeaning(
        money=False, goods_back=False, rejection=True, requestable=False
    ),
    Remedy.REJECT_RETURN: RemedyMeaning(
        money=False, goods_back=False, rejection=True, requestable=False
    ),
}
"""The one table of what each remedy means; the decision, the workflow and the explanation
read it."""
REQUESTABLE = frozenset(remedy for remedy, meaning in REMEDIES.items() if meaning.requestable)


class Resolution(StrEnum):
    """How a dispute's liability and remedy were set (not how the money moved afterwards)."""

    ADJUDICATED = "adjudicated"  # a platform decision, automatic or manual
    AGREED = "agreed"  # the merchant agreed to the request
    MERCHANT_TIMEOUT = "merchant_timeout"  # agreed by default: the merchant did not answer
    WITHDRAWN = "withdrawn"
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

    @property
    def serials(self) -> frozenset[str]:
        return frozenset(i.serial for i in self.items if i.serial)


@dataclass(frozen=True)
class Claim:
    type: ClaimType
    requested_remedy: Remedy
    requested_amount: Decimal | None = None
    description: str = ""


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
    return_shipping_payer: Party | None
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
    def disputed_amount(self) -> Decimal:
        amount = self.claim.requested_amount
        return money(self.order.paid_amount if amount is None else amount)
