"""No evidence file costs more than the rulebook's decoding budget, whatever it holds.

Boundedness is shown by structure, never by timing: a JPEG over the scan limit is refused
with facts that show it was never decoded, and every decoder runs under the sandbox's CPU
budget (a budget too small for a real file makes it a rejection that says so).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from evidence import DecoderSandbox, EvidenceKind, EvidencePolicy, Reason, validate
from tests import derive

PHOTO = EvidenceKind.PHOTO
SOURCE = "photos/real/gps_DSCN0010.jpg"


def test_a_jpeg_of_20000_scans_is_refused_before_it_is_decoded(
    corpus: Path, tmp_path: Path
) -> None:
    """The issue's file: 20,000 tiny scans (libjpeg would pass over the image 20,000 times)."""
    bomb = derive.jpeg_with_scans(corpus / SOURCE, tmp_path / "scans.jpg", 20_000)
    assert bomb.stat().st_size < 2 * 1024 * 1024  # the premise: small, well under 20 MiB
    verdict = validate(bomb, PHOTO)
    assert verdict.reasons == (Reason.DECOMPRESSION_BOMB,)
    assert verdict.findings[0].detail == (
        "more than 32 scans; a JPEG may have 32 (each scan is a pass over the whole image); "
        "not decoded"
    )
    # the count stopped at the limit, and nothing that only a decode can tell is known: no
    # size after orientation, no sharpness, no hash
    assert verdict.facts == {"format": "JPEG"}


def test_the_scan_limit_is_inclusive(corpus: Path, tmp_path: Path) -> None:
    at_limit = derive.jpeg_with_scans(corpus / SOURCE, tmp_path / "32.jpg", 32)
    verdict = validate(at_limit, PHOTO)
    assert verdict.accepted, verdict.findings
    assert verdict.facts["scans"] == 32
    assert "sharpness" in verdict.facts  # decoded
    over = derive.jpeg_with_scans(corpus / SOURCE, tmp_path / "33.jpg", 33)
    assert validate(over, PHOTO).reasons == (Reason.DECOMPRESSION_BOMB,)


def test_the_scan_limit_comes_from_the_policy(corpus: Path, tmp_path: Path) -> None:
    progressive = derive.jpeg_with_scans(corpus / SOURCE, tmp_path / "10.jpg", 10)
    assert validate(progressive, PHOTO).facts["scans"] == 10
    strict = EvidencePolicy(jpeg_max_scans=9)
    verdict = validate(progressive, PHOTO, policy=strict)
    assert verdict.reasons == (Reason.DECOMPRESSION_BOMB,)
    assert "more than 9 scans; a JPEG may have 9" in verdict.findings[0].detail


def test_a_baseline_photo_has_one_scan(corpus: Path) -> None:
    verdict = validate(corpus / SOURCE, PHOTO)
    assert verdict.accepted, verdict.findings
    assert verdict.facts["scans"] == 1


def test_a_jpeg_of_countless_segments_is_refused_before_it_is_decoded(
    corpus: Path, tmp_path: Path
) -> None:
    """Pillow reads each segment before the first scan in Python: 5 million take seconds."""
    padded = derive.jpeg_with_comments(corpus / SOURCE, tmp_path / "com.jpg", 5_000_000)
    verdict = validate(padded, PHOTO)
    assert verdict.reasons == (Reason.DECOMPRESSION_BOMB,)
    assert verdict.findings[0].detail == (
        "more than 1,000 marker segments; a JPEG may have 1,000; not decoded"
    )
    assert verdict.facts == {"format": "JPEG"}  # the walk stopped at the limit
    under = derive.jpeg_with_comments(corpus / SOURCE, tmp_path / "ok.jpg", 900)
    assert validate(under, PHOTO).accepted


def _forty_megapixels(corpus: Path, target: Path) -> Path:
    with Image.open(corpus / "photos/real/jolla.jpg") as image:
        image.convert("RGB").resize((8000, 5000)).save(target, "JPEG", quality=90)
    return target


@pytest.mark.parametrize("photo", ["photos/heic/iphone_13_pro_max.HEIC", "40 MP JPEG"])
def test_photos_are_decoded_under_the_cpu_budget(corpus: Path, tmp_path: Path, photo: str) -> None:
    """A budget far below what the decode needs (libheif: ~0.6 s; libjpeg: ~0.3 s of CPU)."""
    path = _forty_megapixels(corpus, tmp_path / "big.jpg") if photo.endswith("JPEG") else None
    path = path or corpus / photo
    assert validate(path, PHOTO).accepted  # the premise: a sound photo
    starved = EvidencePolicy(decoder_cpu_seconds=0.005)
    verdict = validate(path, PHOTO, policy=starved)
    assert verdict.reasons == (Reason.UNDECODABLE,)
    assert verdict.findings[0].detail == (
        "the image decoder timed out: used up its 0.005 s of CPU time without an answer"
    )


# --- video durations ----------------------------------------------------------------------

VIDEO = EvidenceKind.VIDEO


