"""Benchmark the near-duplicate look-up: the band index against the scan it replaced.

A fresh database (a temporary SQLite file, or a new schema on the PostgreSQL server ``--db``
names, dropped afterwards) gets its schema through the migrations, as a service start makes
it, then ``--stored`` N evidence rows with random 64-bit photo hashes, written straight through
the driver (bands and all, as ``_evidence_row`` writes them). Then ``--probes`` P hashes are
looked up through :meth:`adjudicator.repository.DatabasePrior.near_duplicate`, the path
evidence validation takes, at ``--distance`` (the rulebook's default, 6): half of them are a
stored hash with 0 to D bits flipped (a match is there to find), half are random. The first
``--scan-probes`` of them (half from each half) are looked up again by reading every stored
hash (``scan=True``, the reference): the answers must be the same (exit 1 if not).

On PostgreSQL the loaded table is vacuumed before the look-ups, as autovacuum soon does: the
indexes answer from themselves only for rows the visibility map marks all-visible.
``--no-vacuum`` measures the moment before that, when every candidate's row is read too.
From ``--distance`` 20 on the bands do not help and the look-up is the scan itself.

Target: at most 10 ms a photo (the median) with 1,000,000 stored hashes, on either database.
The last line printed is one JSON object with every figure.
Run: ``python scripts/bench_neardup.py [--stored N] [--db URL] [--probes P]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from adjudicator import migrations
from adjudicator.database import engine_for
from adjudicator.repository import DatabasePrior
from evidence import neardup

TARGET_MS = 10.0
TARGET_STORED = 1_000_000
PROBE_CASE = "PROBE"  # the dispute the probes come from: it holds no stored row
PHOTOS_PER_DISPUTE = 4
COLUMNS = (
    "case_id",
    "evidence_id",
    "party",
    "kind",
    "sha256",
    "perceptual_hash",
    *(f"phash_band{k}" for k in range(neardup.BANDS)),
    "accepted",
    "submitted_at",
    "file",
    "verdict",
)


@contextmanager
def fresh_database(url: str | None, scratch: Path) -> Iterator[str]:
    """A new SQLite file (no ``url``), or a new schema on ``url``'s server, dropped after."""
    if url is None or make_url(url).get_backend_name() == "sqlite":
        yield f"sqlite:///{scratch / 'neardup.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def rows(hashes: list[int]) -> Iterator[tuple[Any, ...]]:
    for i, value in enumerate(hashes):
        phash = f"{value:016x}"
        case_id = f"B-{i // PHOTOS_PER_DISPUTE:07d}"
        yield (
            case_id,
            f"E{i % PHOTOS_PER_DISPUTE + 1}",
            "buyer",
            "photo",
            f"{i:064x}",  # distinct bytes: a stand-in for the file's SHA-256
            phash,
            *neardup.split(value),
            True,
            "2026-03-05T12:00:00+08:00",
            f"photo-{i}.jpg",
            "{}",
        )


