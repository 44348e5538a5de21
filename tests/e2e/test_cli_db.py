"""The database commands as a user types them: replay --db, show, explain, audit, tick."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.cli import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
SPEC_CASE = EXAMPLES / "KS-2026-000123.json"


@pytest.fixture(autouse=True)
def evidence_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the commands keep evidence bytes for a database that is not a file."""
    monkeypatch.setenv("ADJUDICATOR_EVIDENCE_DIR", str(tmp_path / "store"))


@pytest.fixture
def loaded(db_url: str) -> str:
    """A database holding the specification's example case and one more."""
    done = run("replay", "--db", db_url, str(SPEC_CASE), str(EXAMPLES / "KS-EX-0002.json"))
    assert done.returncode == 0, done.stderr
    return db_url


def test_replay_into_a_database_prints_what_memory_replay_prints(db_url: str) -> None:
    memory = run("replay", "--json", str(EXAMPLES))
    stored = run("replay", "--json", "--db", db_url, str(EXAMPLES))
    assert (stored.returncode, stored.stderr) == (0, "")
    assert stored.stdout == memory.stdout
    assert len(stored.stdout.splitlines()) == len(list(EXAMPLES.glob("*.json")))


def test_a_case_already_in_the_database_is_invalid_and_the_rest_still_replay(
    loaded: str, tmp_path: Path
) -> None:
    source = json.loads(SPEC_CASE.read_text("utf-8"))
    source["case_id"] = "KS-NEW-1"
    shutil.copytree(EXAMPLES / "evidence", tmp_path / "evidence")
    fresh = tmp_path / "new.json"
    fresh.write_text(json.dumps(source), "utf-8")

    done = run("replay", "--json", "--db", loaded, str(SPEC_CASE), str(fresh))
    assert done.returncode == 2
    assert f"{SPEC_CASE}: /case_id: KS-2026-000123 is already in the database" in done.stderr
    # the new case replayed, but its evidence was already used by the example: reused
    line = json.loads(done.stdout)
    assert line["case_id"] == "KS-NEW-1"
    assert [e["reasons"] for e in line["evidence"]] == [["reused"], ["reused"]]


def test_show_gives_the_replay_line_and_exit_2_for_an_unknown_dispute(loaded: str) -> None:
    replayed = run("replay", "--json", str(SPEC_CASE)).stdout
    expected = json.loads(replayed)
    del expected["expected_match"]
    shown = run("show", "KS-2026-000123", "--db", loaded, "--json")
    assert shown.returncode == 0
    assert json.loads(shown.stdout) == expected

    readable = run("show", "KS-2026-000123", "--db", loaded)
    assert "liability: both" in readable.stdout
    assert "rules: burden.visible_defect, weigh.equal, remedy.both" in readable.stdout

    unknown = run("show", "KS-NOPE", "--db", loaded, "--json")
    assert unknown.returncode == 2
    assert "no dispute KS-NOPE in the database" in unknown.stderr


def test_explain_names_facts_evidence_and_each_rule_with_its_reason(loaded: str) -> None:
    done = run("explain", "KS-2026-000123", "--db", loaded)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "burden of proof: buyer (burden.visible_defect)" in out
    assert "E1 buyer video" in out
    assert "E2 merchant video" in out
    assert "1. burden.visible_defect: " in out
    assert "2. weigh.equal: proof 2" in out
    assert "3. remedy.both: " in out
    assert "rebuttal_expired: awaiting_rebuttal -> under_review [deadline.rebuttal]" in out
    assert run("explain", "KS-NOPE", "--db", loaded).returncode == 2


def test_explain_shows_an_override_and_an_appeal(db_url: str) -> None:
    cases = [str(EXAMPLES / f"KS-EX-00{n}.json") for n in (17, 18)]
    assert run("replay", "--db", db_url, *cases).returncode == 0
    loaded = db_url
    override = run("explain", "KS-EX-0017", "--db", loaded)
    assert override.returncode == 0, override.stderr
    assert "2. review.override: 划痕轻微, 部分退款 (the rules decide merchant liability: " in (
        override.stdout
    )
    appealed = run("explain", "KS-EX-0018", "--db", loaded)
    assert appealed.returncode == 0, appealed.stderr
    out = appealed.stdout
    assert "Appeal\n  by the merchant at 2026-03-06T09:00:00+08:00, against merchant" in out
    assert "1299.00 of the paid refund is reversed" in out
    assert "remedy reject_refund (the request is rejected: no money moves" in out


