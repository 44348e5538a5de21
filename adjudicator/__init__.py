"""dispute-adjudicator: settle after-sales disputes by the platform's burden-of-proof rules.

The service a back office embeds is :class:`Adjudicator` (``Adjudicator.from_url(url)``); the
domain types below are what its commands take and return.
"""

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
from adjudicator.service import Adjudicator, Settings, Ticked
from adjudicator.workflow import Case, Event, Submission

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
