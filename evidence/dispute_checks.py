"""The checks that need the dispute: each applies itself, or says it could not (skipped)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from evidence.context import DisputeContext, Party, Role
from evidence.declared import Declared
from evidence.instants import day_in_zone, resolve_wall_time
from evidence.kinds import EvidenceKind
from evidence.policy import EvidencePolicy
from evidence.reasons import Finding, Reason
from evidence.verdict import Facts

CAPTURED_BEFORE_DELIVERY = "captured_before_delivery"
PRE_SHIPMENT = "pre_shipment"
LATE = "late"
REUSED = "reused"
NEAR_DUPLICATE = "near_duplicate"
SUBJECT = "subject"
CERTIFICATE_AGE = "certificate_age"
TRACKING = "tracking"

CHECKS_BY_KIND: dict[EvidenceKind, tuple[str, ...]] = {
    EvidenceKind.PHOTO: (CAPTURED_BEFORE_DELIVERY, PRE_SHIPMENT, NEAR_DUPLICATE, REUSED, LATE),
    EvidenceKind.VIDEO: (CAPTURED_BEFORE_DELIVERY, PRE_SHIPMENT, REUSED, LATE),
    EvidenceKind.INSPECTION_CERTIFICATE: (SUBJECT, CERTIFICATE_AGE, REUSED, LATE),
    EvidenceKind.LOGISTICS_RECORD: (TRACKING, REUSED, LATE),
    EvidenceKind.CHAT_RECORD: (REUSED, LATE),
}


@dataclass
class Item:
    """One evidence item under the dispute checks; they add findings, facts and flags."""

    kind: EvidenceKind
    sha256: str
    declared: Declared
    facts: Facts
    context: DisputeContext
    policy: EvidencePolicy
    findings: list[Finding] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def capture_time(self) -> datetime | None:
        """From the file (EXIF, container), naive times read in the rulebook zone."""
        raw = self.facts.get("capture_time")
        if not isinstance(raw, str):
            return None
        try:
            return resolve_wall_time(raw, self.policy.zone)
        except ValueError:
            return None


def run_checks(item: Item) -> tuple[str, ...]:
    """Apply the kind's checks; returns the names of those that could not be applied."""
    return tuple(name for name in CHECKS_BY_KIND[item.kind] if not _CHECKS[name](item))


def _captured_before_delivery(item: Item) -> bool:
    ctx = item.context
    if ctx.party is not Party.BUYER or ctx.role is not Role.PROOF:
        return True  # only a buyer's proof must postdate delivery
    if ctx.signed_at is None:
        return False
    capture = item.capture_time()
    if capture is not None and capture < ctx.signed_at - item.policy.capture_tolerance:
        item.findings.append(
            Finding(
                Reason.CAPTURED_BEFORE_DELIVERY,
                f"captured {capture.isoformat()}, more than {item.policy.capture_tolerance} "
                f"before delivery ({ctx.signed_at.isoformat()})",
            )
        )
    return True


def _pre_shipment(item: Item) -> bool:
    shipped_at = item.context.shipped_at
    if shipped_at is None:
        return False
    when = item.capture_time() or item.declared.captured_at
    item.facts["pre_shipment"] = when is not None and when < shipped_at
    return True


def _near_duplicate(item: Item) -> bool:
    prior = item.context.prior
    if prior is None:
        return False
    phash = item.facts.get("perceptual_hash")
    if isinstance(phash, str):
        match = prior.near_duplicate(phash, item.policy.near_duplicate_distance)
        if match is not None:
            item.flags.append(NEAR_DUPLICATE)
            item.facts["near_duplicate_of"] = match
    return True


def _reused(item: Item) -> bool:
    prior = item.context.prior
    if prior is None or not item.sha256:  # no SHA-256: too large, never read
        return False
    if prior.used_elsewhere(item.sha256):
        item.findings.append(
            Finding(Reason.REUSED, "the same bytes are evidence in another dispute")
        )
    return True


def _late(item: Item) -> bool:
    ctx = item.context
    if ctx.submitted_at is None:
        return False
    if ctx.window_closes_at is not None and ctx.submitted_at > ctx.window_closes_at:
        item.findings.append(
            Finding(
                Reason.LATE,
                f"submitted {ctx.submitted_at.isoformat()}, after the window closed at "
                f"{ctx.window_closes_at.isoformat()}",
            )
        )
    return True


def _subject(item: Item) -> bool:
    items = item.context.items
    if not items:
        return False
    subject = item.declared.subject
    subjects = [i.subject for i in items]
    if subject is not None and subject not in subjects:
        item.findings.append(
            Finding(
                Reason.SUBJECT_MISMATCH,
                f"certificate subject {subject!r} names none of the order's items "
                f"({', '.join(subjects)})",
            )
        )
    return True


def _certificate_age(item: Item) -> bool:
    """Issued at most a year before the dispute opened, and not after it was submitted."""
    opened_at, submitted_at = item.context.opened_at, item.context.submitted_at
    issued = item.declared.issued_on
    if issued is not None and submitted_at is not None:
        submitted_on = day_in_zone(submitted_at, item.policy.zone)
        if issued > submitted_on:
            item.findings.append(
                Finding(
                    Reason.INCONSISTENT_METADATA,
                    f"issued {issued.isoformat()}, after it was submitted "
                    f"({submitted_on.isoformat()})",
                )
            )
    if opened_at is None:
        return False
    limit = item.policy.certificate_max_age_days
    if issued is not None:
        age = (day_in_zone(opened_at, item.policy.zone) - issued).days
        if age > limit:
            item.findings.append(
                Finding(
                    Reason.EXPIRED,
                    f"issued {issued.isoformat()}, {age} days before the dispute opened "
                    f"(at most {limit})",
                )
            )
    return True


def _tracking(item: Item) -> bool:
    expected = item.context.tracking_no
    if expected is None:
        return False
    declared = item.declared.tracking_no
    if declared is not None and _normal(declared) != _normal(expected):
        item.findings.append(
            Finding(
                Reason.TRACKING_MISMATCH,
                f"tracking number {declared!r} is not the order's ({expected!r})",
            )
        )
    return True


def _normal(tracking_no: str) -> str:
    return "".join(tracking_no.split()).upper()


_CHECKS: dict[str, Callable[[Item], bool]] = {
    CAPTURED_BEFORE_DELIVERY: _captured_before_delivery,
    PRE_SHIPMENT: _pre_shipment,
    NEAR_DUPLICATE: _near_duplicate,
    REUSED: _reused,
    LATE: _late,
    SUBJECT: _subject,
    CERTIFICATE_AGE: _certificate_age,
    TRACKING: _tracking,
}
