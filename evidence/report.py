"""What a content probe (image, video, PDF, JSON, text) hands back to validation."""

from __future__ import annotations

from dataclasses import dataclass, field

from evidence.reasons import Finding
from evidence.verdict import Facts


@dataclass
class ProbeReport:
    findings: list[Finding] = field(default_factory=list)
    facts: Facts = field(default_factory=dict)
    # PDF only: which of the strings asked for appear in the extractable text
    matched: tuple[str, ...] = ()
