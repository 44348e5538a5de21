"""Photos and other images: decoded once, in the decoder sandbox, with a format allowlist.

Every fact comes from that one decode: the header gives the pixel size (checked against the
bomb limit *before* any pixel is decoded), EXIF gives orientation and capture time, and the
grayscale pixels give the sharpness score and the perceptual hash. JPEGs are decoded straight
to grayscale (libjpeg skips the colour conversion), which is what makes validation cheaper
than the plain RGB decode it is benchmarked against. A JPEG's scans and segments are counted
before that (:mod:`evidence.jpeg`), and one over the rulebook's limits is never decoded.

It runs in the sandbox (:func:`probe_image`) because no structural limit bounds every
decoder: a 40 MP HEIC takes libheif 2.6 s of CPU, and a 20 MiB progressive JPEG of dense
refinement scans about as long; the sandbox's CPU budget bounds them all. Except for small
Huffman-coded JPEGs (:func:`decoded_in_process`), whose work the scan and segment limits do
bound: the sandbox's round trip (0.3 ms idle, 3-4 ms on a busy machine) is most of what
decoding a 640x480 photo costs.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

from PIL import Image

from evidence.exif import read_exif
from evidence.isobmff import heif_data_end
from evidence.jpeg import HUFFMAN_FRAMES, read_frame, read_structure
from evidence.policy import EvidencePolicy
from evidence.reasons import Finding, Reason
from evidence.report import ProbeReport
from evidence.sharpness import appearance

DECODER_IMPORTS = ("pillow_heif",)
"""What the sandbox's worker imports before a call of this module's, outside its CPU budget
(a HEIC is decoded there only: libheif is never imported by the caller)."""
PIL_FORMAT = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/heic": "HEIF",
    "image/heif": "HEIF",
}
_PNG_END = b"IEND\xaeB`\x82"
# A Huffman-coded JPEG of at most this many pixels is decoded in the caller's process. The
# worst measured (CPU time of inspect_image, on the 2-core machine this was written on): a
# 2000x2000 4:4:4 JPEG of noise at quality 100, its densest scan repeated up to the scan limit
# (32 scans, 15 MiB): 0.75 s. Anything larger, or arithmetic-coded, goes to the sandbox.
IN_PROCESS_PIXELS = 4_000_000


def decoded_in_process(mime: str, head: bytes, policy: EvidencePolicy) -> bool:
    """Whether the image whose first bytes are ``head`` is small enough to decode here."""
    if mime != "image/jpeg":
        return False
    frame = read_frame(head, max_segments=policy.jpeg_max_segments)
    return (
        frame is not None
        and frame.marker in HUFFMAN_FRAMES
        and frame.width * frame.height <= IN_PROCESS_PIXELS
    )


def probe_image(
    path: str, mime: str, tail: bytes, policy: EvidencePolicy, require_clear: bool
) -> dict[str, Any]:
    """:func:`inspect_image` in the sandbox: plain data (:meth:`ProbeReport.to_plain`)."""
    return inspect_image(Path(path), mime, tail, policy, require_clear=require_clear).to_plain()


def inspect_image(
    path: Path, mime: str, tail: bytes, policy: EvidencePolicy, *, require_clear: bool
) -> ProbeReport:
    report = ProbeReport()
    fmt = PIL_FORMAT[mime]
    report.facts["format"] = fmt
    if fmt == "JPEG" and _too_much_jpeg_work(path, policy, report):
        return report
    if fmt == "HEIF":
        _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(path, formats=[fmt])
    except Image.DecompressionBombError as exc:
        report.findings.append(Finding(Reason.DECOMPRESSION_BOMB, str(exc)))
        return report
    except Exception as exc:  # hostile headers raise whatever the parser trips on
        report.findings.append(
            Finding(Reason.UNDECODABLE, f"not a readable {fmt} image: {_say(exc)}")
        )
        return report
    with image:
        _inspect_open_image(
            image,
            path=path,
            fmt=fmt,
            tail=tail,
            policy=policy,
            report=report,
            require_clear=require_clear,
        )
    return report


@functools.cache
def _register_heif() -> None:
    """HEIC/HEIF support, registered when the first is opened (for Image.open(formats=["HEIF"]))."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # pragma: no cover - pillow-heif is a required dependency
        return
    register_heif_opener()


