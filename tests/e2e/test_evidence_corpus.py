"""Every file of the shared corpus, as every kind, gets a verdict; clear photos are told apart."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from evidence import DEFAULT_POLICY, DecoderSandbox, EvidenceKind, Reason, validate
from tests.derive import blurred


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_every_corpus_file_gets_a_verdict_as_every_kind(
    corpus: Path, sandbox: DecoderSandbox
) -> None:
    files = _files(corpus)
    assert len(files) > 100
    seen_reasons: set[Reason] = set()
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        for kind in EvidenceKind:
            verdict = validate(path, kind, sandbox=sandbox)
            assert (verdict.sha256, verdict.size) == (digest, path.stat().st_size), path
            assert verdict.mime, path
            # a rejected verdict always says why, in words
            assert all(f.detail for f in verdict.findings), (path, kind)
            seen_reasons.update(verdict.reasons)
    # the corpus alone exercises the content reasons that need no dispute and no derivation
    assert {
        Reason.TYPE_NOT_ALLOWED,
        Reason.UNDECODABLE,
        Reason.TRUNCATED,
        Reason.TOO_SMALL,
        Reason.NO_VIDEO_STREAM,
        Reason.ENCRYPTED,
        Reason.TOO_SHORT,
        Reason.PASSWORD_PROTECTED,
        Reason.MISSING_METADATA,
    } <= seen_reasons


def test_the_decoder_worker_survives_the_whole_corpus(
    corpus: Path, sandbox: DecoderSandbox
) -> None:
    """No video or PDF in the corpus kills or hangs the worker: each gets a decoder answer."""
    for path in _files(corpus / "videos") + _files(corpus / "pdfs"):
        kind = EvidenceKind.VIDEO if "videos" in path.parts else EvidenceKind.CHAT_RECORD
        verdict = validate(path, kind, sandbox=sandbox)
        for finding in verdict.findings:
            assert "decoder crashed" not in finding.detail, path
            assert "decoder timed out" not in finding.detail, path


def test_every_real_photo_is_clear(corpus: Path) -> None:
    photos = sorted((corpus / "photos" / "real").glob("*.jpg"))
    assert len(photos) >= 30
    for photo in photos:
        verdict = validate(photo, EvidenceKind.PHOTO)
        assert verdict.accepted, (photo.name, verdict.findings)
        score = verdict.facts["sharpness"]
        assert isinstance(score, float)
        assert score > DEFAULT_POLICY.sharpness_threshold, photo.name


def test_every_real_photo_blurred_is_not_clear(corpus: Path, tmp_path: Path) -> None:
    photos = sorted((corpus / "photos" / "real").glob("*.jpg"))
    assert len(photos) >= 30
    for photo in photos:
        soft = blurred(photo, tmp_path / photo.name)
        verdict = validate(soft, EvidenceKind.PHOTO)
        assert verdict.reasons == (Reason.NOT_CLEAR,), (photo.name, verdict.findings)


@pytest.mark.parametrize(
    "name", ["iphone_13_pro_max.HEIC", "IMG_5195.HEIC", "HMD_Nokia_8.3_5G.heif"]
)
def test_heic_photos_are_accepted_with_their_thumbnails_not_counted_as_frames(
    corpus: Path, name: str
) -> None:
    verdict = validate(corpus / "photos" / "heic" / name, EvidenceKind.PHOTO)
    assert verdict.accepted, verdict.findings
    assert verdict.mime == "image/heic"
    assert verdict.facts["frames"] == 1
