"""Each rejection reason, produced by a real file from the corpus or one derived from it."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from evidence import (
    DecoderSandbox,
    DisputeContext,
    EvidenceKind,
    EvidencePolicy,
    KnownEvidence,
    OrderItemRef,
    Party,
    Reason,
    Role,
    UnreadableEvidence,
    validate,
)
from tests import derive

CST = timezone(timedelta(hours=8))
PHOTO = EvidenceKind.PHOTO
VIDEO = EvidenceKind.VIDEO
CERT = EvidenceKind.INSPECTION_CERTIFICATE
LOGISTICS = EvidenceKind.LOGISTICS_RECORD


@pytest.fixture
def real_photo(corpus: Path) -> Path:
    return corpus / "photos" / "real" / "gps_DSCN0010.jpg"


def _reasons(path: Path, kind: EvidenceKind, **kwargs: object) -> tuple[Reason, ...]:
    return validate(path, kind, **kwargs).reasons  # type: ignore[arg-type]


# --- type -------------------------------------------------------------------------------


def test_a_pdf_named_jpg_is_not_a_photo(corpus: Path, tmp_path: Path) -> None:
    liar = tmp_path / "IMG_0001.jpg"
    shutil.copy(corpus / "pdfs" / "minimal-document.pdf", liar)
    verdict = validate(liar, PHOTO)
    assert verdict.reasons == (Reason.TYPE_NOT_ALLOWED,)
    assert verdict.mime == "application/pdf"


@pytest.mark.parametrize(
    "name",
    [
        "pillow_crash-0c7e0e8e11ce787078f00b5b0ca409a167f070e0.tif",
        "pillow_oom-225817ca0f8c663be7ab4b9e717b02c661e66834.tif",
        "pillow_decompression_bomb.gif",
        "pillow_decompression_bomb.ico",
    ],
)
def test_fuzzed_and_bomb_files_of_other_formats_are_never_decoded(corpus: Path, name: str) -> None:
    assert _reasons(corpus / "photos" / "broken" / name, PHOTO) == (Reason.TYPE_NOT_ALLOWED,)


def test_a_jpeg_with_a_zip_behind_it_is_a_polyglot(real_photo: Path, tmp_path: Path) -> None:
    verdict = validate(derive.with_zip_appended(real_photo, tmp_path / "p.jpg"), PHOTO)
    assert verdict.reasons == (Reason.TYPE_NOT_ALLOWED,)
    assert "ZIP" in verdict.findings[0].detail


def test_a_jpeg_that_starts_a_pdf_is_a_polyglot(real_photo: Path, tmp_path: Path) -> None:
    verdict = validate(derive.with_pdf_comment(real_photo, tmp_path / "p.jpg"), PHOTO)
    assert verdict.mime == "image/jpeg"
    assert verdict.reasons == (Reason.TYPE_NOT_ALLOWED,)
    assert "PDF" in verdict.findings[0].detail


def test_too_large(real_photo: Path, tmp_path: Path) -> None:
    big = derive.padded(real_photo, tmp_path / "big.jpg", 20 * 1024 * 1024 + 1)
    assert _reasons(big, PHOTO) == (Reason.TOO_LARGE,)
    # exactly at the limit is allowed
    ok = derive.padded(real_photo, tmp_path / "ok.jpg", 20 * 1024 * 1024)
    assert validate(ok, PHOTO).accepted


# --- content ----------------------------------------------------------------------------


def test_undecodable(corpus: Path) -> None:
    assert _reasons(corpus / "misc" / "small-webp.webp", PHOTO) == (Reason.UNDECODABLE,)
    broken = corpus / "photos" / "broken" / "pillow_broken_data_stream.png"
    assert _reasons(broken, EvidenceKind.CHAT_RECORD) == (Reason.UNDECODABLE,)
    assert _reasons(corpus / "videos" / "chunk_out_of_range.mp4", VIDEO) == (Reason.UNDECODABLE,)
    assert _reasons(corpus / "misc" / "small-pdf.pdf", EvidenceKind.CHAT_RECORD) == (
        Reason.UNDECODABLE,
    )


def test_an_init_segment_with_no_frames_is_undecodable(corpus: Path) -> None:
    verdict = validate(corpus / "videos" / "bipbop_nonfragment_header.mp4", VIDEO)
    assert Reason.UNDECODABLE in verdict.reasons
    assert verdict.facts["frames_decoded"] == 0


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.9999])
def test_a_real_jpeg_cut_short_is_truncated(real_photo: Path, tmp_path: Path, keep: float) -> None:
    cut = derive.truncated(real_photo, tmp_path / "cut.jpg", keep)
    assert _reasons(cut, PHOTO) == (Reason.TRUNCATED,)


def test_truncated_corpus_files(corpus: Path) -> None:
    assert _reasons(corpus / "photos" / "broken" / "pillow_truncated_jpeg.jpg", PHOTO) == (
        Reason.TRUNCATED,
    )
    assert _reasons(corpus / "photos" / "broken" / "pillow_truncated_image.png", PHOTO) == (
        Reason.TRUNCATED,
    )
    # a 1x1 PNG that decodes but stops before IEND
    assert _reasons(corpus / "misc" / "small-png-truncated.png", EvidenceKind.CHAT_RECORD) == (
        Reason.TRUNCATED,
    )


@pytest.mark.parametrize(("width", "height"), [(8000, 6000), (50_000, 50_000)])
def test_decompression_bomb_is_rejected_without_decoding(
    corpus: Path, tmp_path: Path, width: int, height: int
) -> None:
    bomb = derive.png_with_size(
        corpus / "misc" / "small-png-transparent.png", tmp_path / "bomb.png", width, height
    )
    verdict = validate(bomb, PHOTO)
    assert verdict.reasons == (Reason.DECOMPRESSION_BOMB,)
    assert "sharpness" not in verdict.facts  # no pixel was decoded


def test_animated(real_photo: Path, tmp_path: Path) -> None:
    verdict = validate(derive.animated_png(real_photo, tmp_path / "a.png"), PHOTO)
    assert verdict.reasons == (Reason.ANIMATED,)
    assert verdict.facts["frames"] == 2


def test_too_small_after_orientation(corpus: Path) -> None:
    for photo in sorted((corpus / "photos" / "below_480").glob("orientation_*.jpg")):
        verdict = validate(photo, PHOTO)
        assert verdict.reasons == (Reason.TOO_SMALL,), photo.name
        orientation = verdict.facts["orientation"]
        width, height = verdict.facts["width"], verdict.facts["height"]
        portrait = "portrait" in photo.name
        assert isinstance(height, int)
        assert isinstance(width, int)
        assert (height > width) == portrait
        assert isinstance(orientation, int)
    rotated = validate(corpus / "videos" / "video_rotation_90.mp4", VIDEO)
    assert rotated.reasons[0] == Reason.TOO_SMALL
    assert rotated.facts["rotation"] in (90, 270)
    assert (rotated.facts["width"], rotated.facts["height"]) == (60, 100)  # stored 100x60


def test_not_clear(real_photo: Path, tmp_path: Path) -> None:
    soft = derive.blurred(real_photo, tmp_path / "soft.jpg")
    assert _reasons(soft, PHOTO) == (Reason.NOT_CLEAR,)


def test_video_reasons(corpus: Path) -> None:
    videos = corpus / "videos"
    assert _reasons(videos / "bipbop_audioinit.mp4", VIDEO) == (Reason.NO_VIDEO_STREAM,)
    assert _reasons(videos / "small-mp4-with-audio.mp4", VIDEO) == (Reason.NO_VIDEO_STREAM,)
    assert Reason.ENCRYPTED in _reasons(videos / "short-cenc.mp4", VIDEO)
    encrypted_init = videos / "bipbop_480wp_1001kbps-cenc-video-key1-init.mp4"
    assert _reasons(encrypted_init, VIDEO) == (Reason.ENCRYPTED,)
    assert _reasons(videos / "minimal.mp4", VIDEO) == (Reason.TOO_SHORT,)
    assert _reasons(videos / "small-FlashVideo.flv", VIDEO) == (Reason.TYPE_NOT_ALLOWED,)


def test_a_valid_video_is_accepted_with_its_facts(corpus: Path) -> None:
    verdict = validate(corpus / "videos" / "white.mp4", VIDEO)
    assert verdict.accepted, verdict.findings
    facts = verdict.facts
    assert (facts["codec"], facts["width"], facts["height"]) == ("h264", 320, 240)
    assert facts["duration_seconds"] == 10.0
    assert facts["capture_time"] == "2012-04-26T09:02:13+00:00"


def test_too_long(tmp_path: Path) -> None:
    assert _reasons(derive.long_video(tmp_path / "long.mp4", 601), VIDEO) == (Reason.TOO_LONG,)
    assert validate(derive.long_video(tmp_path / "ok.mp4", 30), VIDEO).accepted


def test_a_video_codec_outside_the_allowlist_is_never_decoded(tmp_path: Path) -> None:
    movie = derive.long_video(tmp_path / "frames.mov", 5, codec="png", container_format="mov")
    verdict = validate(movie, VIDEO)
    assert verdict.mime == "video/quicktime"
    assert verdict.reasons == (Reason.TYPE_NOT_ALLOWED,)
    assert "codec png" in verdict.findings[0].detail
    assert "frames_decoded" not in verdict.facts


def test_other_video_containers_are_never_demuxed(corpus: Path) -> None:
    for name in ("small-WindowsMediaVideo.wmv", "small-AudioVideoInterleave.avi"):
        assert _reasons(corpus / "videos" / name, VIDEO) == (Reason.TYPE_NOT_ALLOWED,)


def test_a_device_or_pipe_is_not_evidence(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "upload.jpg"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableEvidence, match="not a regular file"):
        validate(fifo, PHOTO)


def test_password_protected(corpus: Path) -> None:
    verdict = validate(
        corpus / "pdfs" / "libreoffice-writer-password.pdf", EvidenceKind.CHAT_RECORD
    )
    assert verdict.reasons == (Reason.PASSWORD_PROTECTED,)


def test_a_decoder_over_its_time_limit_is_a_rejection(corpus: Path) -> None:
    """(A decoder that really hangs is killed the same way: see test_sandbox.)"""
    impatient = DecoderSandbox(seconds=0.001, memory_bytes=0)
    try:
        verdict = validate(corpus / "videos" / "white.mp4", VIDEO, sandbox=impatient)
    finally:
        impatient.close()
    assert verdict.reasons == (Reason.UNDECODABLE,)
    assert "timed out" in verdict.findings[0].detail


# --- declared metadata --------------------------------------------------------------------

CERT_META = {
    "issuer": "Shenzhen Quality Inspection Co.",
    "accreditation": "CNAS L1234",
    "issued_at": "2026-02-20",
    "subject": "356789104512345",
    "result": "pass",
}


def _certificate_pdf(corpus: Path) -> Path:
    return corpus / "pdfs" / "pdflatex-4-pages.pdf"


def _word_in(corpus: Path) -> str:
    """A word the certificate PDF's text really contains (read with pypdf here)."""
    from pypdf import PdfReader

    text = PdfReader(_certificate_pdf(corpus)).pages[0].extract_text()
    return max(text.split(), key=len)


