"""The service API on a real database (SQLite, and PostgreSQL where one is configured)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from adjudicator.casefile import read_case
from adjudicator.domain import Claim, ClaimType, Liability, Order, OrderItem, Remedy
from adjudicator.errors import ConflictError, DisputeExists, StoreMismatch, UnknownDispute
from adjudicator.examine import Intake
from adjudicator.lifecycle import RefusedEvent, State
from adjudicator.persistence import DecisionRow, DisputeRow, EventRow, EvidenceRow, LogRow
from adjudicator.replay import outcome, replay, replay_into
from adjudicator.repository import Unit, load, save
from adjudicator.rulebook import load_rulebook
from adjudicator.service import Adjudicator
from adjudicator.workflow import Event, Submission
from evidence import EvidenceKind, Party
from tests.photos import reencoded, sharp_photo

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"
CST = timezone(timedelta(hours=8))
SIGNED = datetime(2026, 3, 4, 15, 20, tzinfo=CST)
T0 = datetime(2026, 3, 4, 18, 0, tzinfo=CST)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def order(paid: str = "300.00") -> Order:
    return Order(
        order_id="O-1",
        category="general",
        paid_amount=Decimal(paid),
        currency="CNY",
        items=(OrderItem("SKU-1", "kettle", Decimal(paid), 1),),
        paid_at=datetime(2026, 3, 1, 10, 0, tzinfo=CST),
        shipped_at=datetime(2026, 3, 2, 9, 0, tzinfo=CST),
        tracking_no="SF1",
        signed_at=SIGNED,
    )


CLAIM = Claim(ClaimType.VISIBLE_DEFECT, Remedy.RETURN_AND_REFUND)


PAST = timedelta(microseconds=1)  # a clock just past a deadline: limits are inclusive


def escalated(service: Adjudicator, case_id: str) -> None:
    service.open(case_id, order(), CLAIM, at=T0)
    service.reject(case_id, at=hours(1), reason="人为损坏")
    service.escalate(case_id, at=hours(2))


def photo(tmp_path: Path, seed: int) -> Submission:
    return Submission(EvidenceKind.PHOTO, sharp_photo(tmp_path / f"p{seed}.jpg", seed))


def count(session: Session, table: type, case_id: str) -> int:
    query = select(func.count()).select_from(table).where(table.case_id == case_id)  # type: ignore[attr-defined]
    return int(session.exec(query).one())


def test_a_dispute_runs_its_course_through_the_service(
    service: Adjudicator, db_url: str, tmp_path: Path
) -> None:
    escalated(service, "D-1")
    service.submit_evidence("D-1", Party.BUYER, [photo(tmp_path, 1)], at=hours(3))
    case = service.evidence_complete("D-1", Party.BUYER, at=hours(4))
    assert case.state is State.AWAITING_REBUTTAL
    assert service.tick(hours(4 + 48)).fired == 0  # the rebuttal window is 48 h, inclusive
    ticked = service.tick(hours(4 + 48) + PAST)
    assert ticked.fired == 1
    assert ticked.failed == ()

    # a second service on the same database (another process, say) sees the same dispute
    other = Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store")
    case = other.get("D-1")
    other.close()
    assert case.state is State.DECIDED  # return_and_refund: waiting for the goods to go back
    assert case.decision is not None
    assert (case.decision.liability, case.decision.remedy) == (
        Liability.MERCHANT,
        Remedy.RETURN_AND_REFUND,
    )
    assert case.decision.rules == (
        "burden.visible_defect",
        "weigh.unrebutted",
        "remedy.merchant",
    )
    service.return_shipped("D-1", "YT9", at=hours(60))
    assert service.confirm_receipt("D-1", at=hours(70)).state is State.REFUNDED

    with Session(service.engine) as session:
        assert count(session, EventRow, "D-1") == 7  # the tick's expiry is in the log, not here
        assert count(session, DecisionRow, "D-1") == 1
        evidence = session.exec(select(EvidenceRow)).one()
    assert evidence.accepted
    assert (tmp_path / "store" / "objects" / evidence.sha256[:2]).is_dir()
    history = service.history("D-1")
    events = [e["event"] for e in history]
    assert events[:3] == ["open", "reject", "escalate"]
    assert "rebuttal_expired" in events
    assert events[-1] == "confirm_receipt"
    assert service.verify_log() == (len(history), None)


def test_a_refused_command_changes_nothing(service: Adjudicator) -> None:
    service.open("D-1", order(), CLAIM, at=T0)
    service.reject("D-1", at=hours(1))
    with Session(service.engine) as session:
        before = session.get(DisputeRow, "D-1")
        assert before is not None
        version, snapshot = before.version, before.snapshot
    log_before = list(service.log())

    with pytest.raises(
        RefusedEvent, match=r"D-1: reject is not allowed in state merchant_rejected"
    ):
        service.reject("D-1", at=hours(2))

    with Session(service.engine) as session:
        after = session.get(DisputeRow, "D-1")
        assert after is not None
        assert (after.version, after.snapshot) == (version, snapshot)
        assert count(session, EventRow, "D-1") == 2
    assert list(service.log()) == log_before


def test_unknown_and_duplicate_disputes(service: Adjudicator) -> None:
    with pytest.raises(UnknownDispute, match="no dispute D-9"):
        service.agree("D-9", at=T0)
    service.open("D-1", order(), CLAIM, at=T0)
    with pytest.raises(DisputeExists, match="D-1"):
        service.open("D-1", order(), CLAIM, at=T0)


def test_a_stale_writer_gets_a_conflict_and_changes_nothing(service: Adjudicator) -> None:
    service.open("D-1", order(), CLAIM, at=T0)
    with Session(service.engine) as session:
        stale_row, stale_case = load(session, "D-1", service._stored_rulebook)
    service.agree("D-1", at=hours(1))  # another writer moves the dispute on

    with Session(service.engine) as session, session.begin():
        unit = Unit(session, stale_case, stale_row, Intake(service.store, None))
        unit.apply(Event(hours(2), Party.MERCHANT, "reject"))
        with pytest.raises(ConflictError, match="D-1 was changed by another writer"):
            save(unit, stale_row.rulebook)
        session.rollback()
    case = service.get("D-1")
    assert case.state is State.AGREED
    assert service.verify_log()[1] is None


def test_reused_bytes_are_rejected_and_near_duplicates_go_to_review(
    service: Adjudicator, tmp_path: Path
) -> None:
    first = photo(tmp_path, 7)
    for case_id in ("A", "B", "C"):
        escalated(service, case_id)
    service.submit_evidence("A", Party.BUYER, [first], at=hours(3))

    case_b = service.submit_evidence("B", Party.BUYER, [first], at=hours(3))
    assert case_b.evidence[0].reasons == ("reused",)

    copy = Submission(EvidenceKind.PHOTO, reencoded(first.file, tmp_path / "copy.jpg"))
    case_c = service.submit_evidence("C", Party.BUYER, [copy], at=hours(3))
    assert case_c.evidence[0].accepted
    assert case_c.evidence[0].near_duplicate
    service.evidence_complete("C", Party.BUYER, at=hours(4))
    case_c = service.evidence_complete("C", Party.MERCHANT, at=hours(5))
    assert (case_c.state, case_c.resolution) == (State.UNDER_REVIEW, "pending_review")
    decided = service.decide(
        "C", Liability.BOTH, Remedy.PARTIAL_REFUND, Decimal("150.00"), at=hours(6), reason="看过"
    )
    assert decided.state is State.REFUNDED
    # the rules would decide merchant (an unrebutted photo): 150.00 shared is an override
    assert outcome(decided)["rules"] == ["review.manual", "review.override", "remedy.both"]

    # the same bytes within one dispute are not "reused": only other disputes count
    only_in_a = photo(tmp_path, 8)
    service.submit_evidence("A", Party.BUYER, [only_in_a], at=hours(3.5))
    again = service.submit_evidence("A", Party.BUYER, [only_in_a], at=hours(3.6))
    assert again.evidence[-1].accepted


def test_tick_fires_only_what_is_due_in_every_dispute(service: Adjudicator) -> None:
    service.open("A", order(), CLAIM, at=T0)  # answer deadline T0 + 48 h
    service.open("B", order(), CLAIM, at=hours(10))  # T0 + 58 h
    service.open("C", order(), CLAIM, at=T0)
    service.reject("C", at=hours(1))  # escalation deadline T0 + 1 h + 7 days

    assert service.tick(hours(47)).fired == 0
    assert service.tick(hours(48)).fired == 0  # at the deadline itself the window is open
    assert service.tick(hours(48) + PAST).fired == 1
    assert service.get("A").resolution == "merchant_timeout"
    assert service.get("B").state is State.REQUESTED
    # A's return window (10 days from agreement) and B's answer window are due by then
    assert service.tick(hours(48 + 240) + PAST).fired == 3
    assert service.get("A").state is State.LAPSED
    assert service.get("B").state is State.AGREED
    assert service.get("C").state is State.LAPSED
    assert service.tick(hours(48 + 240) + PAST).fired == 0


def test_an_invalid_case_leaves_nothing_in_the_database(
    service: Adjudicator, tmp_path: Path
) -> None:
    source = json.loads((EXAMPLES / "KS-2026-000123.json").read_text("utf-8"))
    source["events"][2].update(action="agree", actor="merchant")  # refused: it was rejected
    shutil.copytree(EXAMPLES / "evidence", tmp_path / "evidence")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(source), "utf-8")
    with pytest.raises(Exception, match=r"/events/2: agree is not allowed in state merchant"):
        replay_into(service, read_case(bad))
    assert not service.exists(source["case_id"])
    assert list(service.log()) == []
    with Session(service.engine) as session:
        assert session.exec(select(func.count()).select_from(LogRow)).one() == 0
    # nor in the evidence store: its files were received, then discarded
    root = Path(service.store.root)  # type: ignore[attr-defined]
    assert [p for p in root.rglob("*") if p.is_file()] == []


def test_examples_replay_into_the_database_as_in_memory(service: Adjudicator) -> None:
    """The same outputs, and the same log entries apart from their place in the chain."""
    for file in sorted(EXAMPLES.glob("*.json")):
        case_file = read_case(file)
        in_memory = replay(case_file)
        assert replay_into(service, case_file) == in_memory.output, file.name
        stored = service.history(case_file.case_id)
        strip = ("seq", "prev", "hash")
        assert [{k: v for k, v in e.items() if k not in strip} for e in stored] == [
            {k: v for k, v in e.items() if k not in strip} for e in in_memory.log
        ], file.name
        assert service.get(case_file.case_id) == in_memory.case, file.name  # the whole Case
    assert service.verify_log()[1] is None


def test_a_changed_rulebook_file_is_refused_for_its_disputes(
    service: Adjudicator, tmp_path: Path
) -> None:
    books = tmp_path / "books"
    shutil.copytree(REPO / "adjudicator" / "rulebooks", books)
    service.open("D-1", order(), CLAIM, at=T0, rulebook=books / "kuaishou.general.toml")
    assert service.get("D-1").rulebook.label == load_rulebook("kuaishou.general").label
    text = (books / "kuaishou.general.toml").read_text("utf-8")
    (books / "kuaishou.general.toml").write_text(text.replace("0.5", "0.6", 1), "utf-8")
    fresh = Adjudicator(service.engine, service.store)
    with pytest.raises(StoreMismatch, match="has changed since its disputes opened"):
        fresh.get("D-1")


def test_a_dispute_opened_under_an_earlier_release_of_a_built_in_rulebook_runs_on(
    service: Adjudicator, tmp_path: Path
) -> None:
    """A built-in rulebook that changes gets a new version; the old one is archived, and the
    disputes opened under it go on under it (they are not refused as changed)."""
    earlier = load_rulebook("kuaishou.general", version="2026.1")
    assert earlier.digest != load_rulebook("kuaishou.general").digest
    service._rulebooks["kuaishou.general"] = earlier  # as a 2026.1 release of the engine opened it
    escalated(service, "D-1")
    assert service.get("D-1").rulebook.label == "kuaishou.general@2026.1"
    fresh = Adjudicator(service.engine, service.store)  # this release, with 2026.2 built in
    assert fresh.get("D-1").rulebook.label == "kuaishou.general@2026.1"
    fresh.submit_evidence("D-1", Party.BUYER, [photo(tmp_path, 1)], at=hours(3))
    fresh.evidence_complete("D-1", Party.BUYER, at=hours(4))
    fresh.tick(hours(4 + 48) + timedelta(seconds=1))  # the rebuttal window lapses
    case = fresh.get("D-1")
    assert (case.state, case.decision is not None) == (State.DECIDED, True)  # a return is due
    with Session(fresh.engine) as session:
        row = session.exec(select(DecisionRow).where(DecisionRow.case_id == "D-1")).one()
    assert (row.rulebook, row.rulebook_digest) == ("kuaishou.general@2026.1", earlier.digest)
    assert fresh.audit().intact
    # a digest that no release had is still refused
    with Session(fresh.engine) as session:
        dispute = session.exec(select(DisputeRow).where(DisputeRow.case_id == "D-1")).one()
        dispute.rulebook_digest = "0" * 64
        session.add(dispute)
        session.commit()
    with pytest.raises(StoreMismatch, match="has changed since its disputes opened"):
        Adjudicator(service.engine, service.store).get("D-1")


def test_two_tick_processes_fire_each_deadline_once(
    service: Adjudicator, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    for n in range(40):
        service.open(f"T-{n:02}", order(), CLAIM, at=hours(n / 10))
    monkeypatch.setenv("ADJUDICATOR_EVIDENCE_DIR", str(tmp_path / "store"))
    now = hours(48 + 5).isoformat()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "adjudicator", "tick", "--db", db_url, "--now", now],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    fired = 0
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        fired += int(out.split()[1])
    assert fired == 40
    expiries = [e for e in service.log() if e["event"] == "answer_expired"]
    assert sorted(e["case_id"] for e in expiries) == [f"T-{n:02}" for n in range(40)]
    assert all(service.get(f"T-{n:02}").resolution == "merchant_timeout" for n in range(40))
    assert service.verify_log()[1] is None


def test_statements_are_kept_logged_and_audited(service: Adjudicator) -> None:
    service.open("D-1", order(), CLAIM, at=T0)
    service.statement("D-1", Party.BUYER, "开箱即发现裂痕", at=hours(1))
    service.statement("D-1", Party.MERCHANT, "发货前检查过", at=hours(2), idempotency_key="k-1")
    again = service.statement(
        "D-1", Party.MERCHANT, "发货前检查过", at=hours(2), idempotency_key="k-1"
    )
    assert len(again.statements) == 2  # the same key: the first answer, not a third statement
    fresh = Adjudicator(service.engine, service.store)
    kept = fresh.get("D-1")
    assert [(s.by, s.at, s.text) for s in kept.statements] == [
        (Party.BUYER, hours(1), "开箱即发现裂痕"),
        (Party.MERCHANT, hours(2), "发货前检查过"),
    ]
    assert kept.state is State.REQUESTED
    assert fresh.audit().intact
    with pytest.raises(RefusedEvent, match="1 to 500 characters"):
        fresh.statement("D-1", Party.BUYER, "x" * 501, at=hours(3))
    assert len(fresh.get("D-1").statements) == 2
