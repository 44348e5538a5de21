"""What a content probe (image, video, PDF, JSON, text) hands back to validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evidence.reasons import Finding, Reason
from evidence.verdict import Facts

_FACT_TYPES = (str, int, float, bool, type(None))


@dataclass
class ProbeReport:
    findings: list[Finding] = field(default_factory=list)
    facts: Facts = field(default_factory=dict)
    # PDF only: which of the strings asked for appear in the extractable text
    matched: tuple[str, ...] = ()

    def to_plain(self) -> dict[str, Any]:
        """JSON-shaped, to cross from the decoder worker to the caller."""
        return {
            "findings": [[f.reason.value, f.detail] for f in self.findings],
            "facts": dict(self.facts),
            "matched": list(self.matched),
        }

    @classmethod
    def from_plain(cls, data: Any) -> ProbeReport:
        """Rebuild a report from the worker's answer, checking every part of its shape."""
        if not isinstance(data, dict) or set(data) != {"findings", "facts", "matched"}:
            raise ValueError("not a probe report")
        findings = data["findings"]
        facts = data["facts"]
        matched = data["matched"]
        if not (isinstance(findings, list) and isinstance(facts, dict)):
            raise ValueError("not a probe report")
        if not isinstance(matched, list) or not all(isinstance(m, str) for m in matched):
            raise ValueError("not a probe report")
        report = cls(matched=tuple(matched))
        for item in findings:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], str)):
                raise ValueError("not a finding")
            report.findings.append(Finding(Reason(item[0]), item[1]))
        for key, value in facts.items():
            if not isinstance(value, _FACT_TYPES):
                raise ValueError(f"fact {key} is not a plain value")
            report.facts[key] = value
        return report
