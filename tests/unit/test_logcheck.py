"""What a dispute's log entries say of it (adjudicator.logcheck), held to the workflow itself:
every example dispute, replayed an event at a time, is after each step what its entries say;
an edit to any field of the stored dispute is named, with the dispute and the field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adjudicator import snapshot
from adjudicator.auditlog import MemoryJournal
from adjudicator.casefile import read_case
from adjudicator.examine import Examiner, Intake, scratch_store
from adjudicator.logcheck import StoredDispute, Told, compare
from adjudicator.persistence import epoch_us
from adjudicator.replay import builtin_rulebook, new_case, replay
from adjudicator.workflow import Case, Workflow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
CASES = sorted(EXAMPLES.glob("*.json"))


def told_of(entries: list[dict[str, Any]]) -> Told:
    told = Told(entries[0]["case_id"])
    for entry in entries:
        told.observe(entry)
    return told


def stored_of(case: Case, data: dict[str, Any] | None = None) -> StoredDispute:
    data = snapshot.to_json(case) if data is None else data
    return StoredDispute(
        case.case_id,
        case.state.value,
        case.resolution,
        epoch_us(case.next_deadline()),  # as the repository stores it
        "kuaishou.general",
        case.rulebook.digest,
        json.dumps(data, ensure_ascii=False, sort_keys=True),
        case.order.order_id,
    )


def _agreed(remedy: str, amount: str | None, *events: dict[str, str]) -> dict[str, Any]:
    """The merchant-timeout example, with another claim and events after its opening."""
    source: dict[str, Any] = json.loads((EXAMPLES / "KS-EX-0013.json").read_text("utf-8"))
    source["claim"] = {"type": "visible_defect", "requested_remedy": remedy}
    if amount is not None:
        source["claim"]["requested_amount"] = amount
    source["events"] += list(events)
    source.pop("expected")
    return source


AGREE = {"at": "2026-03-05T10:00:00+08:00", "actor": "merchant", "action": "agree"}
SHIPPED = {"at": "2026-03-06T10:00:00+08:00", "actor": "buyer", "action": "return_shipped"}
SHIPPED |= {"tracking_no": "SF-BACK-1"}


def _at(when: str, actor: str, action: str, **fields: str) -> dict[str, str]:
    return {"at": f"2026-03-{when}+08:00", "actor": actor, "action": action, **fields}


def _offer(when: str, actor: str, remedy: str, amount: str | None = None) -> dict[str, str]:
    return _at(
        when, actor, "offer", remedy=remedy, **({} if amount is None else {"amount": amount})
    )


REJECT = _at("04T18:30:00", "merchant", "reject")
VARIANTS = {
    "agreed-partial-refund": _agreed("partial_refund", "300.00", AGREE),
    "offers-superseded-then-void": _agreed(
        "refund_only",
        None,
        _offer("04T19:00:00", "merchant", "partial_refund", "10.00"),
        _offer("04T20:00:00", "buyer", "partial_refund", "20.00"),
        _at("04T21:00:00", "merchant", "agree"),
    ),
    "platform-proposal-half-accepted-lapses": _agreed(
        "refund_only",
        None,
        REJECT,
        _offer("04T19:00:00", "platform", "partial_refund", "400.00"),
        _at("04T20:00:00", "buyer", "accept_offer", offer="O1"),
    ),
    "offer-declined-then-return-offered-and-accepted": _agreed(
        "refund_only",
        None,
        REJECT,
        _offer("04T19:00:00", "merchant", "partial_refund", "10.00"),
        _at("04T19:30:00", "buyer", "decline_offer", offer="O1"),
        _at("04T20:00:00", "buyer", "escalate"),
        _offer("04T21:00:00", "merchant", "return_and_refund"),
        _at("04T22:00:00", "buyer", "accept_offer", offer="O2"),
        _at("05T09:00:00", "buyer", "return_shipped", tracking_no="YT-1"),
    ),
    "exchange-delivered": _agreed(
        "exchange",
        None,
        AGREE,
        SHIPPED,
        _at("07T10:00:00", "merchant", "confirm_receipt"),
        _at("08T10:00:00", "merchant", "merchant_shipped", tracking_no="SF-NEW"),
        _at("09T10:00:00", "buyer", "confirm_delivery"),
    ),
    "repair-received-by-default-then-missed": _agreed("repair", None, AGREE, SHIPPED),
    "reshipment-shipped-then-closed-by-default": _agreed(
        "reshipment",
        None,
        AGREE,
        _at("05T12:00:00", "merchant", "merchant_shipped", tracking_no="SF-PART"),
    ),
    "agreed-return-lapses": _agreed("return_and_refund", None, AGREE),
    "agreed-return-shipped": _agreed("return_and_refund", None, AGREE, SHIPPED),
    "timeout-return-lapses": _agreed("return_and_refund", None),
}


def case_path(source: Path | dict[str, Any], folder: Path) -> Path:
    """An example's path, or a variant (a case file as JSON) written into ``folder``."""
    if isinstance(source, Path):
        return source
    path = folder / "case.json"
    path.write_text(json.dumps(source), "utf-8")
    return path


