"""The checks that need the dispute (RULES.md section 6), on inspected items without decoders.

An :class:`~evidence.Inspected` is what decoding found (facts such as the file's own capture
time); ``judge`` applies the dispute checks to it in a context. These tests build the
inspected item directly, so they run in milliseconds (``scripts/mutants.py`` runs them once
for each mutant of ``evidence/dispute_checks.py``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from evidence import (
    DEFAULT_POLICY,
    DisputeContext,
    EvidenceKind,
    EvidencePolicy,
    Inspected,
    KnownEvidence,
    OrderItemRef,
    Party,
    Reason,
    Role,
    Verdict,
)
from evidence.declared import Declared
from evidence.verdict import Facts

CST = timezone(timedelta(hours=8))
PHOTO, VIDEO = EvidenceKind.PHOTO, EvidenceKind.VIDEO
CERT, LOGISTICS = EvidenceKind.INSPECTION_CERTIFICATE, EvidenceKind.LOGISTICS_RECORD
CHAT = EvidenceKind.CHAT_RECORD
SHA = "ab" * 32
SIGNED = datetime(2026, 3, 4, 15, 20, tzinfo=CST)
SHIPPED = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
SUBMITTED = datetime(2026, 3, 5, 12, 5, tzinfo=CST)
CLOSES = datetime(2026, 3, 8, 12, 0, tzinfo=CST)
OPENED = datetime(2026, 3, 4, 18, 0, tzinfo=CST)
SERIAL = "356789104512345"
TRACKING = "SF1234567890"


def context(**overrides: object) -> DisputeContext:
    """A buyer's proof in a dispute where every check has what it needs."""
    base: dict[str, object] = {
        "party": Party.BUYER,
        "role": Role.PROOF,
        "submitted_at": SUBMITTED,
        "window_closes_at": CLOSES,
        "opened_at": OPENED,
        "shipped_at": SHIPPED,
        "signed_at": SIGNED,
        "tracking_no": TRACKING,
        "items": (OrderItemRef(sku="IP13-128-BLK", serial=SERIAL),),
        "prior": KnownEvidence(),
    }
    base.update(overrides)
    return DisputeContext(**base)  # type: ignore[arg-type]


MERCHANT_REBUTTAL = {"party": Party.MERCHANT, "role": Role.REBUTTAL}


def judge(
    kind: EvidenceKind,
    ctx: DisputeContext | None,
    *,
    capture: str | None = None,
    facts: Facts | None = None,
    sha256: str = SHA,
    policy: EvidencePolicy = DEFAULT_POLICY,
    **declared: object,
) -> Verdict:
    """An item that decoded cleanly, with the file's own ``capture`` time (EXIF or the video
    container's creation_time) where given, and ``declared`` metadata, judged in ``ctx``."""
    all_facts: Facts = {"capture_time": capture, **(facts or {})}
    meta = Declared(**declared)  # type: ignore[arg-type]
    inspected = Inspected(kind, sha256, 1000, "x/y", meta, (), all_facts, policy)
    return inspected.judge(ctx)


def detail(verdict: Verdict, reason: Reason) -> str:
    return next(f.detail for f in verdict.findings if f.reason is reason)


# --- captured_before_delivery -----------------------------------------------------------------


@pytest.mark.parametrize("kind", [PHOTO, VIDEO])
def test_a_buyer_proof_captured_more_than_24_h_before_delivery_is_rejected(
    kind: EvidenceKind,
) -> None:
    capture = SIGNED - timedelta(hours=24, seconds=1)
    verdict = judge(kind, context(), capture=capture.isoformat())
    assert verdict.reasons == (Reason.CAPTURED_BEFORE_DELIVERY,)
    text = detail(verdict, Reason.CAPTURED_BEFORE_DELIVERY)
    assert capture.isoformat() in text
    assert SIGNED.isoformat() in text


@pytest.mark.parametrize("kind", [PHOTO, VIDEO])
def test_a_buyer_proof_captured_exactly_24_h_before_delivery_is_accepted(
    kind: EvidenceKind,
) -> None:
    capture = SIGNED - timedelta(hours=24)
    assert judge(kind, context(), capture=capture.isoformat()).accepted


@pytest.mark.parametrize("before", [timedelta(hours=23), timedelta(0), timedelta(hours=-5)])
def test_a_buyer_proof_captured_within_24_h_of_delivery_or_after_it_is_accepted(
    before: timedelta,
) -> None:
    assert judge(PHOTO, context(), capture=(SIGNED - before).isoformat()).accepted


