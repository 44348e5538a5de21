"""The near-duplicate index on both databases: the band look-up gives exactly the scan's
answer (the nearest stored hash of another dispute, ties by the smallest text), on random and
adversarial collections, at every distance 0 to 64; the service writes the bands; revision
0006 fills them in for rows stored before it, and goes down again."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, inspect, select, text
from sqlmodel import Session

from adjudicator import migrations
from adjudicator.database import engine_for
from adjudicator.persistence import EvidenceRow
from adjudicator.repository import DatabasePrior
from adjudicator.service import Adjudicator
from evidence import EvidenceKind, Party, neardup
from evidence.sharpness import hamming
from tests.integration.test_migrations import revision, schema_drift
from tests.integration.test_service import escalated, hours, photo
from tests.photos import reencoded

HASHES = st.integers(0, 2**64 - 1)
OWN = "P"  # the dispute the probes come from: its own photos never count
Stored = list[tuple[str, str | None]]  # (dispute, perceptual hash text or no hash)


def hex16(value: int) -> str:
    return f"{value:016x}"


def row(case_id: str, phash: str | None, n: int, bands: bool = True) -> dict[str, Any]:
    """An evidence row as the service stores one (its verdict aside)."""
    out: dict[str, Any] = {
        "case_id": case_id,
        "evidence_id": f"E{n}",
        "party": "buyer",
        "kind": "photo" if phash is not None else "chat_record",
        "sha256": f"{n:064x}",
        "perceptual_hash": phash,
        "accepted": True,
        "submitted_at": "2026-03-05T12:00:00+08:00",
        "file": f"f{n}.jpg",
        "verdict": "{}",
    }
    if bands:
        values = neardup.bands(phash) or (None,) * neardup.BANDS
        out |= {f"phash_band{k}": v for k, v in enumerate(values)}
    return out


def store(engine: Engine, stored: Stored) -> None:
    """The evidence table holds exactly ``stored``."""
    table = EvidenceRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(delete(table))
        if stored:
            rows = [row(case_id, phash, n) for n, (case_id, phash) in enumerate(stored)]
            connection.execute(insert(table), rows)


def answers(session: Session, probe: str, d: int, case_id: str = OWN) -> tuple[Any, Any]:
    """(through the index, by the scan)"""
    prior = DatabasePrior(session, case_id)
    return prior.near_duplicate(probe, d), prior.near_duplicate(probe, d, scan=True)


def expected(stored: Stored, probe: str, d: int) -> str | None:
    """The canonical answer, written out: nearest, then the smallest text, other disputes."""
    matches = [
        (hamming(probe, phash), phash)
        for case_id, phash in stored
        if case_id != OWN and phash is not None and hamming(probe, phash) <= d
    ]
    return min(matches)[1] if matches else None


def band_positions(band: int) -> list[int]:
    return [p for p in range(64) if neardup.split(1 << p)[band]]


def flip(value: int, positions: list[int]) -> int:
    for position in positions:
        value ^= 1 << position
    return value


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    made = engine_for(db_url)
    migrations.upgrade(made)
    yield made
    made.dispose()


@st.composite
def collections(draw: st.DrawFn) -> tuple[Stored, list[tuple[str, int]]]:
    """Stored hashes around a probe, and (probe, distance) pairs to ask: random hashes; hashes
    exactly d-1, d and d+1 bits away, anywhere or with every difference in one band, or shared
    out evenly over the bands (the pigeonhole's tight case); clusters that share the probe's
    band values but differ elsewhere; ties; the probe's own dispute holding the probe itself;
    rows without a hash; texts that are numbers but not 16 lower-case digits."""
    rng = draw(st.randoms(use_true_random=False))
    probe = draw(HASHES)
    d = draw(st.integers(0, 64))
    others = ["A", "B", "C"]
    stored: Stored = [(rng.choice(others), hex16(v)) for v in draw(st.lists(HASHES, max_size=6))]
    for k in (d - 1, d, d + 1):
        if 0 <= k <= 64:
            stored.append((rng.choice(others), hex16(flip(probe, rng.sample(range(64), k)))))
            band = band_positions(rng.randrange(4))
            stored.append((rng.choice(others), hex16(flip(probe, rng.sample(band, min(k, 16))))))
            even = [p for b in range(4) for p in rng.sample(band_positions(b), min(16, k // 4))]
            stored.append((rng.choice(others), hex16(flip(probe, even))))
    for _ in range(draw(st.integers(0, 12))):  # a cluster sharing one band with the probe
        keep = band_positions(rng.randrange(4))
        noise = [p for p in range(64) if p not in keep and rng.random() < 0.5]
        near = rng.sample(keep, rng.randint(0, 2))
        stored.append((rng.choice(others), hex16(flip(probe, noise + near))))
    if draw(st.booleans()):  # a tie: two texts at the same distance
        k = rng.randint(1, 8)
        stored += [(rng.choice(others), hex16(flip(probe, rng.sample(range(64), k))))] * 2
        stored.append((rng.choice(others), hex16(flip(probe, rng.sample(range(64), k)))))
    stored += [(OWN, hex16(probe)), (OWN, hex16(flip(probe, [0])))]  # its own: never answered
    stored += [(rng.choice(others), None)] * draw(st.integers(0, 2))
    odd = draw(st.lists(st.sampled_from(["upper", "short", "long"]), max_size=3))
    for kind in odd:
        value = flip(probe, rng.sample(range(64), rng.randint(0, 6)))
        if kind == "upper":
            stored.append((rng.choice(others), hex16(value).upper()))
        elif kind == "short":  # the same number, fewer digits: bands as any other
            stored.append((rng.choice(others), f"{value >> 32:x}"))
        else:  # 17 digits: not a 64-bit hash; found through MALFORMED, compared exactly
            stored.append((rng.choice(others), f"1{value:016x}"))
    rng.shuffle(stored)
    asked = [(hex16(probe), d), (hex16(probe), rng.randint(0, 64))]
    asked += [(hex16(probe), k) for k in (d - 1, d + 1) if 0 <= k <= 64]
    asked += [(p, rng.randint(0, 24)) for c, p in stored[:3] if p is not None]
    asked.append((hex16(rng.getrandbits(64)), rng.randint(0, 64)))
    return stored, asked


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(collections())
def test_the_index_answers_what_the_scan_answers(
    engine: Engine, collection: tuple[Stored, list[tuple[str, int]]]
) -> None:
    stored, asked = collection
    store(engine, stored)
    with Session(engine) as session:
        for probe, d in asked:
            through_index, by_scan = answers(session, probe, d)
            assert through_index == by_scan == expected(stored, probe, d), (probe, d)


def test_clustered_collections_at_every_distance(engine: Engine) -> None:
    """1,200 hashes in 40 clusters (each a centre and variants up to 10 bits away, some sharing
    whole bands), probed from the centres, from near them and from nowhere, at 0 to 64."""
    rng = random.Random(6)
    centres = [rng.getrandbits(64) for _ in range(40)]
    stored: Stored = []
    for i in range(1200):
        centre = centres[i % 40]
        k = rng.randint(0, 10)
        spot = band_positions(rng.randrange(4)) if i % 3 == 0 else list(range(64))
        stored.append((f"D-{i % 97}", hex16(flip(centre, rng.sample(spot, min(k, len(spot)))))))
    stored.append((OWN, hex16(centres[0])))
    store(engine, stored)
    probes = [centres[0], centres[1], flip(centres[2], rng.sample(range(64), 7))]
    probes += [rng.getrandbits(64), 0, 2**64 - 1]
    with Session(engine) as session:
        for probe in map(hex16, probes):
            for d in range(65):
                through_index, by_scan = answers(session, probe, d)
                assert through_index == by_scan == expected(stored, probe, d), (probe, d)


def test_the_service_writes_the_bands_and_finds_a_near_duplicate_through_them(
    db_url: str, tmp_path: Path
) -> None:
    service = Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store")
    first = photo(tmp_path, 7)
    for case_id in ("A", "C"):
        escalated(service, case_id)
    service.submit_evidence("A", Party.BUYER, [first, photo(tmp_path, 8)], at=hours(3))
    copy = type(first)(EvidenceKind.PHOTO, reencoded(first.file, tmp_path / "copy.jpg"))
    case_c = service.submit_evidence("C", Party.BUYER, [copy], at=hours(3))
    assert case_c.evidence[0].near_duplicate

    table = EvidenceRow.__table__  # type: ignore[attr-defined]
    with service.engine.connect() as connection:
        rows = connection.execute(select(table).order_by(table.c.id)).mappings().all()
    assert len(rows) == 3
    for stored in rows:
        assert stored["perceptual_hash"] is not None
        columns = tuple(stored[f"phash_band{k}"] for k in range(4))
        assert columns == neardup.split(int(stored["perceptual_hash"], 16))
    first_hash, copy_hash = rows[0]["perceptual_hash"], rows[2]["perceptual_hash"]
    assert hamming(first_hash, copy_hash) <= 6  # the re-encoded copy hashes (nearly) alike
    with Session(service.engine) as session:
        assert answers(session, copy_hash, 6, "C") == (first_hash, first_hash)
        assert answers(session, rows[1]["perceptual_hash"], 6, "A") == (None, None)  # its own
    service.close()


def test_0006_fills_the_bands_of_stored_photos_and_goes_down_again(db_url: str) -> None:
    engine = engine_for(db_url)
    migrations.upgrade(engine, "0005")
    rng = random.Random(3)
    stored: Stored = [(f"D-{n % 50}", hex16(rng.getrandbits(64))) for n in range(2300)]
    stored += [("D-1", None), ("D-2", "ABCDEF0123456789"), ("D-3", "1" + "0" * 16)]
    with engine.begin() as connection:  # as 0005's code wrote them: no bands
        rows = [row(c, p, n, bands=False) for n, (c, p) in enumerate(stored)]
        connection.execute(text(_insert_0005()), rows)

    migrations.upgrade(engine, "0006")  # over two batches of 2,000
    assert revision(engine) == "0006"
    with engine.connect() as connection:
        query = "SELECT perceptual_hash, phash_band0, phash_band1, phash_band2, phash_band3 "
        got = connection.execute(text(query + "FROM evidence")).all()
    assert len(got) == len(stored)
    for phash, *values in got:
        assert neardup.bands(phash) == (None if phash is None else tuple(values))
        assert phash is not None or values == [None] * 4
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("evidence")}
    for k in range(4):
        assert indexes[f"ix_evidence_phash_band{k}"] == [
            f"phash_band{k}",
            "perceptual_hash",
            "case_id",
        ]
    migrations.upgrade(engine)
    assert schema_drift(engine) == []
    with Session(engine) as session:
        for probe, d in [(stored[5][1], 0), (stored[9][1], 6), ("abcdef0123456788", 2)]:
            assert probe is not None
            assert answers(session, probe, d, "nobody") == (expected(stored, probe, d),) * 2
        assert answers(session, "0" * 16, 1, "nobody") == ("1" + "0" * 16,) * 2  # MALFORMED

    migrations.downgrade(engine, "0005")
    assert revision(engine) == "0005"
    columns = {c["name"] for c in inspect(engine).get_columns("evidence")}
    assert not any(name.startswith("phash_band") for name in columns)
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("evidence")}
    assert set(indexes) == {"ix_evidence_case_id", "ix_evidence_sha256"}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM evidence")).scalar_one() == len(stored)
    engine.dispose()


def _insert_0005() -> str:
    names = [
        "case_id",
        "evidence_id",
        "party",
        "kind",
        "sha256",
        "perceptual_hash",
        "accepted",
        "submitted_at",
        "file",
        "verdict",
    ]
    return f"INSERT INTO evidence ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
