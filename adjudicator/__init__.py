"""dispute-adjudicator: settle after-sales disputes by the platform's burden-of-proof rules.

The service a back office embeds is :class:`Adjudicator` (``Adjudicator.from_url(url)``); the
domain types below are what its commands take and return. The service (and with it the
database layer) is imported when it is first named, so that what never touches a database
(replaying case files, checking evidence) does not load it.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from adjudicator.domain import (
    Claim,
    ClaimedItem,
    ClaimType,
    Decision,
    Liability,
    Offer,
    OfferStatus,
    Order,
    OrderItem,
    Payer,
    PlatformFinding,
    Remedy,
)
from adjudicator.errors import (
    AdjudicationError,
    ConflictError,
    DisputeExists,
    InvalidCase,
    KeyReused,
    RefusedEvent,
    RulebookError,
    SchemaMismatch,
    StoreMismatch,
    Unavailable,
    UnknownDispute,
    UsageError,
)
from adjudicator.lifecycle import State
from adjudicator.rulebook import Rulebook, load_rulebook
from adjudicator.workflow import Case, Event, Submission

if _TYPE_CHECKING:
    from adjudicator.service import Adjudicator, Settings, Ticked

_SERVICE = frozenset({"Adjudicator", "Settings", "Ticked"})


def __getattr__(name: str) -> _Any:
    """The service's names, imported when first asked for (and kept)."""
    if name in _SERVICE:
        from adjudicator import service

        value = globals()[name] = getattr(service, name)
        return value
    raise AttributeError(f"module 'adjudicator' has no attribute {name!r}")


__all__ = [
    "AdjudicationError",
    "Adjudicator",
    "Case",
    "Claim",
    "ClaimType",
    "ClaimedItem",
    "ConflictError",
    "Decision",
    "DisputeExists",
    "Event",
    "InvalidCase",
    "KeyReused",
    "Liability",
    "Offer",
    "OfferStatus",
    "Order",
    "OrderItem",
    "Payer",
    "PlatformFinding",
    "RefusedEvent",
    "Remedy",
    "Rulebook",
    "RulebookError",
    "SchemaMismatch",
    "Settings",
    "State",
    "StoreMismatch",
    "Submission",
    "Ticked",
    "Unavailable",
    "UnknownDispute",
    "UsageError",
    "load_rulebook",
]
