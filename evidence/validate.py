"""Validate one evidence item: sniff -> size and type -> content -> declared metadata -> dispute.

Content checks stop at the first gate a file fails (a file of the wrong type is never handed
to a decoder); the metadata and dispute checks always run, so a verdict carries every reason
that applies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence.context import DisputeContext
from evidence.declared import Declared, read_declared
from evidence.dispute_checks import CHECKS_BY_KIND, Item, run_checks
from evidence.errors import UnreadableEvidence
from evidence.image import decoded_in_process, inspect_image, probe_image
from evidence.kinds import (
    ALLOWED_TYPES,
    CLARITY_REQUIRED,
    IMAGE_TYPES,
    PDF_TYPES,
    VIDEO_TYPES,
    EvidenceKind,
)
from evidence.pdf import probe_pdf
from evidence.policy import DEFAULT_POLICY, EvidencePolicy
from evidence.polyglot import second_format
from evidence.reasons import Finding, Reason
from evidence.report import ProbeReport
from evidence.sandbox import DecoderSandbox, SandboxFailure, shared_sandbox
from evidence.sniff import Sniffed, identity_of, sniff
from evidence.verdict import Fact, Facts, Verdict, unique_findings
from evidence.video import probe_video


def validate(
    path: str | Path,
    kind: EvidenceKind | str,
    *,
    declared: Mapping[str, Any] | None = None,
    context: DisputeContext | None = None,
    policy: EvidencePolicy = DEFAULT_POLICY,
    sandbox: DecoderSandbox | None = None,
) -> Verdict:
    """Validate the file at ``path`` as evidence of ``kind``: :func:`inspect`, then
    :meth:`Inspected.judge` in ``context``.

    Never raises for what the file contains; raises :class:`~evidence.errors.UnreadableEvidence`
    when it cannot be read, is not a regular file, or changes while it is read (the verdict's
    SHA-256 must be that of the bytes judged), and ``ValueError`` for an unknown kind. A
    service validates its own staged copy of the bytes, which nobody else writes.
    """
    inspected = inspect(path, kind, declared=declared, policy=policy, sandbox=sandbox)
    return inspected.judge(context)


@dataclass(frozen=True)
class Inspected:
    """What a file's bytes and its declared metadata say, before the dispute checks.

    This is the slow part of validation (decoding), so a service does it before its write
    transaction begins, and judges the result in the dispute's context inside it."""

    kind: EvidenceKind
    sha256: str  # "" when the file was over the size limit and not read
    size: int
    mime: str
    meta: Declared
    findings: tuple[Finding, ...]
    facts: Mapping[str, Fact]
    policy: EvidencePolicy

    def judge(self, context: DisputeContext | None) -> Verdict:
        """The verdict in ``context`` (the dispute checks), or without one (they are then
        listed as skipped)."""
        findings = list(self.findings)
        facts: Facts = dict(self.facts)
        skipped = CHECKS_BY_KIND[self.kind]
        flags: tuple[str, ...] = ()
        if context is not None:  # the checks add to findings and facts in place
            item = Item(self.kind, self.sha256, self.meta, facts, context, self.policy, findings)
            skipped = run_checks(item)
            flags = tuple(item.flags)
        return Verdict(
            kind=self.kind,
            sha256=self.sha256,
            size=self.size,
            mime=self.mime,
            findings=unique_findings(findings),
            facts=facts,
            skipped=skipped,
            flags=flags,
        )


def inspect(
    path: str | Path,
    kind: EvidenceKind | str,
    *,
    declared: Mapping[str, Any] | None = None,
    policy: EvidencePolicy = DEFAULT_POLICY,
    sandbox: DecoderSandbox | None = None,
) -> Inspected:
    """Everything :func:`validate` checks that does not need the dispute (same errors)."""
    kind = EvidenceKind(kind)
    path = Path(path)
    sniffed = sniff(path, policy.size_limit(kind))
    meta, meta_findings, meta_facts = read_declared(kind, declared or {}, policy)
    box = sandbox or shared_sandbox(policy.decoder_seconds, policy.decoder_memory_bytes)
    try:
        content = _inspect_content(path, kind, sniffed, meta=meta, policy=policy, sandbox=box)
        unchanged = identity_of(path) == sniffed.identity
    except OSError as exc:
        raise UnreadableEvidence(f"{path}: cannot read evidence file: {exc}") from exc
    if not unchanged:
        raise UnreadableEvidence(f"{path}: the file changed while it was being validated")
    findings = content.findings + meta_findings
    facts: Facts = {**content.facts, **meta_facts}
    if (
        kind is EvidenceKind.INSPECTION_CERTIFICATE
        and meta.report_no
        and facts.get("text_chars")
        and meta.report_no not in content.matched
    ):
        findings.append(
            Finding(
                Reason.INCONSISTENT_METADATA,
                f"declared report_no {meta.report_no!r} does not appear in the PDF's text",
            )
        )
    return Inspected(
        kind, sniffed.sha256, sniffed.size, sniffed.mime, meta, tuple(findings), facts, policy
    )


