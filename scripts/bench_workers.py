"""Benchmark concurrent workers on one database (PostgreSQL is what it is for).

Two measurements, each for W = 1, 2, 4, 8 worker processes (``--workers``):

- deadlines: N disputes are left waiting on their merchant-answer deadline, then W
  ``tick`` workers run at once; reported as deadlines fired per second, and checked: every
  deadline fired exactly once (the log holds one ``answer_expired`` per dispute, the workers'
  counts add up to N) and the decision log still verifies.
- commands: W workers each drive their own disputes through the service API (open, reject,
  escalate, evidence_complete from both sides); reported as commands per second, and checked
  for lost updates (every dispute's version and stored events are exactly the commands that
  returned).

Each measurement runs in a fresh PostgreSQL schema (or SQLite file), and is the median of
``--rounds`` rounds, interleaved over W. Beside each rate: the speed-up over W = 1 and how
busy the machine's cores were (from /proc/stat), which says why more workers stop helping.
The N waiting disputes are made by opening one through the service and copying its row under
new ids (opening 10^4 disputes one by one would take longer than the measurement).
The last line printed is one JSON object with every figure.
Run: ``python scripts/bench_workers.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from adjudicator.domain import Claim, ClaimType, Order, OrderItem, Remedy
from adjudicator.persistence import DisputeRow
from adjudicator.service import Adjudicator
from evidence import Party

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 4, 18, 0, tzinfo=CST)
NOW = T0 + timedelta(hours=60)  # every merchant-answer deadline (48 h) is due
ORDER = Order(
    order_id="O-1",
    category="general",
    paid_amount=Decimal("300.00"),
    currency="CNY",
    items=(OrderItem("SKU-1", "kettle", Decimal("300.00"), 1),),
    paid_at=datetime(2026, 3, 1, 10, 0, tzinfo=CST),
    shipped_at=datetime(2026, 3, 2, 9, 0, tzinfo=CST),
    tracking_no="SF1",
    signed_at=datetime(2026, 3, 4, 15, 20, tzinfo=CST),
)
CLAIM = Claim(ClaimType.VISIBLE_DEFECT, Remedy.RETURN_AND_REFUND)


# --- where each round runs ----------------------------------------------------------------------
@contextmanager
def fresh_database(url: str, scratch: Path) -> Iterator[str]:
    """A new PostgreSQL schema on ``url``'s server (dropped after), or a new SQLite file."""
    if make_url(url).get_backend_name() == "sqlite":
        yield f"sqlite:///{scratch / (uuid.uuid4().hex + '.db')}"
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


def busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def run_workers(
    target: Callable[..., None], workers: int, args: tuple[Any, ...]
) -> tuple[float, float, list[Any]]:
    """Start ``workers`` processes, release them at once; (wall seconds, machine CPU busy
    fraction, what each returned)."""
    ctx = mp.get_context("spawn")
    ready, results = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(i, ready, results, args)) for i in range(workers)]
    for proc in procs:
        proc.start()
    ready.wait()
    busy0, total0 = busy_jiffies()
    start = time.perf_counter()
    returned = [results.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - start
    busy1, total1 = busy_jiffies()
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"a worker failed (exit {proc.exitcode})")
    return elapsed, (busy1 - busy0) / max(1, total1 - total0), returned


# --- deadlines ----------------------------------------------------------------------------------
def seed_waiting(url: str, scratch: Path, n: int) -> None:
    """N disputes opened at T0, each waiting on its merchant-answer deadline."""
    service = Adjudicator.from_url(url, evidence_dir=scratch / "store")
    service.open("W-TEMPLATE", ORDER, CLAIM, at=T0)
    with Session(service.engine) as session, session.begin():
        template = session.get(DisputeRow, "W-TEMPLATE")
        assert template is not None
        base = template.model_dump()
        rows = []
        for i in range(n - 1):
            case_id = f"W-{i:06d}"
            snapshot = template.snapshot.replace('"W-TEMPLATE"', json.dumps(case_id))
            rows.append({**base, "case_id": case_id, "snapshot": snapshot})
        session.execute(insert(DisputeRow), rows)
    service.close()


def tick_worker(index: int, ready: Any, results: Any, job: tuple[str, str, int]) -> None:
    url, scratch, batch = job
    service = Adjudicator.from_url(url, evidence_dir=Path(scratch) / "store")
    service.get("W-TEMPLATE")  # connect and load the rulebook before the clock starts
    ready.wait()
    ticked = service.tick(NOW, batch=batch)
    results.put((ticked.fired, len(ticked.failed)))
    service.close()


