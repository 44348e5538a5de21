"""How sharp a photo is, and a perceptual hash to find near-duplicates.

Sharpness is the no-reference blur measure of Crété-Roffet et al. (2007, "The blur effect"):
blur the image again and see how much of its pixel-to-pixel variation that takes away. A
sharp image loses much of it, an already blurred one little. The score is the fraction lost,
in [0, 1], the lesser of the horizontal and vertical ones; being a ratio, it does not depend
on exposure or contrast. It is computed at a normalised scale (short side 960 to 1919 px, by
integer box reduction) so that a 12-megapixel phone photo and a 640x480 one are comparable.
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageFilter, ImageStat

ANALYSIS_SHORT_SIDE = 960
_REBLUR = ImageFilter.BoxBlur(4)

# EXIF orientation -> the transposition that shows the image upright (as ImageOps.exif_transpose)
_UPRIGHT: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def analysis_view(gray: Image.Image) -> Image.Image:
    factor = min(gray.size) // ANALYSIS_SHORT_SIDE
    return gray.reduce(factor) if factor > 1 else gray


def sharpness(gray: Image.Image) -> float:
    """Crété-Roffet sharpness of a grayscale ("L") image, rounded to 4 places."""
    view = analysis_view(gray)
    reblurred = view.filter(_REBLUR)
    scores = []
    for dx, dy in ((1, 0), (0, 1)):
        variation = ImageChops.difference(view, ImageChops.offset(view, dx, dy))
        kept = ImageChops.difference(reblurred, ImageChops.offset(reblurred, dx, dy))
        lost = ImageChops.subtract(variation, kept)
        total = ImageStat.Stat(variation).sum[0]
        scores.append(ImageStat.Stat(lost).sum[0] / total if total else 0.0)
    return round(min(scores), 4)


def perceptual_hash(gray: Image.Image, orientation: int = 1) -> str:
    """64-bit difference hash (dHash) of the upright image, as 16 hex digits."""
    small = gray.resize((64, 64), Image.Resampling.BOX)
    if orientation in _UPRIGHT:
        small = small.transpose(_UPRIGHT[orientation])
    pixels = small.resize((9, 8), Image.Resampling.BOX).tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            bits = (bits << 1) | (1 if left > right else 0)
    return f"{bits:016x}"


def hamming(a: str, b: str) -> int:
    """Bits that differ between two perceptual hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