def too_large(
    kind: EvidenceKind,
    size: int,
    mime: str,
    declared: Mapping[str, Any] | None = None,
    policy: EvidencePolicy = DEFAULT_POLICY,
) -> Inspected:
    """A file refused by its size alone (from ``fstat``), none of it read but its head."""
    meta, meta_findings, meta_facts = read_declared(kind, declared or {}, policy)
    limit = policy.size_limit(kind)
    first = Finding(Reason.TOO_LARGE, f"{size} bytes; a {kind} may have {limit}")
    return Inspected(kind, "", size, mime, meta, (first, *meta_findings), meta_facts, policy)


def _inspect_content(
    path: Path,
    kind: EvidenceKind,
    sniffed: Sniffed,
    *,
    meta: Declared,
    policy: EvidencePolicy,
    sandbox: DecoderSandbox,
) -> ProbeReport:
    limit = policy.size_limit(kind)
    if sniffed.size > limit:  # sniff read only the head
        return _rejected(Reason.TOO_LARGE, f"{sniffed.size} bytes; a {kind} may have {limit}")
    allowed = ALLOWED_TYPES[kind]
    if sniffed.mime not in allowed:
        return _rejected(
            Reason.TYPE_NOT_ALLOWED,
            f"the content is {sniffed.mime}; a {kind} must be one of {', '.join(sorted(allowed))}",
        )
    other = second_format(sniffed)
    if other:
        return _rejected(
            Reason.TYPE_NOT_ALLOWED, f"polyglot: the {sniffed.mime} file is also {other}"
        )
    # Every decoder runs in the sandbox, with the rulebook's CPU budget: no file, whatever it
    # holds, costs more decoding than that (a small JPEG's structure bounds it already).
    cpu = policy.decoder_cpu_seconds
    if sniffed.mime in IMAGE_TYPES:
        clear = kind in CLARITY_REQUIRED
        if decoded_in_process(sniffed.mime, sniffed.head, policy):  # bounded by its structure
            return inspect_image(path, sniffed.mime, sniffed.tail, policy, require_clear=clear)
        image = (str(path), sniffed.mime, sniffed.tail, policy, clear)
        return _sandboxed(sandbox, cpu, "image", probe_image, *image)
    if sniffed.mime in VIDEO_TYPES:
        return _sandboxed(sandbox, cpu, "video", probe_video, str(path), sniffed.mime, policy)
    if sniffed.mime in PDF_TYPES:
        needles = (meta.report_no,) if meta.report_no else ()
        pdf = (str(path), needles, policy.pdf_text_pages)
        return _sandboxed(sandbox, cpu, "PDF", probe_pdf, *pdf)
    if kind is EvidenceKind.LOGISTICS_RECORD:
        return _inspect_json(path)
    return _inspect_text(path)


def _rejected(reason: Reason, detail: str) -> ProbeReport:
    return ProbeReport(findings=[Finding(reason, detail)])


def _sandboxed(
    sandbox: DecoderSandbox, cpu_seconds: float, what: str, fn: Any, *args: Any
) -> ProbeReport:
    result = sandbox.call(fn, *args, cpu_seconds=cpu_seconds)
    if isinstance(result, SandboxFailure):
        verb = {"timeout": "timed out", "crash": "crashed", "error": "failed"}[result.cause]
        return _rejected(Reason.UNDECODABLE, f"the {what} decoder {verb}: {result.detail}")
    try:
        return ProbeReport.from_plain(result)
    except ValueError as exc:
        return _rejected(Reason.UNDECODABLE, f"the {what} decoder answered nonsense: {exc}")


def _inspect_json(path: Path) -> ProbeReport:
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        return _rejected(Reason.UNDECODABLE, f"not valid JSON: {exc}"[:300])
    return ProbeReport(facts={"json_type": type(document).__name__})


def _inspect_text(path: Path) -> ProbeReport:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return ProbeReport(facts={"encoding": encoding, "chars": len(text)})
    return _rejected(Reason.UNDECODABLE, "text is neither UTF-8 nor GB18030")
