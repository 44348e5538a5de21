"""Is an MP4/MOV/3GP file encrypted (Common Encryption, FairPlay, ...)?

Encrypted tracks are announced in the movie box: their sample entries are ``encv``/``enca``
(with a ``sinf`` box naming the scheme) and DRM systems add ``pssh`` boxes. This walks the
box tree of ``moov`` (and any ``moof``) reading headers only, bounded in size and depth.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts"}
_ENCRYPTED_ENTRIES = {b"encv", b"enca", b"enct", b"encs"}
_MAX_META_BOX = 64 * 1024 * 1024
_MAX_DEPTH = 12


def protection(path: Path) -> str | None:
    """What marks the file as encrypted (``"encv sample entry"``, ``"pssh box"``), or None."""
    with path.open("rb") as stream:
        for kind, start, size in _top_level_boxes(stream):
            if kind in (b"moov", b"moof") and size <= _MAX_META_BOX:
                stream.seek(start)
                found = _scan(stream.read(size), 0)
                if found:
                    return found
    return None


def _top_level_boxes(stream: BinaryIO) -> list[tuple[bytes, int, int]]:
    boxes: list[tuple[bytes, int, int]] = []
    offset = 0
    stream.seek(0, 2)
    end = stream.tell()
    while offset + 8 <= end and len(boxes) < 10_000:
        stream.seek(offset)
        header = stream.read(16)
        size, kind = struct.unpack_from(">I4s", header)
        body = offset + 8
        if size == 1 and len(header) == 16:
            (size,) = struct.unpack_from(">Q", header, 8)
            body = offset + 16
        elif size == 0:
            size = end - offset
        if size < body - offset:
            break
        boxes.append((kind, body, size - (body - offset)))
        offset += size
    return boxes


def _scan(data: bytes, depth: int) -> str | None:
    offset = 0
    while offset + 8 <= len(data) and depth <= _MAX_DEPTH:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1 and offset + 16 <= len(data):
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = len(data) - offset
        if size < header or offset + size > len(data):
            return None
        body = data[offset + header : offset + size]
        if kind == b"pssh":
            return "pssh box"
        if kind in _ENCRYPTED_ENTRIES:
            return f"{kind.decode()} sample entry"
        if kind == b"stsd":
            found = _scan(body[8:], depth + 1)  # version/flags and entry count, then entries
        elif kind in _CONTAINERS:
            found = _scan(body, depth + 1)
        else:
            found = None
        if found:
            return found
        offset += size
    return None
