"""``replay --db``'s bulk import (``replay_many``, ``Adjudicator.create_many``) on real SQLite
and PostgreSQL: many cases a transaction, each still all or nothing, storing what importing
them one by one stores, and safe beside another importer of the same cases."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from adjudicator import repository
from adjudicator.casefile import read_case
from adjudicator.effects import effects_of_log
from adjudicator.errors import InvalidCase
from adjudicator.replay import ReplayResult, replay, replay_into, replay_many
from adjudicator.service import Adjudicator, _BatchPrior, _Pending
from evidence.sharpness import hamming
from tests.conftest import PG_URL_ENV, pg_schema
from tests.photos import reencoded, sharp_photo

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"
TABLES = ("disputes", "events", "evidence", "decisions", "log", "effects")
PHOTO_EVENT = 3  # KS-EX-0002's events[3] submits the buyer's photo


@pytest.fixture
def other(db_url: str, tmp_path: Path) -> Iterator[Adjudicator]:
    """A second, empty database of the same kind as ``service``'s."""
    if db_url.startswith("sqlite"):
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'other.db'}"])
    else:
        urls = pg_schema(os.environ[PG_URL_ENV])
    url = next(urls)
    svc = Adjudicator.from_url(url, evidence_dir=tmp_path / "other-store")
    yield svc
    svc.close()
    next(urls, None)  # drops the schema


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    """A folder for case files, with the examples' evidence beside them."""
    folder = tmp_path / "cases"
    shutil.copytree(EXAMPLES / "evidence", folder / "evidence")
    return folder


def write_case(
    folder: Path,
    example: str,
    case_id: str,
    change: Callable[[dict[str, Any]], object] | None = None,
) -> Path:
    """The example ``example`` as dispute ``case_id``, changed by ``change``."""
    case = json.loads((EXAMPLES / f"{example}.json").read_text("utf-8"))
    case["case_id"] = case_id
    if change is not None:
        change(case)
    path = folder / f"{case_id}.json"
    path.write_text(json.dumps(case, ensure_ascii=False), "utf-8")
    return path


def with_photo(name: str) -> Callable[[dict[str, Any]], object]:
    """KS-EX-0002 with the buyer's photo ``evidence/NAME`` instead."""
    return lambda case: case["events"][PHOTO_EVENT]["evidence"][0].update(file=f"evidence/{name}")


def rows(service: Adjudicator, table: str, case_id: str | None = None) -> list[tuple[Any, ...]]:
    """A table's rows (one dispute's, or all) without surrogate ids, in their order."""
    where = "" if case_id is None else " WHERE case_id = :case_id"
    with Session(service.engine) as session:
        found = session.connection().execute(
            text(f"SELECT * FROM {table}{where} ORDER BY 1"),  # table: one of TABLES
            {"case_id": case_id},
        )
        keys = list(found.keys())
        return [
            tuple(v for k, v in zip(keys, row, strict=True) if k not in ("id", "leased_until_us"))
            for row in found
        ]


def objects(service: Adjudicator) -> set[str]:
    """The evidence bytes in the store, by name (their SHA-256), staging included."""
    root = Path(service.store.root)  # type: ignore[attr-defined]
    return {p.name for p in root.rglob("*") if p.is_file()}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def imported(
    service: Adjudicator, paths: list[Path], batch: int | None = None
) -> list[ReplayResult]:
    return [result for _, result in replay_many(service, paths, batch=batch)]


def one_by_one(service: Adjudicator, paths: list[Path]) -> list[ReplayResult]:
    out: list[ReplayResult] = []
    for path in paths:
        try:
            out.append(replay_into(service, read_case(path)))
        except InvalidCase as exc:
            out.append(exc)
    return out


def shown(results: list[ReplayResult]) -> list[Any]:
    """Results comparable across databases: the lines, and each refusal's message."""
    return [f"{type(r).__name__}: {r}" if isinstance(r, Exception) else r for r in results]


