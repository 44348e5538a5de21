"""Every ``dispute-case/1`` file replays exactly as before: the examples' output lines, byte
for byte, as they were when the format gained its first additions (issue 11). A change to
the engine that alters one of these lines changes the meaning of files already written; it
needs a new format version, not an edit of the golden file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.cli import run

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"
GOLDEN = REPO / "tests" / "golden" / "dispute-case-1.jsonl"


def test_the_examples_of_dispute_case_1_replay_to_the_same_bytes() -> None:
    golden = GOLDEN.read_text("utf-8").splitlines()
    files = [str(EXAMPLES / f"{json.loads(line)['case_id']}.json") for line in golden]
    done = run("replay", "--json", *files)
    assert done.returncode == 0, done.stderr
    for before, now in zip(golden, done.stdout.splitlines(), strict=True):
        assert now == before, json.loads(before)["case_id"]
