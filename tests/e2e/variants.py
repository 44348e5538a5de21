"""Case files written from an example with one change each, replayed together, and what the
command must say of each invalid one (shared by the e2e tests of the rules' corners)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.cli import run

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"

Case = dict[str, Any]
Invalid = tuple[str, Callable[[Case], None], str, str]
"""An example's case id, the change, the JSON pointer and words the error must hold."""


def example(case_id: str) -> Case:
    """The example, without its expected block."""
    data: Case = json.loads((EXAMPLES / f"{case_id}.json").read_text("utf-8"))
    data.pop("expected")
    return data


def write(folder: Path, name: str, case: Case) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(case, ensure_ascii=False), "utf-8")
    return path


def assert_each_invalid(folder: Path, invalid: dict[str, Invalid]) -> None:
    """One replay of every changed example: exit 2, nothing replayed, and for each file one
    error line naming it, the pointer and the words."""
    paths = []
    for name, (case_id, change, _, _) in invalid.items():
        case = example(case_id)
        change(case)
        paths.append(write(folder, f"invalid-{name}", case))
    done = run("replay", *map(str, paths), "--json")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""  # no case of these replayed
    errors = done.stderr.splitlines()
    for name, (_, _, pointer, words) in invalid.items():
        said = [line for line in errors if f"invalid-{name}.json: {pointer}:" in line]
        assert len(said) == 1, (name, errors)
        assert words in said[0], (name, said[0])