def assert_sound(service: Adjudicator) -> None:
    """One valid chain, every stored dispute what its log says, and the effects outbox
    exactly what the log orders."""
    assert service.verify_log()[1] is None
    found = service.audit()
    assert found.intact, found.problems
    with Session(service.engine) as session:
        snapshots = session.connection().execute(text("SELECT case_id, snapshot FROM disputes"))
        currency = {str(k): json.loads(v)["order"]["currency"] for k, v in snapshots}
    ordered = effects_of_log(list(service.log()), currency.__getitem__)
    with Session(service.engine) as session:
        bodies = session.connection().execute(text("SELECT body FROM effects ORDER BY id"))
        assert [json.loads(b) for (b,) in bodies] == ordered


# --- each case all or nothing ---------------------------------------------------------------


def test_an_invalid_case_in_a_batch_leaves_nothing_and_the_others_land(
    service: Adjudicator, other: Adjudicator, cases: Path
) -> None:
    photo = sharp_photo(cases / "evidence" / "only-bad.jpg", seed=11)

    def refused(case: dict[str, Any]) -> None:
        with_photo("only-bad.jpg")(case)
        case["events"][2].update(action="agree", actor="merchant")  # after a rejection

    good = [write_case(cases, "KS-EX-0018", "GOOD-1"), write_case(cases, "KS-EX-0026", "GOOD-2")]
    bad = write_case(cases, "KS-EX-0002", "BAD-1", refused)
    results = imported(service, [good[0], bad, good[1]])

    assert [type(r) for r in results] == [dict, InvalidCase, dict]
    assert isinstance(results[1], InvalidCase)
    assert results[1].pointer == "/events/2"
    assert results[:1] + results[2:] == [replay(read_case(p)).output for p in good]
    for table in TABLES:
        assert rows(service, table, "BAD-1") == [], table
    assert sha256_of(photo) not in objects(service)
    # what landed is what importing the good cases alone, one by one, stores
    assert one_by_one(other, good) == results[:1] + results[2:]
    for table in TABLES:
        assert rows(service, table) == rows(other, table), table
    assert rows(service, "effects", "GOOD-1")  # the appeal's refund and its reversal
    assert objects(service) == objects(other)
    assert_sound(service)


def test_a_case_id_already_stored_or_earlier_in_the_batch_is_refused_and_the_rest_land(
    service: Adjudicator, cases: Path
) -> None:
    first = write_case(cases, "KS-EX-0002", "DUP-1")
    replay_into(service, read_case(first))
    before = {table: rows(service, table, "DUP-1") for table in TABLES}
    again = write_case(cases, "KS-EX-0018", "DUP-1")  # another case under the same id
    fresh = write_case(cases, "KS-EX-0026", "NEW-1")
    twice = write_case(cases, "KS-EX-0013", "NEW-2")

    results = imported(service, [again, fresh, twice, twice])

    assert [type(r) for r in results] == [InvalidCase, dict, dict, InvalidCase]
    for refused in (results[0], results[3]):
        assert isinstance(refused, InvalidCase)
        assert refused.pointer == "/case_id"
        assert refused.message.endswith("is already in the database")
    assert {table: rows(service, table, "DUP-1") for table in TABLES} == before
    assert len(rows(service, "disputes", "NEW-2")) == 1
    assert len(rows(service, "log", "NEW-2")) == len(replay(read_case(twice)).log)
    assert_sound(service)


# --- the same as one by one -----------------------------------------------------------------