def test_missing_metadata(corpus: Path) -> None:
    verdict = validate(_certificate_pdf(corpus), CERT, declared={"issuer": "X"})
    assert verdict.reasons == (Reason.MISSING_METADATA,)
    assert "report_no" in verdict.findings[0].detail
    bad = {**CERT_META, "report_no": "R1", "result": "maybe"}
    assert Reason.MISSING_METADATA in validate(_certificate_pdf(corpus), CERT, declared=bad).reasons


def test_a_certificate_whose_report_no_is_in_its_text_is_accepted(corpus: Path) -> None:
    meta = {**CERT_META, "report_no": _word_in(corpus)}
    verdict = validate(_certificate_pdf(corpus), CERT, declared=meta)
    assert verdict.accepted, verdict.findings
    assert verdict.facts["authoritative"] is True
    assert verdict.facts["pages"] == 4


def test_inconsistent_metadata(corpus: Path) -> None:
    meta = {**CERT_META, "report_no": "SZQI-2026-000777"}
    verdict = validate(_certificate_pdf(corpus), CERT, declared=meta)
    assert verdict.reasons == (Reason.INCONSISTENT_METADATA,)


def test_an_unrecognised_accreditation_is_weak_not_invalid(corpus: Path) -> None:
    meta = {**CERT_META, "report_no": _word_in(corpus), "accreditation": "ISO-ish 9"}
    verdict = validate(_certificate_pdf(corpus), CERT, declared=meta)
    assert verdict.accepted
    assert verdict.facts["authoritative"] is False
    narrowed = EvidencePolicy(accreditation_registry=frozenset({"CNAS L0001"}))
    meta["accreditation"] = "CNAS L1234"
    assert (
        validate(_certificate_pdf(corpus), CERT, declared=meta, policy=narrowed).facts[
            "authoritative"
        ]
        is False
    )


