"""Benchmark replay: N generated cases (no evidence files), streamed from disk, in memory.

Three ways through the same files, in one run:
- floor: read each file, parse its JSON, hash one canonical log entry per event;
- adjudicator: ``read_case`` + ``replay`` (one shared transitions Machine);
- naive: the same, but with a transitions Machine built for each case.
The last line printed is one JSON object: cases, cases_per_s, naive_cases_per_s,
floor_cases_per_s, peak_rss_mb. Targets: >= 3x naive, within 25x of the floor, and memory
that does not grow with the number of cases (compare the RSS after 10% and at the end).
Each figure is the median of interleaved rounds. ``--db URL`` also replays some of the cases
into that database through the service (one transaction per case) and reports its rate.
Run: ``python scripts/bench_replay.py [-n 20000] [--rounds 3] [--db sqlite:///bench.db]``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from statistics import median
from typing import Any

from transitions import Machine, MachineError

import adjudicator.workflow as workflow_module
from adjudicator.auditlog import canonical
from adjudicator.casefile import read_case
from adjudicator.lifecycle import TABLE, RefusedEvent, State
from adjudicator.replay import replay

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
                # rulebooks 2026.2 scope not_received to a refund without a return
                claim, finding = "not_received", "carrier_loss"
                remedy = "refund_only"
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


def floor(paths: list[Path]) -> None:
    for path in paths:
        case = json.loads(path.read_text("utf-8"))
        for event in case["events"]:
            hashlib.sha256(canonical({"case_id": case["case_id"], **event})).hexdigest()


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


def timed(fn: Callable[[list[Path]], None], paths: list[Path]) -> float:
    start = time.perf_counter()
    fn(paths)
    return len(paths) / (time.perf_counter() - start)


def into_database(url: str, paths: list[Path]) -> float:
    """Cases per second replayed into a database (one transaction per case)."""
    from adjudicator.replay import replay_into
    from adjudicator.service import Adjudicator

    with tempfile.TemporaryDirectory(prefix="bench-store-") as store:
        service = Adjudicator.from_url(url, evidence_dir=Path(store))

        def into(batch: list[Path]) -> None:
            for path in batch:
                replay_into(service, read_case(path))

        try:
            rate = timed(into, paths)
            broken = service.verify_log()[1]
        finally:
            service.close()
    if broken is not None:
        raise SystemExit(f"the log in {url} is broken: {broken}")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--cases", type=int, default=20_000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds; medians are reported"
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="also replay cases into this (new, empty) database, e.g. sqlite:///bench.db",
    )
    parser.add_argument("--db-cases", type=int, default=2_000, help="how many, with --db")
    args = parser.parse_args()
    floors, rates, naives = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        paths = generate(Path(tmp), args.cases)
        floor(paths[:200])  # warm up
        ours(paths[:200])
        tenth = max(1, len(paths) // 10)
        ours(paths[:tenth])
        rss_tenth = rss_mb()
        rss_all = 0.0
        for _ in range(args.rounds):  # interleaved, so a slow moment of the machine hits all
            floors.append(timed(floor, paths))
            rates.append(timed(ours, paths))
            rss_all = rss_all or rss_mb()  # after all cases, before the naive run's machines
            with machine_per_case():
                naives.append(timed(ours, paths))
        db_rate = None if args.db is None else into_database(args.db, paths[: args.db_cases])
    floor_rate, rate, naive_rate = median(floors), median(rates), median(naives)
    ratios = [r / n for r, n in zip(rates, naives, strict=True)]
    print(f"cases: {len(paths)}, rounds: {args.rounds} (medians)")
    print(f"floor (read + parse + hash per event): {floor_rate:10.0f} cases/s")
    print(f"adjudicator (shared machine):          {rate:10.0f} cases/s")
    print(f"naive (machine per case):              {naive_rate:10.0f} cases/s")
    print(
        f"vs naive: {rate / naive_rate:.2f}x (target >= 3; per round "
        f"{', '.join(f'{r:.2f}' for r in ratios)}); "
        f"floor / adjudicator: {floor_rate / rate:.1f}x (target <= 25)"
    )
    print(f"peak RSS after 10% of the cases {rss_tenth:.1f} MB, after all {rss_all:.1f} MB")
    result: dict[str, Any] = {
        "cases": len(paths),
        "cases_per_s": round(rate, 1),
        "naive_cases_per_s": round(naive_rate, 1),
        "floor_cases_per_s": round(floor_rate, 1),
        "peak_rss_mb": round(rss_all, 1),
    }
    if db_rate is not None:
        print(f"into {args.db}: {db_rate:10.0f} cases/s ({min(args.db_cases, len(paths))} cases)")
        result["db_cases_per_s"] = round(db_rate, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
