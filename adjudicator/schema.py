"""The JSON Schema of a case file (``adjudicator schema``); the reader in ``casefile`` is the
authority on meaning, this schema on shape, and a test holds every example to both."""

from __future__ import annotations

from typing import Any

from adjudicator.casefile import AMOUNT, CATEGORY, DECLARED, EXPECTED, FORMAT
from adjudicator.domain import REQUESTABLE, ClaimType, Liability, PlatformFinding, Remedy
from adjudicator.workflow import ACTORS
from evidence import EvidenceKind, Party

_AMOUNT = {"type": "string", "pattern": AMOUNT.pattern}
_INSTANT = {
    "type": "string",
    "format": "date-time",
    "pattern": r"T.*([Zz]|[+-]\d{2}:\d{2})$",
}
_TEXT = {"type": "string", "minLength": 1}


def _enum(values: object) -> dict[str, Any]:
    return {"enum": sorted(str(getattr(v, "value", v)) for v in values)}  # type: ignore[attr-defined]


def case_schema() -> dict[str, Any]:
    evidence_item = {
        "type": "object",
        "required": ["kind", "file"],
        "additionalProperties": False,
        "properties": {
            "kind": _enum(EvidenceKind),
            "file": _TEXT,
            **{name: {"type": "string"} for name in DECLARED},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dispute-adjudicator.invalid/schema/dispute-case-1.json",
        "title": "Dispute case file (dispute-case/1)",
        "type": "object",
        "required": ["format", "case_id", "order", "claim", "events"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": FORMAT},
            "case_id": _TEXT,
            "rulebook": _TEXT,
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
                    "exclusions": {"type": "array", "items": {"type": "string"}},
                    "paid_at": {"anyOf": [_INSTANT, {"type": "null"}]},
                    "shipped_at": {"anyOf": [_INSTANT, {"type": "null"}]},
                    "tracking_no": {"anyOf": [_TEXT, {"type": "null"}]},
                    "signed_at": {"anyOf": [_INSTANT, {"type": "null"}]},
                    "items": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["sku", "name", "price", "quantity"],
                            "additionalProperties": False,
                            "properties": {
                                "sku": _TEXT,
                                "name": _TEXT,
                                "price": _AMOUNT,
                                "quantity": {"type": "integer", "minimum": 1},
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
                    "description": {"type": "string"},
                },
            },
            "events": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["at", "actor", "action"],
                    "additionalProperties": False,
                    "properties": {
                        "at": _INSTANT,
                        "actor": _enum(Party),
                        "action": _enum(ACTORS),
                        "reason": {"type": "string"},
                        "evidence": {"type": "array", "minItems": 1, "items": evidence_item},
                        "finding": _enum(PlatformFinding),
                        "liability": _enum(Liability),
                        "remedy": _enum(Remedy),
                        "refund_amount": _AMOUNT,
                        "tracking_no": _TEXT,
                    },
                },
            },
            "expected": {
                "type": "object",
                "additionalProperties": False,
                "properties": {name: {"type": "string"} for name in EXPECTED},
            },
        },
    }
