"""Writers racing on one database (SQLite, and PostgreSQL where one is configured): optimistic
concurrency with bounded retries, idempotency keys, and a race whose outcome must equal a
sequential replay of the events it committed."""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from adjudicator import snapshot
from adjudicator.errors import ConflictError, KeyReused, UsageError
from adjudicator.lifecycle import RefusedEvent, State
from adjudicator.persistence import DisputeRow, EventRow
from adjudicator.repository import DatabasePrior, PendingJournal
from adjudicator.service import Adjudicator
from adjudicator.workflow import Case, Event, Workflow
from evidence import Party
from evidence.validate import inspect as real_inspect
from tests.integration.test_service import CLAIM, escalated, hours, order, photo


def dispute_row(service: Adjudicator, case_id: str) -> DisputeRow:
    with Session(service.engine) as session:
        row = session.get(DisputeRow, case_id)
        assert row is not None
        return row


def event_actions(service: Adjudicator, case_id: str) -> list[str]:
    query = select(EventRow.action).where(EventRow.case_id == case_id).order_by(col(EventRow.seq))
    with Session(service.engine) as session:
        return list(session.exec(query))


# --- idempotency keys --------------------------------------------------------------------------
def test_a_repeated_command_has_its_effect_once_and_returns_the_first_result(
    service: Adjudicator,
) -> None:
    opened = service.open("D-1", order(), CLAIM, at=hours(0), idempotency_key="open-D-1")
    assert service.open("D-1", order(), CLAIM, at=hours(0), idempotency_key="open-D-1") == opened

    first = service.reject("D-1", at=hours(1), reason="人为损坏", idempotency_key="hook-7")
    assert first.state is State.MERCHANT_REJECTED
    log_after_first = list(service.log())
    service.escalate("D-1", at=hours(2))  # the dispute moves on

    again = service.reject("D-1", at=hours(1), reason="人为损坏", idempotency_key="hook-7")
    assert again == first  # as the first reject left it, not as the dispute is now
    assert service.get("D-1").state is State.AWAITING_EVIDENCE
    assert event_actions(service, "D-1") == ["open", "reject", "escalate"]
    assert [e["event"] for e in service.log()][: len(log_after_first)] == [
        e["event"] for e in log_after_first
    ]
    assert dispute_row(service, "D-1").version == 3
    assert service.verify_log()[1] is None


def test_a_key_given_again_for_a_different_command_is_refused(service: Adjudicator) -> None:
    service.open("D-1", order(), CLAIM, at=hours(0))
    service.open("D-2", order(), CLAIM, at=hours(0))
    service.reject("D-1", at=hours(1), idempotency_key="k")
    before = list(service.log())
    with pytest.raises(KeyReused, match=r"'k' was first given for reject on dispute D-1; this is"):
        service.reject("D-2", at=hours(1), idempotency_key="k")
    with pytest.raises(KeyReused, match="reject on dispute D-1 with other arguments"):
        service.reject("D-1", at=hours(1), reason="changed", idempotency_key="k")
    assert list(service.log()) == before
    assert service.get("D-2").state is State.REQUESTED


def test_a_refused_command_leaves_no_key_behind(service: Adjudicator) -> None:
    service.open("D-1", order(), CLAIM, at=hours(0))
    with pytest.raises(RefusedEvent):
        service.escalate("D-1", at=hours(1), idempotency_key="early")
    service.reject("D-1", at=hours(2))
    # The same request, judged again now that the state allows it, takes effect.
    assert service.escalate("D-1", at=hours(3), idempotency_key="early").state is (
        State.AWAITING_EVIDENCE
    )


# --- conflicts and retries ---------------------------------------------------------------------
def interleave(monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], Any]) -> None:
    """Run ``meanwhile`` (another writer's command) the first time a command checks its
    evidence for reuse: that is inside its transaction, after it has read its dispute and
    before it saves (its files were received before the transaction began)."""
    original = DatabasePrior.used_elsewhere
    pending = [meanwhile]

    def hooked(self: DatabasePrior, sha256: str) -> bool:
        if pending:
            pending.pop()()
        return original(self, sha256)

    monkeypatch.setattr(DatabasePrior, "used_elsewhere", hooked)


