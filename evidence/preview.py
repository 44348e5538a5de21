"""A picture of a stored evidence item for a person to look at, made in the decoder sandbox.

A photo becomes a thumbnail turned the way its EXIF orientation says and saved afresh, so no
metadata (GPS position, camera serial, the original EXIF) survives; a video becomes its first
frame (its poster), turned as the stream's display matrix says; a PDF becomes its first page,
rendered, or, when it cannot be rendered, the text of its first pages. The functions here run in
the sandbox's worker (they read hostile bytes with native decoders) and answer plain data:
``{"jpeg": base64}`` or ``{"text": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence.policy import EvidencePolicy
from evidence.sandbox import SandboxFailure, shared_sandbox
from evidence.sniff import sniff

if TYPE_CHECKING:
    from PIL import Image

DECODER_IMPORTS = ("PIL.Image", "pillow_heif", "av", "pypdf")
"""What the sandbox's worker imports before a call of this module's, outside its CPU budget."""
TEXT_CHARS = 4000
QUALITY = 85
IMAGE_MIMES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"})
VIDEO_MIMES = frozenset(
    {"video/mp4", "video/quicktime", "video/webm", "video/3gpp", "video/x-matroska"}
)
PDF_MIMES = frozenset({"application/pdf"})


@dataclass(frozen=True)
class Picture:
    """What a person is shown of an evidence item: a JPEG, or text, or why there is neither."""

    jpeg: bytes | None = None
    text: str | None = None
    why: str | None = None


def picture(path: Path, policy: EvidencePolicy, longest: int) -> Picture:
    """A picture of the stored file at ``path``, made in the decoder sandbox with the
    policy's CPU budget and memory limit; its type is sniffed from its bytes."""
    mime = sniff(path, limit=0).mime
    if not previewable(mime):
        return Picture(why=f"no picture is made of {mime}")
    box = shared_sandbox(policy.decoder_seconds, policy.decoder_memory_bytes)
    answer = box.call(preview, str(path), mime, longest, cpu_seconds=policy.decoder_cpu_seconds)
    if isinstance(answer, SandboxFailure):
        return Picture(why=f"the picture could not be made: {answer.detail}")
    if isinstance(answer, dict) and isinstance(answer.get("text"), str):
        return Picture(text=answer["text"][:TEXT_CHARS])
    encoded = answer.get("jpeg") if isinstance(answer, dict) else None
    try:
        jpeg = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
    except binascii.Error:
        jpeg = b""
    if not jpeg.startswith(b"\xff\xd8"):  # from a process that read hostile bytes: check
        return Picture(why="the picture could not be made: the decoder answered nonsense")
    return Picture(jpeg=jpeg)


def previewable(mime: str) -> bool:
    """Whether :func:`preview` makes something of a file of this (sniffed) type."""
    return mime in IMAGE_MIMES | VIDEO_MIMES | PDF_MIMES or mime.startswith("text/")


def preview(path: str, mime: str, longest: int) -> dict[str, Any]:
    """A picture of the file at ``path`` (of the sniffed type ``mime``) whose longest side is
    at most ``longest`` pixels, as JPEG bytes in base64; or its text, when it is text or a PDF
    that cannot be drawn."""
    if mime in IMAGE_MIMES:
        return _jpeg(_photo(path, longest), longest)
    if mime in VIDEO_MIMES:
        return _jpeg(_poster(path), longest)
    if mime in PDF_MIMES:
        try:
            return _jpeg(_first_page(path, longest), longest)
        except Exception:  # a PDF that cannot be drawn may still have text
            text = _pdf_text(path)
            if not text.strip():
                raise ValueError("the PDF cannot be drawn and shows no text") from None
            return {"text": text}
    if mime.startswith("text/"):
        with open(path, "rb") as stream:
            return {"text": stream.read(TEXT_CHARS * 4).decode("utf-8", "replace")[:TEXT_CHARS]}
    raise ValueError(f"no picture is made of {mime}")


def _photo(path: str, longest: int) -> Image.Image:
    from PIL import Image, ImageOps
    from pillow_heif import register_heif_opener

    register_heif_opener()
    with Image.open(path) as image:
        image.thumbnail((longest, longest))  # JPEG decodes at a reduced size: cheaper
        return ImageOps.exif_transpose(image)


def _poster(path: str) -> Image.Image:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
            turn = int(getattr(frame, "rotation", 0) or 0) % 360
            # the display matrix turns counter-clockwise; PIL's rotate does too
            return image.rotate(turn, expand=True) if turn else image
    raise ValueError("the video has no frame to show")


def _first_page(path: str, longest: int) -> Image.Image:
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    try:
        page = document[0]
        width, height = page.get_size()
        scale = longest / max(width, height, 1.0)
        drawn: Image.Image = page.render(scale=scale).to_pil()
        return drawn
    finally:
        document.close()


def _pdf_text(path: str) -> str:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    reader = PdfReader(path, strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        return ""
    text = ""
    for page in reader.pages[:3]:
        text += page.extract_text() + "\n"
        if len(text) >= TEXT_CHARS:
            break
    return text[:TEXT_CHARS]


def _jpeg(image: Image.Image, longest: int) -> dict[str, Any]:
    """The image made at most ``longest`` on its longest side and saved as a new JPEG: only
    pixels are carried over (no EXIF, XMP, ICC or comment)."""
    image.thumbnail((longest, longest))
    pixels = image.convert("RGB")
    out = io.BytesIO()
    pixels.save(out, "JPEG", quality=QUALITY)
    return {"jpeg": base64.b64encode(out.getvalue()).decode("ascii")}
