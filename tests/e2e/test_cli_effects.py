"""``adjudicator effects`` as a user types it: the outbox handed out and leased, printed as
lines or JSON, acknowledged with --ack, handed out again when a lease ends, and its exit
statuses (a database that is down: tests/integration/test_effects_outbox.py). SQLite only:
the command is the same on PostgreSQL, which the integration tests cover."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adjudicator.casefile import read_case
from adjudicator.replay import replay_into
from adjudicator.service import Adjudicator
from tests.e2e.cli import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
CASES = ["KS-EX-0002.json", "KS-EX-0018.json"]  # a decided return; a refund taken back


@pytest.fixture(autouse=True)
def evidence_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the commands keep evidence bytes for a database that is not a file."""
    monkeypatch.setenv("ADJUDICATOR_EVIDENCE_DIR", str(tmp_path / "store"))


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_effects_are_handed_out_leased_acknowledged_and_handed_out_again(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'disputes.db'}"
    service = Adjudicator.from_url(db)
    for case in CASES:
        replay_into(service, read_case(EXAMPLES / case))

    first = run("effects", "--db", db, "--json", "--limit", "2", "--lease", "300")
    assert (first.returncode, first.stderr) == (0, "")
    handed = lines(first.stdout)
    assert [(e["id"], e["key"], e["kind"], e["delivery"]) for e in handed] == [
        (1, "KS-EX-0002#9.0", "penalty", 1),
        (2, "KS-EX-0002#10.0", "return_shipping", 1),
    ]
    assert handed[1]["payer"] == "merchant"

    # leased to the first: the next consumer gets the rest, and acknowledges them
    rest = run("effects", "--db", db, "--ack", "--consumer", "books")
    assert (rest.returncode, rest.stderr) == (0, "")
    shown = rest.stdout.splitlines()
    assert shown[0] == "3  KS-EX-0002  refund_due: pay the buyer 1299.00 CNY  [KS-EX-0002#11.0]"
    assert shown[3] == (
        "6  KS-EX-0018  refund_reversed: take 1299.00 CNY back from the buyer  [KS-EX-0018#15.0]"
    )
    assert shown[-1] == "5 effect(s) handed out, 5 acknowledged"

    # the first consumer never acknowledged, and its lease ends (its end, moved to the past)
    with service.engine.begin() as connection:
        connection.execute(text("UPDATE effects SET leased_until_us = 0 WHERE id = 1"))
    service.close()
    again = run("effects", "--db", db)
    assert again.returncode == 0
    said, summary = again.stdout.splitlines()
    assert said == (
        "1  KS-EX-0002  penalty: the merchant owes a penalty of 3897.00 CNY  [KS-EX-0002#9.0]"
        "  (delivery 2)"
    )
    assert re.fullmatch(r"1 effect\(s\) handed out, leased to \S+ until \S+", summary)


def test_nothing_to_hand_out_bad_options_and_no_database_file(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'disputes.db'}"
    Adjudicator.from_url(db).close()
    nothing = run("effects", "--db", db, "--after", "2")
    assert (nothing.returncode, nothing.stdout) == (0, "no effects to hand out after 2\n")
    for options, words in [
        (["--limit", "0"], "limit 0: must be 1 to 1000"),
        (["--lease", "0"], "lease 0.0: a lease is more than 0 and at most 86400 seconds"),
    ]:
        done = run("effects", "--db", db, *options)
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == f"adjudicator: error: {words}\n"
    missing = run("effects", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.returncode == 2
    assert "no such database file" in missing.stderr
