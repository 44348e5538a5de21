"""The outbox of effects on a real database (SQLite, and PostgreSQL where one is configured):
written in the transaction of the entries that order them, the same whether a case is
imported at once or driven command by command, handed out in order under leases, handed out
again when a consumer dies before acknowledging, and never to two consumers at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from adjudicator import repository
from adjudicator.casefile import CaseFile, read_case
from adjudicator.database import engine_for
from adjudicator.domain import Claim, ClaimType, Remedy
from adjudicator.effects import effects_of_log
from adjudicator.errors import Unavailable, UsageError
from adjudicator.persistence import CommandRow, EffectRow, LogRow
from adjudicator.replay import replay, replay_into
from adjudicator.service import Adjudicator
from adjudicator.workflow import Case, Event
from evidence import FilesystemStore, Party
from tests.integration.test_service import T0, hours, order

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"
# decided and paid, appealed, rejected; an exchange that falls back to a refund; a decided
# return; an insured agreed return; a negotiated partial refund; a reshipment
SPLIT = ["KS-EX-0018", "KS-EX-0026", "KS-EX-0002", "KS-EX-0027", "KS-EX-0023", "KS-EX-0025"]
LATER = datetime(2030, 1, 1, tzinfo=UTC)  # past every example's deadlines
REFUND = Claim(ClaimType.VISIBLE_DEFECT, Remedy.REFUND_ONLY)


def stored(service: Adjudicator) -> list[dict[str, Any]]:
    """Every effect row's body, by id."""
    with Session(service.engine) as session:
        table = EffectRow.__table__.c  # type: ignore[attr-defined]
        rows = session.execute(select(table.id, table.body).order_by(table.id))
        return [{"id": i, **json.loads(body)} for i, body in rows]


