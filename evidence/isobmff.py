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


def heif_data_end(path: Path) -> int | None:
    """Where the last byte of the HEIF's image data should be, from its ``iloc`` box.

    libheif decodes a HEIF whose tiles are cut off without complaint (it paints the missing
    tiles), so a truncated upload is found by checking that every item's extents, as the
    ``iloc`` box places them, lie inside the file. None when there is no ``iloc`` to read.
    """
    with path.open("rb") as stream:
        for kind, start, size in _top_level_boxes(stream):
            if kind == b"meta" and size <= _MAX_META_BOX:
                stream.seek(start)
                meta = stream.read(size)
                iloc = _child(meta[4:], b"iloc")  # meta is a full box: skip version/flags
                return None if iloc is None else _iloc_end(iloc)
    return None


def _child(data: bytes, wanted: bytes) -> bytes | None:
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size < 8 or offset + size > len(data):
            return None
        if kind == wanted:
            return data[offset + 8 : offset + size]
        offset += size
    return None


def _iloc_end(body: bytes) -> int | None:
    """The largest file offset an ``iloc`` extent reaches (ISO/IEC 14496-12, 8.11.3)."""
    try:
        version = body[0]
        offset_size, length_size = body[4] >> 4, body[4] & 0x0F
        base_offset_size, index_size = body[5] >> 4, body[5] & 0x0F
        at = 6
        if version < 2:
            (count,) = struct.unpack_from(">H", body, at)
            at += 2
        else:
            (count,) = struct.unpack_from(">I", body, at)
            at += 4
        end = 0
        for _ in range(count):
            at += 2 if version < 2 else 4  # item_ID
            method = 0
            if version in (1, 2):
                method = struct.unpack_from(">H", body, at)[0] & 0x0F
                at += 2
            at += 2  # data_reference_index
            base, at = _uint(body, at, base_offset_size)
            (extents,) = struct.unpack_from(">H", body, at)
            at += 2
            for _ in range(extents):
                if version in (1, 2) and index_size:
                    at += index_size
                extent_offset, at = _uint(body, at, offset_size)
                extent_length, at = _uint(body, at, length_size)
                if method == 0 and extent_length:  # in this file; 0 means "to the end"
                    end = max(end, base + extent_offset + extent_length)
        return end
    except (IndexError, struct.error):
        return None


def _uint(data: bytes, at: int, size: int) -> tuple[int, int]:
    if size == 0:
        return 0, at
    if size not in (4, 8):
        raise struct.error(f"field size {size}")
    return int.from_bytes(data[at : at + size], "big"), at + size


def declared_durations(path: Path) -> list[tuple[str, float]]:
    """The durations an MP4/MOV's headers declare for its video, in seconds, read from the boxes
    themselves (FFmpeg reconciles them with each other before anyone sees them).

    The first video track's ``tkhd`` (in the movie's timescale: what its edit list keeps), and
    the movie's ``mvhd`` when that track is the only one. Unknown (0 or all ones) are left out.
    """
    with path.open("rb") as stream:
        for kind, start, size in _top_level_boxes(stream):
            if kind == b"moov" and size <= _MAX_META_BOX:
                stream.seek(start)
                return _moov_durations(stream.read(size))
    return []


def _moov_durations(moov: bytes) -> list[tuple[str, float]]:
    try:
        mvhd = _child(moov, b"mvhd")
        if mvhd is None:
            return []
        movie_scale, movie_duration = _scale_and_duration(mvhd)
        tracks = list(_children(moov, b"trak"))
        out: list[tuple[str, float]] = []
        for trak in tracks:
            mdia = _child(trak, b"mdia")
            hdlr = None if mdia is None else _child(mdia, b"hdlr")
            tkhd = _child(trak, b"tkhd")
            if hdlr is None or hdlr[8:12] != b"vide" or tkhd is None:
                continue
            version = tkhd[0]
            at = 28 if version == 1 else 20  # after the times, the track id and a reserved word
            duration = int.from_bytes(tkhd[at : at + (8 if version == 1 else 4)], "big")
            out.append(("the video track header (tkhd)", _seconds(duration, movie_scale, version)))
            break
        if len(tracks) == 1:
            out.append(("the movie header (mvhd)", _seconds(movie_duration, movie_scale, mvhd[0])))
        return [(name, seconds) for name, seconds in out if seconds > 0]
    except (IndexError, struct.error):
        return []


def _children(data: bytes, wanted: bytes) -> list[bytes]:
    found = []
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size < 8 or offset + size > len(data):
            break
        if kind == wanted:
            found.append(data[offset + 8 : offset + size])
        offset += size
    return found


def _scale_and_duration(full_box: bytes) -> tuple[int, int]:
    """``timescale`` and ``duration`` of an ``mvhd`` or ``mdhd`` (ISO/IEC 14496-12, 8.2.2)."""
    if full_box[0] == 1:
        return struct.unpack_from(">IQ", full_box, 20)
    return struct.unpack_from(">II", full_box, 12)


def _seconds(duration: int, timescale: int, version: int) -> float:
    unknown = (1 << (64 if version == 1 else 32)) - 1
    if not timescale or duration == unknown:
        return 0.0
    return duration / timescale
