"""Formats beyond the corpus, made in the test from corpus files or with real encoders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter

from evidence import (
    DecoderSandbox,
    EvidenceKind,
    EvidencePolicy,
    Reason,
    UnreadableEvidence,
    validate,
)
from tests import derive

PHOTO = EvidenceKind.PHOTO
VIDEO = EvidenceKind.VIDEO


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.97, 0.9999])
def test_a_heic_cut_short_is_truncated(corpus: Path, tmp_path: Path, keep: float) -> None:
    """libheif paints missing tiles instead of failing; the iloc extents tell."""
    cut = derive.truncated(corpus / "photos/heic/IMG_5195.HEIC", tmp_path / "cut.heic", keep)
    assert validate(cut, PHOTO).reasons == (Reason.TRUNCATED,)


def test_a_heic_thumbnail_and_auxiliary_image_are_not_frames(corpus: Path) -> None:
    from pillow_heif import open_heif

    photo = corpus / "photos/heic/iphone_13_pro_max.HEIC"
    heif = open_heif(photo)
    assert heif.info["thumbnails"]
    assert heif.info["aux"]  # the premise: this file has both
    verdict = validate(photo, PHOTO)
    assert verdict.accepted, verdict.findings
    assert verdict.facts["frames"] == 1


def test_a_multi_picture_jpeg_is_one_photo(corpus: Path, tmp_path: Path) -> None:
    photo = derive.multi_picture_jpeg(corpus / "photos/real/gps_DSCN0010.jpg", tmp_path / "m.jpg")
    verdict = validate(photo, PHOTO)
    assert verdict.facts["frames"] == 2  # Pillow sees the preview ...
    assert verdict.accepted, verdict.findings  # ... and it is not an animation


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_a_webp_cut_short_is_rejected(corpus: Path, tmp_path: Path, keep: float) -> None:
    with Image.open(corpus / "photos/real/gps_DSCN0010.jpg") as image:
        image.save(tmp_path / "whole.webp", "WEBP", quality=90)
    assert validate(tmp_path / "whole.webp", PHOTO).accepted
    cut = derive.truncated(tmp_path / "whole.webp", tmp_path / "cut.webp", keep)
    assert validate(cut, PHOTO).reasons in ((Reason.UNDECODABLE,), (Reason.TRUNCATED,))


@pytest.mark.parametrize(
    ("encoder", "muxer", "suffix", "size", "mime", "codec"),
    [
        ("libvpx", "webm", "webm", (320, 240), "video/webm", "vp8"),
        ("libvpx-vp9", "webm", "webm", (320, 240), "video/webm", "vp9"),
        ("libx264", "matroska", "mkv", (320, 240), "video/x-matroska", "h264"),
        ("h263", "3gp", "3gp", (352, 288), "video/3gpp", "h263"),
        ("libsvtav1", "mp4", "mp4", (320, 240), "video/mp4", "av1"),
    ],
)
def test_each_allowed_container_and_codec_is_accepted(  # noqa: PLR0917 (parametrized)
    tmp_path: Path,
    encoder: str,
    muxer: str,
    suffix: str,
    size: tuple[int, int],
    mime: str,
    codec: str,
) -> None:
    video = derive.long_video(
        tmp_path / f"clip.{suffix}", 5, codec=encoder, container_format=muxer, size=size
    )
    verdict = validate(video, VIDEO)
    assert verdict.accepted, verdict.findings
    assert (verdict.mime, verdict.facts["codec"]) == (mime, codec)


def test_one_frame_with_long_sound_is_too_short(tmp_path: Path) -> None:
    verdict = validate(derive.one_frame_with_sound(tmp_path / "a.mp4", 5), VIDEO)
    assert verdict.reasons == (Reason.TOO_SHORT,)
    assert verdict.facts["has_audio"] is True


def test_ffmpeg_probes_no_decoder_outside_the_allowlist(tmp_path: Path) -> None:
    """FFmpeg's stream probe decodes before we see a stream; the allowlist goes to FFmpeg."""
    import av
    import av.logging

    from evidence.video import probe_video

    movie = derive.long_video(tmp_path / "f.mov", 5, codec="png", container_format="mov")
    data = bytearray(movie.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 8 : idat + 40] = b"\xff" * 32  # break the first frame's deflate stream
    movie.write_bytes(bytes(data))
    level = av.logging.get_level()
    av.logging.set_level(av.logging.VERBOSE)
    try:
        with av.logging.Capture() as unguarded:
            av.open(str(movie), format="mov").close()
        with av.logging.Capture() as guarded:
            report = probe_video(str(movie), "video/quicktime", EvidencePolicy())
    finally:
        av.logging.set_level(level)
    said = [str(entry[2]) for entry in unguarded]
    assert any("inflate" in line for line in said)  # the premise: the probe decodes PNG
    said = [str(entry[2]) for entry in guarded]
    assert not any("inflate" in line for line in said)
    assert any("not on whitelist" in line for line in said)
    assert report["findings"][0][0] == "type_not_allowed"


