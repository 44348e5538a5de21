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
    target: Path,
    seconds: int,
    *,
    codec: str = "mpeg4",
    container_format: str = "mp4",
    size: tuple[int, int] = (320, 240),
) -> Path:
    """A real video (MPEG-4 Part 2 in MP4 by default, 320x240) whose frames span ``seconds``."""
    import av

    width, height = size
    with av.open(str(target), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=1)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = width, height
        stream.pix_fmt = "rgb24" if codec == "png" else "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1)
        for pts in (0, seconds // 2, seconds):
            picture = Image.new("RGB", size, (pts % 256, 80, 160))
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
            frame.pts = pts
            frame.time_base = Fraction(1, 1)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return target


def one_frame_with_sound(target: Path, sound_seconds: int) -> Path:
    """An MP4 with a single 1/25 s video frame and ``sound_seconds`` of silent AAC."""
    import av

    with av.open(str(target), "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=25)
        audio = container.add_stream("aac", rate=44100)
        assert isinstance(video, av.VideoStream)
        assert isinstance(audio, av.AudioStream)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        frame = av.VideoFrame.from_image(Image.new("RGB", (320, 240)))  # type: ignore[no-untyped-call]
        frame.pts = 0
        for packet in [*video.encode(frame), *video.encode()]:
            container.mux(packet)
        samples = 1024
        for index in range(sound_seconds * 44100 // samples):
            silence = av.AudioFrame(format="fltp", layout="mono", samples=samples)
            silence.planes[0].update(bytes(samples * 4))
            silence.sample_rate = 44100
            silence.pts = index * samples
            for packet in audio.encode(silence):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return target


def multi_picture_jpeg(source: Path, target: Path) -> Path:
    """A JPEG carrying a second, smaller picture (MPF), as cameras store previews."""
    with Image.open(source) as image:
        primary = image.convert("RGB")
    preview = primary.resize((primary.width // 4, primary.height // 4))
    primary.save(target, "MPO", save_all=True, append_images=[preview], quality=90)
    return target


def jpeg_with_scans(source: Path, target: Path, scans: int) -> Path:
    """The photo as a progressive JPEG of ``scans`` scans: Pillow writes 10, then the header of
    its last scan (with the Huffman table before it) is repeated, without data: 60 bytes a scan,
    as in the issue's file. libjpeg makes a pass over the blocks of the scan's component for
    every repeat (finding no data, it changes nothing).
    """
    out = io.BytesIO()
    with Image.open(source) as image:
        image.convert("RGB").save(out, "JPEG", quality=90, progressive=True)  # no EXIF
    data = out.getvalue()
    segments = _jpeg_segments(data)
    written = [i for i, (marker, _, _) in enumerate(segments) if marker == 0xDA]
    assert len(written) == 10
    assert segments[-1][0] == 0xD9

    last = written[-1]
    assert segments[last - 1][0] == 0xC4
    header_end = segments[last][1] + 2 + int.from_bytes(data[segments[last][1] + 2 :][:2], "big")
    repeat = data[segments[last - 1][1] : header_end]
    eoi = segments[-1][1]
    target.write_bytes(data[:eoi] + repeat * (scans - len(written)) + data[eoi:])
    return target


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment after SOI; a scan runs to the next marker."""
    found = []
    at = 2
    while at < len(data):
        assert data[at] == 0xFF, at
        marker = data[at + 1]
        if marker == 0xD9:
            found.append((marker, at, at + 2))
            break
        end = at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")
        if marker == 0xDA:  # entropy-coded data: up to a 0xFF that is not 0xFF00 or RSTn
            while not (data[end] == 0xFF and data[end + 1] not in {0, *range(0xD0, 0xD8)}):
                end += 1
        found.append((marker, at, end))
        at = end
    return found


def jpeg_with_comments(source: Path, target: Path, comments: int) -> Path:
    """The JPEG with ``comments`` empty COM segments right after SOI."""
    data = source.read_bytes()
    target.write_bytes(data[:2] + b"\xff\xfe\x00\x02" * comments + data[2:])
    return target


def clip(
    target: Path,
    *,
    editlist: bool = True,
    seconds: int = 1,
    fps: int = 25,
    size: tuple[int, int] = (320, 240),
) -> Path:
    """A real H.264 MP4 (libx264) of ``seconds`` at ``fps``: FFmpeg gives its track the
    timescale 12800 and its movie 1000, with or without an edit list."""
    import av

    options = {} if editlist else {"use_editlist": "0"}
    with av.open(str(target), "w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(seconds * fps):
            picture = Image.new("RGB", size, (index * 9 % 256, 80, 160))
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return target


def with_timescale(source: Path, target: Path, box: bytes, timescale: int) -> Path:
    """The MP4 with the timescale of every ``mdhd`` or ``mvhd`` box replaced (durations kept)."""
    data = bytearray(source.read_bytes())
    at = data.find(box)
    assert at > 0
    while at > 0:
        version = data[at + 4]
        field = at + 4 + (20 if version == 1 else 12)  # after version, flags and two times
        struct.pack_into(">I", data, field, timescale)
        at = data.find(box, at + 4)
    target.write_bytes(bytes(data))
    return target


def timescale_of(path: Path, box: bytes) -> int:
    data = path.read_bytes()
    at = data.index(box)
    version = data[at + 4]
    return int.from_bytes(data[at + 4 + (20 if version == 1 else 12) :][:4], "big")
