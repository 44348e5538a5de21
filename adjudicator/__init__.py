"""dispute-adjudicator: settle after-sales disputes by the platform's burden-of-proof rules.

The service a back office embeds is :class:`Adjudicator` (``Adjudicator.from_url(url)``); the
domain types below are what its commands take and return. Every name is imported from its
module when it is first named (PEP 562), so that a command imports only what it uses: the
service (and with it the database layer) only when it touches a database, the rulebooks and
their models only when it reads one; ``adjudicator --help`` imports none of them.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
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

_WHERE = {
    "adjudicator.domain": (
        "Claim",
        "ClaimedItem",
        "ClaimType",
        "Decision",
        "Liability",
        "Offer",
        "OfferStatus",
        "Order",
        "OrderItem",
        "Payer",
        "PlatformFinding",
        "Remedy",
    ),
    "adjudicator.errors": (
        "AdjudicationError",
        "ConflictError",
        "DisputeExists",
        "InvalidCase",
        "KeyReused",
        "RefusedEvent",
        "RulebookError",
        "SchemaMismatch",
        "StoreMismatch",
        "Unavailable",
        "UnknownDispute",
        "UsageError",
    ),
    "adjudicator.lifecycle": ("State",),
    "adjudicator.rulebook": ("Rulebook", "load_rulebook"),
    "adjudicator.service": ("Adjudicator", "Settings", "Ticked"),
    "adjudicator.workflow": ("Case", "Event", "Submission"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}


def __getattr__(name: str) -> _Any:
    """An exported name, imported from its module when first asked for (and kept)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'adjudicator' has no attribute {name!r}")
    from importlib import import_module

    value = globals()[name] = getattr(import_module(module), name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
