"""``adjudicator replay`` and ``rules check``, run as the installed command a user runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adjudicator.rulebook import load_rulebook
from tests.e2e.cli import run

REPO = Path(__file__).resolve().parents[2]
USED_3C = load_rulebook("kuaishou.used_3c").label  # this release's
EXAMPLES = REPO / "examples" / "cases"


def test_every_example_replays_to_its_expected_outcome() -> None:
    done = run("replay", str(EXAMPLES), "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == len(list(EXAMPLES.glob("*.json"))) >= 18
    assert all(line["expected_match"] is True for line in lines)
    liabilities = {line["liability"] for line in lines}
    assert liabilities >= {"merchant", "buyer", "both", "neither"}
    resolutions = {line["resolution"] for line in lines}
    assert resolutions >= {"adjudicated", "merchant_timeout", "lapsed", "refused", "withdrawn"}


def test_the_case_format_example_line() -> None:
    done = run("replay", str(EXAMPLES / "KS-2026-000123.json"), "--json")
    line = json.loads(done.stdout)
    assert {k: line[k] for k in list(line)[:11]} == {
        "case_id": "KS-2026-000123",
        "state": "refunded",
        "resolution": "adjudicated",
        "liability": "both",
        "remedy": "partial_refund",
        "refund_amount": "649.50",
        "return_shipping_payer": None,
        "penalty_amount": "2338.20",
        "violations": [],
        "rulebook": USED_3C,
        "rules": ["burden.visible_defect", "weigh.equal", "remedy.both"],
    }
    assert [e["accepted"] for e in line["evidence"]] == [True, True]
    assert line["appeal"] is None  # never appealed


def test_replay_gives_the_same_bytes_twice() -> None:
    first = run("replay", str(EXAMPLES), "--json")
    assert first.stdout == run("replay", str(EXAMPLES), "--json").stdout


def _write(tmp_path: Path, name: str, case: dict[str, Any]) -> Path:
    shutil.copytree(EXAMPLES / "evidence", tmp_path / "evidence", dirs_exist_ok=True)
    path = tmp_path / name
    path.write_text(json.dumps(case, ensure_ascii=False))
    return path


def _example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "KS-2026-000123.json").read_text())
    return data


@pytest.mark.parametrize(
    ("change", "pointer", "message"),
    [
        (lambda c: c["order"].update(colour="red"), "/order/colour", "unknown field"),
        (lambda c: c["order"].update(paid_amount=1299.0), "/order/paid_amount", "decimal string"),
        (lambda c: c["claim"].update(type="broken"), "/claim/type", "must be one of"),
        (
            lambda c: c["events"][1].update(at="2026-03-04T17:00:00+08:00"),
            "/events/1/at",
            "before the event above it",
        ),
        (
            lambda c: c["events"][0].update(at="2026-03-04T18:00:00"),
            "/events/0/at",
            "with an offset",
        ),
        (
            lambda c: c["events"][3]["evidence"][0].update(file="evidence/nope.mp4"),
            "/events/3/evidence/0/file",
            "no such file",
        ),
        (
            lambda c: c["claim"].update(requested_amount="1300.00"),
            "/claim/requested_amount",
            "more than the paid amount",
        ),
        (
            lambda c: c["events"].insert(1, c["events"][2] | {"at": "2026-03-04T19:00:00+08:00"}),
            "/events/1",
            "escalate is not allowed in state requested\n",  # said once, nothing after it
        ),
        (lambda c: c.update(rulebook="kuaishou.nope"), "/rulebook", "no rulebook 'kuaishou.nope'"),
    ],
)
def test_an_invalid_case_exits_2_naming_file_and_pointer_and_the_rest_still_replay(
    tmp_path: Path, change: Any, pointer: str, message: str
) -> None:
    case = _example()
    change(case)
    bad = _write(tmp_path, "bad.json", case)
    good = _write(tmp_path, "good.json", _example())
    done = run("replay", str(bad), str(good), "--json")
    assert done.returncode == 2
    assert f"{bad}: {pointer}: " in done.stderr
    assert message in done.stderr
    assert [json.loads(x)["case_id"] for x in done.stdout.splitlines()] == ["KS-2026-000123"]


def test_an_unmet_expectation_exits_1(tmp_path: Path) -> None:
    case = _example()
    case["expected"]["liability"] = "merchant"
    done = run("replay", str(_write(tmp_path, "c.json", case)))
    assert done.returncode == 1
    assert "MISMATCH" in done.stdout


def test_rules_check(tmp_path: Path) -> None:
    sound = run("rules", "check", "kuaishou.used_3c")
    assert sound.returncode == 0
    assert f"{USED_3C}: sound" in sound.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text('id = "x"\nversion = "1"\nclaim_types = ["visible_defect"]\n')
    unsound = run("rules", "check", str(broken))
    assert unsound.returncode == 1
    assert f"{broken}: " in unsound.stdout
    assert "claim type visible_defect has no decision row" in unsound.stdout


def test_the_rulebook_option_takes_a_built_in_id() -> None:
    by_id = run(
        "replay", "--json", "--rulebook", "kuaishou.used_3c", str(EXAMPLES / "KS-2026-000123.json")
    )
    assert by_id.returncode == 0, by_id.stderr
    assert json.loads(by_id.stdout)["rulebook"] == USED_3C
    by_release = run(
        "replay",
        "--json",
        "--rulebook",
        "kuaishou.used_3c@2026.1",
        str(EXAMPLES / "KS-2026-000123.json"),
    )
    assert by_release.returncode == 0, by_release.stderr
    assert json.loads(by_release.stdout)["rulebook"] == "kuaishou.used_3c@2026.1"
    unknown = run(
        "replay",
        "--json",
        "--rulebook",
        "kuaishou.used_3c@1999.1",
        str(EXAMPLES / "KS-EX-0002.json"),
    )
    assert unknown.returncode == 2
    assert "kuaishou.used_3c: no version 1999.1 (this release loads 2026.1, 2026.2" in (
        unknown.stderr
    )


@pytest.mark.parametrize("name", ["kuaishou.nope", "no/such/rulebook.toml"])
def test_rules_check_of_a_rulebook_that_is_not_there_is_a_usage_error(name: str) -> None:
    done = run("rules", "check", name)
    assert done.returncode == 2
    assert done.stderr.startswith("adjudicator: error: rules check: no ")


def test_a_replay_in_memory_never_loads_the_database_layer() -> None:
    """Replaying case files touches no database: SQLAlchemy, sqlmodel and Alembic stay
    unloaded (they cost half of a short replay's start-up)."""
    code = (
        "import sys\n"
        "from adjudicator.cli import main\n"
        f"status = main(['replay', {str(EXAMPLES / 'KS-EX-0002.json')!r}])\n"
        "database = {'sqlalchemy', 'sqlmodel', 'alembic'}\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & database)\n"
        "print(status, loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.stdout.splitlines()[-1] == "0 []", done.stdout + done.stderr