def test_a_buyer_proof_video_is_judged_by_its_container_creation_time_in_utc() -> None:
    # FFmpeg reports an MP4's creation_time in UTC; 07:19:59Z is 15:19:59 in Shanghai.
    day_before = "2026-03-03T07:19:59+00:00"
    verdict = judge(VIDEO, context(), capture=day_before)
    assert verdict.reasons == (Reason.CAPTURED_BEFORE_DELIVERY,)
    assert judge(VIDEO, context(), capture="2026-03-03T07:20:00+00:00").accepted


def test_a_rulebook_capture_tolerance_replaces_the_24_h() -> None:
    policy = EvidencePolicy(capture_tolerance=timedelta(hours=2))
    three_hours = (SIGNED - timedelta(hours=3)).isoformat()
    two_hours = (SIGNED - timedelta(hours=2)).isoformat()
    assert judge(PHOTO, context(), capture=three_hours, policy=policy).reasons == (
        Reason.CAPTURED_BEFORE_DELIVERY,
    )
    assert judge(PHOTO, context(), capture=two_hours, policy=policy).accepted


def test_a_naive_capture_time_is_read_in_the_rulebook_zone() -> None:
    naive = "2026-03-03T15:20:00"  # EXIF without OffsetTimeOriginal
    assert judge(PHOTO, context(), capture=naive).accepted  # exactly 24 h in Shanghai
    tokyo = EvidencePolicy(zone="Asia/Tokyo")  # 15:20 in Tokyo is 14:20 in Shanghai
    assert judge(PHOTO, context(), capture=naive, policy=tokyo).reasons == (
        Reason.CAPTURED_BEFORE_DELIVERY,
    )


@pytest.mark.parametrize(
    ("party", "role"),
    [(Party.MERCHANT, Role.PROOF), (Party.MERCHANT, Role.REBUTTAL), (Party.BUYER, Role.REBUTTAL)],
)
def test_only_a_buyer_proof_must_postdate_delivery(party: Party, role: Role) -> None:
    long_before = (SIGNED - timedelta(days=30)).isoformat()
    verdict = judge(PHOTO, context(party=party, role=role), capture=long_before)
    assert verdict.accepted
    assert "captured_before_delivery" not in verdict.skipped  # applied, and nothing to say


def test_a_declared_captured_at_does_not_reject_a_buyer_proof() -> None:
    # Only the file's own capture time (EXIF, container) counts against delivery.
    declared = SIGNED - timedelta(days=3)
    assert judge(PHOTO, context(), captured_at=declared).accepted


@pytest.mark.parametrize("capture", [None, "", "yesterday", "2026-13-45T99:00:00"])
def test_a_buyer_proof_without_a_readable_capture_time_is_not_rejected(
    capture: str | None,
) -> None:
    verdict = judge(PHOTO, context(), capture=capture)
    assert verdict.accepted
    assert verdict.skipped == ()


def test_a_capture_time_that_is_not_text_is_no_capture_time() -> None:
    verdict = judge(PHOTO, context(), facts={"capture_time": 1_700_000_000})
    assert verdict.accepted


def test_without_the_sign_for_time_the_capture_check_is_skipped() -> None:
    long_before = (SIGNED - timedelta(days=30)).isoformat()
    verdict = judge(PHOTO, context(signed_at=None), capture=long_before)
    assert verdict.accepted
    assert verdict.skipped == ("captured_before_delivery",)


def test_a_merchant_item_needs_no_sign_for_time() -> None:
    verdict = judge(PHOTO, context(signed_at=None, **MERCHANT_REBUTTAL))
    assert verdict.skipped == ()


# --- pre_shipment -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [PHOTO, VIDEO])
def test_an_item_captured_before_shipping_is_pre_shipment(kind: EvidenceKind) -> None:
    capture = (SHIPPED - timedelta(seconds=1)).isoformat()
    verdict = judge(kind, context(**MERCHANT_REBUTTAL), capture=capture)
    assert verdict.facts["pre_shipment"] is True
    assert verdict.accepted


@pytest.mark.parametrize("after", [timedelta(0), timedelta(hours=1)])
def test_an_item_captured_at_or_after_shipping_is_not_pre_shipment(after: timedelta) -> None:
    capture = (SHIPPED + after).isoformat()
    verdict = judge(VIDEO, context(**MERCHANT_REBUTTAL), capture=capture)
    assert verdict.facts["pre_shipment"] is False


