"""A JPEG's marker structure, read without decoding: how much work its decoder would do.

A progressive JPEG is decoded scan by scan, and every scan passes over every block of the
components it covers, whatever few bytes it holds: 20,000 scans of 60 bytes each keep
libjpeg busy for minutes. Pillow's own reader also steps through the segments before the
first scan, and the padding between them, one at a time in Python. So before any decoder
sees a JPEG, :func:`read_structure` walks its markers (a C-speed search for the next marker,
one Python step per segment) up to the first EOI, where libjpeg stops, or until there are
more scans or segments than allowed: the walk is bounded whatever the file holds.

Measured on the 2-core machine this was written on (``validate`` of a photo, CPU time), for
the largest photo allowed (40 megapixels):

- every JPEG of ``shared/corpus``: 1 scan (baseline), 10 for the progressive one; Pillow's
  ``progressive=True`` and libjpeg's default script write 10, mozjpeg's optimised ones 7
  (colour) or 3 (grey); at most 24 marker segments;
- a flat 40 MP progressive JPEG (8000x5000, 4:4:4) grows by 25-30 ms per added scan of the
  costliest cheap kind (an AC refinement over coefficients 1-63: 88 bytes each): 10 scans
  take 0.44 s, 32 take 0.85 s, 64 take 1.70 s; 20 MiB would hold 240,000 such scans;
- scans holding real refinement data cost up to ~95 ms each at 40 MP, but about a megabyte
  apiece, so the file size bounds them, and the decoder's CPU budget (the sandbox) bounds
  what is left;
- 1,000,000 empty segments before the first scan cost Pillow 1.3 s to open (4 MB).

Hence the rulebook's defaults: 32 scans (three times what encoders write, under 1 s at
40 MP) and 1,000 segments.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

_SOI = b"\xff\xd8"
# The next marker: 0xFF then a byte that is neither a stuffed zero, a restart marker (RSTn
# belong to the scan they are in), nor fill (0xFF: the marker is the last 0xFF of a run).
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOS = 0xDA
_EOI = 0xD9
_STANDALONE = frozenset({0x01, 0xD8})  # TEM, and SOI again (libjpeg refuses that later)


@dataclass(frozen=True)
class JpegStructure:
    scans: int  # SOS segments up to the first EOI (or the stop)
    segments: int  # marker segments of every kind, SOS included (up to the stop)
    complete: bool  # False when the walk stopped at a limit: there are more


def read_structure(data: bytes, *, max_scans: int, max_segments: int) -> JpegStructure | None:
    """Count the scans and segments of the JPEG ``data``; None if it does not start with SOI.

    Stops at the first scan past ``max_scans`` or segment past ``max_segments`` (``complete``
    is then False). A malformed segment ends the walk: the decoder refuses the file there too.
    """
    if not data.startswith(_SOI):
        return None
    scans = segments = 0
    at = len(_SOI)
    while True:
        found = _NEXT_MARKER.search(data, at)
        if found is None:
            break
        marker = data[found.end() - 1]
        at = found.end()
        if marker == _EOI:
            break
        if marker in _STANDALONE:
            continue
        if at + 2 > len(data):
            break
        (length,) = struct.unpack_from(">H", data, at)
        if length < 2:
            break
        segments += 1
        scans += marker == _SOS
        if scans > max_scans or segments > max_segments:
            return JpegStructure(scans, segments, complete=False)
        at += length  # entropy-coded data after an SOS is skipped by the marker search
    return JpegStructure(scans, segments, complete=True)


# Start-of-frame markers: SOF0-3, 5-7, 9-11, 13-15 (C4 is DHT, C8 reserved, CC is DAC)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Huffman-coded baseline, extended and progressive frames: what every camera and encoder writes
HUFFMAN_FRAMES = frozenset({0xC0, 0xC1, 0xC2})


@dataclass(frozen=True)
class JpegFrame:
    marker: int  # which SOFn: how the image is coded
    width: int
    height: int


def read_frame(head: bytes, *, max_segments: int) -> JpegFrame | None:
    """The frame header (SOFn) of the JPEG whose first bytes are ``head``, if it is there
    before the first scan and within ``max_segments`` segments."""
    if not head.startswith(_SOI):
        return None
    at = len(_SOI)
    for _ in range(max_segments):
        found = _NEXT_MARKER.search(head, at)
        if found is None:
            return None
        marker = head[found.end() - 1]
        at = found.end()
        if marker in _STANDALONE:
            continue
        if marker in (_SOS, _EOI) or at + 7 > len(head):
            return None
        if marker in _SOF:
            height, width = struct.unpack_from(">HH", head, at + 3)  # after length, precision
            return JpegFrame(marker, width, height)
        (length,) = struct.unpack_from(">H", head, at)
        if length < 2:
            return None
        at += length
    return None
