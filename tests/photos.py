"""Evidence photos made at test time: sharp, large enough, and each seed its own picture."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw


def sharp_photo(target: Path, seed: int, size: tuple[int, int] = (800, 600)) -> Path:
    """Random blocks of grey: sharp edges everywhere, and a perceptual hash per seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(10, 120), rng.randrange(10, 120)
        shade = rng.randrange(256)
        draw.rectangle((x, y, x + w, y + h), fill=(shade, shade, rng.randrange(256)))
    image.save(target, "JPEG", quality=92)
    return target


def reencoded(source: Path, target: Path) -> Path:
    """The same picture saved again at a lower quality: new bytes, nearly the same hash."""
    with Image.open(source) as image:
        image.save(target, "JPEG", quality=70)
    return target


def large_photo(target: Path) -> Path:
    """A sharp photo of more than 1 MiB (noise does not compress), small enough to decode in
    process."""
    rng = random.Random(7)
    size = (1400, 1000)
    Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)).save(target, quality=92)
    assert 1024 * 1024 < target.stat().st_size < 20 * 1024 * 1024
    return target


def photo_captured(target: Path, at: datetime) -> Path:
    """A sharp photo whose EXIF says it was captured at ``at``."""
    with Image.open(sharp_photo(target.with_suffix(".plain.jpg"), 3)) as image:
        exif = image.getexif()
        camera = exif.get_ifd(ExifTags.IFD.Exif)
        camera[ExifTags.Base.DateTimeOriginal] = at.strftime("%Y:%m:%d %H:%M:%S")
        camera[ExifTags.Base.OffsetTimeOriginal] = at.isoformat()[-6:]  # "+08:00"
        image.save(target, "JPEG", quality=92, exif=exif)
    return target