@pytest.mark.parametrize("kind", [PHOTO, VIDEO])
def test_a_merchant_item_without_any_capture_time_is_not_pre_shipment(kind: EvidenceKind) -> None:
    verdict = judge(kind, context(**MERCHANT_REBUTTAL))
    assert verdict.facts["pre_shipment"] is False
    assert verdict.skipped == ()


def test_a_declared_captured_at_counts_where_the_file_has_no_capture_time() -> None:
    declared = SHIPPED - timedelta(hours=1)
    for capture in (None, "not a time"):
        verdict = judge(VIDEO, context(**MERCHANT_REBUTTAL), capture=capture, captured_at=declared)
        assert verdict.facts["pre_shipment"] is True


def test_the_file_capture_time_wins_over_a_declared_captured_at() -> None:
    before, after = SHIPPED - timedelta(days=1), SHIPPED + timedelta(days=1)
    ctx = context(**MERCHANT_REBUTTAL)
    claimed_earlier = judge(VIDEO, ctx, capture=after.isoformat(), captured_at=before)
    assert claimed_earlier.facts["pre_shipment"] is False
    claimed_later = judge(VIDEO, ctx, capture=before.isoformat(), captured_at=after)
    assert claimed_later.facts["pre_shipment"] is True


def test_without_the_shipping_time_pre_shipment_is_skipped_and_not_stated() -> None:
    capture = (SHIPPED - timedelta(days=1)).isoformat()
    verdict = judge(VIDEO, context(shipped_at=None, **MERCHANT_REBUTTAL), capture=capture)
    assert verdict.skipped == ("pre_shipment",)
    assert "pre_shipment" not in verdict.facts


# --- which checks apply, and which are skipped --------------------------------------------


KIND_CHECKS = {
    PHOTO: ("captured_before_delivery", "pre_shipment", "near_duplicate", "reused", "late"),
    VIDEO: ("captured_before_delivery", "pre_shipment", "reused", "late"),
    CERT: ("subject", "certificate_age", "reused", "late"),
    LOGISTICS: ("tracking", "reused", "late"),
    CHAT: ("reused", "late"),
}


@pytest.mark.parametrize("kind", list(EvidenceKind))
def test_a_context_without_the_dispute_facts_skips_each_check_of_the_kind(
    kind: EvidenceKind,
) -> None:
    bare = DisputeContext(party=Party.BUYER, role=Role.PROOF)
    assert judge(kind, bare).skipped == KIND_CHECKS[kind]
    assert judge(kind, None).skipped == KIND_CHECKS[kind]


@pytest.mark.parametrize("kind", list(EvidenceKind))
def test_a_full_context_applies_every_check_of_the_kind(kind: EvidenceKind) -> None:
    verdict = judge(kind, context(), subject=SERIAL, tracking_no=TRACKING)
    assert verdict.skipped == ()
    assert verdict.accepted


@pytest.mark.parametrize("kind", list(EvidenceKind))
def test_only_photos_and_videos_state_whether_they_are_pre_shipment(kind: EvidenceKind) -> None:
    capture = (SHIPPED - timedelta(days=1)).isoformat()
    facts = judge(kind, context(**MERCHANT_REBUTTAL), capture=capture).facts
    assert facts.get("pre_shipment") is (True if kind in (PHOTO, VIDEO) else None)


# --- reused and near_duplicate ----------------------------------------------------------------


@pytest.mark.parametrize("kind", list(EvidenceKind))
def test_the_same_bytes_used_in_another_dispute_are_rejected(kind: EvidenceKind) -> None:
    prior = KnownEvidence(sha256s=frozenset({SHA}))
    verdict = judge(kind, context(prior=prior), subject=SERIAL, tracking_no=TRACKING)
    assert verdict.reasons == (Reason.REUSED,)
    assert "another dispute" in detail(verdict, Reason.REUSED)
    other = KnownEvidence(sha256s=frozenset({"cd" * 32}))
    assert judge(kind, context(prior=other), subject=SERIAL, tracking_no=TRACKING).accepted


def test_an_item_too_large_to_hash_skips_the_reuse_check() -> None:
    prior = KnownEvidence(sha256s=frozenset({""}))
    verdict = judge(VIDEO, context(prior=prior), sha256="")
    assert verdict.skipped == ("reused",)
    assert verdict.accepted


NEAR = "000000000000003f"  # 6 bits from the photo's hash below
FAR = "000000000000007f"  # 7 bits


def test_a_photo_near_one_in_another_dispute_is_flagged_not_rejected() -> None:
    prior = KnownEvidence(perceptual_hashes=(FAR, NEAR))
    verdict = judge(PHOTO, context(prior=prior), facts={"perceptual_hash": "0" * 16})
    assert verdict.accepted
    assert verdict.flags == ("near_duplicate",)
    assert verdict.facts["near_duplicate_of"] == NEAR