def measure_deadlines(url: str, scratch: Path, n: int, workers: int, batch: int) -> dict[str, Any]:
    with fresh_database(url, scratch) as db:
        seed_waiting(db, scratch, n)
        elapsed, busy, returned = run_workers(tick_worker, workers, (db, str(scratch), batch))
        service = Adjudicator.from_url(db, evidence_dir=scratch / "store")
        fired = Counter(e["case_id"] for e in service.log() if e["event"] == "answer_expired")
        broken = service.verify_log()[1]
        service.close()
    duplicates = sum(1 for count in fired.values() if count > 1)
    checked = {
        "fired_reported": sum(f for f, _ in returned),
        "fired_in_log": sum(fired.values()),
        "disputes_fired": len(fired),
        "duplicates": duplicates,
        "failed": sum(f for _, f in returned),
        "log_intact": broken is None,
    }
    ok = checked["fired_reported"] == checked["fired_in_log"] == checked["disputes_fired"] == n
    if not ok or duplicates or broken is not None or checked["failed"]:
        raise SystemExit(f"deadlines, {workers} workers: check failed: {checked}")
    return {"seconds": elapsed, "rate": n / elapsed, "busy": busy, **checked}


# --- commands -----------------------------------------------------------------------------------
def command_worker(index: int, ready: Any, results: Any, job: tuple[str, str, int]) -> None:
    url, scratch, disputes = job
    service = Adjudicator.from_url(url, evidence_dir=Path(scratch) / "store")
    service.rulebook("kuaishou.general")
    ready.wait()
    done = 0
    for d in range(disputes):
        case_id = f"C-{index}-{d:05d}"
        at = T0 + timedelta(minutes=d)
        service.open(case_id, ORDER, CLAIM, at=at)
        service.reject(case_id, at=at + timedelta(hours=1), reason="不同意")
        service.escalate(case_id, at=at + timedelta(hours=2))
        service.evidence_complete(case_id, Party.BUYER, at=at + timedelta(hours=3))
        service.evidence_complete(case_id, Party.MERCHANT, at=at + timedelta(hours=4))
        done += 5
    results.put(done)
    service.close()


COMMANDS_PER_DISPUTE = 5


def measure_commands(url: str, scratch: Path, total_disputes: int, workers: int) -> dict[str, Any]:
    per_worker = max(1, total_disputes // workers)
    with fresh_database(url, scratch) as db:
        Adjudicator.from_url(db, evidence_dir=scratch / "store").close()  # the schema, untimed
        elapsed, busy, returned = run_workers(
            command_worker, workers, (db, str(scratch), per_worker)
        )
        engine = create_engine(db)
        with Session(engine) as session:
            versions = list(session.exec(select(DisputeRow.version)))
            events = session.execute(text("SELECT count(*) FROM events")).scalar_one()
        engine.dispose()
    commands = sum(returned)
    lost = sum(1 for v in versions if v != COMMANDS_PER_DISPUTE)
    lost += abs(events - commands)
    if len(versions) != per_worker * workers or lost:
        raise SystemExit(f"commands, {workers} workers: {lost} lost updates")
    return {"seconds": elapsed, "rate": commands / elapsed, "busy": busy, "lost_updates": lost}


# --- report -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--db", required=True, metavar="URL")
    parser.add_argument("-n", "--disputes", type=int, default=4000, help="waiting disputes")
    parser.add_argument(
        "--commands", type=int, default=240, help="disputes driven (x5 commands; 0: skip)"
    )
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--batch", type=int, default=50, help="disputes a tick claims at once")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    print(
        f"{os.cpu_count()} cores; {args.db}; {args.disputes} deadlines, batch {args.batch}; "
        f"{args.commands * COMMANDS_PER_DISPUTE} commands; {args.rounds} rounds"
    )

    deadlines: dict[int, list[dict[str, Any]]] = {w: [] for w in counts}
    commands: dict[int, list[dict[str, Any]]] = {w: [] for w in counts}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for round_ in range(args.rounds):
            for w in counts:
                deadlines[w].append(
                    measure_deadlines(args.db, scratch, args.disputes, w, args.batch)
                )
                line = f"  round {round_ + 1}, {w} workers: "
                line += f"{deadlines[w][-1]['rate']:.0f} deadlines/s"
                if args.commands:
                    commands[w].append(measure_commands(args.db, scratch, args.commands, w))
                    line += f", {commands[w][-1]['rate']:.0f} commands/s"
                print(line, flush=True)

    summary: dict[str, Any] = {"cores": os.cpu_count(), "disputes": args.disputes}
    measured = [("deadlines", deadlines)] + ([("commands", commands)] if args.commands else [])
    for name, runs in measured:
        base = median(r["rate"] for r in runs[counts[0]])
        print(f"{name} per second (median of {args.rounds}):")
        for w in counts:
            rate = median(r["rate"] for r in runs[w])
            busy = median(r["busy"] for r in runs[w])
            print(
                f"  W={w}: {rate:8.0f}/s  x{rate / base:4.2f} of W={counts[0]}  "
                f"cores busy {busy:4.0%}"
            )
            summary[f"{name}_w{w}_per_s"] = round(rate, 1)
            summary[f"{name}_w{w}_ratio"] = round(rate / base, 2)
            summary[f"{name}_w{w}_busy"] = round(busy, 2)
    summary["duplicates"] = sum(r["duplicates"] for rs in deadlines.values() for r in rs)
    summary["lost_updates"] = sum(r["lost_updates"] for rs in commands.values() for r in rs)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
