"""Metadata the submitter declares beside the file (docs/case-files.md), read and checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from evidence.instants import parse_day_or_instant, parse_instant
from evidence.kinds import EvidenceKind
from evidence.policy import EvidencePolicy
from evidence.reasons import Finding, Reason
from evidence.verdict import Facts

REQUIRED: dict[EvidenceKind, tuple[str, ...]] = {
    EvidenceKind.INSPECTION_CERTIFICATE: (
        "issuer",
        "accreditation",
        "report_no",
        "issued_at",
        "subject",
        "result",
    ),
    EvidenceKind.LOGISTICS_RECORD: ("carrier", "tracking_no", "status", "at"),
}
RESULTS = ("pass", "fail")
LOGISTICS_STATUSES = ("shipped", "in_transit", "delivered", "lost")
_CNAS = re.compile(r"^CNAS L\d{4,5}$")
_CMA = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Declared:
    captured_at: datetime | None = None
    shows_serial: str | None = None
    issuer: str | None = None
    accreditation: str | None = None
    report_no: str | None = None
    issued_on: date | None = None
    subject: str | None = None
    result: str | None = None
    carrier: str | None = None
    tracking_no: str | None = None
    status: str | None = None
    at: datetime | None = None


def is_accredited(accreditation: str, policy: EvidencePolicy) -> bool:
    """A recognised CMA/CNAS number (or, where the rulebook has one, one in its registry)."""
    number = accreditation.strip()
    if policy.accreditation_registry is not None:
        return number in policy.accreditation_registry
    return bool(_CNAS.match(number) or _CMA.match(number))


def read_declared(
    kind: EvidenceKind, meta: Mapping[str, Any], policy: EvidencePolicy
) -> tuple[Declared, list[Finding], Facts]:
    problems: list[str] = []
    missing = [name for name in REQUIRED.get(kind, ()) if _text(meta.get(name)) is None]
    if missing:
        problems.append(f"missing declared field(s): {', '.join(missing)}")

    def instant(name: str) -> datetime | None:
        raw = _text(meta.get(name))
        if raw is None:
            return None
        try:
            return parse_instant(raw)
        except ValueError:
            problems.append(f"declared {name} {raw!r} is not an RFC 3339 time with an offset")
            return None

    def choice(name: str, allowed: tuple[str, ...]) -> str | None:
        raw = _text(meta.get(name))
        if raw is not None and raw not in allowed:
            problems.append(f"declared {name} {raw!r} is not one of {', '.join(allowed)}")
            return None
        return raw

    issued_on: date | None = None
    issued_raw = _text(meta.get("issued_at"))
    if issued_raw is not None:
        try:
            issued_on = parse_day_or_instant(issued_raw, policy.zone)
        except ValueError:
            problems.append(f"declared issued_at {issued_raw!r} is not a date or an RFC 3339 time")

    declared = Declared(
        captured_at=instant("captured_at"),
        shows_serial=_text(meta.get("shows_serial")),
        issuer=_text(meta.get("issuer")),
        accreditation=_text(meta.get("accreditation")),
        report_no=_text(meta.get("report_no")),
        issued_on=issued_on,
        subject=_text(meta.get("subject")),
        result=choice("result", RESULTS),
        carrier=_text(meta.get("carrier")),
        tracking_no=_text(meta.get("tracking_no")),
        status=choice("status", LOGISTICS_STATUSES),
        at=instant("at"),
    )
    facts: Facts = {}
    if kind is EvidenceKind.INSPECTION_CERTIFICATE:
        facts["authoritative"] = declared.accreditation is not None and is_accredited(
            declared.accreditation, policy
        )
        facts["result"] = declared.result
    findings = [Finding(Reason.MISSING_METADATA, "; ".join(problems))] if problems else []
    return declared, findings, facts


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
