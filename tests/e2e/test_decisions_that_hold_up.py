"""The corners of RULES.md that a dispute reaches, through ``adjudicator replay`` as a user
runs it: claim-type scopes, exclusion codes, checked manual decisions, findings no rule
weighs, and appeals answered by the other side. One replay runs many case files, each
written from an example with the one change its name says."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.variants import EXAMPLES, Case, Invalid, assert_each_invalid, example, write


def _not_shipped_return(case: Case) -> None:
    case["claim"]["requested_remedy"] = "return_and_refund"


def _not_received_return(case: Case) -> None:
    case["claim"] = {"type": "not_received", "requested_remedy": "return_and_refund"}


def _repair_on_a_computer(case: Case) -> None:
    case["order"]["category"] = "used_3c.computer"


def _unknown_exclusion(case: Case) -> None:
    case["order"]["exclusions"] = ["custom_made", "opened_box"]


def _refund_above_the_disputed_amount(case: Case) -> None:
    case["events"][6]["refund_amount"] = "99999.00"


def _refund_with_a_rejection(case: Case) -> None:
    case["events"][6] |= {
        "liability": "buyer",
        "remedy": "reject_refund",
        "refund_amount": "5000.00",
    }


def _a_remedy_the_liability_does_not_give(case: Case) -> None:
    case["events"][6] |= {"remedy": "partial_refund"}


def _an_override_without_a_reason(case: Case) -> None:
    del case["events"][6]["reason"]


# (example, change, JSON pointer, words the error must hold)
INVALID: dict[str, Invalid] = {
    "not_shipped_return": (
        "KS-EX-0006",
        _not_shipped_return,
        "/claim/requested_remedy",
        "scope.not_shipped: not_shipped admits partial_refund or refund_only only",
    ),
    "not_received_return": (
        "KS-EX-0007",
        _not_received_return,
        "/claim/requested_remedy",
        "scope.not_received",
    ),
    "repair_on_a_computer": (
        "KS-EX-0010",
        _repair_on_a_computer,
        "/claim/type",
        "scope.unofficial_repair: unofficial_repair applies to used_3c.phone, used_3c.tablet "
        "only, not used_3c.computer",
    ),
    "unknown_exclusion": (
        "KS-EX-0011",
        _unknown_exclusion,
        "/order/exclusions/1",
        "unknown exclusion 'opened_box'",
    ),
    "refund_above_disputed": (
        "KS-EX-0017",
        _refund_above_the_disputed_amount,
        "/events/6",
        "remedy.merchant: refund 99999.00 is not within 0.00 to 12000.00",
    ),
    "refund_with_rejection": (
        "KS-EX-0017",
        _refund_with_a_rejection,
        "/events/6",
        "remedy.buyer: a rejection refunds 0.00, not 5000.00",
    ),
    "remedy_not_given": (
        "KS-EX-0017",
        _a_remedy_the_liability_does_not_give,
        "/events/6",
        "remedy.merchant: merchant liability gives refund_only, not partial_refund",
    ),
    "override_without_reason": (
        "KS-EX-0017",
        _an_override_without_a_reason,
        "/events/6",
        "review.override: a decision that departs from the rules needs a reason",
    ),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("cases")
    shutil.copytree(EXAMPLES / "evidence", here / "evidence")
    return here


def test_cases_outside_the_rules_are_invalid_naming_the_field_and_the_rule(folder: Path) -> None:
    assert_each_invalid(folder, INVALID)


def test_the_same_cases_within_the_rules_replay(folder: Path) -> None:
    """Each change above, undone the way the rules allow, replays (so the refusals are the
    rules', not the reader's)."""
    repair = example("KS-EX-0010")
    repair["order"]["category"] = "used_3c.tablet"
    excluded = example("KS-EX-0011")
    excluded["order"]["exclusions"] = ["opened_digital"]
    excluded["events"] = excluded["events"][:6]  # rejected: no return follows
    decided = example("KS-EX-0017")
    del decided["events"][6]["refund_amount"]  # the table's refund: all that was asked
    del decided["events"][6]["reason"]
    paths = [
        write(folder, "ok-repair-tablet", repair),
        write(folder, "ok-excluded", excluded),
        write(folder, "ok-decided-as-the-rules", decided),
    ]
    done = run("replay", *map(str, paths), "--json")
    assert done.returncode == 0, done.stderr
    lines = {line["case_id"]: line for line in map(json.loads, done.stdout.splitlines())}
    assert lines["KS-EX-0010"]["violations"] == ["quality_problem_promoted"]
    ineligible = lines["KS-EX-0011"]
    assert (ineligible["liability"], ineligible["remedy"]) == ("buyer", "reject_return")
    assert ineligible["rules"][1] == "special.no_reason_return.ineligible"
    manual = lines["KS-EX-0017"]
    assert (manual["refund_amount"], manual["rules"]) == (
        "12000.00",
        ["review.manual", "remedy.merchant"],
    )


def test_a_finding_no_rule_weighs_leaves_the_dispute_with_a_reviewer(folder: Path) -> None:
    case = example("KS-EX-0020")
    case["events"] = case["events"][:-1]  # no reviewer has decided yet
    done = run("replay", str(write(folder, "finding", case)), "--json")
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout)
    assert (line["state"], line["resolution"], line["rules"]) == (
        "under_review",
        "pending_review",
        ["review.finding"],
    )
    assert line["liability"] is None


def test_an_appeal_while_the_return_is_in_transit_is_answered_then_decided(folder: Path) -> None:
    case = example("KS-EX-0002")  # decided 05T13:00 for the buyer; return shipped 06T10:00
    events = case["events"][:7]
    evidence = copy.deepcopy(example("KS-EX-0003")["events"][3]["evidence"])  # a certificate
    events.append(
        {
            "at": "2026-03-07T13:00:00+08:00",  # exactly 48 h after the decision: in time
            "actor": "merchant",
            "action": "appeal",
            "evidence": evidence,
        }
    )
    case["events"] = events
    done = run("replay", str(write(folder, "appeal-in-transit", case)), "--json")
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout)
    # the merchant's accredited certificate (3) outweighs the buyer's photo (1): the buyer
    # did not answer in its 48 h, so the return is rejected; no money had moved
    assert (line["liability"], line["remedy"], line["state"]) == (
        "buyer",
        "reject_return",
        "closed",
    )
    assert line["appeal"] == {
        "by": "merchant",
        "at": "2026-03-07T13:00:00+08:00",
        "previous": {
            "liability": "merchant",
            "remedy": "return_and_refund",
            "refund_amount": "1299.00",
        },
        "refund_reversed": None,
    }


def test_the_appeal_examples_report_what_they_replaced() -> None:
    done = run(
        "replay",
        str(EXAMPLES / "KS-EX-0018.json"),
        str(EXAMPLES / "KS-EX-0021.json"),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    unanswered, answered = map(json.loads, done.stdout.splitlines())
    # KS-EX-0018: 1299.00 had been refunded; the new decision refunds nothing
    assert unanswered["appeal"]["refund_reversed"] == "1299.00"
    assert unanswered["appeal"]["previous"]["liability"] == "merchant"
    # KS-EX-0021: the buyer's video answered the merchant's certificate; the refund stands
    assert answered["appeal"]["refund_reversed"] is None
    assert answered["liability"] == "merchant"


def test_statements_replay_and_explain_shows_them(folder: Path, tmp_path: Path) -> None:
    case = example("KS-EX-0002")
    case["case_id"] = "KS-STATEMENTS"
    case["events"].insert(
        1,
        {
            "at": "2026-03-04T19:00:00+08:00",
            "actor": "buyer",
            "action": "statement",
            "text": "屏幕有裂痕, 开箱即发现\n见照片",
        },
    )
    case["events"][4]["evidence"][0]["description"] = "屏幕右上角的裂痕"
    path = write(folder, "statements", case)
    memory = run("replay", "--json", str(path))
    assert memory.returncode == 0, memory.stderr
    line = json.loads(memory.stdout)
    assert "statements" not in line  # the output line is what it was, but for what is new:
    assert line["evidence"][0]["description"] == "屏幕右上角的裂痕"
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert run("replay", "--db", url, str(path)).returncode == 0
    explained = run("explain", "KS-STATEMENTS", "--db", url)
    assert explained.returncode == 0, explained.stderr
    assert "Statements\n  buyer at 2026-03-04T19:00:00+08:00: “屏幕有裂痕, 开箱即发现\n见照片”" in (
        explained.stdout
    )
    assert "      described: “屏幕右上角的裂痕”" in explained.stdout
    too_long = copy.deepcopy(case)
    too_long["events"][1]["text"] = "字" * 501
    done = run("replay", str(write(folder, "statement-too-long", too_long)))
    assert done.returncode == 2
    assert "statement-too-long.json: /events/1/text: is 501 characters long; at most 500" in (
        done.stderr
    )
