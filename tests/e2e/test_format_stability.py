"""Every ``dispute-case/1`` file replays exactly as before: the examples' output lines, byte
for byte, as they were when the format gained its first additions (issue 11), replayed under
the rulebook release that made them (``--rulebook kuaishou.general@2026.2``). A change to the
engine that alters one of these lines changes the meaning of files already written; it needs
a new format version, not an edit of the golden file. A new rulebook release may change
outcomes, and says so in its own tests."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from tests.e2e.cli import run

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"
GOLDEN = REPO / "tests" / "golden" / "dispute-case-1.jsonl"


def _golden() -> dict[str, str]:
    """Each golden case's line, by case id (in the golden file's order)."""
    lines = GOLDEN.read_text("utf-8").splitlines()
    return {json.loads(line)["case_id"]: line for line in lines}


def test_the_examples_of_dispute_case_1_replay_to_the_same_bytes() -> None:
    golden = _golden()
    by_release: dict[str, list[str]] = defaultdict(list)
    for case_id, line in golden.items():
        by_release[json.loads(line)["rulebook"]].append(case_id)
    assert set(by_release) == {"kuaishou.general@2026.2", "kuaishou.used_3c@2026.2"}
    for release, case_ids in by_release.items():
        files = [str(EXAMPLES / f"{case_id}.json") for case_id in case_ids]
        done = run("replay", "--json", "--rulebook", release, *files)
        assert done.returncode == 0, done.stderr
        for case_id, now in zip(case_ids, done.stdout.splitlines(), strict=True):
            assert now == golden[case_id], case_id


def test_release_2026_3_changes_no_outcome_of_the_earlier_examples() -> None:
    """2026.3 adds offers, the merchant's shipments and return-shipping rules; a dispute that
    uses none of them comes out as under 2026.2, but for the release it names."""
    golden = _golden()
    files = [str(EXAMPLES / f"{case_id}.json") for case_id in golden]
    done = run("replay", "--json", *files)
    assert done.returncode == 0, done.stderr
    for case_id, now in zip(golden, done.stdout.splitlines(), strict=True):
        before, after = json.loads(golden[case_id]), json.loads(now)
        assert after.pop("rulebook") == before.pop("rulebook").replace("2026.2", "2026.3")
        assert after == before, case_id
