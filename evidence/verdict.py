"""The outcome of validating one evidence item."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evidence.kinds import EvidenceKind
from evidence.reasons import Finding, Reason

Fact = str | int | float | bool | None
Facts = dict[str, Fact]


@dataclass(frozen=True)
class Verdict:
    """Accepted or rejected, with every reason that applies and the facts found on the way.

    ``skipped`` names the checks that need the dispute and were not applied because no
    context was given (or the context lacked what they need). ``flags`` are signals that do
    not reject (``near_duplicate`` sends the dispute to manual review).
    """

    kind: EvidenceKind
    sha256: str
    size: int
    mime: str
    findings: tuple[Finding, ...]
    facts: Mapping[str, Fact] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.findings

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return tuple(f.reason for f in self.findings)

    def to_json(self, file: str | None = None) -> dict[str, Any]:
        """The ``evidence check --json`` shape (docs/case-files.md), keys in a fixed order."""
        out: dict[str, Any] = {} if file is None else {"file": file}
        out.update(
            accepted=self.accepted,
            kind=self.kind.value,
            mime=self.mime,
            sha256=self.sha256,
            size=self.size,
            reasons=[r.value for r in self.reasons],
            details=[{"reason": f.reason.value, "detail": f.detail} for f in self.findings],
            facts=dict(sorted(self.facts.items())),
            skipped=list(self.skipped),
            flags=list(self.flags),
        )
        return out


def unique_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    """Each reason once (its first detail), in the order the checks found them."""
    seen: set[Reason] = set()
    out: list[Finding] = []
    for finding in findings:
        if finding.reason not in seen:
            seen.add(finding.reason)
            out.append(finding)
    return tuple(out)