@pytest.mark.parametrize(
    "source", [*CASES, *VARIANTS.values()], ids=[p.stem for p in CASES] + list(VARIANTS)
)
def test_every_step_of_every_example_is_what_its_log_says(
    source: Path | dict[str, Any], tmp_path: Path
) -> None:
    case_file = read_case(case_path(source, tmp_path))
    case = new_case(case_file)
    journal = MemoryJournal()
    flow = Workflow(journal, Examiner(Intake(scratch_store(), case.rulebook.evidence_policy())))
    steps = 0

    def check() -> None:
        nonlocal steps
        steps += 1
        problems = compare(told_of(journal.entries), stored_of(case), lambda: case.rulebook)
        assert problems == [], (steps, [str(p) for p in problems])

    for event in case_file.events:
        flow.apply(case, event)
        check()
    while case.deadline_at is not None:
        flow.expire_next(case)
        check()


def test_the_cases_cover_every_window_and_settlement(tmp_path: Path) -> None:
    """The step-by-step test above sees each way a deadline is set and a refund is made."""
    events: set[str] = set()
    for name, source in VARIANTS.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(source), "utf-8")
    for path in [*CASES, *tmp_path.glob("*.json")]:
        events |= {e["event"] for e in replay(read_case(path)).log}
    assert {"reject", "escalate", "evidence_complete", "evidence_expired", "rebuttal_complete"} <= (
        events
    )
    assert {"rebuttal_expired", "return_shipped", "confirm_receipt", "confirm_expired"} <= events
    assert {"agree", "answer_expired", "return_expired", "escalate_expired", "withdraw"} <= events
    assert {"decision", "review", "appeal", "finding", "pay", "close"} <= events


def _spec_case() -> tuple[Case, list[dict[str, Any]]]:
    replayed = replay(read_case(EXAMPLES / "KS-2026-000123.json"))
    return replayed.case, replayed.log


def test_an_edited_refund_is_named_with_the_dispute_and_the_field() -> None:
    case, log = _spec_case()
    data = snapshot.to_json(case)
    data["refund_amount"] = data["decision"]["refund_amount"] = "99999.00"
    problems = [str(p) for p in compare(told_of(log), stored_of(case, data), lambda: case.rulebook)]
    assert problems == [
        "dispute KS-2026-000123: refund_amount is 99999.00 in the stored dispute but 649.50 "
        "in its log",
        "dispute KS-2026-000123: decision.refund_amount is 99999.00 in the stored dispute but "
        "649.50 in its log",
    ]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("state", "closed", "state is closed in the stored dispute but refunded"),
        ("resolution", "withdrawn", "resolution is withdrawn in the stored dispute"),
        ("remedy", "refund_only", "remedy is refund_only in the stored dispute but partial_refund"),
        ("decided_at", "2026-03-08T00:00:00+08:00", "decided_at is 2026-03-08T00:00:00+08:00"),
        ("appealed", True, "appealed is true in the stored dispute but false in its log"),
        ("findings", ["carrier_loss"], 'findings is ["carrier_loss"] in the stored dispute'),
        ("deadline_at", "2026-04-01T00:00:00+08:00", "deadline_at is 2026-04-01T00:00:00+08:00"),
        ("resolution_rules", [], "resolution_rules is [] in the stored dispute"),
    ],
)
def test_each_edited_field_is_named(field: str, value: Any, named: str) -> None:
    case, log = _spec_case()
    data = snapshot.to_json(case)
    data[field] = value
    problems = [str(p) for p in compare(told_of(log), stored_of(case, data), lambda: case.rulebook)]
    assert any(named in p for p in problems), problems


def test_edited_decision_and_evidence_verdicts_are_named() -> None:
    case, log = _spec_case()
    data = snapshot.to_json(case)
    data["decision"]["liability"] = "merchant"
    data["evidence"][1]["accepted"] = False
    data["evidence"][1]["reasons"] = ["blurry"]
    problems = [str(p) for p in compare(told_of(log), stored_of(case, data), lambda: case.rulebook)]
    assert problems == [
        "dispute KS-2026-000123: decision.liability is merchant in the stored dispute but both "
        "in its log",
        "dispute KS-2026-000123: evidence E2.accepted is false in the stored dispute but true in "
        "its log",
        'dispute KS-2026-000123: evidence E2.reasons is ["blurry"] in the stored dispute but [] '
        "in its log",
    ]