def count(service: Adjudicator, table: type[Any]) -> int:
    with Session(service.engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def without_place(effects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Effects without what depends on the database they are in (the log's seq and hash)."""
    return [{k: v for k, v in e.items() if k not in ("id", "seq", "hash")} for e in effects]


def agreed_refunds(service: Adjudicator, ids: range) -> None:
    """Disputes opened and agreed at once, one transaction each: one refund_due each."""
    source, book = service.rulebook("kuaishou.general")
    for n in ids:
        case = Case(f"R-{n:04}", book, order(), REFUND)

        def drive(unit: repository.Unit) -> None:
            unit.apply(Event(T0, Party.BUYER, "open"))
            unit.apply(Event(hours(1), Party.MERCHANT, "agree"))

        service.create(case, source, drive)


# --- written with the log ------------------------------------------------------------------------


def test_an_import_writes_the_effects_its_log_orders_in_log_order(service: Adjudicator) -> None:
    for name in SPLIT:
        replay_into(service, read_case(EXAMPLES / f"{name}.json"))
    rows = stored(service)
    log = list(service.log())  # (read to the end first: on SQLite a reader holds the lock)
    assert [{k: v for k, v in r.items() if k != "id"} for r in rows] == effects_of_log(
        log, lambda case_id: service.get(case_id).order.currency
    )
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)  # ids in log order
    in_memory = [e for name in SPLIT for e in _replayed(name)]
    assert without_place(rows) == without_place(in_memory)  # the same keys, wherever
    assert {r["kind"] for r in rows} == {
        "refund_due",
        "refund_reversed",
        "penalty",
        "penalty_reversed",
        "return_shipping",
        "shipment",
        "shipment_cancelled",
    }


def _replayed(name: str) -> list[dict[str, Any]]:
    done = replay(read_case(EXAMPLES / f"{name}.json"))
    return effects_of_log(done.log, lambda case_id: done.case.order.currency)


@pytest.mark.parametrize("name", SPLIT)
def test_command_by_command_a_case_orders_what_its_import_does(
    service: Adjudicator, name: str
) -> None:
    """Each event its own transaction, then the deadlines by tick: the later commands read
    what the earlier ones paid (a decision after an appeal pays only the difference)."""
    whole = read_case(EXAMPLES / f"{name}.json")
    first: CaseFile = replace(whole, events=whole.events[:1], until=whole.events[0].at)
    replay_into(service, first)
    for event in whole.events[1:]:
        service.apply(whole.case_id, event)
    service.tick(whole.until or LATER)
    assert without_place(stored(service)) == without_place(_replayed(name))


def test_a_tick_settles_many_disputes_in_one_transaction_each_with_its_own_ledger(
    service: Adjudicator,
) -> None:
    missing = Claim(ClaimType.MISSING_PARTS, Remedy.RESHIPMENT)
    for case_id in ("S-1", "S-2", "S-3"):
        service.open(case_id, order(), missing, at=T0)
        service.agree(case_id, at=hours(1))  # the merchant owes the missing part at once
    service.open("S-4", order(), REFUND, at=T0)  # answered by no one: agreed by default
    assert [e["kind"] for e in stored(service)] == ["shipment"] * 3
    assert service.tick(LATER).fired == 4
    effects = stored(service)[3:]
    assert [(e["case_id"], e["kind"]) for e in effects] == [
        ("S-4", "refund_due"),  # its deadline came first
        ("S-1", "shipment_cancelled"),
        ("S-1", "refund_due"),
        ("S-2", "shipment_cancelled"),
        ("S-2", "refund_due"),
        ("S-3", "shipment_cancelled"),
        ("S-3", "refund_due"),
    ]
    cancelled = {e["case_id"]: e["cancels"] for e in effects if e["kind"] == "shipment_cancelled"}
    assert cancelled == {"S-1": "S-1#3.0", "S-2": "S-2#3.0", "S-3": "S-3#3.0"}
    assert {e["amount"] for e in effects if e["kind"] == "refund_due"} == {"300.00"}


def test_a_command_that_rolls_back_leaves_no_effect(
    service: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.open("D-1", order(), REFUND, at=T0)
    entries, effects = count(service, LogRow), count(service, EffectRow)
    real = repository._insert

    def fails_after_the_log(session: Session, table: type[Any], rows: Any) -> None:
        if table is CommandRow:  # written after the log and its effects, in one transaction
            raise RuntimeError("the disk filled up")
        real(session, table, rows)

    monkeypatch.setattr(repository, "_insert", fails_after_the_log)
    with pytest.raises(RuntimeError, match="disk"):
        service.agree("D-1", at=hours(1), idempotency_key="hook-1")
    assert (count(service, LogRow), count(service, EffectRow)) == (entries, effects)
    assert service.effects(now=LATER) == []
    monkeypatch.undo()
    service.agree("D-1", at=hours(1), idempotency_key="hook-1")
    assert [e["kind"] for e in stored(service)] == ["refund_due"]


# --- handed out, leased, acknowledged -----------------------------------------------------------


def test_effects_are_leased_in_id_order_handed_out_again_after_the_lease_and_acked_once(
    service: Adjudicator,
) -> None:
    agreed_refunds(service, range(5))
    now = datetime(2030, 1, 1, tzinfo=UTC)
    first = service.effects(limit=2, lease_seconds=10, consumer="a", now=now)
    assert [(e["id"], e["delivery"], e["key"]) for e in first] == [
        (1, 1, "R-0000#3.0"),
        (2, 1, "R-0001#3.0"),
    ]
    assert first[0]["leased_until"] == "2030-01-01T00:00:10+00:00"
    assert (first[0]["kind"], first[0]["amount"], first[0]["currency"]) == (
        "refund_due",
        "300.00",
        "CNY",
    )
    json.dumps(first)  # plain JSON
    # leased: the next caller gets the next ones, and after= skips what it names
    assert [e["id"] for e in service.effects(limit=2, now=now)] == [3, 4]
    assert [e["id"] for e in service.effects(after=4, now=now)] == [5]
    assert service.effects(now=now + timedelta(seconds=9)) == []
    assert service.ack([1], now=now) == 1
    # at exactly its end a lease has ended: effect 2 comes again, 1 (acknowledged) never
    again = service.effects(now=now + timedelta(seconds=10))
    assert [(e["id"], e["delivery"]) for e in again] == [(2, 2)]
    again = service.effects(now=now + timedelta(seconds=30))  # the default lease: 30 s
    assert [(e["id"], e["delivery"]) for e in again] == [(3, 2), (4, 2), (5, 2)]
    assert service.ack([1, 2, 3, 4, 5, 5]) == 4
    assert service.ack([1, 2]) == 0  # idempotent
    assert service.effects(now=now + timedelta(days=1)) == []
    assert service.effects() == []  # the wall clock


def test_an_unknown_id_acknowledges_nothing_and_bad_arguments_are_usage_errors(
    service: Adjudicator,
) -> None:
    agreed_refunds(service, range(2))
    with pytest.raises(UsageError, match=r"ids: no effect 7, 9: nothing was acknowledged"):
        service.ack([1, 9, 7])
    assert service.ack([]) == 0
    assert [e["id"] for e in service.effects()] == [1, 2]  # 1 was not acknowledged
    cases: list[tuple[dict[str, Any], str]] = [
        ({"limit": 0}, "limit 0: must be 1 to 1000"),
        ({"limit": 1001}, "limit 1001: must be 1 to 1000"),
        ({"after": -1}, "after -1"),
        ({"after": True}, "after True"),
        ({"after": 2**63}, "after 9223372036854775808: must be 0 to 9223372036854775807"),
        ({"lease_seconds": 0}, "lease 0: a lease is more than 0"),
        ({"lease_seconds": float("nan")}, "lease nan"),
        ({"lease_seconds": 86_401}, "at most 86400 seconds"),
        ({"consumer": ""}, "consumer"),
        ({"now": datetime(2030, 1, 1)}, "needs its offset"),
    ]
    for bad, words in cases:
        with pytest.raises(UsageError, match=words):
            service.effects(**bad)
    with pytest.raises(UsageError, match="id 0"):
        service.ack([0])
    with pytest.raises(UsageError, match="id 9223372036854775808: must be 1 to"):
        service.ack([2**63])  # past a 64-bit id: refused, not an overflow in the driver
    with pytest.raises(UsageError, match="at most 1000"):
        service.ack(list(range(1, 1002)))


CONSUMER = """
import json, sys
from adjudicator.service import Adjudicator
service = Adjudicator.from_url(sys.argv[1])
done = service.effects(limit=2, lease_seconds=60, consumer="kept")
service.ack([e["id"] for e in done])
taken = service.effects(limit=3, lease_seconds=60, consumer="doomed")
print(json.dumps({"acked": [e["id"] for e in done], "taken": [e["id"] for e in taken]}),
      flush=True)
sys.stdin.readline()  # told to acknowledge: it never is
service.ack([e["id"] for e in taken])
"""


def test_a_consumer_killed_before_acknowledging_has_its_effects_handed_out_again(
    service: Adjudicator, db_url: str, tmp_path: Path
) -> None:
    agreed_refunds(service, range(6))
    env = {**os.environ, "ADJUDICATOR_EVIDENCE_DIR": str(tmp_path / "store")}
    consumer = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, db_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert consumer.stdout is not None
        said = json.loads(consumer.stdout.readline())
    finally:
        consumer.send_signal(signal.SIGKILL)  # between reading and acknowledging
        consumer.wait(timeout=30)
    assert consumer.returncode == -signal.SIGKILL
    assert (said["acked"], said["taken"]) == ([1, 2], [3, 4, 5])
    now = datetime.now(UTC)
    # its lease still runs: another consumer gets only what it did not take
    taken = service.effects(consumer="heir", lease_seconds=300, now=now)
    assert [e["id"] for e in taken] == [6]
    later = service.effects(consumer="heir", now=now + timedelta(seconds=61))
    assert [(e["id"], e["delivery"]) for e in later] == [(3, 2), (4, 2), (5, 2)]
    assert service.ack([3, 4, 5, 6]) == 4
    assert service.effects(now=now + timedelta(days=1)) == []  # acknowledged: never again


@pytest.mark.parametrize("consumers", [2, 4])
def test_consumers_pulling_at_once_each_get_every_effect_once(
    service: Adjudicator, consumers: int
) -> None:
    agreed_refunds(service, range(60))
    start = threading.Barrier(consumers)
    handed: dict[str, list[int]] = {f"c{n}": [] for n in range(consumers)}
    acked: dict[str, int] = dict.fromkeys(handed, 0)
    errors: list[BaseException] = []

    def consume(name: str) -> None:
        start.wait()
        try:
            while batch := service.effects(limit=3, lease_seconds=300, consumer=name):
                handed[name] += [e["id"] for e in batch]
                assert all(e["delivery"] == 1 for e in batch)
                acked[name] += service.ack([e["id"] for e in batch])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(name,)) for name in handed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    everything = [i for ids in handed.values() for i in ids]
    assert sorted(everything) == list(range(1, 61))  # each handed out once, to one consumer
    assert sum(acked.values()) == 60
    for ids in handed.values():
        assert ids == sorted(ids)  # each consumer sees them in id order


def test_a_cursor_never_skips_an_effect_that_commits_late(service: Adjudicator) -> None:
    """Writers commit while a consumer reads after the highest id it has had: ids come in
    commit order (given under the log head's lock), so none is left behind the cursor."""
    writers, each = 4, 10
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []

    def write(n: int) -> None:
        try:
            agreed_refunds(service, range(n * each, (n + 1) * each))
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        cursor = 0
        try:
            while True:
                finished = done.is_set()
                batch = service.effects(after=cursor, limit=5, lease_seconds=300)
                seen.extend(e["id"] for e in batch)
                service.ack([e["id"] for e in batch])
                cursor = max([cursor, *(e["id"] for e in batch)])
                if finished and not batch:
                    return
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert errors == []
    assert sorted(seen) == list(range(1, writers * each + 1))
    assert seen == sorted(seen)
    assert count(service, EffectRow) == writers * each
    assert Decimal(stored(service)[0]["amount"]) == Decimal("300.00")


def test_a_database_that_is_down_is_unavailable(tmp_path: Path) -> None:
    down = engine_for("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    service = Adjudicator(down, FilesystemStore(tmp_path))
    with pytest.raises(Unavailable, match="cannot hand out effects"):
        service.effects()
    with pytest.raises(Unavailable, match="cannot acknowledge effects"):
        service.ack([1])
    service.close()