@pytest.mark.parametrize("batch", [4, None])
def test_a_batch_stores_what_one_by_one_imports_store_evidence_reuse_included(
    service: Adjudicator, other: Adjudicator, cases: Path, batch: int | None
) -> None:
    """One photo in three disputes, then every example, then a fourth: B's photo is the same
    picture saved again (a near-duplicate of A's), C's and D's the very file A used (reused;
    so is the example KS-EX-0002's). A, B and C are one batch, so B and C see A's evidence
    before any of it is written; D, in a later batch (of 4), sees it in the database."""
    reencoded(cases / "evidence" / "KS-EX-0002" / "buyer-crack.jpg", cases / "evidence" / "b.jpg")

    def rests(case: dict[str, Any]) -> None:
        """Only up to both parties' evidence_complete: a photo found reused loses the buyer
        the dispute (closed: no return follows), a near-duplicate goes to a reviewer."""
        del case["events"][PHOTO_EVENT + 3 :], case["expected"]

    def near_duplicate(case: dict[str, Any]) -> None:
        with_photo("b.jpg")(case)
        rests(case)

    paths = [
        write_case(cases, "KS-EX-0002", "PHOTO-A"),
        write_case(cases, "KS-EX-0002", "PHOTO-B", near_duplicate),
        write_case(cases, "KS-EX-0002", "PHOTO-C", rests),
        *sorted(EXAMPLES.glob("*.json")),  # KS-EX-0002 reuses A's photo: refused at events/6
        write_case(cases, "KS-EX-0002", "PHOTO-D", rests),
    ]

    results = imported(service, paths, batch)

    assert shown(results) == shown(one_by_one(other, paths))
    for table in TABLES:
        assert rows(service, table) == rows(other, table), table
    assert objects(service) == objects(other)
    refused = [r for r in results if isinstance(r, Exception)]
    assert [str(r).split("/cases/")[-1] for r in refused] == [
        "KS-EX-0002.json: /events/6: return_shipped is not allowed in state closed (no "
        "return is due)"
    ]
    verdicts = {
        case_id: [e["verdict"] for e in service.evidence(case_id)]
        for case_id in ("PHOTO-A", "PHOTO-B", "PHOTO-C", "PHOTO-D")
    }
    assert [(v["reasons"], v["flags"]) for v in verdicts.pop("PHOTO-A")] == [([], [])]
    assert [v["flags"] for v in verdicts.pop("PHOTO-B")] == [["near_duplicate"]]
    assert [r["state"] for r in results[1:3]] == ["under_review", "closed"]  # type: ignore[index]
    for case_id, found in verdicts.items():
        assert [v["reasons"] for v in found] == [["reused"]], case_id
    assert_sound(service)


def canonical(probe: str, hashes: list[str], max_distance: int) -> str | None:
    """The nearest of ``hashes`` within ``max_distance`` bits, ties by the smallest text."""
    near = sorted((hamming(probe, h), h) for h in hashes if hamming(probe, h) <= max_distance)
    return near[0][1] if near else None


@dataclass(frozen=True)
class Stored:
    """The database's part of a batch's prior, answering canonically (as DatabasePrior)."""

    hashes: list[str]

    def used_elsewhere(self, sha256: str) -> bool:
        return False

    def near_duplicate(self, perceptual_hash: str, max_distance: int) -> str | None:
        return canonical(perceptual_hash, self.hashes, max_distance)


def test_a_batch_near_duplicate_is_the_canonical_one_over_stored_and_pending_hashes() -> None:
    """Nearest first, ties broken by the smallest text, whichever side holds the hash."""
    probe = "00000000000000ff"
    stored = Stored(["00000000000000f0", "0000000000000f0f"])
    for pending_hashes in (
        ["00000000000000fe", "000000000000000f"],  # 1 bit off: pending wins
        ["10000000000000f0", "00000000000001ff"],  # 5 bits, and 1
        ["000000000000000f"],  # 4 bits, as the stored 00f0: the smaller text, pending's
        ["000000000000f0ff"],  # 4 bits, as the stored 00f0: the smaller text, stored's
        ["00000000000000f1"],  # 3 bits: nearer than any stored
        ["ffffffffffffffff"],  # too far: the stored one
        [],
    ):
        pending = _Pending()
        pending.perceptual_hashes = list(pending_hashes)
        prior = _BatchPrior(stored, pending)
        union = [*stored.hashes, *pending_hashes]
        for distance in (0, 1, 3, 4, 6):
            assert prior.near_duplicate(probe, distance) == canonical(probe, union, distance)
    assert _BatchPrior(stored, _Pending()).near_duplicate(probe, 3) is None


