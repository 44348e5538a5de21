"""Hostile and edge-case files derived, in the test, from real corpus files."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageFilter


def truncated(source: Path, target: Path, keep: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def blurred(source: Path, target: Path, radius: float = 8) -> Path:
    with Image.open(source) as image:
        exif = image.info.get("exif", b"")
        image.filter(ImageFilter.GaussianBlur(radius)).save(target, "JPEG", quality=95, exif=exif)
    return target


def png_with_size(source_png: Path, target: Path, width: int, height: int) -> Path:
    """A real PNG whose IHDR claims another size (CRC fixed): a decompression bomb header."""
    data = bytearray(source_png.read_bytes())
    assert data[12:16] == b"IHDR"
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    target.write_bytes(bytes(data))
    return target


def with_zip_appended(source: Path, target: Path) -> Path:
    """A JPEG with a ZIP archive behind it: opens as both."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.html", "<script>alert(1)</script>")
    target.write_bytes(source.read_bytes() + archive.getvalue())
    return target


def with_pdf_comment(source_jpeg: Path, target: Path) -> Path:
    """A JPEG whose first segment is a comment starting a PDF (PDF readers look in 1 KiB)."""
    data = source_jpeg.read_bytes()
    payload = b"%PDF-1.4\n1 0 obj<<>>endobj\n"
    segment = b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload
    target.write_bytes(data[:2] + segment + data[2:])
    return target


def animated_png(source: Path, target: Path) -> Path:
    with Image.open(source) as image:
        first = image.convert("RGB")
    second = first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    first.save(target, "PNG", save_all=True, append_images=[second], duration=100)
    return target


def padded(source: Path, target: Path, size: int) -> Path:
    """The file with zero bytes after it up to ``size`` (a JPEG still decodes)."""
    data = source.read_bytes()
    target.write_bytes(data + b"\0" * (size - len(data)))
    return target


def long_video(
    target: Path, seconds: int, *, codec: str = "mpeg4", container_format: str = "mp4"
) -> Path:
    """A real video (MPEG-4 Part 2 in MP4 by default, 320x240) whose frames span ``seconds``."""
    import av

    with av.open(str(target), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=1)
        assert isinstance(stream, av.VideoStream)
        pix_fmt = "rgb24" if codec == "png" else "yuv420p"
        stream.width, stream.height, stream.pix_fmt = 320, 240, pix_fmt
        stream.codec_context.time_base = Fraction(1, 1)
        for pts in (0, seconds // 2, seconds):
            picture = Image.new("RGB", (320, 240), (pts % 256, 80, 160))
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
            frame.pts = pts
            frame.time_base = Fraction(1, 1)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return target