def fill(engine: Engine, hashes: list[int], vacuum: bool) -> None:
    """The stored photos, written through the driver: COPY on PostgreSQL, executemany in one
    transaction on SQLite. On PostgreSQL the table is then vacuumed and analysed, as
    autovacuum does soon after so many inserts (``vacuum``; without it the visibility map is
    empty and index-only scans read every candidate's row too); SQLite's statistics are not
    gathered, as the service never gathers them."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY evidence ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows(hashes):
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in COLUMNS)
            cursor.execute("BEGIN")  # the engine's connections commit each statement otherwise
            written = rows(hashes)
            while batch := list(islice(written, 10_000)):
                cursor.executemany(
                    f"INSERT INTO evidence ({', '.join(COLUMNS)}) VALUES ({marks})", batch
                )
        connection.commit()
    finally:
        connection.close()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
            autocommit.execute(text("VACUUM ANALYZE evidence" if vacuum else "ANALYZE evidence"))


def probes(hashes: list[int], count: int, distance: int, rng: random.Random) -> list[str]:
    """Half near a stored hash (0 to ``distance`` bits flipped), half random, interleaved."""
    out = []
    for i in range(count):
        if i % 2 == 0:
            value = rng.choice(hashes)
            for bit in rng.sample(range(64), rng.randint(0, min(distance, 64))):
                value ^= 1 << bit
        else:
            value = rng.getrandbits(64)
        out.append(f"{value:016x}")
    return out


def look_up(engine: Engine, probe: str, distance: int, scan: bool) -> tuple[float, str | None]:
    """One look-up in its own session and transaction, as a command's validation makes it;
    (milliseconds, answer)."""
    with Session(engine) as session, session.begin():
        start = time.perf_counter()
        answer = DatabasePrior(session, PROBE_CASE).near_duplicate(probe, distance, scan=scan)
        elapsed = time.perf_counter() - start
    return elapsed * 1000, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", type=int, default=TARGET_STORED, help="stored photo hashes")
    parser.add_argument("--db", help="postgresql+psycopg://... (default: a temporary SQLite file)")
    parser.add_argument("--probes", type=int, default=200, help="hashes looked up by the index")
    parser.add_argument(
        "--scan-probes", type=int, default=10, help="of those, how many the scan looks up too"
    )
    parser.add_argument("--distance", type=int, default=6, help="near_duplicate_distance")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="PostgreSQL: measure before the loaded table is vacuumed (autovacuum has not run)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    hashes = [rng.getrandbits(64) for _ in range(args.stored)]
    asked = probes(hashes, args.probes, args.distance, rng)

    with tempfile.TemporaryDirectory() as scratch, fresh_database(args.db, Path(scratch)) as url:
        engine = engine_for(url)
        migrations.upgrade(engine)
        start = time.perf_counter()
        fill(engine, hashes, vacuum=not args.no_vacuum)
        filled = time.perf_counter() - start
        print(f"{engine.dialect.name}: {args.stored:,} stored photo hashes in {filled:.1f} s")

        look_up(engine, asked[0], args.distance, scan=False)  # connect, compile: untimed
        timed = [look_up(engine, probe, args.distance, scan=False) for probe in asked]
        ms = sorted(t for t, _ in timed)
        found = sum(1 for _, answer in timed if answer is not None)
        compared = [i for i in range(len(asked)) if i < args.scan_probes]
        scanned = [look_up(engine, asked[i], args.distance, scan=True) for i in compared]
        engine.dispose()

    differ = [asked[i] for i, (_, a) in zip(compared, scanned, strict=True) if a != timed[i][1]]
    figures = {
        "database": make_url(url).get_backend_name(),
        "stored": args.stored,
        "distance": args.distance,
        "probes": len(asked),
        "found": found,
        "ms_per_photo": round(median(ms), 3),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 3),
        "max_ms": round(ms[-1], 3),
        "scan_probes": len(scanned),
        "scan_ms_per_photo": round(median(t for t, _ in scanned), 3) if scanned else None,
        "same_as_scan": not differ,
        "indexed": neardup.lookups(asked[0], args.distance) is not None,
        "vacuumed": engine.dialect.name == "postgresql" and not args.no_vacuum,
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
        "fill_seconds": round(filled, 1),
    }
    meets = figures["ms_per_photo"] <= TARGET_MS
    print(
        f"index: {figures['ms_per_photo']} ms a photo (median; p90 {figures['p90_ms']}, max "
        f"{figures['max_ms']}) over {len(asked)} probes at distance {args.distance}, "
        f"{found} found" + ("" if figures["indexed"] else " (the bands do not help: a scan)")
    )
    if scanned:
        print(
            f"scan:  {figures['scan_ms_per_photo']} ms a photo (median of {len(scanned)}); "
            f"the index answered {'the same' if not differ else 'differently: ' + str(differ)}"
        )
    print(
        f"target: <= {TARGET_MS:g} ms a photo at {TARGET_STORED:,} stored: "
        + ("met" if meets else "NOT met")
        + ("" if args.stored >= TARGET_STORED else f" (measured at {args.stored:,})")
        + f"; load average {figures['load_average']} on {figures['cpus']} CPUs"
    )
    print(json.dumps(figures))
    if differ:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