@pytest.mark.parametrize("editlist", [False, True])
def test_an_edited_mdhd_timescale_does_not_make_a_1_s_clip_last_512_s(
    tmp_path: Path, editlist: bool
) -> None:
    """The issue's file: the track's timescale 12800 -> 25 stretches every timestamp 512 times;
    the movie and track headers (mvhd, tkhd, or the edit list) still say 1 s."""
    clip = derive.clip(tmp_path / "clip.mp4", editlist=editlist)
    sound = validate(clip, VIDEO)
    assert sound.accepted, sound.findings
    assert (sound.facts["duration_seconds"], sound.facts["frame_count"]) == (1.0, 25)
    assert derive.timescale_of(clip, b"mdhd") == 12800  # the premise
    edited = derive.with_timescale(clip, tmp_path / "edited.mp4", b"mdhd", 25)
    verdict = validate(edited, VIDEO)
    assert verdict.reasons == (Reason.INCONSISTENT_METADATA,)
    detail = verdict.findings[0].detail
    assert "declares 1.000 s but the video's packets span" in detail
    if not editlist:  # FFmpeg itself would say 512 s: every packet stretched
        assert detail.endswith("span 512.000 s")
        assert verdict.facts["duration_seconds"] == 512.0


def test_a_timescale_that_squeezes_every_header_is_caught_by_the_codecs_clock(
    tmp_path: Path,
) -> None:
    """mdhd and mvhd both 50 times faster: every box and timestamp agrees on 0.02 s, but the
    H.264 stream's own clock runs at 25 frames a second, and there are 25 frames."""
    clip = derive.clip(tmp_path / "clip.mp4", editlist=False)
    fast = derive.with_timescale(clip, tmp_path / "a.mp4", b"mdhd", 12800 * 50)
    fast = derive.with_timescale(fast, tmp_path / "b.mp4", b"mvhd", 1000 * 50)
    verdict = validate(fast, VIDEO)
    assert verdict.reasons == (Reason.INCONSISTENT_METADATA, Reason.TOO_SHORT)
    assert verdict.findings[0].detail == (
        "25 frames at the 25 fps its h264 stream runs at last 1.000 s, "
        "but its timestamps span 0.020 s"
    )


def test_video_decoding_runs_under_the_cpu_budget(tmp_path: Path) -> None:
    """Decoding all 150 frames of a 720p clip takes FFmpeg ~0.1 s of CPU: far more than the
    budget, and than the kernel's tick, at which the budget is checked."""
    clip = derive.clip(tmp_path / "clip.mp4", seconds=6, size=(1280, 720))
    thorough = EvidencePolicy(video_frames_to_decode=150)
    assert validate(clip, VIDEO, policy=thorough).accepted  # the premise: a sound video
    starved = EvidencePolicy(video_frames_to_decode=150, decoder_cpu_seconds=0.001)
    verdict = validate(clip, VIDEO, policy=starved)
    assert verdict.reasons == (Reason.UNDECODABLE,)
    assert verdict.findings[0].detail == (
        "the video decoder timed out: used up its 0.001 s of CPU time without an answer"
    )


def test_pdf_parsing_runs_under_the_cpu_budget(corpus: Path) -> None:
    pdf = corpus / "pdfs" / "pdflatex-4-pages.pdf"  # ~70 ms of pypdf text extraction
    assert validate(pdf, EvidenceKind.CHAT_RECORD).accepted
    starved = EvidencePolicy(decoder_cpu_seconds=0.001)
    verdict = validate(pdf, EvidenceKind.CHAT_RECORD, policy=starved)
    assert verdict.reasons == (Reason.UNDECODABLE,)
    assert "PDF decoder timed out: used up its 0.001 s of CPU time" in verdict.findings[0].detail


class _CountingSandbox(DecoderSandbox):
    def __init__(self) -> None:
        super().__init__(seconds=30, memory_bytes=0)
        self.calls: list[str] = []

    def call(self, fn: object, *args: object, cpu_seconds: float | None = None) -> object:
        self.calls.append(getattr(fn, "__name__", "?"))
        return super().call(fn, *args, cpu_seconds=cpu_seconds)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("photo", "where"),
    [
        ("photos/real/gps_DSCN0010.jpg", []),  # 640x480: its scans and segments bound it
        ("photos/real/42_IndexError.jpg", ["probe_image"]),  # 12 MP
        ("photos/heic/IMG_5195.HEIC", ["probe_image"]),
    ],
)
def test_only_small_jpegs_are_decoded_outside_the_sandbox(
    corpus: Path, photo: str, where: list[str]
) -> None:
    box = _CountingSandbox()
    try:
        assert validate(corpus / photo, PHOTO, sandbox=box).accepted
    finally:
        box.close()
    assert box.calls == where


def test_demuxing_stops_past_the_longest_allowed(tmp_path: Path) -> None:
    """Frames at 0, 1500 and 3000 s: the first lasts till the second, 1500 s, past 600 s x 1.5,
    so reading stops there, and the headers' 3001 s is not held against the 1500 s read."""
    video = derive.long_video(tmp_path / "long.mp4", 3000)
    verdict = validate(video, VIDEO)
    assert verdict.reasons == (Reason.TOO_LONG,)
    assert (verdict.facts["frame_count"], verdict.facts["duration_seconds"]) == (1, 1500.0)