# --- checks that need the dispute ---------------------------------------------------------


def _context(**overrides: object) -> DisputeContext:
    base: dict[str, object] = {
        "party": Party.BUYER,
        "role": Role.PROOF,
        "submitted_at": datetime(2026, 3, 5, 12, 5, tzinfo=CST),
        "window_closes_at": datetime(2026, 3, 8, 12, 0, tzinfo=CST),
        "opened_at": datetime(2026, 3, 4, 18, 0, tzinfo=CST),
        "shipped_at": datetime(2026, 3, 2, 9, 0, tzinfo=CST),
        "signed_at": datetime(2026, 3, 4, 15, 20, tzinfo=CST),
        "tracking_no": "SF1234567890",
        "items": (OrderItemRef(sku="IP13-128-BLK", serial="356789104512345"),),
        "prior": KnownEvidence(),
    }
    base.update(overrides)
    return DisputeContext(**base)  # type: ignore[arg-type]


def test_subject_mismatch_and_expired(corpus: Path) -> None:
    meta = {**CERT_META, "report_no": _word_in(corpus)}
    assert validate(_certificate_pdf(corpus), CERT, declared=meta, context=_context()).accepted
    other = {**meta, "subject": "OTHER-IMEI"}
    assert _reasons(_certificate_pdf(corpus), CERT, declared=other, context=_context()) == (
        Reason.SUBJECT_MISMATCH,
    )
    old = {**meta, "issued_at": "2025-03-03"}  # 366 days before 2026-03-04
    assert _reasons(_certificate_pdf(corpus), CERT, declared=old, context=_context()) == (
        Reason.EXPIRED,
    )
    exactly_a_year = {**meta, "issued_at": "2025-03-04"}
    assert validate(
        _certificate_pdf(corpus), CERT, declared=exactly_a_year, context=_context()
    ).accepted


