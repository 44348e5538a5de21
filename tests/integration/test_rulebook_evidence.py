"""The numbers of RULES.md section 6 that a rulebook states are those evidence is held to: in
its policy, and in the service, for disputes opened under it (tests/e2e has the commands)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

from adjudicator.rulebook import load_rulebook
from adjudicator.service import Adjudicator
from adjudicator.workflow import Submission
from evidence import (
    DisputeContext,
    EvidenceKind,
    KnownEvidence,
    OrderItemRef,
    Party,
    Reason,
    Role,
    validate,
)
from tests.integration.test_service import CLAIM, escalated, hours, order
from tests.photos import large_photo, photo_captured, sharp_photo

GENERAL = resources.files("adjudicator") / "rulebooks" / "kuaishou.general.toml"
CST = timezone(timedelta(hours=8))
SIGNED = datetime(2026, 3, 4, 15, 20, tzinfo=CST)
OPENED = datetime(2026, 3, 4, 18, 0, tzinfo=CST)
PHOTO, CERT = EvidenceKind.PHOTO, EvidenceKind.INSPECTION_CERTIFICATE


def rulebook_file(tmp_path: Path, name: str = "variant", **numbers: object) -> Path:
    """The general rulebook with other numbers in its evidence rule, under its own id."""
    text = GENERAL.read_text("utf-8").replace('id = "kuaishou.general"', f'id = "{name}"')
    for field, value in numbers.items():
        line = next(line for line in text.splitlines() if line.startswith(f"{field} = "))
        text = text.replace(line, f"{field} = {value}", 1)
    path = tmp_path / f"{name}.toml"
    path.write_text(text, "utf-8")
    return path


def context(party: Party = Party.BUYER, role: Role = Role.PROOF) -> DisputeContext:
    return DisputeContext(
        party=party,
        role=role,
        submitted_at=OPENED + timedelta(hours=18),
        window_closes_at=OPENED + timedelta(days=3),
        opened_at=OPENED,
        shipped_at=datetime(2026, 3, 2, 9, 0, tzinfo=CST),
        signed_at=SIGNED,
        items=(OrderItemRef(sku="IP13-128-BLK", serial="356789104512345"),),
        prior=KnownEvidence(),
    )


def test_a_smaller_size_limit_rejects_a_photo_the_built_in_rulebook_accepts(
    tmp_path: Path,
) -> None:
    photo = large_photo(tmp_path / "large.jpg")
    built_in = load_rulebook("kuaishou.general").evidence_policy()
    assert validate(photo, PHOTO, policy=built_in).accepted
    smaller = load_rulebook(rulebook_file(tmp_path, photo_max_mib=1)).evidence_policy()
    verdict = validate(photo, PHOTO, policy=smaller)
    assert verdict.reasons == (Reason.TOO_LARGE,)
    assert "1048576" in verdict.findings[0].detail


def test_a_larger_capture_tolerance_accepts_an_older_photo(tmp_path: Path) -> None:
    photo = photo_captured(tmp_path / "old.jpg", SIGNED - timedelta(hours=36))
    built_in = load_rulebook("kuaishou.general").evidence_policy()
    verdict = validate(photo, PHOTO, context=context(), policy=built_in)
    assert verdict.reasons == (Reason.CAPTURED_BEFORE_DELIVERY,)
    larger = load_rulebook(rulebook_file(tmp_path, capture_tolerance_hours=48)).evidence_policy()
    assert validate(photo, PHOTO, context=context(), policy=larger).accepted


def test_a_shorter_certificate_age_rejects_an_older_certificate(tmp_path: Path) -> None:
    certificate = sharp_photo(tmp_path / "certificate.jpg", 4)  # a certificate may be a photo
    meta = {
        "issuer": "Shenzhen Quality Inspection Co.",
        "accreditation": "CNAS L1234",
        "report_no": "SZQI-2026-0001",
        "issued_at": "2026-01-03",  # 60 days before the dispute opened
        "subject": "356789104512345",
        "result": "pass",
    }
    merchant = context(Party.MERCHANT, Role.PROOF)
    built_in = load_rulebook("kuaishou.general").evidence_policy()
    assert validate(certificate, CERT, declared=meta, context=merchant, policy=built_in).accepted
    shorter = load_rulebook(rulebook_file(tmp_path, certificate_max_age_days=30))
    verdict = validate(
        certificate, CERT, declared=meta, context=merchant, policy=shorter.evidence_policy()
    )
    assert verdict.reasons == (Reason.EXPIRED,)
    assert "(at most 30)" in verdict.findings[0].detail


def test_the_service_judges_a_dispute_s_evidence_by_its_rulebook(
    service: Adjudicator, tmp_path: Path
) -> None:
    strict = rulebook_file(tmp_path, "strict", photo_max_mib=1)
    photo = large_photo(tmp_path / "large.jpg")
    escalated(service, "D-1")  # under the built-in rulebook
    service.open("D-2", order(), CLAIM, at=hours(0), rulebook=strict)
    service.reject("D-2", at=hours(1), reason="人为损坏")
    service.escalate("D-2", at=hours(2))
    for case_id in ("D-1", "D-2"):
        service.submit_evidence(case_id, Party.BUYER, [Submission(PHOTO, photo)], at=hours(3))
    (built_in,) = service.get("D-1").evidence
    (judged,) = service.get("D-2").evidence
    assert (built_in.accepted, built_in.reasons) == (True, ())
    assert (judged.accepted, judged.reasons) == (False, ("too_large",))
