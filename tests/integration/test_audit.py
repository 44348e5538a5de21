"""The audit in the Python API: ``Adjudicator.audit``, ``checkpoint`` and ``verify_log``,
against each way the issue "The log proves what the engine shows" tampered with a database;
on each kind of database."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from adjudicator.audit import Audit, BrokenLog
from adjudicator.casefile import read_case
from adjudicator.checkpoint import Checkpoint, Checkpoints, SigningKey
from adjudicator.replay import replay_into
from adjudicator.service import Adjudicator
from tests import tamper

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
SPEC = tamper.SPEC
AT = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
KEY = SigningKey.generate()


@pytest.fixture
def loaded(service: Adjudicator) -> Adjudicator:
    for name in (SPEC, "KS-EX-0002"):
        replay_into(service, read_case(EXAMPLES / f"{name}.json"))
    return service


def said(audit: Audit) -> list[str]:
    return [str(problem) for problem in audit.problems]


def held_to(*checkpoints: Checkpoint) -> Checkpoints:
    return Checkpoints(tuple(c.line() for c in checkpoints), KEY.public)


def test_an_intact_database_is_intact(loaded: Adjudicator) -> None:
    signed = loaded.checkpoint(KEY, at=AT)
    assert (signed.size, signed.at, signed.key) == (
        23,
        "2026-03-20T10:00:00+00:00",
        KEY.public.key_id,
    )
    found = loaded.audit(held_to(signed))
    assert (found.intact, found.entries, found.disputes, found.checkpoints) == (True, 23, 2, 1)
    assert found.head == signed.head == list(loaded.log())[-1]["hash"]
    assert loaded.verify_log() == (23, None)


def test_the_issue_edited_refund_is_named(loaded: Adjudicator) -> None:
    tamper.edit_refund(loaded.engine)
    assert str(loaded.get(SPEC).refund_amount) == "99999.00"  # what show and explain print
    assert said(loaded.audit())[:2] == [
        f"dispute {SPEC}: refund_amount is 99999.00 in the stored dispute but 649.50 in its log",
        f"dispute {SPEC}: decision.refund_amount is 99999.00 in the stored dispute but 649.50 "
        "in its log",
    ]
    with pytest.raises(BrokenLog, match=f"broken: dispute {SPEC}: refund_amount is 99999.00"):
        loaded.checkpoint(KEY, at=AT)


ATTACKS: dict[str, Callable[[Engine], None]] = {
    "rewritten and re-hashed": tamper.edit_refund_everywhere,
    "tail cut, head fixed": lambda engine: tamper.cut_tail(engine, 3),
    "truncated, head reset": tamper.truncate,
    "a dispute dropped, the rest renumbered": lambda engine: tamper.drop_dispute(engine, SPEC),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_checkpoint_names_what_the_chain_cannot(loaded: Adjudicator, attack: str) -> None:
    signed = loaded.checkpoint(KEY, at=AT)
    ATTACKS[attack](loaded.engine)
    assert loaded.verify_log()[1] is None  # a valid chain, its head fixed: the chain is fooled
    problems = said(loaded.audit(held_to(signed)))
    if attack == "rewritten and re-hashed":
        assert problems == [
            "checkpoint line 1: signed entry 23 with hash "
            f"{signed.head[:12]}… at 2026-03-20T10:00:00+00:00, but it now hashes to "
            f"{loaded.audit().head[:12]}…: the log up to it was rewritten"
        ]
    else:
        left = {"tail cut, head fixed": 20}.get(attack, 0 if "truncated" in attack else 11)
        assert problems[-1] == (
            "checkpoint line 1: signed 23 entries at 2026-03-20T10:00:00+00:00, but the log "
            f"has {left}: entries were deleted (a cut tail or a truncated log)"
        )
    with pytest.raises(BrokenLog):
        loaded.checkpoint(KEY, at=AT, after=held_to(signed))


def test_a_dropped_dispute_is_named_by_its_stored_state(loaded: Adjudicator) -> None:
    tamper.drop_dispute(loaded.engine, SPEC)
    problems = said(loaded.audit())
    assert problems == [
        f"dispute {SPEC}: is stored but has no entries in the log (they were deleted)",
        f"dispute {SPEC}: decision 1 is in the decisions table but not in its log",
        f"dispute {SPEC}: evidence E1 is in the evidence table but not in its log",
        f"dispute {SPEC}: evidence E2 is in the evidence table but not in its log",
    ]


def test_a_deleted_head_row_is_a_verdict(loaded: Adjudicator) -> None:
    tamper.delete_head(loaded.engine)
    count, broken = loaded.verify_log()
    assert count == 23
    assert str(broken) == (
        "entry 23: is the last, but the log_head row is missing, so a cut tail would not show"
    )
    assert said(loaded.audit()) == [
        "log_head: the row is missing (deleted), so nothing shows where the log ends"
    ]


def test_garbage_in_an_entry_is_a_verdict(loaded: Adjudicator) -> None:
    tamper.garble(loaded.engine, 3)
    assert str(loaded.verify_log()[1]) == "entry 3: is not JSON"
    assert said(loaded.audit()) == ["entry 3: is not JSON"]


def test_a_head_that_names_another_entry_is_named(loaded: Adjudicator) -> None:
    tamper.execute(loaded.engine, "UPDATE log_head SET hash = :h", h="ab" * 32)
    assert str(loaded.verify_log()[1]).startswith(
        "entry 23: is not the entry the log_head row records"
    )


def test_edited_rows_beside_the_log_are_named(loaded: Adjudicator) -> None:
    tamper.execute(
        loaded.engine,
        "UPDATE evidence SET accepted = :no WHERE case_id = :case AND evidence_id = 'E2'",
        no=False,
        case=SPEC,
    )
    tamper.execute(loaded.engine, "UPDATE decisions SET liability = 'buyer'")
    tamper.execute(loaded.engine, "UPDATE log SET case_id = 'KS-OTHER' WHERE seq = 2")
    problems = said(loaded.audit())
    assert problems == [
        f"entry 2: its row's case_id column is 'KS-OTHER' but the entry is about '{SPEC}'",
        f"dispute {SPEC}: decision 1 liability is buyer in the decisions table but both in its log",
        "dispute KS-EX-0002: decision 1 liability is buyer in the decisions table but merchant "
        "in its log",
        f"dispute {SPEC}: evidence E2.accepted is false in the evidence table but true in its log",
    ]


def test_a_moved_deadline_is_named(service: Adjudicator, tmp_path: Path) -> None:
    """A dispute waiting for the buyer to escalate: its deadline is what the log and the
    rulebook make it, in the snapshot and in the column tick reads."""
    source = json.loads((EXAMPLES / f"{SPEC}.json").read_text("utf-8"))
    source["events"] = source["events"][:2]
    source.pop("expected")
    source["until"] = "2026-03-05T10:00:00+08:00"
    case = tmp_path / "waiting.json"
    case.write_text(json.dumps(source), "utf-8")
    replay_into(service, read_case(case))
    assert service.audit().intact
    early = "2026-03-06T10:00:00+08:00"
    tamper.execute(
        service.engine,
        "UPDATE disputes SET deadline_us = deadline_us - 86400000000 * 6, "
        "snapshot = replace(snapshot, '2026-03-12T10:00:00+08:00', :early)",
        early=early,
    )
    assert said(service.audit()) == [
        f"dispute {SPEC}: deadline_at is {early} in the stored dispute but "
        "2026-03-12T10:00:00+08:00 in its log",
        f"dispute {SPEC}: deadline_us is 1772762400000000 in the disputes table but "
        "1773280800000000 in its log",
    ]


def test_checkpoints_signed_by_another_key_or_altered_are_named(loaded: Adjudicator) -> None:
    signed = loaded.checkpoint(KEY, at=AT)
    other = SigningKey.generate().sign(signed.size, signed.head, AT)
    altered = json.loads(signed.line())
    altered["at"] = "2026-03-21T10:00:00+00:00"
    lines = (signed.line(), other.line(), json.dumps(altered), "{")
    problems = said(loaded.audit(Checkpoints(lines, KEY.public)))
    assert problems == [
        f"checkpoint line 2: is signed by key {other.key}, not by the public key given "
        f"({KEY.public.key_id})",
        "checkpoint line 3: its signature does not verify (the line was altered, or forged)",
        "checkpoint line 4: is malformed: it is not JSON",
    ]


def test_a_forged_agreed_refund_with_its_order_to_match_is_named(service: Adjudicator) -> None:
    """A merchant timeout refunds the paid amount. Raising both the refund and the order's
    paid amount, so that one follows from the other, is named twice: the refund is not what
    the timeout's entry recorded, and the order is not the one the dispute was opened with."""
    replay_into(service, read_case(EXAMPLES / "KS-EX-0013.json"))
    for old, new in (
        ('"refund_amount": "1299.00"', '"refund_amount": "99999.00"'),
        ('"paid_amount": "1299.00"', '"paid_amount": "99999.00"'),
    ):
        tamper.execute(
            service.engine,
            "UPDATE disputes SET snapshot = replace(snapshot, :old, :new)",
            old=old,
            new=new,
        )
    assert str(service.get("KS-EX-0013").refund_amount) == "99999.00"
    problems = said(service.audit())
    assert (
        "dispute KS-EX-0013: refund_amount is 99999.00 in the stored dispute but 1299.00 in "
        "its log" in problems
    )
    assert any(
        p.startswith(
            "dispute KS-EX-0013: order or claim in the stored dispute is not what it "
            "was opened with"
        )
        for p in problems
    ), problems


@pytest.mark.parametrize("value", ["CAST(case_id AS BLOB)", "7"], ids=["bytes", "a number"])
@pytest.mark.parametrize("table", ["disputes", "log", "decisions", "evidence", "effects"])
def test_a_case_id_of_another_type_is_a_verdict(
    loaded: Adjudicator, table: str, value: str
) -> None:
    """SQLite keeps whatever type a column is given: a dispute's case_id rewritten as a BLOB
    or a number is reported where it no longer matches, never an exception (it raised a
    TypeError while the tables were merged dispute by dispute: Python would not order text
    beside bytes or numbers)."""
    if loaded.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's text columns hold text only")
    statement = f"UPDATE {table} SET case_id = {value} WHERE case_id = :case_id"
    tamper.execute(loaded.engine, statement, case_id="KS-EX-0002")
    found = said(loaded.audit())
    assert found, table
    assert any("KS-EX-0002" in line for line in found)
