"""Run the ``adjudicator`` command as a user does: a separate process, its real exit status."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adjudicator", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