def _encrypted_copy(source: Path, target: Path, user: str, algorithm: str) -> Path:
    writer = PdfWriter(clone_from=source)
    writer.encrypt(user_password=user, owner_password="owner-secret", algorithm=algorithm)
    with target.open("wb") as out:
        writer.write(out)
    return target


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256"])
def test_aes_pdfs(corpus: Path, tmp_path: Path, algorithm: str) -> None:
    source = corpus / "pdfs/pdflatex-4-pages.pdf"
    locked = _encrypted_copy(source, tmp_path / "locked.pdf", "user-secret", algorithm)
    assert validate(locked, EvidenceKind.CHAT_RECORD).reasons == (Reason.PASSWORD_PROTECTED,)
    # owner password only: anyone can open it, and its text is still checked
    open_copy = _encrypted_copy(source, tmp_path / "open.pdf", "", algorithm)
    verdict = validate(open_copy, EvidenceKind.CHAT_RECORD)
    assert verdict.accepted, verdict.findings
    assert verdict.facts["encrypted"] is True
    assert verdict.facts["pages"] == 4
    assert isinstance(verdict.facts["text_chars"], int)
    assert verdict.facts["text_chars"] > 0
    meta = {
        "issuer": "X",
        "accreditation": "CNAS L1234",
        "report_no": "NOT-IN-THE-TEXT-42",
        "issued_at": "2026-01-01",
        "subject": "S",
        "result": "pass",
    }
    forged = validate(open_copy, EvidenceKind.INSPECTION_CERTIFICATE, declared=meta)
    assert forged.reasons == (Reason.INCONSISTENT_METADATA,)


def test_a_report_no_must_be_a_whole_token_of_the_text(corpus: Path) -> None:
    source = corpus / "pdfs/pdflatex-4-pages.pdf"
    meta = {
        "issuer": "X",
        "accreditation": "CNAS L1234",
        "report_no": "1",  # a digit appears in the text, but not "1" standing alone
        "issued_at": "2026-01-01",
        "subject": "S",
        "result": "pass",
    }
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(source).pages)
    assert "1" in text  # the premise: a substring match would pass
    verdict = validate(source, EvidenceKind.INSPECTION_CERTIFICATE, declared=meta)
    assert verdict.reasons == (Reason.INCONSISTENT_METADATA,)


class _RewritingSandbox(DecoderSandbox):
    """Appends to the file being validated while its decoder runs."""

    def __init__(self, victim: Path) -> None:
        super().__init__(seconds=30, memory_bytes=0)
        self.victim = victim

    def call(self, fn: object, *args: object, cpu_seconds: float | None = None) -> object:
        with self.victim.open("ab") as out:
            out.write(b"swapped")
        return super().call(fn, *args, cpu_seconds=cpu_seconds)  # type: ignore[arg-type]


def test_a_file_that_changes_while_validated_gets_no_verdict(corpus: Path, tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    shutil.copy(corpus / "videos/white.mp4", video)
    box = _RewritingSandbox(video)
    try:
        with pytest.raises(UnreadableEvidence, match="changed while it was being validated"):
            validate(video, VIDEO, sandbox=box)
    finally:
        box.close()