def _too_much_jpeg_work(path: Path, policy: EvidencePolicy, report: ProbeReport) -> bool:
    """Count the JPEG's scans and segments; True (with a finding) if over the limits."""
    limits = policy.jpeg_max_scans, policy.jpeg_max_segments
    structure = read_structure(path.read_bytes(), max_scans=limits[0], max_segments=limits[1])
    if structure is None:
        return False  # not even an SOI: Pillow says why
    if structure.complete:
        report.facts["scans"] = structure.scans
        return False
    if structure.scans > policy.jpeg_max_scans:
        detail = (
            f"more than {limits[0]:,} scans; a JPEG may have {limits[0]:,} "
            "(each scan is a pass over the whole image); not decoded"
        )
    else:
        detail = (
            f"more than {limits[1]:,} marker segments; a JPEG may have {limits[1]:,}; not decoded"
        )
    report.findings.append(Finding(Reason.DECOMPRESSION_BOMB, detail))
    return True


def _inspect_open_image(
    image: Image.Image,
    *,
    path: Path,
    fmt: str,
    tail: bytes,
    policy: EvidencePolicy,
    report: ProbeReport,
    require_clear: bool,
) -> None:
    width, height = image.size
    size = path.stat().st_size
    facts = report.facts
    if width * height > policy.max_pixels:
        report.findings.append(
            Finding(
                Reason.DECOMPRESSION_BOMB,
                f"{width}x{height} is {width * height} pixels, over the limit of "
                f"{policy.max_pixels}; not decoded",
            )
        )
        facts.update(stored_width=width, stored_height=height)
        return
    frames = int(getattr(image, "n_frames", 1))
    facts["frames"] = frames
    # JPEG cannot animate: a multi-picture JPEG (MPF: camera previews, HDR gain maps) is one
    # photo. For HEIF, pillow-heif counts top-level images only: thumbnails, depth maps and
    # auxiliary images are not frames.
    if frames > 1 and fmt != "JPEG":
        report.findings.append(Finding(Reason.ANIMATED, f"{frames} frames; a photo has one"))
    if fmt == "HEIF":
        end = heif_data_end(path)
        if end is not None and end > size:
            report.findings.append(
                Finding(
                    Reason.TRUNCATED,
                    f"the image data runs to byte {end} but the file has {size} bytes",
                )
            )
            return

    if fmt == "JPEG":
        image.draft("L", image.size)  # full size, luminance only
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
    except Exception as exc:
        truncated = "truncated" in str(exc).lower()
        reason = Reason.TRUNCATED if truncated else Reason.UNDECODABLE
        report.findings.append(Finding(reason, f"pixel data does not decode: {_say(exc)}"))
        return
    if fmt == "PNG" and _PNG_END not in tail:
        report.findings.append(Finding(Reason.TRUNCATED, "PNG stream ends before its IEND chunk"))
        return

    # After the decode: Pillow's PNG reader decodes the image to look for EXIF behind it, and
    # EXIF errors are swallowed, so reading EXIF first would hide a broken pixel stream.
    exif = read_exif(image)
    if exif.error:
        facts["exif_error"] = exif.error
    facts["orientation"] = exif.orientation
    facts["capture_time"] = exif.capture_time
    upright_w, upright_h = (height, width) if exif.orientation >= 5 else (width, height)
    facts.update(width=upright_w, height=upright_h)

    gray = image if image.mode == "L" else image.convert("L")
    looks = appearance(gray, exif.orientation)
    score = looks.sharpness
    facts["sharpness"] = score
    facts["perceptual_hash"] = looks.perceptual_hash
    if not require_clear:
        return
    short = min(upright_w, upright_h)
    if short < policy.photo_min_short_side:
        report.findings.append(
            Finding(
                Reason.TOO_SMALL,
                f"short side {short} px is under {policy.photo_min_short_side} px",
            )
        )
    if score <= policy.sharpness_threshold:
        report.findings.append(
            Finding(
                Reason.NOT_CLEAR,
                f"sharpness {score} is not above the threshold {policy.sharpness_threshold}",
            )
        )


def _say(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