def test_audit_export_is_the_chain_and_verifies(loaded: str, tmp_path: Path) -> None:
    export = run("audit", "export", "--db", loaded)
    assert export.returncode == 0
    entries = [json.loads(line) for line in export.stdout.splitlines()]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    log = tmp_path / "log.jsonl"
    log.write_text(export.stdout, "utf-8")
    assert run("audit", "verify", "--log", str(log)).returncode == 0
    verified = run("audit", "verify", "--db", loaded)
    assert verified.returncode == 0
    assert f"intact ({len(entries)} entries)" in verified.stdout


def test_the_same_cases_give_the_same_log_bytes_in_two_databases(
    db_url: str, tmp_path: Path
) -> None:
    """An SQLite file, then the parametrised database (another SQLite file, or PostgreSQL)."""
    exports = []
    for url in (f"sqlite:///{tmp_path / 'first.db'}", db_url):
        assert run("replay", "--db", url, str(EXAMPLES)).returncode == 0
        exports.append(run("audit", "export", "--db", url).stdout)
    assert exports[0] == exports[1]
    assert exports[0]


TAMPERING = {
    # what is done to the stored log, and the entry and problem verify must name
    "edit": (
        ["UPDATE log SET entry = replace(entry, '人为损坏', '包装破损') WHERE seq = 2"],
        "broken at entry 2: its content does not match its hash (edited)",
    ),
    "delete": (
        ["DELETE FROM log WHERE seq = 5"],
        "broken at entry 5: has seq 6 where 5 belongs",
    ),
    "reorder": (
        [
            "UPDATE log SET seq = -1 WHERE seq = 3",
            "UPDATE log SET seq = 3 WHERE seq = 4",
            "UPDATE log SET seq = 4 WHERE seq = -1",
        ],
        "broken at entry 3: has seq 4 where 3 belongs",
    ),
    "insert": (
        [
            "INSERT INTO log (seq, case_id, hash, entry) SELECT 100000, case_id, hash, entry "
            "FROM log WHERE seq = 1",
        ],
        "has seq 1 where",
    ),
    "truncate": (
        ["DELETE FROM log WHERE seq = (SELECT max(seq) FROM log)"],
        "is missing: the log ends at entry",
    ),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_tampering_with_the_stored_log_is_detected(loaded: str, how: str) -> None:
    statements, named = TAMPERING[how]
    engine = create_engine(loaded)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()
    done = run("audit", "verify", "--db", loaded)
    assert done.returncode == 1
    assert named in done.stdout


def test_tick_fires_what_is_due_and_reads_now(db_url: str, tmp_path: Path) -> None:
    source = json.loads((EXAMPLES / "KS-2026-000123.json").read_text("utf-8"))
    source["events"] = source["events"][:2]  # opened and rejected: the buyer may escalate
    source.pop("expected")
    source["until"] = "2026-03-05T10:00:00+08:00"
    case = tmp_path / "waiting.json"
    case.write_text(json.dumps(source), "utf-8")
    assert run("replay", "--db", db_url, str(case)).returncode == 0

    # the buyer may escalate within 7 days: at exactly 7 days it is still time
    early = run("tick", "--db", db_url, "--now", "2026-03-12T10:00:00+08:00")
    assert (early.returncode, early.stdout.split()[:2]) == (0, ["fired", "0"])
    due = run("tick", "--db", db_url, "--now", "2026-03-12T10:00:00.000001+08:00")
    assert (due.returncode, due.stdout.split()[:2]) == (0, ["fired", "1"])
    shown = json.loads(run("show", source["case_id"], "--db", db_url, "--json").stdout)
    assert (shown["state"], shown["resolution"]) == ("lapsed", "lapsed")

    bad = run("tick", "--db", db_url, "--now", "yesterday")
    assert bad.returncode == 2
    assert "--now yesterday" in bad.stderr


def test_reading_commands_do_not_create_a_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    for args in (["show", "X"], ["explain", "X"], ["audit", "export"], ["audit", "verify"]):
        done = run(*args, "--db", url)
        assert done.returncode == 2
        assert "no such database file" in done.stderr
    assert not (tmp_path / "absent.db").exists()