# --- concurrent importers -------------------------------------------------------------------


def test_concurrent_importers_of_overlapping_cases_store_each_once_in_one_chain(
    db_url: str, cases: Path, tmp_path: Path
) -> None:
    # no evidence (whose reuse would depend on who stores first) but in C-015, the only copy
    sources = ["KS-EX-0026", "KS-EX-0013", "KS-EX-0027", "KS-EX-0023", "KS-EX-0025"]
    paths = [
        write_case(cases, "KS-EX-0018" if n == 15 else sources[n % 5], f"C-{n:03}")
        for n in range(40)
    ]
    given = {"A": paths[:30], "B": list(reversed(paths[10:]))}  # 20 cases both import
    results: dict[str, list[tuple[Path, ReplayResult]]] = {}
    failures: list[BaseException] = []

    def importer(name: str) -> None:
        svc = Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store")
        try:
            results[name] = list(replay_many(svc, given[name], batch=5))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            svc.close()

    Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store").close()  # the schema, once
    threads = [threading.Thread(target=importer, args=(name,)) for name in given]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []

    stored: dict[str, int] = {}
    for path, result in results["A"] + results["B"]:
        if isinstance(result, dict):
            stored[path.stem] = stored.get(path.stem, 0) + 1
        else:
            assert isinstance(result, InvalidCase), result
            assert result.message == f"{path.stem} is already in the database"
    assert stored == {path.stem: 1 for path in paths}  # every case by exactly one importer
    service = Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store")
    try:
        assert len(rows(service, "disputes")) == 40
        for path in paths:
            assert len(rows(service, "log", path.stem)) == len(replay(read_case(path)).log)
        assert_sound(service)
    finally:
        service.close()


def test_an_id_stored_by_another_importer_during_a_batch_is_refused_alone(
    service: Adjudicator, db_url: str, cases: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other importer stores C-1 after this batch read which ids exist, before it
    writes. PostgreSQL: the batch's insert clashes, and the batch is judged again without
    C-1. SQLite: the batch has held the writer lock since its first read, so the other
    importer cannot get in (given 0.2 s, it gives up) and the whole batch lands."""
    paths = [write_case(cases, "KS-EX-0026", f"C-{n}") for n in range(3)]
    clash = write_case(cases, "KS-EX-0013", "C-1")  # the other importer's C-1
    sqlite = db_url.startswith("sqlite")
    engine = create_engine(db_url, connect_args={"timeout": 0.2}) if sqlite else service.engine
    rival = Adjudicator(engine, service.store)
    blocked: list[str] = []
    original = repository.Writes.flush
    pending = [lambda: replay_into(rival, read_case(clash))]

    def hooked(self: repository.Writes, session: Session) -> None:
        if pending:
            try:
                pending.pop()()
            except OperationalError as exc:
                blocked.append(str(exc.orig))
        original(self, session)

    monkeypatch.setattr(repository.Writes, "flush", hooked)
    results = imported(service, paths)
    if sqlite:
        engine.dispose()
        assert blocked == ["database is locked"]
        assert [type(r) for r in results] == [dict, dict, dict]
        assert len(rows(service, "events", "C-1")) == len(read_case(paths[1]).events)
    else:
        assert blocked == []
        assert [type(r) for r in results] == [dict, InvalidCase, dict]
        assert str(results[1]).endswith("/case_id: C-1 is already in the database")
        assert len(rows(service, "events", "C-1")) == len(read_case(clash).events)
    assert sorted(row[0] for row in rows(service, "disputes")) == ["C-0", "C-1", "C-2"]
    assert_sound(service)