@pytest.mark.parametrize("retries", [0, 1])
def test_a_writer_that_loses_the_race_is_retried_or_told(
    service: Adjudicator,
    db_url: str,
    tmp_path: Path,
    retries: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if db_url.startswith("sqlite"):
        sqlite_lets_no_writer_in_between(service, db_url, tmp_path, retries, monkeypatch)
        return
    escalated(service, "D-1")
    other = Adjudicator(service.engine, service.store)
    interleave(
        monkeypatch,
        lambda: other.submit_evidence("D-1", Party.BUYER, [photo(tmp_path, 2)], at=hours(3)),
    )
    racer = Adjudicator(service.engine, service.store, retries=retries)
    submit = [photo(tmp_path, 1)]
    if retries == 0:
        with pytest.raises(ConflictError, match="D-1 was changed by another writer"):
            racer.submit_evidence("D-1", Party.BUYER, submit, at=hours(3.1))
        assert event_actions(service, "D-1")[-1:] == ["submit_evidence"]
        assert len(service.evidence("D-1")) == 1  # the other writer's photo only
    else:
        case = racer.submit_evidence("D-1", Party.BUYER, submit, at=hours(3.1))
        assert [record.id for record in case.evidence] == ["E1", "E2"]
        assert event_actions(service, "D-1")[-2:] == ["submit_evidence", "submit_evidence"]
        assert dispute_row(service, "D-1").version == 5
    assert service.verify_log()[1] is None


def sqlite_lets_no_writer_in_between(
    service: Adjudicator,
    db_url: str,
    tmp_path: Path,
    retries: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLite: a command holds the writer lock from its first read (BEGIN IMMEDIATE), so the
    writer that would get in between waits; given 0.2 s, it gives up and the command wins."""
    escalated(service, "D-1")
    impatient = create_engine(db_url, connect_args={"timeout": 0.2})
    other = Adjudicator(impatient, service.store)
    blocked: list[str] = []

    def meanwhile() -> None:
        try:
            other.submit_evidence("D-1", Party.BUYER, [photo(tmp_path, 2)], at=hours(3))
        except OperationalError as exc:
            blocked.append(str(exc.orig))

    interleave(monkeypatch, meanwhile)
    racer = Adjudicator(service.engine, service.store, retries=retries)
    case = racer.submit_evidence("D-1", Party.BUYER, [photo(tmp_path, 1)], at=hours(3.1))
    assert blocked == ["database is locked"]
    assert [record.id for record in case.evidence] == ["E1"]
    assert dispute_row(service, "D-1").version == 4
    assert service.verify_log()[1] is None
    impatient.dispose()


# --- racing workers, then a sequential replay of what they committed --------------------------
TICK_NOW = hours(50)  # the answer deadline (48 h) of a dispute opened before hour 2 is due
RACED = [f"R-{n}" for n in range(8)]


def opened_at(case_id: str) -> datetime:
    n = int(case_id.split("-")[1])
    return hours(0 if n == 0 else 2 + n)


def commands() -> list[Event]:
    """What every worker tries on every dispute, in its own order; the lifecycle refuses what
    the dispute's state no longer allows. All come after TICK_NOW, so a deadline the tick
    fires would also be fired by the first of them: the outcome does not hang on who won."""
    return [
        Event(hours(50.1), Party.MERCHANT, "agree"),
        Event(hours(50.2), Party.MERCHANT, "reject", reason="人为损坏"),
        Event(hours(50.3), Party.BUYER, "escalate"),
        Event(hours(50.4), Party.BUYER, "withdraw"),
        Event(hours(50.5), Party.BUYER, "evidence_complete"),
        Event(hours(50.6), Party.MERCHANT, "evidence_complete"),
    ]


def race(db_url: str, tmp_path: Path, workers: int, rounds: int) -> list[BaseException]:
    """``workers`` command workers and one tick worker at once, each with its own service
    (its own connections); what escaped them (beyond refusals), for the test to show."""
    start = threading.Barrier(workers + 1)
    escaped: list[BaseException] = []

    def commander(seed: int) -> None:
        svc = Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store", retries=10)
        rng = random.Random(seed)
        start.wait()
        try:
            for case_id in rng.sample(RACED, len(RACED)):
                for event in rng.sample(commands(), len(commands())):
                    with contextlib.suppress(RefusedEvent):
                        svc.apply(case_id, event)
        except BaseException as exc:
            escaped.append(exc)
        finally:
            svc.close()

    def ticker() -> None:
        svc = Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store")
        start.wait()
        try:
            for _ in range(rounds):
                svc.tick(TICK_NOW, batch=2)
        except BaseException as exc:
            escaped.append(exc)
        finally:
            svc.close()

    threads = [threading.Thread(target=commander, args=(seed,)) for seed in range(workers)]
    threads.append(threading.Thread(target=ticker))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a worker hung"
    return escaped


def test_racing_workers_leave_what_a_sequential_replay_of_their_events_gives(
    service: Adjudicator, db_url: str, tmp_path: Path
) -> None:
    for case_id in RACED:
        service.open(case_id, order(), CLAIM, at=opened_at(case_id))
    assert race(db_url, tmp_path, workers=5, rounds=3) == []

    book = service.get(RACED[0]).rulebook
    for case_id in RACED:
        row = dispute_row(service, case_id)
        with Session(service.engine) as session:
            query = select(EventRow).where(EventRow.case_id == case_id)
            stored = list(session.exec(query.order_by(col(EventRow.seq))))
        assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
        by_action = {(e.action, e.actor.value): e for e in commands()}
        events = [Event(opened_at(case_id), Party.BUYER, "open")]
        events += [by_action[(e.action, e.actor)] for e in stored[1:]]
        assert len(set(events[1:])) == len(events) - 1  # no command took effect twice

        case = Case(case_id, book, order(), CLAIM)
        journal = PendingJournal()
        flow = Workflow(journal, lambda *_: pytest.fail("no evidence in this race"))
        for event in events:
            flow.apply(case, event)
        flow.advance(case, TICK_NOW)

        assert json_of(row) == snapshot.to_json(case), case_id
        logged = [unsealed(entry) for entry in service.history(case_id)]
        assert logged == journal.bodies, case_id
    assert service.verify_log() == (
        sum(len(service.history(c)) for c in RACED),
        None,
    )


def test_the_same_key_raced_from_many_workers_takes_effect_once(
    service: Adjudicator, db_url: str, tmp_path: Path
) -> None:
    service.open("D-1", order(), CLAIM, at=hours(0))
    start = threading.Barrier(4)
    results: list[Case | BaseException] = []

    def webhook() -> None:
        svc = Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store")
        start.wait()
        try:
            results.append(svc.reject("D-1", at=hours(1), idempotency_key="hook-1"))
        except BaseException as exc:
            results.append(exc)
        finally:
            svc.close()

    threads = [threading.Thread(target=webhook) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(r, Case) for r in results), results
    assert all(r == results[0] for r in results)
    assert event_actions(service, "D-1") == ["open", "reject"]
    assert dispute_row(service, "D-1").version == 2


def json_of(row: DisputeRow) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(row.snapshot)
    return value


def unsealed(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("seq", "prev", "hash")}


def test_retries_below_zero_are_refused(service: Adjudicator) -> None:
    with pytest.raises(UsageError, match="retries -1: must be 0 or more"):
        Adjudicator(service.engine, service.store, retries=-1)


# --- slow evidence holds no lock ---------------------------------------------------------------
def test_evidence_is_decoded_before_the_write_transaction_begins(
    service: Adjudicator, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one command's photo is being decoded, another writer commits at once: the
    decode holds no lock (on SQLite a command holds the writer lock from its first read, so
    a decode inside the transaction would make the other writer time out)."""
    escalated(service, "D-1")
    escalated(service, "D-2")
    impatient_url = f"{db_url}?timeout=0.2" if db_url.startswith("sqlite") else db_url
    other = Adjudicator.from_url(impatient_url, evidence_dir=tmp_path / "store")
    meanwhile: list[str] = []
    original = real_inspect

    def slow_inspect(*args: Any, **kwargs: Any) -> Any:
        if not meanwhile:  # the first file: another writer commits while it is decoded
            meanwhile.append(other.withdraw("D-2", at=hours(2.5)).state.value)
        return original(*args, **kwargs)

    monkeypatch.setattr("evidence.intake.inspect", slow_inspect)
    case = service.submit_evidence("D-1", Party.BUYER, [photo(tmp_path, 1)], at=hours(3))
    assert meanwhile == ["withdrawn"]
    assert [record.id for record in case.evidence] == ["E1"]
    assert service.verify_log()[1] is None
    other.close()
