"""Near-duplicate photos: the canonical answer, and the bands that let a database find it.

A photo's perceptual hash is a 64-bit dHash written as 16 hex digits
(:mod:`evidence.sharpness`). A stored hash is a near-duplicate of a probe when the two differ
in at most ``max_distance`` bits (the rulebook's ``near_duplicate_distance``, 0 to 64).

**The answer.** Of the stored hashes within the distance, :func:`nearest` gives the one at the
smallest distance, ties broken by the smallest hash text (compared as Python compares strings,
never by a database's collation). It depends only on the set of stored hashes, so the band
index, a scan of every stored hash and the in-memory :class:`evidence.KnownEvidence` all give
the same answer, whatever order a database returns rows in.

**The bands (multi-index hashing).** The 64 bits are split into :data:`BANDS` bands of 16
bits, each stored as an integer column with an index of its own. If two hashes differ in at
most ``d`` bits, the bands share those differences out, so at least one band differs in at
most ``d // BANDS`` bits (pigeonhole). :func:`lookups` lists, for each band, every 16-bit value
within that radius of the probe's band (1, 17, 137, 697 or 2,517 values for radius 0 to 4); a
row matching any of them is a candidate, and :func:`nearest` keeps the candidates truly within
``d``. No hash within ``d`` can be missed, and none beyond it is answered.

Past :data:`MAX_RADIUS` (``d`` of 20 and more) :func:`lookups` returns None and the caller
reads every stored hash instead. Timed at 10^6 evenly spread stored hashes with the cut-off
raised (a busy two-core machine, SQLite and PostgreSQL), a look-up at radius 1 to 5 took about
3, 13, 90-160, 300-490 and 850-1,500 ms (radius 6: 1,180 ms on SQLite), against the scan's
1,150-2,800 ms. Radius 5 (6,885 values a band, 42% of the rows as candidates) saves little even
on even hashes, would cost more than the scan on skewed ones, and binds 27,540 values, near
SQLite's limit of 32,766 a statement (radius 6 passes it). Radius 4 still costs a few times
less than the scan at 10^6 photos; on a small table the scan is cheaper at radius 3 and 4,
but both are then fast. ``scripts/bench_neardup.py --distance D`` measures a distance.

**Which bits make a band.** Band ``k`` takes the bits at (row, column) of the dHash's 8x8 grid
with ``(row + column) % 4 == k``: two bits from every row and every column, spread over the
whole picture, rather than two whole rows. Real dHashes are not evenly spread: neighbouring
bits compare overlapping pixels and agree far more often than chance, and a flat region (a
sky, a white background, a dark room) gives runs of 0 bits. A band made of two adjacent rows
would take the same value (0x0000 above all) in a large share of photos; a band sampled across
the whole grid mixes regions, so one flat region no longer decides it (reasoned, not measured:
the 80 photos of the test corpus are too few to show skew either way). Skew costs time, never
answers: a probe whose band value, or a value near it, is common gets every row holding that
value as a candidate, each checked and discarded, so a heavily skewed collection (many blank
or near-identical photos) makes a look-up approach the cost of the scan it replaces, but it
still answers the same. Hashes that are all one value (a flat image hashes to 0) land in the
same bucket of every band whatever the split.

A stored hash text that is not 1 to 16 hex digits (none that validation makes) has every band
:data:`MALFORMED`, and band 0's look-up always includes that value, so such a row is still
compared exactly as the scan compares it. A probe that is not such a text gets no look-ups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from itertools import combinations

BANDS = 4
BAND_BITS = 16
MAX_RADIUS = 4  # a band's radius past which lookups() gives up (see the module's docstring)
MALFORMED = -1  # every band of a stored hash text that is not a 64-bit hex number

Bands = tuple[int, int, int, int]

_HEX64 = re.compile(r"[0-9a-fA-F]{1,16}")


def _band_of(position: int) -> int:
    """The band of the hash bit at ``position`` (63: the grid's top-left comparison)."""
    cell = 63 - position  # row-major index in the 8x8 grid
    return (cell // 8 + cell % 8) % BANDS


@cache
def _byte_tables() -> tuple[tuple[int, ...], ...]:
    """For each byte of the hash (0: the most significant, the grid's top row) and each of its
    256 values, the bits that byte gives every band, packed as band ``k`` in bits 16k..16k+15.

    Within a band the bits keep their order in the hash (the most significant first)."""
    slots: dict[int, tuple[int, int]] = {}  # hash bit position -> (band, bit within the band)
    filled = [0] * BANDS
    for position in range(63, -1, -1):
        band = _band_of(position)
        filled[band] += 1
        slots[position] = (band, BAND_BITS - filled[band])
    tables = []
    for byte in range(8):
        shift = 56 - 8 * byte
        row = []
        for value in range(256):
            packed = 0
            for bit in range(8):
                if value >> bit & 1:
                    band, at = slots[shift + bit]
                    packed |= 1 << (band * BAND_BITS + at)
            row.append(packed)
        tables.append(tuple(row))
    return tuple(tables)


_BAND_MASK = (1 << BAND_BITS) - 1


def value_of(text: str) -> int | None:
    """The 64-bit number a hash text of 1 to 16 hex digits stands for, else None."""
    return int(text, 16) if _HEX64.fullmatch(text) else None


def split(value: int) -> Bands:
    """The four band values (each 0..65535) of a 64-bit hash."""
    packed = 0
    for byte, table in enumerate(_byte_tables()):  # made on first use (4 ms)
        packed |= table[value >> (56 - 8 * byte) & 0xFF]
    return (
        packed & _BAND_MASK,
        packed >> BAND_BITS & _BAND_MASK,
        packed >> 2 * BAND_BITS & _BAND_MASK,
        packed >> 3 * BAND_BITS & _BAND_MASK,
    )


def bands(text: str | None) -> Bands | None:
    """What a stored hash text keeps in the band columns: None for no hash, its band values,
    or :data:`MALFORMED` in every band for a text that is not a 64-bit hex number."""
    if text is None:
        return None
    value = value_of(text)
    if value is None:
        return (MALFORMED, MALFORMED, MALFORMED, MALFORMED)
    return split(value)


def radius(max_distance: int) -> int:
    """The bits a band must be within when the whole hash is within ``max_distance``."""
    return max(max_distance, 0) // BANDS


@cache
def _masks(band_radius: int) -> tuple[int, ...]:
    """Every 16-bit mask of at most ``band_radius`` set bits, fewest first."""
    return tuple(
        sum(1 << bit for bit in chosen)
        for count in range(band_radius + 1)
        for chosen in combinations(range(BAND_BITS), count)
    )


def neighbours(band_value: int, band_radius: int) -> tuple[int, ...]:
    """Every band value within ``band_radius`` bits of ``band_value`` (itself first)."""
    return tuple(band_value ^ mask for mask in _masks(band_radius))


def lookups(probe: str, max_distance: int) -> tuple[tuple[int, ...], ...] | None:
    """For each band, the values a stored hash within ``max_distance`` of ``probe`` may have
    in it (at least one of its bands has one of them; band 0's include :data:`MALFORMED`), or
    None when the bands cannot help: ``probe`` is no 64-bit hex number, ``max_distance`` is
    negative (nothing matches, but the scan says so), or the radius is past
    :data:`MAX_RADIUS`."""
    value = value_of(probe)
    if value is None or max_distance < 0 or radius(max_distance) > MAX_RADIUS:
        return None
    band_radius = radius(max_distance)
    wanted = [neighbours(band, band_radius) for band in split(value)]
    wanted[0] += (MALFORMED,)
    return tuple(wanted)


def nearest(probe: str, stored: Iterable[str | None], max_distance: int) -> str | None:
    """The canonical answer: of the ``stored`` hashes within ``max_distance`` bits of
    ``probe``, the nearest, ties broken by the smallest text; None if none is.

    Distances are :func:`evidence.sharpness.hamming`'s (hex texts read by ``int(text, 16)``);
    None entries are skipped, and repeats do not matter."""
    bits = int(probe, 16)
    best: tuple[int, str] | None = None
    for other in stored:
        if other is None:
            continue
        distance = (bits ^ int(other, 16)).bit_count()
        if distance <= max_distance and (best is None or (distance, other) < best):
            best = (distance, other)
    return None if best is None else best[1]