def test_a_certificate_issued_after_it_was_submitted_is_inconsistent(corpus: Path) -> None:
    meta = {**CERT_META, "report_no": _word_in(corpus), "issued_at": "2026-03-06"}
    verdict = validate(_certificate_pdf(corpus), CERT, declared=meta, context=_context())
    assert verdict.reasons == (Reason.INCONSISTENT_METADATA,)
    assert "after it was submitted" in verdict.findings[0].detail


def test_tracking_mismatch(corpus: Path, tmp_path: Path) -> None:
    record = tmp_path / "trace.json"
    record.write_text('{"carrier": "SF", "events": [{"status": "delivered"}]}')
    meta = {
        "carrier": "SF",
        "tracking_no": "sf 1234567890",
        "status": "delivered",
        "at": "2026-03-04T15:20:00+08:00",
    }
    assert validate(record, LOGISTICS, declared=meta, context=_context()).accepted
    wrong = {**meta, "tracking_no": "YT0000000001"}
    assert _reasons(record, LOGISTICS, declared=wrong, context=_context()) == (
        Reason.TRACKING_MISMATCH,
    )


def test_captured_before_delivery(corpus: Path) -> None:
    # EXIF: 2021-04-11 15:47:53 with OffsetTimeOriginal -05:00
    photo = corpus / "photos" / "heic" / "IMG_5195.HEIC"
    verdict = validate(photo, PHOTO, context=_context())
    assert verdict.reasons == (Reason.CAPTURED_BEFORE_DELIVERY,)
    assert verdict.facts["capture_time"] == "2021-04-11T15:47:53-05:00"
    # 23 hours before delivery is within the tolerance; 25 hours is not
    delivered = datetime(2021, 4, 11, 15, 47, 53, tzinfo=timezone(timedelta(hours=-5)))
    near = _context(signed_at=delivered + timedelta(hours=23))
    assert validate(photo, PHOTO, context=near).accepted
    far = _context(signed_at=delivered + timedelta(hours=25))
    assert validate(photo, PHOTO, context=far).reasons == (Reason.CAPTURED_BEFORE_DELIVERY,)
    # the merchant's rebuttal photo is not held to delivery
    merchant = _context(party=Party.MERCHANT, role=Role.REBUTTAL)
    assert validate(photo, PHOTO, context=merchant).accepted


