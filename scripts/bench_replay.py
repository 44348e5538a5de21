"""Benchmark replay: N generated cases (no evidence files), streamed from disk, in memory.

Three ways through the same files, in one run:
- floor: read each file, parse its JSON, and seal (``auditlog.seal``: canonical JSON and its
  SHA-256) as many log entries as our replay logs for that case (counted once, untimed);
- adjudicator: ``read_case`` + ``replay`` (one shared transitions Machine);
- naive: the same, but with a transitions Machine built for each case.
Targets: >= 4x naive (``vs_naive``), within 25x of the floor (``floor_ratio``, the floor's
rate over ours), and memory that does not grow with the number of cases (compare the RSS
after 10% and at the end).

``--db URL`` also imports ``--db-cases`` of the cases into a fresh database of that kind (a
temporary SQLite file beside the one named; a new schema in the PostgreSQL database named,
dropped after) through the path ``adjudicator replay --db`` takes (``replay_many``: batches
of ``IMPORT_BATCH`` cases a transaction), and, as a baseline, writes the very rows that import
stored (disputes, events, evidence, decisions, log, log head, effects: read back from it)
into another fresh database with the raw driver (``sqlite3``, or ``psycopg``), batched the
same way: the pure cost of the driver writing them. Targets: SQLite >= 5,000 cases/s and
PostgreSQL >= 2,000 cases/s on the project's 2-core machine, or >= 60% of the raw baseline.

The in-memory figures are cases per second of this process's CPU time (other processes on
a busy machine do not count), the database figures per second of wall time (they include the
database's own work). Each is the median of ``--rounds`` rounds; within a round the three
in-memory ways take turns, 500 cases at a time, and the import and its raw baseline run one
after the other. The last line printed is one JSON object: cases, cases_per_s, naive_cases_per_s,
floor_cases_per_s, vs_naive, floor_ratio, peak_rss_mb; with ``--db`` also db_cases_per_s,
raw_db_cases_per_s, db_vs_raw, db_target_cases_per_s and db_target_met.
Run: ``python scripts/bench_replay.py [-n 20000] [--rounds 3] [--db sqlite:///bench.db]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import resource
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from statistics import median
from typing import Any

from transitions import Machine, MachineError

import adjudicator.workflow as workflow_module
from adjudicator.auditlog import GENESIS, seal
from adjudicator.casefile import read_case
from adjudicator.lifecycle import TABLE, RefusedEvent, State
from adjudicator.replay import replay

CHUNK = 500  # cases the three in-memory ways take in turn
TARGET_VS_NAIVE = 4.0
TARGET_FLOOR_RATIO = 25.0
DB_TARGETS = {"sqlite": 5_000.0, "postgresql": 2_000.0}  # cases/s on the 2-core machine
TARGET_OF_RAW = 0.60  # ... or this share of the raw driver's rate
# what the raw baseline writes, in the order the import writes it; the surrogate ids the
# database gives are left to it, as the import leaves them
TABLES = ("disputes", "events", "evidence", "decisions", "log", "effects")
SURROGATE = {"events", "evidence", "decisions", "effects"}


CLAIMS = ["visible_defect", "wrong_item", "missing_parts", "not_as_described", "invisible_defect"]


def generate(folder: Path, n: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for index in range(n):
        day = 4 + rng.randrange(3)
        paid = f"{rng.randrange(20, 9000)}.{rng.randrange(100):02d}"
        kind = rng.random()
        claim = rng.choice(CLAIMS)
        remedy = rng.choice(["refund_only", "return_and_refund"])

        def at(hours: float, day: int = day) -> str:
            return f"2026-03-{day:02d}T{10 + int(hours):02d}:{int(hours * 60) % 60:02d}:00+08:00"

        events: list[dict[str, Any]] = [{"at": at(0), "actor": "buyer", "action": "open"}]
        finding = None
        if kind < 0.25:
            events.append({"at": at(1), "actor": "merchant", "action": "agree"})
        elif kind < 0.35:
            pass  # the merchant never answers
        elif kind < 0.45:
            events.append({"at": at(1), "actor": "merchant", "action": "reject"})  # lapses
        else:
            events += [
                {"at": at(1), "actor": "merchant", "action": "reject", "reason": "不同意"},
                {"at": at(2), "actor": "buyer", "action": "escalate"},
            ]
            if kind < 0.5:
                # not_received admits no return (its scope): a refund only
                claim, finding, remedy = "not_received", "carrier_loss", "refund_only"
                events.append(
                    {"at": at(3), "actor": "platform", "action": "finding", "finding": finding}
                )
            elif kind < 0.55:
                events.append({"at": at(3), "actor": "buyer", "action": "withdraw"})
            elif claim != "invisible_defect":
                events.append({"at": at(3), "actor": "buyer", "action": "evidence_complete"})
        case = {
            "format": "dispute-case/1",
            "case_id": f"BENCH-{index:06d}",
            "order": {
                "order_id": f"O-{index}",
                "category": "general",
                "paid_amount": paid,
                "currency": "CNY",
                "seven_day_return": True,
                "shipped_at": "2026-03-02T09:00:00+08:00",
                "tracking_no": "SF1",
                "signed_at": "2026-03-03T15:20:00+08:00",
                "items": [{"sku": "S", "name": "商品", "price": paid, "quantity": 1}],
            },
            "claim": {"type": claim, "requested_remedy": remedy},
            "events": events,
        }
        path = folder / f"{index:06d}.json"
        path.write_text(json.dumps(case, ensure_ascii=False))
        paths.append(path)
    return paths


def entries_per_case(paths: list[Path]) -> list[int]:
    """How many log entries our replay writes for each case (counted once, untimed)."""
    return [len(replay(read_case(path)).log) for path in paths]


def floor(paths: list[Path], entries: list[int]) -> None:
    """Read, parse, and seal as many log entries as our replay logs for each case (bodies
    made of its events, taken in turn): what no replay can do without."""
    for path, count in zip(paths, entries, strict=True):
        case = json.loads(path.read_text("utf-8"))
        events, prev = case["events"], GENESIS
        for seq in range(1, count + 1):
            body = {"case_id": case["case_id"], **events[(seq - 1) % len(events)]}
            prev = seal(seq, prev, body)["hash"]


def ours(paths: list[Path]) -> None:
    for path in paths:
        replay(read_case(path))


@contextlib.contextmanager
def machine_per_case() -> Iterator[None]:
    """Swap the shared machine for one built per case (the naive design, for comparison)."""
    machines: dict[str, Machine] = {}

    class Model:
        def __init__(self, state: str) -> None:
            self.state = state

    def fire(
        case_id: str,
        state: State,
        event: str,
        guards: dict[str, Callable[[], bool]] | None = None,
    ) -> State:
        if case_id not in machines:
            machines.clear()  # the previous case is done
            model = Model(state.value)
            machine = Machine(
                model=model,
                states=[s.value for s in State],
                initial=state.value,
                auto_transitions=False,
            )
            for trigger, sources, dest, condition in TABLE:
                machine.add_transition(
                    trigger,
                    [s.value for s in sources],
                    dest.value if dest else None,
                    conditions=[f"guard_{condition}"] if condition else None,
                )
            machines[case_id] = machine
        machine = machines[case_id]
        model = machine.models[0]
        model.state = state.value
        for name, check in (guards or {}).items():
            setattr(model, f"guard_{name}", check)
        try:
            if not model.trigger(event):
                raise RefusedEvent(case_id, state, event)
        except MachineError:
            raise RefusedEvent(case_id, state, event) from None
        return State(model.state)

    original = workflow_module.fire  # type: ignore[attr-defined]
    workflow_module.fire = fire  # type: ignore[attr-defined]
    try:
        yield
    finally:
        workflow_module.fire = original  # type: ignore[attr-defined]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seconds(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_seconds(fn: Callable[[], None]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def timed(fn: Callable[[], None], count: int) -> float:
    return count / seconds(fn)


def in_memory(paths: list[Path], entries: list[int]) -> tuple[float, float, float]:
    """One round: cases per second of CPU time of the floor, ours and the naive design (they
    run in this process alone, so other processes on the machine do not count, as wall time
    would). They take turns, CHUNK cases at a time, so that what the machine's load still
    does (caches, clock) hits all three alike."""
    floor_s = ours_s = naive_s = 0.0
    for start in range(0, len(paths), CHUNK):
        chunk, counts = paths[start : start + CHUNK], entries[start : start + CHUNK]
        floor_s += cpu_seconds(lambda: floor(chunk, counts))  # noqa: B023 - called at once
        ours_s += cpu_seconds(lambda: ours(chunk))  # noqa: B023
        with machine_per_case():
            naive_s += cpu_seconds(lambda: ours(chunk))  # noqa: B023
    return len(paths) / floor_s, len(paths) / ours_s, len(paths) / naive_s


# --- into a database ------------------------------------------------------------------------


def backend(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name()


@contextlib.contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, empty database of ``url``'s kind: an SQLite file in a temporary folder beside
    the one named, or a new schema in the PostgreSQL database named (dropped after)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        beside = Path(str(parsed.database or "bench.db")).resolve().parent
        with tempfile.TemporaryDirectory(prefix="bench-replay-db-", dir=beside) as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


Batch = dict[str, list[tuple[Any, ...]]]  # a table's rows (the head: its one new value)


def into_database(url: str, paths: list[Path]) -> tuple[float, dict[str, list[str]], list[Batch]]:
    """Cases per second imported as ``replay --db`` imports them (``replay_many``), into a
    fresh database; and what that import wrote: each table's columns and, per batch of
    cases, its rows (read back afterwards, untimed)."""
    from adjudicator.replay import replay_many
    from adjudicator.service import Adjudicator

    with fresh_database(url) as fresh, tempfile.TemporaryDirectory(prefix="bench-store-") as store:
        service = Adjudicator.from_url(fresh, evidence_dir=Path(store))
        refused: list[str] = []

        def into() -> None:
            for path, result in replay_many(service, paths):
                if isinstance(result, Exception):
                    refused.append(f"{path}: {result}")

        try:
            rate = timed(into, len(paths))
            broken = service.verify_log()[1]
            columns, batches = written(service, paths)
        finally:
            service.close()
    if refused or broken is not None:
        raise SystemExit(f"the import into {url} went wrong: {refused[:3]} {broken}")
    return rate, columns, batches


def written(service: Any, paths: list[Path]) -> tuple[dict[str, list[str]], list[Batch]]:
    """Each table's rows as the import stored them, cut into its batches of cases."""
    from sqlalchemy import text

    from adjudicator.service import IMPORT_BATCH

    batch_of: dict[str, int] = {}
    for number, path in enumerate(paths):
        batch_of[read_case(path).case_id] = number // IMPORT_BATCH
    batches: list[Batch] = [
        {table: [] for table in (*TABLES, "log_head")}
        for _ in range(-(-len(paths) // IMPORT_BATCH))
    ]
    columns: dict[str, list[str]] = {}
    with service.engine.connect() as connection:
        for table in TABLES:
            order = "seq" if table == "log" else "case_id" if table == "disputes" else "id"
            found = connection.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
            keys = list(found.keys())
            names = [k for k in keys if not (table in SURROGATE and k == "id")]
            columns[table] = names
            for row in found.mappings():
                batches[batch_of[row["case_id"]]][table].append(tuple(row[k] for k in names))
    seq, hash_ = columns["log"].index("seq"), columns["log"].index("hash")
    for batch in batches:
        last = batch["log"][-1]
        batch["log_head"] = [(last[seq], last[hash_])]
    return columns, batches


def raw_database(url: str, columns: dict[str, list[str]], batches: list[Batch]) -> float:
    """Cases per second the raw driver writes the import's rows at, into a fresh database
    whose schema the migrations made: one transaction per batch, one executemany per
    table, the head moved once, as the import does."""
    from adjudicator.service import Adjudicator

    cases = sum(len(batch["disputes"]) for batch in batches)
    with fresh_database(url) as fresh:
        Adjudicator.from_url(fresh, evidence_dir=Path(tempfile.gettempdir())).close()
        if backend(url) == "sqlite":
            rate = _raw_sqlite(fresh, columns, batches, cases)
        else:
            rate = _raw_postgresql(fresh, columns, batches, cases)
        _check_raw(fresh, batches)
    return rate


def _check_raw(url: str, batches: list[Batch]) -> None:
    """The raw baseline wrote every row the import did (untimed)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        for table in TABLES:
            found = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            if found != sum(len(batch[table]) for batch in batches):
                raise SystemExit(f"the raw baseline wrote {found} rows into {table}")
        head = connection.execute(text("SELECT seq FROM log_head")).scalar_one()
        if head != batches[-1]["log_head"][0][0]:
            raise SystemExit(f"the raw baseline left the log head at {head}")
    engine.dispose()


def _statements(columns: dict[str, list[str]], mark: str) -> dict[str, str]:
    out = {
        table: f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
        for table, names in columns.items()
    }
    out["log_head"] = f"UPDATE log_head SET seq = {mark}, hash = {mark} WHERE id = 1"
    return out


def _raw_sqlite(url: str, columns: dict[str, list[str]], batches: list[Batch], n: int) -> float:
    from sqlalchemy.engine import make_url

    # the import's connection settings (adjudicator/database.py): WAL, synchronous=NORMAL,
    # BEGIN IMMEDIATE
    connection = sqlite3.connect(str(make_url(url).database), isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    statements = _statements(columns, "?")

    def write() -> None:
        for batch in batches:
            connection.execute("BEGIN IMMEDIATE")
            for table in (*TABLES[:5], "log_head", "effects"):
                if batch[table]:
                    connection.executemany(statements[table], batch[table])
            connection.execute("COMMIT")

    try:
        return timed(write, n)
    finally:
        connection.close()


def _raw_postgresql(url: str, columns: dict[str, list[str]], batches: list[Batch], n: int) -> float:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    connection = psycopg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        options=str(parsed.query["options"]),
    )
    statements = _statements(columns, "%s")

    def write() -> None:
        with connection.cursor() as cursor:
            for batch in batches:
                for table in (*TABLES[:5], "log_head", "effects"):
                    if batch[table]:
                        cursor.executemany(statements[table], batch[table])
                connection.commit()

    try:
        return timed(write, n)
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--cases", type=int, default=20_000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds; medians are reported"
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="also import cases into a fresh database of this kind, e.g. sqlite:///bench.db "
        "(a temporary file beside it) or postgresql+psycopg://... (a new schema in it)",
    )
    parser.add_argument("--db-cases", type=int, default=2_000, help="how many, with --db")
    args = parser.parse_args()
    floors, rates, naives, dbs, raws = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        paths = generate(Path(tmp), args.cases)
        entries = entries_per_case(paths)  # untimed: what the floor seals
        floor(paths[:200], entries[:200])  # warm up
        ours(paths[:200])
        tenth = max(1, len(paths) // 10)
        ours(paths[:tenth])
        rss_tenth = rss_mb()
        ours(paths)
        rss_all = rss_mb()  # after all cases, before the naive run's machines
        stored = paths[: args.db_cases]
        for _ in range(args.rounds):
            floor_rate, rate, naive_rate = in_memory(paths, entries)
            floors.append(floor_rate)
            rates.append(rate)
            naives.append(naive_rate)
            if args.db is not None:
                rate, columns, batches = into_database(args.db, stored)
                dbs.append(rate)
                raws.append(raw_database(args.db, columns, batches))
    floor_rate, rate, naive_rate = median(floors), median(rates), median(naives)
    ratios = [r / n for r, n in zip(rates, naives, strict=True)]
    vs_naive, floor_ratio = rate / naive_rate, floor_rate / rate
    print(f"cases: {len(paths)}, rounds: {args.rounds} (medians)")
    print(f"floor (read + parse + seal each entry): {floor_rate:10.0f} cases/s")
    print(f"adjudicator (shared machine):           {rate:10.0f} cases/s")
    print(f"naive (machine per case):               {naive_rate:10.0f} cases/s")
    print(
        f"vs naive: {vs_naive:.2f}x (target >= {TARGET_VS_NAIVE:g}; per round "
        f"{', '.join(f'{r:.2f}' for r in ratios)}); "
        f"floor / adjudicator: {floor_ratio:.1f}x (target <= {TARGET_FLOOR_RATIO:g})"
    )
    print(f"peak RSS after 10% of the cases {rss_tenth:.1f} MB, after all {rss_all:.1f} MB")
    result: dict[str, Any] = {
        "cases": len(paths),
        "cases_per_s": round(rate, 1),
        "naive_cases_per_s": round(naive_rate, 1),
        "floor_cases_per_s": round(floor_rate, 1),
        "vs_naive": round(vs_naive, 2),
        "floor_ratio": round(floor_ratio, 2),
        "peak_rss_mb": round(rss_all, 1),
    }
    if args.db is not None:
        from adjudicator.service import IMPORT_BATCH

        db_rate, raw_rate = median(dbs), median(raws)
        target = DB_TARGETS.get(backend(args.db), DB_TARGETS["postgresql"])
        met = db_rate >= target or db_rate >= TARGET_OF_RAW * raw_rate
        print(
            f"into {backend(args.db)} ({len(stored)} cases, {IMPORT_BATCH} a transaction): "
            f"{db_rate:10.0f} cases/s (per round {', '.join(f'{r:.0f}' for r in dbs)})"
        )
        print(
            f"raw driver, the same rows:  {raw_rate:10.0f} cases/s "
            f"(per round {', '.join(f'{r:.0f}' for r in raws)})"
        )
        print(
            f"ours / raw: {db_rate / raw_rate:.0%} (target >= {target:,.0f} cases/s or >= "
            f"{TARGET_OF_RAW:.0%} of raw: {'met' if met else 'NOT met'})"
        )
        result |= {
            "db_cases_per_s": round(db_rate, 1),
            "raw_db_cases_per_s": round(raw_rate, 1),
            "db_vs_raw": round(db_rate / raw_rate, 3),
            "db_target_cases_per_s": target,
            "db_target_met": met,
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
