"""``adjudicator schema`` holds every example; ``audit verify`` catches every kind of tampering."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adjudicator.casefile import InvalidCase, read_case
from adjudicator.replay import replay
from adjudicator.schema import case_schema
from tests.e2e.cli import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"


def test_every_example_is_valid_under_the_published_schema() -> None:
    done = run("schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(EXAMPLES.glob("*.json")):
        errors = list(validator.iter_errors(json.loads(path.read_text())))
        assert errors == [], (path.name, [e.message for e in errors])
    bad = json.loads((EXAMPLES / "KS-2026-000123.json").read_text())
    bad["order"]["colour"] = "red"
    assert list(validator.iter_errors(bad))


def test_the_built_in_rulebooks_meet_the_published_rulebook_schema() -> None:
    done = run("schema", "--rulebook")
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    books = Path(__file__).resolve().parents[2] / "adjudicator" / "rulebooks"
    for path in sorted(books.glob("*.toml")):
        jsonschema.validate(tomllib.loads(path.read_text("utf-8")), schema)
    general = tomllib.loads((books / "kuaishou.general.toml").read_text("utf-8"))
    general["rules"]["settings"]["near_duplicate_distance"] = 6.5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(general, schema)


EVENT_CHANGES: dict[str, tuple[int, dict[str, Any]]] = {
    "refund_amount on an open": (0, {"refund_amount": "1.00"}),
    "a decide field on a reject": (1, {"liability": "buyer"}),
    "submit_evidence without evidence": (3, {"evidence": None}),
    "return_shipped without tracking_no": (4, {"action": "return_shipped"}),
    "agree by the buyer": (1, {"action": "agree", "actor": "buyer"}),
    "escalate by the platform": (2, {"actor": "platform"}),
    "a decide without a remedy": (
        1,
        {"action": "decide", "actor": "platform", "liability": "buyer", "refund_amount": "0.00"},
    ),
    "a valid decide": (
        1,
        {
            "action": "decide",
            "actor": "platform",
            "liability": "buyer",
            "remedy": "reject_refund",
            "refund_amount": "0.00",
        },
    ),
    "an appeal without evidence": (1, {"action": "appeal"}),
}


@pytest.mark.parametrize("change", sorted(EVENT_CHANGES))
def test_the_schema_and_the_reader_agree_on_each_actions_fields(
    tmp_path: Path, change: str
) -> None:
    """What the schema allows an event of each action, the reader reads (its shape: whether
    the dispute's state allows the event is replay's business, not the schema's)."""
    index, fields = EVENT_CHANGES[change]
    case = json.loads((EXAMPLES / "KS-2026-000123.json").read_text())
    event = case["events"][index]
    for key, value in fields.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    if event["action"] not in ("submit_evidence", "appeal"):
        event.pop("evidence", None)
    shutil.copytree(EXAMPLES / "evidence", tmp_path / "evidence")
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), "utf-8")
    validator = jsonschema.Draft202012Validator(case_schema())
    schema_says = not list(validator.iter_errors(case))
    try:
        read_case(path)
        reader_says = True
    except InvalidCase:
        reader_says = False
    assert schema_says == reader_says, (change, schema_says, reader_says)


def _log(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    entries = replay(read_case(EXAMPLES / "KS-2026-000123.json")).log
    path = tmp_path / "log.jsonl"
    _save(path, entries)
    return path, entries


def _save(path: Path, entries: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))


def test_an_intact_log_verifies(tmp_path: Path) -> None:
    path, entries = _log(tmp_path)
    done = run("audit", "verify", "--log", str(path))
    assert done.returncode == 0
    assert f"intact ({len(entries)} entries)" in done.stdout


@pytest.mark.parametrize(
    ("tamper", "first_bad", "problem"),
    [
        (lambda e: e[3].update(actor="platform"), 4, "edited"),
        (lambda e: e.pop(2), 3, "where 3 belongs"),
        (lambda e: e.insert(4, e.pop(5)), 5, "where 5 belongs"),
        (lambda e: e.insert(1, dict(e[1])), 3, "where 3 belongs"),
        (lambda e: e.pop(), None, None),  # truncating the tail leaves a valid shorter chain
    ],
    ids=["edit", "delete", "reorder", "insert", "truncate"],
)
def test_tampering_is_detected_at_the_first_bad_entry(
    tmp_path: Path, tamper: Any, first_bad: int | None, problem: str | None
) -> None:
    path, entries = _log(tmp_path)
    tamper(entries)
    _save(path, entries)
    done = run("audit", "verify", "--log", str(path))
    if first_bad is None:
        assert done.returncode == 0
        return
    assert done.returncode == 1
    assert f"broken at entry {first_bad}: " in done.stdout
    assert problem is not None
    assert problem in done.stdout


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    from adjudicator.auditlog import seal

    path, entries = _log(tmp_path)
    forged = {k: v for k, v in entries[3].items() if k not in ("seq", "prev", "hash")}
    forged["actor"] = "platform"
    entries[3] = seal(4, entries[2]["hash"], forged)
    _save(path, entries)
    done = run("audit", "verify", "--log", str(path))
    assert done.returncode == 1
    assert "broken at entry 5: does not follow the entry before it" in done.stdout