def test_a_naive_exif_time_is_read_in_the_rulebook_zone(corpus: Path) -> None:
    photo = corpus / "photos" / "real" / "gps_DSCN0010.jpg"
    raw = validate(photo, PHOTO).facts["capture_time"]
    assert isinstance(raw, str)
    assert "+" not in raw
    wall = datetime.fromisoformat(raw)
    in_shanghai = wall.replace(tzinfo=CST)
    ok = _context(signed_at=in_shanghai + timedelta(hours=24))
    assert validate(photo, PHOTO, context=ok).accepted
    late = _context(signed_at=in_shanghai + timedelta(hours=24, seconds=1))
    assert validate(photo, PHOTO, context=late).reasons == (Reason.CAPTURED_BEFORE_DELIVERY,)


def test_late(real_photo: Path) -> None:
    closes = datetime(2026, 3, 8, 12, 0, tzinfo=CST)
    signed = datetime(2000, 1, 1, tzinfo=CST)  # keep capture time out of the way
    on_time = _context(submitted_at=closes, signed_at=signed)
    assert validate(real_photo, PHOTO, context=on_time).accepted
    late = _context(submitted_at=closes + timedelta(seconds=1), signed_at=signed)
    assert validate(real_photo, PHOTO, context=late).reasons == (Reason.LATE,)


def test_reused_and_near_duplicate(real_photo: Path, tmp_path: Path) -> None:
    signed = datetime(2000, 1, 1, tzinfo=CST)
    first = validate(real_photo, PHOTO)
    assert isinstance(first.facts["perceptual_hash"], str)
    used = KnownEvidence(sha256s=frozenset({first.sha256}))
    assert validate(real_photo, PHOTO, context=_context(prior=used, signed_at=signed)).reasons == (
        Reason.REUSED,
    )
    # the same photo re-encoded smaller: different bytes, same picture
    from PIL import Image

    with Image.open(real_photo) as image:
        image.resize((800, 600)).save(tmp_path / "again.jpg", quality=80)
    seen = KnownEvidence(perceptual_hashes=(first.facts["perceptual_hash"],))
    again = validate(tmp_path / "again.jpg", PHOTO, context=_context(prior=seen, signed_at=signed))
    assert again.accepted
    assert again.flags == ("near_duplicate",)


def test_pre_shipment_fact(corpus: Path) -> None:
    video = corpus / "videos" / "white.mp4"  # created 2012-04-26T09:02:13Z
    merchant = Party.MERCHANT
    before = _context(
        party=merchant, role=Role.REBUTTAL, shipped_at=datetime(2012, 4, 26, 17, 3, tzinfo=CST)
    )
    after = _context(
        party=merchant, role=Role.REBUTTAL, shipped_at=datetime(2012, 4, 26, 17, 2, tzinfo=CST)
    )
    assert validate(video, VIDEO, context=before).facts["pre_shipment"] is True
    assert validate(video, VIDEO, context=after).facts["pre_shipment"] is False


def test_without_a_context_the_dispute_checks_are_listed_as_skipped(real_photo: Path) -> None:
    verdict = validate(real_photo, PHOTO)
    assert set(verdict.skipped) == {
        "captured_before_delivery",
        "pre_shipment",
        "near_duplicate",
        "reused",
        "late",
    }
    partial = validate(real_photo, PHOTO, context=_context(signed_at=None, prior=None))
    assert set(partial.skipped) == {"captured_before_delivery", "near_duplicate", "reused"}


def test_every_reason_code_is_exercised_by_this_module() -> None:
    """A guard: a reason code added to the enum fails here until a test above produces it."""
    source = Path(__file__).read_text()
    untested = [r.name for r in Reason if f"Reason.{r.name}" not in source]
    assert untested == []
