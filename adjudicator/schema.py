"""The JSON Schema of a case file (``adjudicator schema``); the reader in ``casefile`` is the
authority on meaning, this schema on shape, and a test holds every example to both."""

from __future__ import annotations

from typing import Any

from adjudicator.casefile import (
    AMOUNT,
    CASE_ID,
    CATEGORY,
    DECLARED,
    EVENT_FIELDS,
    EXPECTED,
    EXPECTED_LISTS,
    FORMAT,
    INSTANT,
    LIMITS,
)
from adjudicator.domain import REQUESTABLE, ClaimType, Liability, PlatformFinding, Remedy
from adjudicator.rulebook import RULEBOOK_ID
from adjudicator.workflow import ACTORS
from evidence import EvidenceKind

# Patterns are anchored here: JSON Schema searches, the reader matches whole strings. The
# reader also refuses control characters and lone surrogates, duplicate keys, and instants
# outside the years LIMITS allows, which a schema cannot say.
_AMOUNT = {"type": "string", "pattern": f"^{AMOUNT.pattern}$"}
_INSTANT = {
    "type": "string",
    "format": "date-time",
    "pattern": f"^{INSTANT.pattern}$",
    "description": f"RFC 3339 with an offset, years {LIMITS.first_year} to {LIMITS.last_year}",
}
_TEXT = {"type": "string", "minLength": 1, "maxLength": LIMITS.id_chars}
_FREE_TEXT = {"type": "string", "maxLength": LIMITS.text_chars}


def _enum(values: object) -> dict[str, Any]:
    return {"enum": sorted(str(getattr(v, "value", v)) for v in values)}  # type: ignore[attr-defined]


def _event(action: str, evidence_item: dict[str, Any]) -> dict[str, Any]:
    """One action's event: the fields the reader requires and allows for it (casefile's
    ``EVENT_FIELDS``), and the parties that may act."""
    fields: dict[str, Any] = {
        "at": _INSTANT,
        "actor": _enum(ACTORS[action]),
        "action": {"const": action},
        "reason": _FREE_TEXT,
        "evidence": {
            "type": "array",
            "minItems": 1,
            "maxItems": LIMITS.evidence_per_event,
            "items": evidence_item,
        },
        "finding": _enum(PlatformFinding),
        "liability": _enum(Liability),
        "remedy": _enum(Remedy),
        "refund_amount": _AMOUNT,
        "tracking_no": _TEXT,
    }
    required, allowed = EVENT_FIELDS[action]
    return {
        "type": "object",
        "required": sorted(required),
        "additionalProperties": False,
        "properties": {name: fields[name] for name in sorted(allowed)},
    }


def case_schema() -> dict[str, Any]:
    evidence_item = {
        "type": "object",
        "required": ["kind", "file"],
        "additionalProperties": False,
        "properties": {
            "kind": _enum(EvidenceKind),
            "file": {
                "type": "string",
                "minLength": 1,
                "maxLength": LIMITS.path_chars,
                "description": "relative to the case file; a regular file inside its folder",
            },
            **dict.fromkeys(DECLARED, _TEXT),
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dispute-adjudicator.invalid/schema/dispute-case-1.json",
        "title": "Dispute case file (dispute-case/1)",
        "description": f"At most {LIMITS.file_bytes} bytes of UTF-8 JSON, no duplicate keys.",
        "type": "object",
        "required": ["format", "case_id", "order", "claim", "events"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": FORMAT},
            "case_id": {"type": "string", "pattern": f"^{CASE_ID.pattern}$"},
            "rulebook": {"type": "string", "pattern": f"^{RULEBOOK_ID.pattern}$"},
            "until": _INSTANT,
            "order": {
                "type": "object",
                "required": ["order_id", "category", "paid_amount", "currency", "items"],
                "additionalProperties": False,
                "properties": {
                    "order_id": _TEXT,
                    "category": {"type": "string", "pattern": CATEGORY.pattern},
                    "paid_amount": _AMOUNT,
                    "currency": _TEXT,
                    "seven_day_return": {"type": "boolean"},
                    "exclusions": {
                        "type": "array",
                        "maxItems": LIMITS.exclusions,
                        "items": _TEXT,
                    },
                    "paid_at": {"anyOf": [_INSTANT, {"type": "null"}]},
                    "shipped_at": {"anyOf": [_INSTANT, {"type": "null"}]},
                    "tracking_no": {"anyOf": [_TEXT, {"type": "null"}]},
                    "signed_at": {"anyOf": [_INSTANT, {"type": "null"}]},
                    "items": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": LIMITS.items,
                        "items": {
                            "type": "object",
                            "required": ["sku", "name", "price", "quantity"],
                            "additionalProperties": False,
                            "properties": {
                                "sku": _TEXT,
                                "name": {**_TEXT, "maxLength": LIMITS.name_chars},
                                "price": _AMOUNT,
                                "quantity": {
                                    "type": "integer",
                                    "minimum": 1,
                                    "maximum": LIMITS.quantity,
                                },
                                "serial": {"anyOf": [_TEXT, {"type": "null"}]},
                            },
                        },
                    },
                },
            },
            "claim": {
                "type": "object",
                "required": ["type", "requested_remedy"],
                "additionalProperties": False,
                "properties": {
                    "type": _enum(ClaimType),
                    "requested_remedy": _enum(REQUESTABLE),
                    "requested_amount": {"anyOf": [_AMOUNT, {"type": "null"}]},
                    "description": _FREE_TEXT,
                },
            },
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": LIMITS.events,
                "items": {"oneOf": [_event(action, evidence_item) for action in ACTORS]},
            },
            "expected": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    **{key: {"oneOf": [_TEXT, {"type": "null"}]} for key in EXPECTED},
                    **{
                        key: {"type": "array", "maxItems": LIMITS.events, "items": _TEXT}
                        for key in EXPECTED_LISTS
                    },
                },
            },
        },
    }
