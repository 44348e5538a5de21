"""``adjudicator schema`` holds every example; ``audit verify`` catches every kind of tampering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adjudicator.casefile import read_case
from adjudicator.replay import replay
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