def test_a_photo_beyond_the_near_duplicate_distance_is_not_flagged() -> None:
    prior = KnownEvidence(perceptual_hashes=(FAR,))
    verdict = judge(PHOTO, context(prior=prior), facts={"perceptual_hash": "0" * 16})
    assert verdict.flags == ()
    assert "near_duplicate_of" not in verdict.facts
    wider = EvidencePolicy(near_duplicate_distance=7)
    flagged = judge(PHOTO, context(prior=prior), facts={"perceptual_hash": "0" * 16}, policy=wider)
    assert flagged.flags == ("near_duplicate",)
    assert flagged.facts["near_duplicate_of"] == FAR


def test_a_photo_without_a_perceptual_hash_is_not_flagged() -> None:
    prior = KnownEvidence(perceptual_hashes=(NEAR,))
    verdict = judge(PHOTO, context(prior=prior))
    assert verdict.flags == ()
    assert verdict.skipped == ()


# --- late -------------------------------------------------------------------------------------


def test_evidence_submitted_at_the_end_of_its_window_is_not_late() -> None:
    assert judge(PHOTO, context(submitted_at=CLOSES)).accepted


def test_evidence_submitted_after_its_window_is_late() -> None:
    submitted = CLOSES + timedelta(seconds=1)
    verdict = judge(CHAT, context(submitted_at=submitted))
    assert verdict.reasons == (Reason.LATE,)
    text = detail(verdict, Reason.LATE)
    assert submitted.isoformat() in text
    assert CLOSES.isoformat() in text


def test_evidence_without_a_window_is_never_late() -> None:
    verdict = judge(CHAT, context(submitted_at=CLOSES + timedelta(days=30), window_closes_at=None))
    assert verdict.accepted
    assert verdict.skipped == ()


def test_without_the_submission_time_the_late_check_is_skipped() -> None:
    verdict = judge(CHAT, context(submitted_at=None))
    assert verdict.skipped == ("late",)


# --- inspection certificates ----------------------------------------------------------------


TWO_ITEMS = (OrderItemRef(sku="IP13-128-BLK", serial=SERIAL), OrderItemRef(sku="CASE-01"))


@pytest.mark.parametrize("subject", [SERIAL, "CASE-01"])
def test_a_certificate_naming_an_order_item_is_accepted(subject: str) -> None:
    assert judge(CERT, context(items=TWO_ITEMS), subject=subject).accepted


def test_a_certificate_naming_none_of_the_order_items_is_a_subject_mismatch() -> None:
    # an item with a serial is named by its serial, not its SKU
    verdict = judge(CERT, context(items=TWO_ITEMS), subject="IP13-128-BLK")
    assert verdict.reasons == (Reason.SUBJECT_MISMATCH,)
    text = detail(verdict, Reason.SUBJECT_MISMATCH)
    assert "'IP13-128-BLK'" in text
    assert f"({SERIAL}, CASE-01)" in text


def test_a_certificate_without_a_declared_subject_is_no_subject_mismatch() -> None:
    # (a missing subject is missing_metadata, found where the declared fields are read)
    verdict = judge(CERT, context())
    assert verdict.accepted
    assert verdict.skipped == ()


def test_without_the_order_items_the_subject_check_is_skipped() -> None:
    verdict = judge(CERT, context(items=()), subject="anything")
    assert verdict.accepted
    assert verdict.skipped == ("subject",)


def test_a_certificate_issued_365_days_before_the_dispute_opened_is_in_time() -> None:
    assert judge(CERT, context(), subject=SERIAL, issued_on=date(2025, 3, 4)).accepted


def test_a_certificate_issued_366_days_before_the_dispute_opened_is_expired() -> None:
    verdict = judge(CERT, context(), subject=SERIAL, issued_on=date(2025, 3, 3))
    assert verdict.reasons == (Reason.EXPIRED,)
    text = detail(verdict, Reason.EXPIRED)
    assert "2025-03-03" in text
    assert "366 days" in text
    assert "at most 365" in text


def test_a_rulebook_certificate_age_replaces_the_365_days() -> None:
    policy = EvidencePolicy(certificate_max_age_days=30)
    ctx = context()
    assert judge(CERT, ctx, subject=SERIAL, issued_on=date(2026, 2, 2), policy=policy).accepted
    old = judge(CERT, ctx, subject=SERIAL, issued_on=date(2026, 2, 1), policy=policy)
    assert old.reasons == (Reason.EXPIRED,)


