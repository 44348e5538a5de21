"""A dispute's facts (its order and its claim) as JSON, and their digest.

The snapshot stores them in this shape, and the ``open`` entry of the decision log carries
their digest, so that ``audit verify`` can tell that the order and claim a stored dispute
shows (and that an agreed refund follows from) are the ones it was opened with.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from adjudicator.domain import Claim, Order
from adjudicator.jsontext import canonical_text


def order_json(order: Order) -> dict[str, Any]:
    out = {
        "order_id": order.order_id,
        "category": order.category,
        "paid_amount": str(order.paid_amount),
        "currency": order.currency,
        "items": [
            {
                "sku": i.sku,
                "name": i.name,
                "price": str(i.price),
                "quantity": i.quantity,
                "serial": i.serial,
            }
            for i in order.items
        ],
        "seven_day_return": order.seven_day_return,
        "exclusions": list(order.exclusions),
        "paid_at": _instant(order.paid_at),
        "shipped_at": _instant(order.shipped_at),
        "tracking_no": order.tracking_no,
        "signed_at": _instant(order.signed_at),
    }
    if order.return_insurance:  # (an uninsured order is what it always was, and keeps its digest)
        out["return_insurance"] = True
    return out


def claim_json(claim: Claim) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": claim.type.value,
        "requested_remedy": claim.requested_remedy.value,
        "requested_amount": _text(claim.requested_amount),
        "description": claim.description,
    }
    if claim.items:  # (a whole-order claim is what it always was, and keeps its digest)
        out["items"] = [{"sku": i.sku, "quantity": i.quantity} for i in claim.items]
    return out


def facts_digest(order: Any, claim: Any) -> str:
    """The SHA-256 of the order and claim as JSON (what :func:`order_json` and
    :func:`claim_json` give, or what a snapshot holds), canonically encoded. Both are trees
    of JSON values (built, or parsed from text), so the shared encoder serves them."""
    return hashlib.sha256(canonical_text({"order": order, "claim": claim}).encode()).hexdigest()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
