"""``adjudicator tick`` as an operator runs it: killed half-way, then run again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from adjudicator.lifecycle import State
from adjudicator.persistence import DisputeRow, LogRow
from adjudicator.service import Adjudicator
from tests.integration.test_service import CLAIM, hours, order

DISPUTES = 400


def log_length(service: Adjudicator) -> int:
    with Session(service.engine) as session:
        return int(session.exec(select(func.count()).select_from(LogRow)).one())


def test_a_killed_tick_leaves_nothing_half_done_and_the_next_finishes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store")
    for n in range(DISPUTES):
        service.open(f"K-{n:03}", order(), CLAIM, at=hours(n / 100))
    monkeypatch.setenv("ADJUDICATOR_EVIDENCE_DIR", str(tmp_path / "store"))
    now = hours(48 + 5).isoformat()
    tick = [sys.executable, "-m", "adjudicator", "tick", "--db", db_url, "--now", now]

    worker = subprocess.Popen([*tick, "--batch", "1"], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while log_length(service) == DISPUTES and time.monotonic() < deadline:
        time.sleep(0.002)  # until its first commit
    assert worker.poll() is None, "the tick finished before it could be killed"
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)

    fired_before = [e["case_id"] for e in service.log() if e["event"] == "answer_expired"]
    assert 0 < len(fired_before) < DISPUTES
    with Session(service.engine) as session:
        rows = list(session.exec(select(DisputeRow)))
    for row in rows:  # each dispute is wholly advanced, with its log entry, or untouched
        advanced = row.case_id in fired_before
        assert (row.state, row.version) == (
            (State.AGREED.value, 2) if advanced else (State.REQUESTED.value, 1)
        )
    assert service.verify_log()[1] is None

    done = subprocess.run(tick, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"fired {DISPUTES - len(fired_before)} deadline(s)")
    fired = Counter(e["case_id"] for e in service.log() if e["event"] == "answer_expired")
    assert fired == Counter({f"K-{n:03}": 1 for n in range(DISPUTES)})
    assert service.verify_log()[1] is None
    service.close()


def test_a_batch_below_one_is_bad_usage(db_url: str, tmp_path: Path) -> None:
    Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store").close()
    done = subprocess.run(
        [sys.executable, "-m", "adjudicator", "tick", "--db", db_url, "--batch", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "batch 0: a tick claims at least 1 dispute at a time" in done.stderr