def test_a_dispute_without_entries_and_a_garbage_snapshot_are_verdicts() -> None:
    case, log = _spec_case()
    alone = compare(None, stored_of(case), lambda: case.rulebook)
    assert [str(p) for p in alone] == [
        "dispute KS-2026-000123: is stored but has no entries in the log (they were deleted)"
    ]
    garbage = StoredDispute(case.case_id, "refunded", "adjudicated", None, "x", "y", "{not json")
    problems = [str(p) for p in compare(told_of(log), garbage, lambda: case.rulebook)]
    assert "dispute KS-2026-000123: its stored snapshot is not a JSON object" in problems
    assert any("rulebook_digest is y in the disputes table" in p for p in problems)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    ["event", "at", "to", "decision", "evidence", "rule", "finding", "tracking_no", "rules"]
)
WORDS = st.sampled_from(
    ["open", "agree", "answer_expired", "decision", "evidence", "review", "reject", "appeal"]
)


@settings(max_examples=200, deadline=None)
@given(
    entries=st.lists(st.dictionaries(FIELDS, WORDS | JSON, max_size=5), min_size=1, max_size=6),
    snapshot=st.dictionaries(
        st.sampled_from(["state", "decision", "evidence", "claim", "order", "deadline_at"]),
        JSON,
        max_size=6,
    ),
)
def test_forged_entries_and_snapshots_are_verdicts_never_exceptions(
    entries: list[dict[str, Any]], snapshot: dict[str, Any]
) -> None:
    """What a re-hashed forgery can hold, whatever its shape, gives problems, not errors."""
    told = Told("K")
    for entry in entries:
        told.observe(entry)
    stored = StoredDispute("K", "new", None, None, "x", "y", json.dumps(snapshot))
    compare(told, stored, lambda: builtin_rulebook("kuaishou.general"))


def test_an_edited_appeal_is_named_with_the_field() -> None:
    replayed = replay(read_case(EXAMPLES / "KS-EX-0018.json"))
    case, log = replayed.case, replayed.log
    data = snapshot.to_json(case)
    assert data["appeal"]["paid"] == "1299.00"
    data["appeal"]["paid"] = None  # as if nothing had been paid: nothing would be reversed
    data["appeal"]["previous"]["liability"] = "buyer"
    problems = [str(p) for p in compare(told_of(log), stored_of(case, data), lambda: case.rulebook)]
    assert problems == [
        "dispute KS-EX-0018: appeal.paid is none in the stored dispute but 1299.00 in its log",
        "dispute KS-EX-0018: appeal.previous.liability is buyer in the stored dispute but "
        "merchant in its log",
    ]


def test_an_edited_statement_or_evidence_description_is_named(tmp_path: Path) -> None:
    source = json.loads((EXAMPLES / "KS-EX-0002.json").read_text("utf-8"))
    source["events"].insert(
        1,
        {
            "at": "2026-03-04T19:00:00+08:00",
            "actor": "buyer",
            "action": "statement",
            "text": "裂了",
        },
    )
    source["events"][4]["evidence"][0]["description"] = "裂痕"
    shutil.copytree(EXAMPLES / "evidence", tmp_path / "evidence")
    path = tmp_path / "case.json"
    path.write_text(json.dumps(source), "utf-8")
    replayed = replay(read_case(path))
    case, log = replayed.case, replayed.log
    assert compare(told_of(log), stored_of(case), lambda: case.rulebook) == []
    data = snapshot.to_json(case)
    data["statements"][0]["text"] = "没裂"
    data["evidence"][0]["description"] = "完好"
    problems = [str(p) for p in compare(told_of(log), stored_of(case, data), lambda: case.rulebook)]
    assert len(problems) == 2
    assert "statements is" in problems[0]
    assert (
        "evidence E1.description is 完好 in the stored dispute but 裂痕 in its log" in problems[1]
    )


def test_an_order_id_column_that_is_not_the_snapshots_is_named() -> None:
    case_file = read_case(EXAMPLES / "KS-EX-0022.json")
    done = replay(case_file)
    told = told_of(done.log)
    assert compare(told, stored_of(done.case), lambda: done.case.rulebook) == []
    moved = stored_of(done.case)._replace(order_id="O-OTHER")
    problems = [str(p) for p in compare(told, moved, lambda: done.case.rulebook)]
    assert problems == [
        "dispute KS-EX-0022: order_id is O-OTHER in the disputes table but O-88001 in the "
        "stored dispute's order"
    ]
