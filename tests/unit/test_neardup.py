"""The near-duplicate bands and the canonical answer (evidence.neardup), without a database.

The pigeonhole property is what makes the band index exact: whenever a stored hash is within
``d`` bits of a probe, one of its four bands holds one of the values :func:`lookups` lists for
that band. The database tests (tests/integration/test_neardup_index.py) compare the index
with the scan; these pin the pure logic they rest on.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence import KnownEvidence, neardup
from evidence.sharpness import hamming

HASHES = st.integers(0, 2**64 - 1)


def text(value: int) -> str:
    return f"{value:016x}"


def band_positions(band: int) -> list[int]:
    """The hash bit positions (0: least significant) that make ``band``."""
    return [p for p in range(64) if neardup.split(1 << p)[band]]


def flipped(value: int, positions: list[int]) -> int:
    for position in positions:
        value ^= 1 << position
    return value


def test_every_bit_is_in_exactly_one_band_sixteen_to_a_band_spread_over_the_grid() -> None:
    seen: dict[int, list[int]] = {k: [] for k in range(neardup.BANDS)}
    for position in range(64):
        parts = neardup.split(1 << position)
        assert sorted(p.bit_count() for p in parts) == [0, 0, 0, 1]
        band = next(k for k, p in enumerate(parts) if p)
        seen[band].append(position)
    for band, positions in seen.items():
        assert len(positions) == 16
        cells = [63 - p for p in positions]  # row-major cells of the 8x8 dHash grid
        assert all((cell // 8 + cell % 8) % 4 == band for cell in cells)
        assert sorted({cell // 8 for cell in cells}) == list(range(8))  # two bits of each row
        assert sorted({cell % 8 for cell in cells}) == list(range(8))  # and of each column


@given(HASHES, HASHES)
def test_splitting_keeps_every_bit_and_every_difference(a: int, b: int) -> None:
    parts_a, parts_b = neardup.split(a), neardup.split(b)
    assert all(0 <= p < 2**16 for p in parts_a)
    assert sum(p.bit_count() for p in parts_a) == a.bit_count()
    assert neardup.split(a ^ b) == tuple(x ^ y for x, y in zip(parts_a, parts_b, strict=True))
    assert sum((x ^ y).bit_count() for x, y in zip(parts_a, parts_b, strict=True)) == hamming(
        text(a), text(b)
    )


def test_what_a_stored_hash_keeps_in_its_band_columns() -> None:
    assert neardup.bands(None) is None
    assert neardup.bands("0" * 16) == (0, 0, 0, 0)
    assert neardup.bands("f" * 16) == (0xFFFF,) * 4
    assert neardup.bands("F" * 16) == (0xFFFF,) * 4
    assert neardup.bands("1") == neardup.split(1)  # a short text is the same number
    malformed = (neardup.MALFORMED,) * 4
    for bad in (
        "",
        "1" * 17,
        "0x12",
        "zz",
        " 12",
        "12 ",
        "1_2",
        "-1",
        "\uff11\uff12",
    ):  # the last: full-width digits
        assert neardup.bands(bad) == malformed, bad


@pytest.mark.parametrize(("radius", "count"), [(0, 1), (1, 17), (2, 137), (3, 697), (4, 2517)])
def test_the_neighbours_of_a_band_value_are_every_value_within_the_radius(
    radius: int, count: int
) -> None:
    for value in (0, 0xFFFF, 0xA5C3):
        near = neardup.neighbours(value, radius)
        assert near[0] == value
        assert len(near) == len(set(near)) == count
        assert all((value ^ other).bit_count() <= radius for other in near)
        assert all(0 <= other < 2**16 for other in near)
    exhaustive = {v for v in range(2**16) if (v ^ 0xA5C3).bit_count() <= radius}
    assert set(neardup.neighbours(0xA5C3, radius)) == exhaustive


def test_the_radius_is_the_distance_shared_out_over_four_bands() -> None:
    assert [neardup.radius(d) for d in (0, 3, 4, 6, 7, 8, 15, 16, 19, 20, 64)] == [
        0,
        0,
        1,
        1,
        1,
        2,
        3,
        4,
        4,
        5,
        16,
    ]


def test_lookups_and_when_the_bands_cannot_help() -> None:
    probe = "0123456789abcdef"
    wanted = neardup.lookups(probe, 6)
    assert wanted is not None
    assert [len(values) for values in wanted] == [18, 17, 17, 17]  # band 0 adds MALFORMED
    assert wanted[0][-1] == neardup.MALFORMED
    assert [values[0] for values in wanted] == list(neardup.split(int(probe, 16)))
    assert neardup.lookups(probe, 19) is not None  # radius 4: the last the index answers
    assert neardup.lookups(probe, 20) is None  # radius 5: the scan
    assert neardup.lookups(probe, 64) is None
    assert neardup.lookups(probe, -1) is None
    assert neardup.lookups("zz", 6) is None
    assert neardup.lookups("1" * 17, 6) is None


@st.composite
def near_pairs(draw: st.DrawFn) -> tuple[int, int, int]:
    """(probe, other, d) with ``other`` within ``d`` bits of the probe, d up to the index's
    cut-off: differences anywhere, or all in one band, or spread evenly over the bands."""
    probe = draw(HASHES)
    d = draw(st.integers(0, 4 * neardup.MAX_RADIUS + 3))
    how = draw(st.sampled_from(["anywhere", "one band", "even"]))
    if how == "anywhere":
        positions = draw(st.permutations(range(64)))[: draw(st.integers(0, d))]
    elif how == "one band":
        band = band_positions(draw(st.integers(0, 3)))
        positions = draw(st.permutations(band))[: min(d, 16)]
    else:  # d // 4 + (some band gets one more) in each band: the pigeonhole's tight case
        positions = []
        for k in range(4):
            share = d // 4 + (1 if k < d % 4 else 0)
            positions += draw(st.permutations(band_positions(k)))[:share]
    return probe, flipped(probe, positions), d


@settings(max_examples=500)
@given(near_pairs())
def test_a_hash_within_the_distance_shares_a_looked_up_value_in_some_band(
    pair: tuple[int, int, int],
) -> None:
    probe, other, d = pair
    assert hamming(text(probe), text(other)) <= d
    wanted = neardup.lookups(text(probe), d)
    assert wanted is not None
    parts = neardup.split(other)
    assert any(parts[k] in wanted[k] for k in range(4))


def test_the_radius_is_tight_a_smaller_one_would_miss() -> None:
    probe = 0x0123456789ABCDEF
    # 7 bits: 2 + 2 + 2 + 1, so band 3 is within radius 1 and no band within radius 0
    positions = [p for k, share in enumerate((2, 2, 2, 1)) for p in band_positions(k)[:share]]
    other = neardup.split(flipped(probe, positions))
    wanted = neardup.lookups(text(probe), 7)
    assert wanted is not None
    assert [other[k] in wanted[k] for k in range(4)] == [False, False, False, True]
    exact = [set(neardup.neighbours(b, 0)) for b in neardup.split(probe)]
    assert not any(other[k] in exact[k] for k in range(4))


def test_the_answer_is_the_nearest_then_the_smallest_text_whatever_the_order() -> None:
    probe = "00000000000000ff"
    far, near_b, near_a, exact_out = (
        "0000000000000000",  # 8 bits away
        "00000000000001fe",  # 2 bits
        "00000000000000fc",  # 2 bits, and the smaller text
        "ffffffffffffffff",  # 56 bits
    )
    stored = [far, near_b, near_a, exact_out, None]
    for _ in range(20):
        random.shuffle(stored)
        assert neardup.nearest(probe, stored, 8) == near_a
        assert neardup.nearest(probe, stored, 2) == near_a
        assert neardup.nearest(probe, stored, 1) is None
        assert neardup.nearest(probe, stored, 64) == near_a
        assert neardup.nearest(probe, [far, exact_out], 8) == far  # inclusive
        assert neardup.nearest(probe, [far, exact_out], 7) is None
    assert neardup.nearest(probe, [], 64) is None
    assert neardup.nearest(probe, [probe.upper(), probe], 0) == probe.upper()  # "0…FF" < "0…ff"


@given(HASHES, st.lists(HASHES, max_size=30), st.integers(0, 64), st.randoms())
def test_nearest_is_the_minimum_of_distance_and_text_over_the_matches(
    probe: int, others: list[int], d: int, rng: random.Random
) -> None:
    texts = [text(o) for o in others]
    texts += [text(flipped(probe, rng.sample(range(64), k))) for k in (d, d + 1) if k <= 64]
    matches = [(hamming(text(probe), t), t) for t in texts if hamming(text(probe), t) <= d]
    expected = min(matches)[1] if matches else None
    assert neardup.nearest(text(probe), texts, d) == expected
    rng.shuffle(texts)
    assert neardup.nearest(text(probe), texts, d) == expected
    known = KnownEvidence(perceptual_hashes=tuple(texts))
    assert known.near_duplicate(text(probe), d) == expected
