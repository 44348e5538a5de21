"""Evidence photos made at test time: sharp, large enough, and each seed its own picture."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw


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
