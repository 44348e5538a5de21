"""Orientation and capture time from EXIF, tolerating the broken EXIF that cameras write."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image

_EXIF_IFD = 0x8769
_ORIENTATION = 0x0112
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_OFFSET_ORIGINAL = 0x9011
_OFFSET_DIGITIZED = 0x9012
_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")


@dataclass(frozen=True)
class ExifFacts:
    orientation: int = 1
    capture_time: str | None = None  # ISO 8601, with its offset when EXIF gives one
    error: str | None = None


def read_exif(image: Image.Image) -> ExifFacts:
    """Never raises: EXIF is untrusted, and broken EXIF does not make a photo unusable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about truncated EXIF; we cope
            return _read(image)
    except Exception as exc:  # hostile EXIF can raise anything Pillow's parser can
        return ExifFacts(error=f"{type(exc).__name__}: {exc}"[:200])


def _read(image: Image.Image) -> ExifFacts:
    exif = image.getexif()
    orientation = exif.get(_ORIENTATION, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    sub = exif.get_ifd(_EXIF_IFD)
    capture = _capture_time(sub.get(_DATETIME_ORIGINAL), sub.get(_OFFSET_ORIGINAL))
    if capture is None:
        capture = _capture_time(sub.get(_DATETIME_DIGITIZED), sub.get(_OFFSET_DIGITIZED))
    return ExifFacts(orientation=orientation, capture_time=capture)


def _capture_time(raw: object, offset: object) -> str | None:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    if not isinstance(raw, str):
        return None
    try:
        wall = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    text = wall.isoformat()
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    if isinstance(offset, str) and _OFFSET.match(offset.strip("\x00 ")):
        text += offset.strip("\x00 ")
    return text