def test_certificate_days_are_counted_in_the_rulebook_zone() -> None:
    # 17:00 UTC on 1 March is 01:00 on 2 March in Shanghai: 366 days after 1 March 2025
    opened = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
    ctx = context(opened_at=opened, submitted_at=opened)
    verdict = judge(CERT, ctx, subject=SERIAL, issued_on=date(2025, 3, 1))
    assert verdict.reasons == (Reason.EXPIRED,)
    utc = EvidencePolicy(zone="UTC")
    assert judge(CERT, ctx, subject=SERIAL, issued_on=date(2025, 3, 1), policy=utc).accepted


def test_a_certificate_issued_on_the_day_it_was_submitted_is_consistent() -> None:
    assert judge(CERT, context(), subject=SERIAL, issued_on=date(2026, 3, 5)).accepted


def test_a_certificate_issued_after_it_was_submitted_is_inconsistent() -> None:
    # 23:30 UTC on 4 March is 5 March in Shanghai, so a certificate of 5 March is in time
    ctx = context(submitted_at=datetime(2026, 3, 4, 23, 30, tzinfo=UTC))
    assert judge(CERT, ctx, subject=SERIAL, issued_on=date(2026, 3, 5)).accepted
    verdict = judge(CERT, ctx, subject=SERIAL, issued_on=date(2026, 3, 6))
    assert verdict.reasons == (Reason.INCONSISTENT_METADATA,)
    text = detail(verdict, Reason.INCONSISTENT_METADATA)
    assert "2026-03-06" in text
    assert "(2026-03-05)" in text


def test_a_certificate_issued_after_submission_is_inconsistent_without_the_opening_time() -> None:
    verdict = judge(CERT, context(opened_at=None), subject=SERIAL, issued_on=date(2026, 3, 6))
    assert verdict.reasons == (Reason.INCONSISTENT_METADATA,)
    assert verdict.skipped == ("certificate_age",)


def test_a_certificate_age_needs_no_submission_time() -> None:
    ctx = context(submitted_at=None)
    assert judge(CERT, ctx, subject=SERIAL, issued_on=date(2026, 3, 6)).skipped == ("late",)
    expired = judge(CERT, ctx, subject=SERIAL, issued_on=date(2025, 3, 3))
    assert expired.reasons == (Reason.EXPIRED,)


def test_a_certificate_without_an_issue_date_is_not_aged() -> None:
    # (a missing issued_at is missing_metadata, found where the declared fields are read)
    verdict = judge(CERT, context(), subject=SERIAL)
    assert verdict.accepted
    assert verdict.skipped == ()


# --- logistics records ------------------------------------------------------------------------


@pytest.mark.parametrize("declared", [TRACKING, "sf 1234 5678 90", "\tSf1234567890\n"])
def test_a_tracking_number_matches_whatever_its_spaces_and_case(declared: str) -> None:
    assert judge(LOGISTICS, context(), tracking_no=declared).accepted


@pytest.mark.parametrize("declared", ["SF1234567891", "SF12345678", "YT1234567890"])
def test_another_tracking_number_is_a_mismatch(declared: str) -> None:
    verdict = judge(LOGISTICS, context(), tracking_no=declared)
    assert verdict.reasons == (Reason.TRACKING_MISMATCH,)
    text = detail(verdict, Reason.TRACKING_MISMATCH)
    assert repr(declared) in text
    assert repr(TRACKING) in text


def test_a_record_without_a_declared_tracking_number_is_no_mismatch() -> None:
    # (a missing tracking_no is missing_metadata, found where the declared fields are read)
    verdict = judge(LOGISTICS, context())
    assert verdict.accepted
    assert verdict.skipped == ()


def test_without_the_order_tracking_number_the_tracking_check_is_skipped() -> None:
    verdict = judge(LOGISTICS, context(tracking_no=None), tracking_no="anything")
    assert verdict.accepted
    assert verdict.skipped == ("tracking",)


# --- every reason at once ---------------------------------------------------------------------


def test_a_verdict_carries_every_dispute_reason_that_applies() -> None:
    ctx = context(
        submitted_at=CLOSES + timedelta(hours=1),
        prior=KnownEvidence(sha256s=frozenset({SHA})),
    )
    capture = (SIGNED - timedelta(days=2)).isoformat()
    verdict = judge(PHOTO, ctx, capture=capture)
    assert verdict.reasons == (Reason.CAPTURED_BEFORE_DELIVERY, Reason.REUSED, Reason.LATE)
