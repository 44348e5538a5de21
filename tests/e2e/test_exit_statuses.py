"""Every way a command can end has its exit status and a one-line message (docs/cli.md):
the database or the evidence store failing is 3, never a traceback; --debug shows it."""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from adjudicator.cli import EXIT_BUG, EXIT_UNAVAILABLE, EXIT_USAGE, failure
from adjudicator.errors import UsageError
from tests.conftest import REPO
from tests.e2e.cli import run

EXAMPLES = REPO / "examples" / "cases"
ONE_CASE = EXAMPLES / "KS-2026-000123.json"


def one_line_error(stderr: str) -> str:
    lines = stderr.splitlines()
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_locked_database_is_exit_3_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    assert (
        run("replay", "--db", f"sqlite:///{db}", str(EXAMPLES / "KS-EX-0002.json")).returncode == 0
    )
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another importer holds the writer lock
    try:
        done = run("replay", "--db", f"sqlite:///{db}?timeout=0.2", str(ONE_CASE))
        debug = run("--debug", "replay", "--db", f"sqlite:///{db}?timeout=0.2", str(ONE_CASE))
    finally:
        holder.rollback()
        holder.close()
    assert done.returncode == EXIT_UNAVAILABLE
    line = one_line_error(done.stderr)
    assert line.startswith("adjudicator: unavailable: ")
    assert line.endswith("database is locked")
    assert debug.returncode == EXIT_UNAVAILABLE
    assert "Traceback" in debug.stderr


def test_a_database_server_that_does_not_answer_is_exit_3(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens on port 1
    done = run("replay", "--db", url, str(ONE_CASE))
    assert done.returncode == EXIT_UNAVAILABLE
    line = one_line_error(done.stderr)
    assert line.startswith(f"adjudicator: unavailable: --db {url}: cannot open the database")


def _small_files() -> None:  # pragma: no cover - runs in the child before exec
    """A full disk, as the process sees it: writing past 64 KiB fails with EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


@pytest.mark.parametrize("what", ["store", "database"])
def test_a_full_disk_is_exit_3_and_leaves_nothing_half_written(tmp_path: Path, what: str) -> None:
    db = tmp_path / "d.db"
    assert run("db", "upgrade", "--db", f"sqlite:///{db}").returncode == 0
    # the store: evidence photos are larger than the limit; the database: the log is
    case = ONE_CASE if what == "store" else EXAMPLES
    done = subprocess.run(
        [sys.executable, "-m", "adjudicator", "replay", "--db", f"sqlite:///{db}", str(case)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=_small_files,
    )
    assert done.returncode == EXIT_UNAVAILABLE, done.stderr
    assert "adjudicator: unavailable:" in done.stderr
    assert "Traceback" not in done.stderr
    assert run("audit", "verify", "--db", f"sqlite:///{db}").returncode == 0


def test_the_failure_map() -> None:
    assert failure(UsageError("x"))[0] == EXIT_USAGE
    assert failure(OSError(28, "No space left on device"))[0] == EXIT_UNAVAILABLE
    code, message = failure(ZeroDivisionError("division by zero"))
    assert code == EXIT_BUG
    assert "this is a bug" in message
