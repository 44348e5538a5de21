"""What validation needs to know about the dispute, for the checks that depend on it.

Without a context those checks are not applied and the verdict lists them as skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from evidence.errors import InvalidContext
from evidence.instants import parse_instant
from evidence.neardup import nearest


class Party(StrEnum):
    BUYER = "buyer"
    MERCHANT = "merchant"
    PLATFORM = "platform"


class Role(StrEnum):
    """Whether the submitter offers the item as proof (举证) or as rebuttal (反举证)."""

    PROOF = "proof"
    REBUTTAL = "rebuttal"


@dataclass(frozen=True)
class OrderItemRef:
    sku: str
    serial: str | None = None

    @property
    def subject(self) -> str:
        """What a certificate must name: the serial/IMEI, or the SKU where there is none."""
        return self.serial if self.serial else self.sku


class PriorEvidence(Protocol):
    """Evidence already used in *other* disputes (for ``reused`` and ``near_duplicate``)."""

    def used_elsewhere(self, sha256: str) -> bool: ...

    def near_duplicate(self, perceptual_hash: str, max_distance: int) -> str | None:
        """The stored perceptual hash within ``max_distance`` bits, or None: the nearest,
        ties broken by the smallest hash text (:func:`evidence.neardup.nearest`)."""
        ...


@dataclass(frozen=True)
class KnownEvidence:
    """An in-memory :class:`PriorEvidence`."""

    sha256s: frozenset[str] = frozenset()
    perceptual_hashes: tuple[str, ...] = ()

    def used_elsewhere(self, sha256: str) -> bool:
        return sha256 in self.sha256s

    def near_duplicate(self, perceptual_hash: str, max_distance: int) -> str | None:
        return nearest(perceptual_hash, self.perceptual_hashes, max_distance)


@dataclass(frozen=True)
class DisputeContext:
    """The dispute as far as one evidence item needs it.

    ``window_closes_at`` is when the submitter's window closes; None means the item has no
    deadline (evidence that comes with an appeal is never late), not that it is unknown. A
    check whose other inputs are None is not applied, and the verdict lists it as skipped.
    """

    party: Party
    role: Role
    submitted_at: datetime | None = None
    window_closes_at: datetime | None = None
    opened_at: datetime | None = None
    shipped_at: datetime | None = None
    signed_at: datetime | None = None
    tracking_no: str | None = None
    items: tuple[OrderItemRef, ...] = ()
    prior: PriorEvidence | None = None


_INSTANT_FIELDS = ("submitted_at", "window_closes_at", "opened_at", "shipped_at", "signed_at")
_CONTEXT_FIELDS = {
    "party",
    "role",
    "tracking_no",
    "items",
    "used_sha256",
    "perceptual_hashes",
    *_INSTANT_FIELDS,
}


def context_from_json(data: Mapping[str, Any]) -> DisputeContext:
    """Build a context from JSON (the CLI's ``--context``); errors name the field."""
    unknown = sorted(set(data) - _CONTEXT_FIELDS)
    if unknown:
        raise InvalidContext(f"context: unknown field(s) {', '.join(unknown)}")
    try:
        party = Party(data["party"])
        role = Role(data.get("role", "proof"))
    except KeyError as exc:
        raise InvalidContext(f"context: field {exc.args[0]} is required") from None
    except ValueError as exc:
        raise InvalidContext(f"context: {exc}") from None
    instants: dict[str, datetime | None] = {}
    for name in _INSTANT_FIELDS:
        raw = data.get(name)
        if raw is None:
            instants[name] = None
            continue
        try:
            instants[name] = parse_instant(str(raw))
        except ValueError as exc:
            raise InvalidContext(f"context: field {name}: {exc}") from None
    items = tuple(_item(i, raw) for i, raw in enumerate(_list(data, "items")))
    prior = KnownEvidence(
        sha256s=frozenset(str(h) for h in _list(data, "used_sha256")),
        perceptual_hashes=tuple(str(h) for h in _list(data, "perceptual_hashes")),
    )
    tracking = data.get("tracking_no")
    return DisputeContext(
        party=party,
        role=role,
        tracking_no=None if tracking is None else str(tracking),
        items=items,
        prior=prior,
        **instants,
    )


def _list(data: Mapping[str, Any], name: str) -> Iterable[Any]:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise InvalidContext(f"context: field {name} must be a list")
    return value


def _item(index: int, raw: Any) -> OrderItemRef:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("sku"), str):
        raise InvalidContext(f"context: items/{index} must be an object with a string sku")
    serial = raw.get("serial")
    return OrderItemRef(sku=raw["sku"], serial=None if serial is None else str(serial))
